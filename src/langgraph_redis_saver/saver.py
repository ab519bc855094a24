"""`RedisCheckpointSaver`: LangGraph checkpoints on plain Redis, sync and async.

The methods here are thin shells: each builds a flow from ``_core`` and runs
it with the sync or the async driver from ``_drive``.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
import dataclasses
import weakref
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, cast

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.retry
import redis.cluster
import redis.retry
from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from . import _admin, _core
from ._admin import SessionInfo
from ._connect import connect
from ._drive import aiter_flow, arun_flow, iter_flow, run_flow
from ._lists import ListCache
from .errors import ConfigurationError
from .keys import DEFAULT_PREFIX, KeySchema
from .serde import SafeMsgpackSerializer, serde_with_allowlist

__all__ = ["DEFAULT_TTL", "RedisCheckpointSaver"]

DEFAULT_TTL = timedelta(hours=24)
"""Default sliding expiry of a session: 24 hours after its last write."""

_SYNC_TYPES = (redis.Redis, redis.cluster.RedisCluster)
_ASYNC_TYPES = (redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster)
_CLUSTER_TYPES = (redis.cluster.RedisCluster, redis.asyncio.cluster.RedisCluster)


def _ttl_ms(ttl: float | timedelta | None) -> int:
    if ttl is None:
        return 0
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
        seconds = float(ttl)
    else:
        raise ConfigurationError(
            f"ttl must be seconds (int/float), a timedelta, or None to keep sessions "
            f"forever; got {ttl!r}"
        )
    if seconds <= 0 or seconds != seconds:
        raise ConfigurationError(
            f"ttl must be positive; got {ttl!r}. Use ttl=None to disable expiry."
        )
    return max(1, round(seconds * 1000))


_OFFICIAL_TTL_KEYS = ("default_ttl", "refresh_on_read")

_UNMAPPED_OPTIONS = {
    "checkpoint_prefix": "key_prefix",
    "checkpoint_blob_prefix": "key_prefix",
    "checkpoint_write_prefix": "key_prefix",
}
"""Options of langgraph-checkpoint-redis with no one-to-one meaning here, and ours to use."""


def _official_ttl(
    ttl: Mapping[str, Any], refresh_on_read: bool | None
) -> tuple[float | timedelta | None, bool | None]:
    """The official Redis saver's ``ttl={"default_ttl": minutes, "refresh_on_read": bool}``
    as this saver's `ttl` (seconds) and `refresh_on_read`."""
    unknown = sorted(set(ttl) - set(_OFFICIAL_TTL_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown ttl key(s) {unknown}: a ttl dict takes 'default_ttl' (minutes, or None "
            f"to keep sessions forever) and 'refresh_on_read' (bool), as in "
            f"langgraph-checkpoint-redis; or pass ttl=seconds"
        )
    read = ttl.get("refresh_on_read")
    if read is not None and not isinstance(read, bool):
        raise ConfigurationError(f"ttl['refresh_on_read'] must be True or False, got {read!r}")
    if read is not None and refresh_on_read is not None and read != refresh_on_read:
        raise ConfigurationError(
            f"refresh_on_read={refresh_on_read!r} contradicts ttl['refresh_on_read']={read!r}: "
            f"give it once"
        )
    minutes = ttl.get("default_ttl")
    if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, (int, float))):
        raise ConfigurationError(
            f"ttl['default_ttl'] is in minutes (a number, or None to keep sessions "
            f"forever), got {minutes!r}"
        )
    seconds = None if minutes is None else timedelta(minutes=minutes)
    return seconds, read if read is not None else refresh_on_read


