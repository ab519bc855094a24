"""What every ``lgrs`` command shares: connection settings and their options,
error reporting, the `Browser` a command queries, and the time parser.

Imports only click (and the package's own light modules): ``lgrs --help`` and
usage errors load nothing else (see tests/cli).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from langgraph_redis_saver._urls import (
    DEFAULT_URL,
    NEEDS_PASSWORD,
    mask_secrets,
    mask_url,
    needs_password,
)
from langgraph_redis_saver.cli.sanitize import inert
from langgraph_redis_saver.errors import RedisSaverError
from langgraph_redis_saver.keys import DEFAULT_PREFIX

if TYPE_CHECKING:
    from langgraph_redis_saver.browse import Browser


# `lgrs --help` and usage errors import only click: redis, rich, LangGraph and
# langchain-core load inside the commands that need them (see tests/cli).
DEFAULT_CHANNEL = "messages"
"""The state key of the conversation (`langgraph_redis_saver.browse.DEFAULT_CHANNEL`)."""

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TAIL = 50
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 88}
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# -- connection settings ---------------------------------------------------------------


@dataclass
class Settings:
    """Connection options: from the command, else from the group.

    The group's options read the environment (click's ``envvar=``):
    ``REDIS_URL``, ``LGRS_PREFIX``, ``LGRS_CHANNEL``, and ``REDIS_HOST``,
    ``REDIS_PORT``, ``REDIS_PASSWORD`` for a server given without a URL.
    """

    url: str | None = None
    prefix: str | None = None
    as_json: bool = False
    channel: str | None = None
    host: str | None = None
    port: int | None = None
    password: str | None = None
    aes_key_file: Path | None = None
    aes_key_env: str | None = None

    def aes_key(self) -> bytes | None:
        """The AES key of encrypted sessions: ``--aes-key-file``, else ``LANGGRAPH_AES_KEY``.

        The same key LangGraph's ``EncryptedSerializer.from_pycryptodome_aes``
        takes: 16, 24 or 32 bytes (a trailing newline in the file is ignored).
        """
        if self.aes_key_file is not None:
            key = self.aes_key_file.read_bytes().rstrip(b"\r\n")
            source = f"the key in {inert(self.aes_key_file, one_line=True)}"
        elif self.aes_key_env:
            key, source = self.aes_key_env.encode(), "LANGGRAPH_AES_KEY"
        else:
            return None
        if len(key) not in (16, 24, 32):
            raise click.UsageError(
                f"{source} is {len(key)} bytes; an AES key is 16, 24 or 32 bytes"
            )
        return key

    def connection(self) -> tuple[str, dict[str, Any]]:
        """The Redis URL and client options."""
        url = self.url
        if not url and (self.host or self.port):
            host = self.host or "localhost"
            host = f"[{host}]" if ":" in host and not host.startswith("[") else host
            url = f"redis://{host}:{self.port or 6379}/0"
        url = url or DEFAULT_URL
        kwargs: dict[str, Any] = {"socket_connect_timeout": 5, "socket_timeout": 30}
        if self.password and _password(url) is None:
            kwargs["password"] = self.password
        return url, kwargs

    @property
    def key_prefix(self) -> str:
        return self.prefix or DEFAULT_PREFIX

    def where(self) -> str:
        """The server as shown to people: host and port, never a password."""
        url, _ = self.connection()
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return parts.path
        try:
            port = parts.port or 6379
        except ValueError:
            return mask_url(url)
        return f"{parts.hostname or 'localhost'}:{port}"

    def secrets(self) -> list[str]:
        url, kwargs = self.connection()
        return [s for s in (_password(url), kwargs.get("password")) if s]


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


@contextmanager
def errors(settings: Settings) -> Iterator[None]:
    """Turn library and Redis errors into one-line messages with exit code 1."""
    import redis.exceptions

    try:
        yield
    except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
        raise
    except RedisSaverError as exc:  # SessionNotFoundError included
        raise _fail(settings, str(exc)) from None
    except redis.exceptions.AuthenticationError as exc:
        if needs_password(exc):  # the message has a URL template that must not be masked
            where = inert(mask_url(settings.where()), one_line=True)
            raise click.ClickException(
                f"Redis at {where}: {NEEDS_PASSWORD}, or set REDIS_PASSWORD"
            ) from None
        raise _fail(
            settings, f"Redis at {settings.where()} refused the credentials: {exc}"
        ) from None
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        reason = str(exc)
        found = re.search(r"connecting to \S+?\.\s+(.*)", reason)
        reason = (found.group(1) if found else reason).rstrip(".") or type(exc).__name__
        raise _fail(settings, f"cannot connect to Redis at {settings.where()}: {reason}") from None
    except redis.exceptions.ResponseError as exc:
        raise _fail(settings, f"Redis at {settings.where()} answered: {exc}") from None
    except OSError as exc:  # export files: permissions, full disk
        raise _fail(settings, str(exc)) from None
    except RecursionError:
        raise _fail(settings, "a stored value is nested too deeply to show") from None
    except UnicodeEncodeError as exc:
        if "surrogate" not in exc.reason:
            raise _fail(settings, f"cannot encode text: {exc}") from None
        bad = " ".join(f"0x{ord(c) - 0xDC00:02x}" for c in str(exc.object)[exc.start : exc.end])
        raise _fail(
            settings,
            f"an argument is not valid UTF-8 (byte {bad}): give session ids and other "
            "arguments as UTF-8 text",
        ) from None
    except Exception as exc:  # a bug or hostile data: still one line, never a traceback
        if os.environ.get("LGRS_DEBUG"):
            raise
        detail = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__
        raise _fail(settings, f"{reason} (set LGRS_DEBUG=1 for a traceback)") from None


def _fail(settings: Settings, message: str) -> click.ClickException:
    message = mask_secrets(message, settings.secrets())
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    return click.ClickException(inert(first))


def _warn(message: str) -> None:
    """One warning line on stderr; `message` may quote stored text."""
    click.echo(f"warning: {inert(message, one_line=True)}", err=True)


@contextmanager
def _inert_warnings() -> Iterator[None]:
    """Python warnings (e.g. the serializer's, which name stored classes) as inert lines."""

    def show(message: Warning | str, *_: Any, **__: Any) -> None:
        _warn(str(message))

    with warnings.catch_warnings():
        # Shown, whatever filters the environment set (PYTHONWARNINGS=error
        # would turn "skipped one damaged session" into a failure of all).
        warnings.simplefilter("default")
        warnings.showwarning = show
        yield


@contextmanager
def browse(settings: Settings) -> Iterator[Browser]:
    """A connected `Browser`; use inside `errors`."""
    from langgraph_redis_saver.browse import Browser

    url, kwargs = settings.connection()
    channel = settings.channel or DEFAULT_CHANNEL
    with Browser.from_url(
        url,
        prefix=settings.key_prefix,
        channel=channel,
        client_kwargs=kwargs,
        aes_key=settings.aes_key(),
    ) as browser:
        yield browser


# The group's options read the environment; a command's own options do not,
# so that `lgrs --url A sessions` is not overridden by $REDIS_URL.


def _url_option(f: F, envvar: str | None = None) -> F:
    return click.option(
        "--url",
        metavar="URL",
        envvar=envvar,
        help="Redis URL (redis://, rediss://, unix://). Default: $REDIS_URL, else "
        "$REDIS_HOST/$REDIS_PORT/$REDIS_PASSWORD, else redis://localhost:6379/0.",
    )(f)


def _prefix_option(f: F, envvar: str | None = None) -> F:
    return click.option(
        "--prefix",
        metavar="PREFIX",
        envvar=envvar,
        help=f"Key prefix of the saver. Default: $LGRS_PREFIX, else {DEFAULT_PREFIX}.",
    )(f)


def _channel_option(f: F, envvar: str | None = None) -> F:
    return click.option(
        "--channel",
        metavar="NAME",
        envvar=envvar,
        help="State key that holds the conversation's messages. Default: "
        f"$LGRS_CHANNEL, else {DEFAULT_CHANNEL}.",
    )(f)


def _aes_option(f: F) -> F:
    return click.option(
        "--aes-key-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="FILE",
        help="AES key of sessions written through LangGraph's EncryptedSerializer. "
        "Default: $LANGGRAPH_AES_KEY. Without it they show as encrypted.",
    )(f)


def _environment_options(f: F) -> F:
    """The group's options and the variables they read (``REDIS_HOST`` etc. have no flag)."""
    f = _aes_option(f)
    f = _channel_option(f, "LGRS_CHANNEL")
    f = _prefix_option(f, "LGRS_PREFIX")
    f = _url_option(f, "REDIS_URL")
    for name, envvar, kind in (
        ("redis_host", "REDIS_HOST", click.STRING),
        ("redis_port", "REDIS_PORT", click.STRING),
        ("redis_password", "REDIS_PASSWORD", click.STRING),
        ("aes_key", "LANGGRAPH_AES_KEY", click.STRING),
    ):
        f = click.option(f"--{name.replace('_', '-')}", name, envvar=envvar, type=kind,
                         hidden=True, expose_value=True)(f)  # fmt: skip
    return f


def output_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options every command shares: ``--url``, ``--prefix``, ``--channel``, ``--json``.

    The wrapped command receives the merged `Settings` as its first argument,
    and its body runs inside `errors`.
    """

    @_url_option
    @_prefix_option
    @_channel_option
    @_aes_option
    @click.option("--json", "as_json", is_flag=True, help="Print JSON (shapes: docs/cli.md).")
    @functools.wraps(f)
    def command(
        *,
        url: str | None,
        prefix: str | None,
        channel: str | None,
        aes_key_file: Path | None,
        as_json: bool,
        **kwargs: Any,
    ) -> Any:
        group = click.get_current_context().find_object(Settings) or Settings()
        settings = dataclasses.replace(
            group,
            url=url or group.url,
            prefix=prefix or group.prefix,
            as_json=as_json,
            channel=channel or group.channel,
            aes_key_file=aes_key_file or group.aes_key_file,
        )
        with errors(settings):
            return f(settings, **kwargs)

    return command


if TYPE_CHECKING:
    _ParamType = click.ParamType[datetime]
else:  # older click releases have no generic ParamType
    _ParamType = click.ParamType


class Time(_ParamType):
    """A point in time: ISO 8601 (UTC unless it says otherwise) or an age like 2h, 7d."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value)
        found = _RELATIVE.match(text)
        if found:
            delta = timedelta(**{_UNITS[found.group(2)]: float(found.group(1))})
            return datetime.now(timezone.utc) - delta
        try:
            parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{text!r} is not a time: use e.g. 2025-11-08, 2025-11-08T14:30, 2h or 7d",
                param,
                ctx,
            )
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


TIME = Time()
