"""Drivers: the only place that talks to Redis.

The saver's logic lives in ``_core`` as generators ("flows") that yield a
`Batch` of commands and receive the replies, as httpx's ``Auth.auth_flow``
does. A batch is sent as one pipeline, so one batch costs one network round
trip. `run_flow` and `arun_flow` drive the same flow with a sync or an async
client; queueing commands on a redis-py pipeline is synchronous on both, so
only ``execute()`` differs.

Scripts are called with EVALSHA. A server that does not know a script (first
use, restart, ``SCRIPT FLUSH``, failover to a replica) answers NOSCRIPT; the
driver then loads the scripts of that batch and sends the batch again. Every
batch is idempotent, so a second send is harmless.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

import redis
import redis.asyncio
from redis.exceptions import (
    AuthenticationError,
    NoScriptError,
    OutOfMemoryError,
    ResponseError,
)

from ._urls import NEEDS_PASSWORD, needs_password
from .lua import Call, Script, script_error

_pack: Callable[[tuple[Any, ...]], bytes] | None
try:  # redis[hiredis] installs it; without it, redis-py's own path
    from hiredis import pack_command as _pack
except ImportError:  # pragma: no cover
    _pack = None

__all__ = [
    "Batch",
    "Call",
    "Command",
    "Emit",
    "Flow",
    "Scan",
    "aiter_flow",
    "arun_flow",
    "execute",
    "iter_flow",
    "password_hint",
    "run_flow",
]

T = TypeVar("T")


Command = Call | tuple[Any, ...]


@dataclass
class Batch:
    """Commands sent together in one pipeline (one round trip).

    With `transaction`, the pipeline is one MULTI/EXEC: Redis applies all of
    it or nothing, also across a crash (its append-only file drops a partial
    transaction). In a cluster its keys must share one slot.

    An error reply raises, except for the commands at the positions in
    `tolerate`: their error comes back as the reply (an exception object)
    for the flow to judge, e.g. an advisory index update. The first error
    reply of a script (`Call`) is raised as `lua.script_error` shapes it.
    """

    commands: list[Command] = field(default_factory=list)
    transaction: bool = False
    tolerate: frozenset[int] = frozenset()


@dataclass(frozen=True, eq=False)
class Scan:
    """Ask for the next keys matching `pattern` (SCAN); an empty reply ends it.

    Yield the same object again to continue. The driver keeps the cursor
    (redis-py's ``scan_iter``, which also walks every node of a cluster).
    Only administrative flows scan.
    """

    pattern: str
    count: int = 500


@dataclass(frozen=True)
class Emit:
    """Items a listing flow hands to its caller before asking for more."""

    items: Sequence[Any]


Step = Batch | Emit | Scan

_LOAD_FAILED = (
    "Redis answered NOSCRIPT again after SCRIPT LOAD: scripts are not being cached "
    "(a proxy spreading calls over servers?). Check that this user may run SCRIPT LOAD."
)
Flow = Generator[Step, Any, T]


_SCRIPT_OOM = "-OOM command not allowed"


def _error(reply: Exception) -> Exception:
    """`reply` as Redis 7+ would give it.

    Redis 6.2 wraps an error a script's write met (``Error running script ...:
    -OOM command not allowed when used memory > 'maxmemory'``) in a plain
    ``ResponseError``, where 7.x refuses the call with ``OutOfMemoryError``;
    turn the first into the second so callers see one error on every version.
    """
    if isinstance(reply, ResponseError) and not isinstance(reply, OutOfMemoryError):
        text = str(reply)
        if _SCRIPT_OOM in text:
            oom = OutOfMemoryError(text[text.index(_SCRIPT_OOM) + 5 :])
            oom.__cause__ = reply
            return oom
    return reply


def _missing_scripts(batch: Batch, replies: list[Any]) -> list[Script] | None:
    """Scripts to load before a retry, or None when the replies are final.

    Raises the first error reply that is not NOSCRIPT.
    """
    missing: dict[str, Script] = {}
    for i, (cmd, reply) in enumerate(zip(batch.commands, replies, strict=False)):
        if isinstance(reply, NoScriptError) and isinstance(cmd, Call):
            missing[cmd.script.sha] = cmd.script
        elif isinstance(reply, Exception) and i not in batch.tolerate:
            if isinstance(cmd, Call) and isinstance(reply, ResponseError):
                error = script_error(cmd.script, reply)
                if (oom := _error(error)) is not error:
                    raise oom  # its cause is the server's reply, with the script's line
                raise error from None
            raise _error(reply)
    return list(missing.values()) or None


def _args(cmd: Command) -> tuple[Any, ...]:
    if isinstance(cmd, Call):
        return ("EVALSHA", cmd.script.sha, len(cmd.keys), *cmd.keys, *cmd.args)
    return cmd


def _direct(client: Any) -> Any:
    """The connection pool of `client` when commands may go straight to a
    pooled connection (`_send`, `_asend`), else None: a cluster client,
    one pinned to a single connection, one with client-side caching or a
    text encoding other than strict UTF-8 keeps redis-py's own path,
    as does any client while redis-py's metrics (OpenTelemetry) are
    enabled."""
    if type(client) not in (redis.Redis, redis.asyncio.Redis) or _single(client):
        return None
    pool = client.connection_pool
    kwargs = getattr(pool, "connection_kwargs", {})
    if (
        _pack is None
        or getattr(pool, "cache", None) is not None
        or kwargs.get("encoding", "utf-8").lower().replace("_", "-") not in ("utf-8", "utf8")
        or kwargs.get("encoding_errors", "strict") != "strict"
        or _metrics_on()
    ):
        return None
    return pool


def _raw(client: Any, commands: Sequence[Command]) -> bool:
    """Whether `client` hands the replies of `commands` back as Redis sent
    them (scripts, and commands without a redis-py response callback), so
    that `_send` returns what ``execute_command`` would."""
    callbacks = client.response_callbacks
    return all(isinstance(cmd, Call) or cmd[0] not in callbacks for cmd in commands)


def _single(client: Any) -> bool:
    """Whether `client` runs every command on its one connection (asyncio
    clients open it on first use)."""
    return bool(
        client.connection is not None
        or getattr(client, "single_connection_client", False)
        or getattr(client, "_single_connection_client", False)
    )


def _metrics_on() -> bool:
    # Set by redis-py once a command was recorded with its metrics enabled.
    recorder = sys.modules.get("redis.observability.recorder")
    return getattr(recorder, "_metrics_collector", None) is not None


def _packed(commands: Sequence[tuple[Any, ...]]) -> bytes:
    """RESP of `commands` as redis-py would write them (hiredis's packer; our
    arguments are str, bytes and int, with str as strict UTF-8)."""
    assert _pack is not None
    if len(commands) == 1:
        return _pack(commands[0])
    return b"".join([_pack(cmd) for cmd in commands])


def _send(pool: Any, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Commands on a pooled connection, one write, then every reply (an error
    reply becomes its exception in the list, as with a pipeline's
    ``raise_on_error=False``): what redis-py's ``execute_command`` and
    pipeline do for commands without a response callback (the client's
    retry policy, a disconnect before each retry and after any error on the
    link), without their per-call bookkeeping, which costs more than the
    command on a fast link. Every batch is idempotent, so a retry is safe."""
    conn = pool.get_connection()
    try:
        return conn.retry.call_with_retry(  # type: ignore[no-any-return]
            lambda: _send_read(conn, commands), lambda _error: conn.disconnect()
        )
    finally:
        if getattr(conn, "should_reconnect", _never)():
            conn.disconnect()
        pool.release(conn)


