"""The sync client behind a Redis URL: one home for how ``from_url`` connects.

Used by ``RedisCheckpointSaver.from_url`` and by the inspector's listing,
which must not import LangGraph (``lgrs sessions``); so this module imports
only redis-py and the package's light modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
import redis.cluster
import redis.retry
from redis.backoff import ExponentialWithJitterBackoff

from ._drive import password_hint
from ._urls import mask_url
from .errors import ConfigurationError

__all__ = ["RETRY_BACKOFF_BASE", "RETRY_BACKOFF_CAP", "Connection", "connect", "connection_kwargs"]

RETRY_BACKOFF_BASE = 0.05
"""First retry waits up to this many seconds (``from_url(retries=...)``); doubles per try."""
RETRY_BACKOFF_CAP = 2.0
"""Longest wait between two retries, in seconds."""


@dataclass(frozen=True)
class Connection:
    """A connected sync client and how it was made (for the async twin)."""

    client: Any
    cluster: bool
    kwargs: dict[str, Any]


def connection_kwargs(
    client_kwargs: dict[str, Any] | None, timeout: float | None, retries: int | None
) -> dict[str, Any]:
    """redis-py options for `from_url`: `client_kwargs` plus the timeout and retry options."""
    kwargs = dict(client_kwargs or {})
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigurationError(
                f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        kwargs.setdefault("socket_timeout", timeout)
        kwargs.setdefault("socket_connect_timeout", timeout)
    if retries is not None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigurationError(f"retries must be an int >= 0, got {retries!r}")
        backoff = ExponentialWithJitterBackoff(cap=RETRY_BACKOFF_CAP, base=RETRY_BACKOFF_BASE)
        kwargs.setdefault("retry", redis.retry.Retry(backoff, retries))
    return kwargs


def connect(
    url: str,
    *,
    cluster: bool | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    client_kwargs: dict[str, Any] | None = None,
) -> Connection:
    """A sync client for `url` (see ``RedisCheckpointSaver.from_url`` for the options).

    Asks the server once (``INFO cluster``) whether it is a cluster unless
    `cluster` says so.
    """
    kwargs = connection_kwargs(client_kwargs, timeout, retries)
    if kwargs.get("decode_responses"):
        raise ConfigurationError("decode_responses=True is not supported: checkpoints are binary")
    if not isinstance(url, str) or "://" not in url:
        shown = mask_url(url) if isinstance(url, str) else type(url).__name__
        raise ConfigurationError(
            f"expected a Redis URL such as 'redis://localhost:6379/0', got {shown!r:.80}"
        )
    try:
        probe = redis.Redis.from_url(url, **kwargs)
    except ValueError as exc:
        raise ConfigurationError(f"invalid Redis URL {mask_url(url)!r}: {exc}") from None
    if cluster is None:
        try:
            cluster = bool(probe.info("cluster").get("cluster_enabled"))
        except redis.exceptions.NoPermissionError:
            # An ACL user limited to the saver's commands may not run INFO:
            # treat the server as standalone (pass cluster=True otherwise).
            cluster = False
        except redis.exceptions.AuthenticationError as exc:
            probe.close()
            hint = password_hint(probe, exc, mask_url(url))
            if hint is exc:
                raise
            raise hint from exc
        except BaseException:
            probe.close()
            raise
    client: Any = probe
    if cluster:
        probe.close()
        client = redis.cluster.RedisCluster.from_url(url, **kwargs)
    return Connection(client, bool(cluster), kwargs)