def _check_client(client: Any, role: str) -> None:
    if client is None:
        return
    if not isinstance(client, _SYNC_TYPES + _ASYNC_TYPES):
        raise ConfigurationError(
            f"{role} must be a redis-py client (redis.Redis, redis.asyncio.Redis or a "
            f"RedisCluster), got {type(client).__qualname__}; or use "
            f"RedisCheckpointSaver.from_url('redis://...')"
        )
    if client.get_encoder().decode_responses:
        raise ConfigurationError(
            "the Redis client was created with decode_responses=True; checkpoints are "
            "binary. Create it without that option, e.g. redis.Redis.from_url(url)"
        )


def _async_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` for an asyncio client: redis-py's asyncio clients silently skip
    retries with a sync ``redis.retry.Retry``, so it becomes its asyncio twin."""
    retry = kwargs.get("retry")
    if not isinstance(retry, redis.retry.Retry):
        return kwargs
    twin = redis.asyncio.retry.Retry(
        retry._backoff, retry.get_retries(), cast(Any, retry._supported_errors)
    )
    return {**kwargs, "retry": twin}


class RedisCheckpointSaver(BaseCheckpointSaver[str]):
    """A LangGraph checkpoint saver on plain Redis (no modules), sync and async.

    One object serves ``graph.invoke``/``stream`` and ``ainvoke``/``astream``.
    Each operation is one Lua script call (one network round trip); a
    checkpoint and its ``latest`` pointer change atomically; a session expires
    `ttl` after its last write.

    Args:
        client: A redis-py client: ``redis.Redis`` or ``redis.asyncio.Redis``
            (or a ``RedisCluster`` twin). Must not use ``decode_responses``.
        aclient: An async client to pair with a sync `client`, so one saver
            serves both ``invoke`` and ``ainvoke``. `from_url` makes both.
        ttl: Sliding expiry of a session (seconds or ``timedelta``); ``None``
            keeps sessions until deleted. Default 24 hours. The official
            Redis saver's form ``{"default_ttl": minutes, "refresh_on_read":
            bool}`` is accepted with the same meaning.
        key_prefix: Prefix of every key, without the trailing ``:``.
        serde: Serializer; default `SafeMsgpackSerializer` (no pickle).
        cluster: Use hash-tagged keys for Redis Cluster. Detected from the
            client type when not given.
        refresh_on_read: Reading a checkpoint also extends its TTL (default False).
        session_index_keys: Metadata keys (copied by LangGraph from the run
            config's ``configurable``) by which `list_sessions` can filter.
        max_checkpoints_per_session: Keep about this many checkpoints per
            namespace (between N and 1.25 N: trimming runs in batches); older
            ones are pruned as new ones are written, DeltaChannel-safely.
        compress_threshold: Store channel values of at least this many bytes
            zlib-compressed (level 1). ``None`` (default) never compresses.
            Readers handle both forms, so it can be turned on at any time. A
            value that would shrink more than 32 times (and is over 64 KiB)
            is stored uncompressed: readers refuse to inflate more than that
            (see the decode budget in docs/security.md).

    Example:
        ```python
        from langgraph_redis_saver import RedisCheckpointSaver

        with RedisCheckpointSaver.from_url("redis://localhost:6379/0") as saver:
            graph = builder.compile(checkpointer=saver)
            config = {"configurable": {"thread_id": "cli_20251108_145739"}}
            graph.invoke({"messages": [("user", "hi")]}, config)
        ```
    """

    def __init__(
        self,
        client: Any = None,
        *,
        aclient: Any = None,
        ttl: float | timedelta | Mapping[str, Any] | None = DEFAULT_TTL,
        key_prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
        cluster: bool | None = None,
        refresh_on_read: bool | None = None,
        session_index_keys: Sequence[str] = ("user_id",),
        max_checkpoints_per_session: int | None = None,
        compress_threshold: int | None = None,
    ) -> None:
        super().__init__(serde=serde or SafeMsgpackSerializer())
        if max_checkpoints_per_session is not None and (
            not isinstance(max_checkpoints_per_session, int) or max_checkpoints_per_session < 1
        ):
            raise ConfigurationError(
                f"max_checkpoints_per_session must be a positive int or None, "
                f"got {max_checkpoints_per_session!r}"
            )
        if compress_threshold is not None and (
            not isinstance(compress_threshold, int) or compress_threshold < 1
        ):
            raise ConfigurationError(
                f"compress_threshold must be a positive number of bytes or None, "
                f"got {compress_threshold!r}"
            )
        if isinstance(session_index_keys, str):
            raise ConfigurationError(
                f"session_index_keys takes a sequence of keys, e.g. ({session_index_keys!r},)"
            )
        _check_client(client, "client")
        _check_client(aclient, "aclient")
        if aclient is not None and not isinstance(aclient, _ASYNC_TYPES):
            raise ConfigurationError("aclient must be an async client (redis.asyncio.Redis)")
        if isinstance(client, _ASYNC_TYPES):
            client, aclient = None, client if aclient is None else aclient
        if client is None and aclient is None:
            raise ConfigurationError(
                "no Redis client given: pass RedisCheckpointSaver(redis.Redis.from_url(url)) "
                "or use RedisCheckpointSaver.from_url(url)"
            )
        self._client = client
        self._aclient = aclient
        self._aclients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._owned = False
        self._url: str | None = None
        self._client_kwargs: dict[str, Any] = {}
        if cluster is None:
            cluster = isinstance(client, _CLUSTER_TYPES) or isinstance(aclient, _CLUSTER_TYPES)
        if isinstance(ttl, Mapping):
            ttl, refresh_on_read = _official_ttl(ttl, refresh_on_read)
        self.ttl_ms = _ttl_ms(ttl)
        self._ctx = _core.Context(
            keys=KeySchema(key_prefix, cluster=cluster),
            serde=self.serde,
            ttl_ms=self.ttl_ms,
            refresh_on_read=bool(refresh_on_read),
            session_index_keys=tuple(session_index_keys),
            max_checkpoints=max_checkpoints_per_session,
            compress_min=compress_threshold or 0,
            lists=ListCache(),
        )

    # -- construction and lifetime ------------------------------------------------

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        client_kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> RedisCheckpointSaver:
        """A saver that owns its clients, built from a Redis URL.

        Usable as a plain call, ``with`` or ``async with``; closing closes only
        the clients it created. The async client is created on first async use,
        inside the running event loop.

        Args:
            url: ``redis://``, ``rediss://`` (TLS) or ``unix://`` URL.
            cluster: Force (``True``) or skip (``False``) cluster mode. By
                default the server is asked (``INFO cluster``) once.
            timeout: Seconds to wait for a connection and for each reply
                (redis-py's ``socket_connect_timeout`` and ``socket_timeout``,
                both 5 by default). Keep it above your slowest operation
                (``clear_all``, deleting a very long session).
            retries: Retries after a connection error or a timeout, with
                exponential backoff and jitter (redis-py's ``Retry``; waits
                grow from `RETRY_BACKOFF_BASE` to `RETRY_BACKOFF_CAP`). Safe
                for writes: every operation is idempotent. Default: redis-py's.
            client_kwargs: Extra keyword arguments for redis-py's ``from_url``
                (timeouts, retry policy, TLS settings).
            **options: Saver options: ``ttl``, ``key_prefix``, ``serde``,
                ``refresh_on_read``.
        """
        conn = connect(
            url, cluster=cluster, timeout=timeout, retries=retries, client_kwargs=client_kwargs
        )
        client, cluster, kwargs = conn.client, conn.cluster, conn.kwargs
        saver = cls(client, cluster=cluster, **options)
        saver._owned = True
        saver._url = url
        saver._client_kwargs = kwargs
        return saver

    @classmethod
    def from_conn_string(
        cls,
        redis_url: str | None = None,
        *,
        redis_client: Any = None,
        connection_args: dict[str, Any] | None = None,
        **options: Any,
    ) -> RedisCheckpointSaver:
        """`from_url` under the name LangGraph's other savers use.

        For code written for ``PostgresSaver``, ``SqliteSaver`` or
        langgraph-checkpoint-redis: ``with ...from_conn_string(url) as saver``
        and ``async with`` both work, and the argument names of the official
        Redis saver map as follows (see docs/migration.md): `redis_url` is
        the URL, `redis_client` a ready client (used, never closed, as in
        ``RedisCheckpointSaver(client)``), `connection_args` redis-py options
        (``client_kwargs``), and ``ttl={"default_ttl": minutes,
        "refresh_on_read": bool}`` keeps its meaning.

        Args:
            redis_url: ``redis://``, ``rediss://`` or ``unix://`` URL.
            redis_client: A redis-py client to use instead of a URL.
            connection_args: Extra keyword arguments for redis-py's ``from_url``.
            **options: As for `from_url` and the constructor.

        Raises:
            ConfigurationError: Neither or both of `redis_url` and `redis_client`,
                or an option of the official saver that has no equivalent here.

        Example:
            >>> import os
            >>> url = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
            >>> with RedisCheckpointSaver.from_conn_string(url) as saver:
            ...     saver.setup()  # nothing to create: a no-op, for habit's sake
        """
        for name, ours in _UNMAPPED_OPTIONS.items():
            if name in options:
                raise ConfigurationError(
                    f"{name} is an option of langgraph-checkpoint-redis, whose key layout "
                    f"differs; here every key lives under {ours}= (default "
                    f"{DEFAULT_PREFIX!r}). See docs/migration.md"
                )
        if (redis_url is None) == (redis_client is None):
            raise ConfigurationError(
                "pass either a URL, from_conn_string('redis://localhost:6379/0'), or a "
                "client, from_conn_string(redis_client=redis.Redis(...)); got "
                + ("both" if redis_client is not None else "neither")
            )
        if redis_client is not None:
            if connection_args:
                raise ConfigurationError(
                    "connection_args applies to a connection made from a URL; configure "
                    "the redis_client you pass instead"
                )
            return cls(redis_client, **options)
        if connection_args and options.get("client_kwargs"):
            raise ConfigurationError("give connection_args or client_kwargs, not both")
        if connection_args:
            options["client_kwargs"] = connection_args
        return cls.from_url(redis_url, **options)  # type: ignore[arg-type]

    def setup(self) -> None:
        """Do nothing: plain Redis has no indexes or tables to create.

        Present because LangGraph's Postgres and official Redis savers need
        ``saver.setup()`` before first use, so code written for them runs
        unchanged. Safe to call any number of times.
        """

    async def asetup(self) -> None:
        """Do nothing, asynchronously: see `setup`."""

    def close(self) -> None:
        """Close the sync client if this saver created it (see `from_url`)."""
        if self._owned and self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        """Close the clients this saver created (see `from_url`).

        A saver from `from_url` makes one async client per event loop; call
        this (or use ``async with``) before a loop you used it in ends.
        """
        if self._owned:
            client = self._aclients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.aclose()
            # Clients of other, finished loops cannot be awaited from here.
            self._aclients.clear()
        self.close()

    def __enter__(self) -> RedisCheckpointSaver:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> RedisCheckpointSaver:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        mode = "cluster" if self._ctx.keys.cluster else "standalone"
        ttl = f"{self.ttl_ms / 1000:g}s" if self.ttl_ms else None
        return f"<RedisCheckpointSaver prefix={self._ctx.keys.prefix!r} {mode} ttl={ttl}>"

    @property
    def keys(self) -> KeySchema:
        """The key layout in use (see ``docs/key-schema.md``)."""
        return self._ctx.keys

    def _sync(self) -> Any:
        if self._client is None:
            raise ConfigurationError(
                "this saver has only an async client, so use the async API (ainvoke, "
                "astream, aget_tuple...); for sync calls pass a sync client too: "
                "RedisCheckpointSaver(redis.Redis(...), aclient=redis.asyncio.Redis(...)) "
                "or use RedisCheckpointSaver.from_url(url)"
            )
        return self._client

    def _async(self) -> Any:
        if not self._owned or self._url is None:
            if self._aclient is None:
                raise ConfigurationError(
                    "this saver has only a sync client, so use the sync API (invoke, "
                    "stream, get_tuple...); for async calls pass aclient="
                    "redis.asyncio.Redis(...) too, or use RedisCheckpointSaver.from_url(url)"
                )
            return self._aclient
        # An asyncio client belongs to the event loop it was created in: a saver
        # made by from_url keeps one per loop, so it survives several asyncio.run().
        loop = asyncio.get_running_loop()
        client = self._aclients.get(loop)
        if client is None:
            cls = (
                redis.asyncio.cluster.RedisCluster
                if self._ctx.keys.cluster
                else redis.asyncio.Redis
            )
            client = self._aclients[loop] = cls.from_url(
                self._url, **_async_kwargs(self._client_kwargs)
            )
        return client

    def with_allowlist(self, extra_allowlist: Collection[tuple[str, ...]]) -> RedisCheckpointSaver:
        """A shallow copy whose serializer also accepts `extra_allowlist` types.

        LangGraph calls this when compiling a graph in strict msgpack mode, with
        the ``(module, name)`` pairs of the state schema's types. Works when the
        serializer is wrapped in LangGraph's ``EncryptedSerializer``.
        """
        new_serde = serde_with_allowlist(self.serde, extra_allowlist)
        if new_serde is self.serde:
            return self
        clone = copy.copy(self)
        clone.serde = new_serde
        clone._ctx = dataclasses.replace(self._ctx, serde=new_serde)
        clone._owned = False  # the original closes the clients
        return clone

    # -- BaseCheckpointSaver: sync ----------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by `config`, or the newest of its thread and namespace."""
        return run_flow(self._sync(), _core.get_tuple_flow(self._ctx, config))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first; `config=None` lists every session."""
        flow = _core.list_flow(self._ctx, config, filter=filter, before=before, limit=limit)
        return iter_flow(self._sync(), flow)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint atomically with its ``latest`` pointer."""
        flow = _core.put_flow(self._ctx, config, checkpoint, metadata, new_versions)
        return run_flow(self._sync(), flow)

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store pending writes of a task for the checkpoint in `config`."""
        flow = _core.put_writes_flow(self._ctx, config, writes, task_id, task_path)
        run_flow(self._sync(), flow)

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, write and blob of a thread."""
        run_flow(self._sync(), _core.delete_thread_flow(self._ctx, thread_id))

    def get_next_version(self, current: str | None, channel: None = None) -> str:
        """A version after `current`, unique across forks of a thread."""
        return _core.next_version(current)

    # -- BaseCheckpointSaver: async ---------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async `get_tuple`."""
        return await arun_flow(self._async(), _core.get_tuple_flow(self._ctx, config))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async `list`."""
        flow = _core.list_flow(self._ctx, config, filter=filter, before=before, limit=limit)
        async for item in aiter_flow(self._async(), flow):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async `put`."""
        flow = _core.put_flow(self._ctx, config, checkpoint, metadata, new_versions)
        return await arun_flow(self._async(), flow)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async `put_writes`."""
        flow = _core.put_writes_flow(self._ctx, config, writes, task_id, task_path)
        await arun_flow(self._async(), flow)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async `delete_thread`."""
        await arun_flow(self._async(), _core.delete_thread_flow(self._ctx, thread_id))

    # -- extended interface -----------------------------------------------------------

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> dict[str, DeltaChannelHistory]:
        """Per-channel writes and seed along the parent chain, in one round trip."""
        flow = _admin.delta_history_flow(self._ctx, config, channels)
        return run_flow(self._sync(), flow)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> dict[str, DeltaChannelHistory]:
        """Async `get_delta_channel_history`."""
        flow = _admin.delta_history_flow(self._ctx, config, channels)
        return await arun_flow(self._async(), flow)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the newest checkpoint per namespace (``keep_latest``) or
        delete everything (``delete``) for each thread.

        ``keep_latest`` keeps the ancestors a DeltaChannel of the kept
        checkpoint still needs, hidden from `list`.
        """
        run_flow(self._sync(), _admin.prune_flow(self._ctx, thread_ids, strategy))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async `prune`."""
        await arun_flow(self._async(), _admin.prune_flow(self._ctx, thread_ids, strategy))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints and writes the given runs wrote (DeltaChannel-safe)."""
        run_flow(self._sync(), _admin.delete_for_runs_flow(self._ctx, run_ids))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async `delete_for_runs`."""
        await arun_flow(self._async(), _admin.delete_for_runs_flow(self._ctx, run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, write and blob of a thread to another thread id."""
        flow = _admin.copy_thread_flow(self._ctx, source_thread_id, target_thread_id)
        run_flow(self._sync(), flow)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async `copy_thread`."""
        flow = _admin.copy_thread_flow(self._ctx, source_thread_id, target_thread_id)
        await arun_flow(self._async(), flow)

    # -- sessions -----------------------------------------------------------------------

    def list_sessions(
        self,
        *,
        filter: dict[str, Any] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> builtins.list[SessionInfo]:
        """Sessions newest first, from the sessions index (never a keyspace scan).

        Args:
            filter: One indexed metadata key and value, e.g. ``{"user_id": "u1"}``
                (see ``session_index_keys``).
            since: Only sessions written at or after this time.
            limit: At most this many sessions.
        """
        flow = _admin.list_sessions_flow(self._ctx, filter=filter, since=since, limit=limit)
        return run_flow(self._sync(), flow)

    async def alist_sessions(
        self,
        *,
        filter: dict[str, Any] | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> builtins.list[SessionInfo]:
        """Async `list_sessions`."""
        flow = _admin.list_sessions_flow(self._ctx, filter=filter, since=since, limit=limit)
        return await arun_flow(self._async(), flow)

    def get_messages(
        self, thread_id: str, *, checkpoint_ns: str = "", channel: str = "messages"
    ) -> builtins.list[BaseMessage]:
        """The conversation of a session: the `channel` value of its newest checkpoint."""
        config = _session_config(thread_id, checkpoint_ns)
        return _messages(self.get_tuple(config), channel)

    async def aget_messages(
        self, thread_id: str, *, checkpoint_ns: str = "", channel: str = "messages"
    ) -> builtins.list[BaseMessage]:
        """Async `get_messages`."""
        config = _session_config(thread_id, checkpoint_ns)
        return _messages(await self.aget_tuple(config), channel)

    def clear_session(self, thread_id: str) -> None:
        """Delete one session entirely (same as `delete_thread`)."""
        self.delete_thread(thread_id)

    async def aclear_session(self, thread_id: str) -> None:
        """Async `clear_session`."""
        await self.adelete_thread(thread_id)

    def clear_all(self) -> int:
        """Delete every key under this saver's prefix; returns how many.

        Works in SCAN batches with UNLINK, so Redis is never blocked for long.
        Sessions written while it runs may survive.
        """
        return run_flow(self._sync(), _admin.clear_all_flow(self._ctx))

    async def aclear_all(self) -> int:
        """Async `clear_all`."""
        return await arun_flow(self._async(), _admin.clear_all_flow(self._ctx))


def _session_config(thread_id: str, checkpoint_ns: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}}


def _messages(found: CheckpointTuple | None, channel: str) -> builtins.list[BaseMessage]:
    if found is None:
        return []
    return list(found.checkpoint["channel_values"].get(channel) or [])