def _send_read(conn: Any, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    conn.send_packed_command([_packed(commands)])
    replies: list[Any] = []
    for _ in commands:
        try:
            replies.append(conn.read_response())
        except ResponseError as exc:
            replies.append(exc)
    return replies


def _never() -> bool:
    return False


async def _asend(
    pool: Any,
    commands: Sequence[tuple[Any, ...]],
    read: Callable[[list[Any]], None] | None = None,
) -> list[Any]:
    """Async twin of `_send`; `read(replies)` runs after each reply is read
    (a retry starts the list again)."""
    conn = await pool.get_connection()
    try:
        return await conn.retry.call_with_retry(  # type: ignore[no-any-return]
            lambda: _asend_read(conn, commands, read), lambda _error: conn.disconnect()
        )
    finally:
        await pool.release(conn)


async def _asend_read(
    conn: Any, commands: Sequence[tuple[Any, ...]], read: Callable[[list[Any]], None] | None
) -> list[Any]:
    await conn.send_packed_command([_packed(commands)])
    replies: list[Any] = []
    for _ in commands:
        try:
            replies.append(await conn.read_response())
        except ResponseError as exc:
            replies.append(exc)
        if read is not None:
            read(replies)
    return replies


def execute(client: Any, batch: Batch) -> list[Any]:
    """Send one batch (one round trip) and return its replies.

    Where it can (`_direct`), the batch goes straight to a pooled
    connection (`_send`); else a single command skips redis-py's pipeline
    object, which costs more than the command itself on a fast connection.
    """
    pool = None if batch.transaction else _direct(client)
    if pool is not None and not _raw(client, batch.commands):
        pool = None
    for attempt in range(3):
        if pool is not None:
            replies = _send(pool, [_args(cmd) for cmd in batch.commands])
        elif len(batch.commands) == 1 and not batch.transaction:
            try:
                replies = [client.execute_command(*_args(batch.commands[0]))]
            except ResponseError as exc:
                replies = [exc]
        else:
            with client.pipeline(transaction=batch.transaction) as pipe:
                for cmd in batch.commands:
                    pipe.execute_command(*_args(cmd))
                replies = pipe.execute(raise_on_error=False)
        missing = _missing_scripts(batch, replies)
        if missing is None:
            return replies
        if attempt == 2:
            break
        for script in missing:
            client.script_load(script.source)
    raise NoScriptError(_LOAD_FAILED)


class _AutoPipeline:
    """Sends the batches that coroutines submit within one event-loop tick
    together: one write and one read for all of them (`_asend`, or a
    redis-py pipeline where `_direct` does not apply).

    With many sessions on one event loop, redis-py's per-call work (taking a
    connection from the pool, checking it, one socket write and one read per
    command) dominates the CPU a saver call costs. Batches submitted while a
    pipeline is in flight go in the next one, on another pooled connection.
    Only for non-transactional batches on a standalone asyncio client (a
    cluster client routes by slot); the pipeline keeps the client's retry
    policy, timeouts, TLS and ACL, and each batch receives its own replies
    (errors included, as with ``raise_on_error=False``) as soon as they are
    read, while the rest of the pipeline's replies are still arriving.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pending: list[tuple[Batch, asyncio.Future[list[Any]]]] = []

    def submit(self, batch: Batch) -> asyncio.Future[list[Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if not self.pending:
            loop.call_soon(self._flush)
        self.pending.append((batch, future))
        return future

    def _flush(self) -> None:
        batches, self.pending = self.pending, []
        task = asyncio.ensure_future(self._send(batches))
        _IN_FLIGHT.add(task)
        task.add_done_callback(_IN_FLIGHT.discard)

    async def _send(self, batches: list[tuple[Batch, asyncio.Future[list[Any]]]]) -> None:
        try:
            pool = _direct(self.client)
            if pool is not None and all(_raw(self.client, b.commands) for b, _ in batches):
                replies = await _asend(
                    pool, [_args(c) for b, _ in batches for c in b.commands], _answer(batches)
                )
            elif len(batches) == 1 and len(batches[0][0].commands) == 1:
                # Alone in this tick: a plain command costs less than a pipeline.
                cmd = batches[0][0].commands[0]
                try:
                    replies = [await self.client.execute_command(*_args(cmd))]
                except ResponseError as exc:
                    replies = [exc]
            else:
                async with self.client.pipeline(transaction=False) as pipe:
                    for batch, _ in batches:
                        for cmd in batch.commands:
                            pipe.execute_command(*_args(cmd))
                    replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            for _, future in batches:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (the loop is closing): so are the callers
            for _, future in batches:
                future.cancel()
            raise
        start = 0
        for batch, future in batches:
            end = start + len(batch.commands)
            if not future.done():
                future.set_result(replies[start:end])
            start = end


def _answer(
    batches: list[tuple[Batch, asyncio.Future[list[Any]]]],
) -> Callable[[list[Any]], None]:
    """A `read` callback for `_asend` that hands each batch its replies as
    soon as they are all read, not after the whole pipeline's: its caller
    goes on with its Python while the rest of the replies arrive."""
    ends: dict[int, list[int]] = {}
    end = 0
    for i, (batch, _) in enumerate(batches):
        end += len(batch.commands)
        ends.setdefault(end, []).append(i)

    def read(replies: list[Any]) -> None:
        for i in ends.get(len(replies), ()):
            batch, future = batches[i]
            if not future.done():
                future.set_result(replies[len(replies) - len(batch.commands) :])

    return read


_IN_FLIGHT: set[asyncio.Future[None]] = set()  # keeps flush tasks referenced until done
_PIPELINES: weakref.WeakKeyDictionary[Any, _AutoPipeline] = weakref.WeakKeyDictionary()


def _auto_pipeline(client: Any) -> _AutoPipeline | None:
    if not isinstance(client, redis.asyncio.Redis) or _single(client):
        return None  # a cluster client, or one pinned to a single connection
    found = _PIPELINES.get(client)
    if found is None:
        found = _PIPELINES[client] = _AutoPipeline(client)
    return found


async def aexecute(client: Any, batch: Batch) -> list[Any]:
    """Async twin of `execute`; concurrent batches share round trips (`_AutoPipeline`)."""
    auto = None if batch.transaction else _auto_pipeline(client)
    for attempt in range(3):
        if auto is not None:
            replies = await auto.submit(batch)
        elif len(batch.commands) == 1 and not batch.transaction:
            try:
                replies = [await client.execute_command(*_args(batch.commands[0]))]
            except ResponseError as exc:
                replies = [exc]
        else:
            async with client.pipeline(transaction=batch.transaction) as pipe:
                for cmd in batch.commands:
                    pipe.execute_command(*_args(cmd))
                replies = await pipe.execute(raise_on_error=False)
        missing = _missing_scripts(batch, replies)
        if missing is None:
            return replies
        if attempt == 2:
            break
        for script in missing:
            await _aload(client, script)
    raise NoScriptError(_LOAD_FAILED)


_LOADS: weakref.WeakKeyDictionary[Any, dict[str, asyncio.Future[Any]]] = weakref.WeakKeyDictionary()


async def _aload(client: Any, script: Script) -> None:
    """SCRIPT LOAD `script`, once for every coroutine that needs it now.

    Calls that share round trips (`_AutoPipeline`) get NOSCRIPT together
    after a restart or ``SCRIPT FLUSH``: one load each would need as many
    pooled connections as there are callers, beyond the asyncio pool's limit.
    """
    loop = asyncio.get_running_loop()
    loads = _LOADS.setdefault(client, {})
    load = loads.get(script.sha)
    if load is None or load.get_loop() is not loop:
        load = loads[script.sha] = asyncio.ensure_future(client.script_load(script.source))

        def done(future: asyncio.Future[Any], sha: str = script.sha) -> None:
            if loads.get(sha) is future:
                del loads[sha]
            if not future.cancelled():
                future.exception()  # retrieved: every waiter raises it

        load.add_done_callback(done)
    await asyncio.shield(load)


class _Scans:
    """Open SCAN iterators of one flow run, keyed by their `Scan` step."""

    def __init__(self) -> None:
        self.open: dict[int, Any] = {}

    def next(self, client: Any, step: Scan) -> list[Any]:
        it = self.open.get(id(step))
        if it is None:
            it = self.open[id(step)] = client.scan_iter(match=step.pattern, count=step.count)
        return list(islice(it, step.count))

    async def anext(self, client: Any, step: Scan) -> list[Any]:
        it = self.open.get(id(step))
        if it is None:
            it = self.open[id(step)] = client.scan_iter(match=step.pattern, count=step.count)
        keys: list[Any] = []
        async for key in it:
            keys.append(key)
            if len(keys) >= step.count:
                break
        return keys


def _step(client: Any, step: Step, scans: _Scans) -> Any:
    try:
        if isinstance(step, Batch):
            return execute(client, step)
        return scans.next(client, step) if isinstance(step, Scan) else None
    except AuthenticationError as exc:
        raise password_hint(client, exc) from exc


async def _astep(client: Any, step: Step, scans: _Scans) -> Any:
    try:
        if isinstance(step, Batch):
            return await aexecute(client, step)
        return await scans.anext(client, step) if isinstance(step, Scan) else None
    except AuthenticationError as exc:
        raise password_hint(client, exc) from exc


def password_hint(
    client: Any, exc: AuthenticationError, where: str | None = None
) -> AuthenticationError:
    """`exc`, or the same error type saying what to do when no password was given.

    redis-py's ``HELLO must be called with the client already
    authenticated...`` does not say it; every client reaches Redis through
    the drivers, so this covers ready clients and every saver method
    (`from_url` uses it for its probe too). `where` (a masked URL) names the
    server; by default the client's host and port.
    """
    if not needs_password(exc) or NEEDS_PASSWORD in str(exc):
        return exc
    if where is None:
        pool = getattr(client, "connection_pool", None)
        kwargs = getattr(pool, "connection_kwargs", None) or {}
        if kwargs.get("path"):
            where = f"unix://{kwargs['path']}"
        elif kwargs.get("host"):
            where = f"{kwargs['host']}:{kwargs.get('port', 6379)}"
    return type(exc)(f"{NEEDS_PASSWORD} (Redis at {where})" if where else NEEDS_PASSWORD)


def run_flow(client: Any, flow: Flow[T]) -> T:
    """Drive a flow to its return value with a sync client."""
    reply: Any = None
    scans = _Scans()
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        reply = _step(client, step, scans)


async def arun_flow(client: Any, flow: Flow[T]) -> T:
    """Drive a flow to its return value with an async client."""
    reply: Any = None
    scans = _Scans()
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        reply = await _astep(client, step, scans)


def iter_flow(client: Any, flow: Flow[Any]) -> Iterator[Any]:
    """Yield what a listing flow emits, fetching batches as the caller consumes."""
    reply: Any = None
    scans = _Scans()
    while True:
        try:
            step = flow.send(reply)
        except StopIteration:
            return
        if isinstance(step, Emit):
            yield from step.items
        reply = _step(client, step, scans)


async def aiter_flow(client: Any, flow: Flow[Any]) -> AsyncIterator[Any]:
    """Async twin of `iter_flow`."""
    reply: Any = None
    scans = _Scans()
    while True:
        try:
            step = flow.send(reply)
        except StopIteration:
            return
        if isinstance(step, Emit):
            for item in step.items:
                yield item
        reply = await _astep(client, step, scans)
