"""The saver's own I/O path under faults, compared with what redis-py's path survives.

The saver sends its commands straight to pooled redis-py connections, and
concurrent async calls share round trips (`_drive`). These tests attack that
path on a private server: scripts missing for hundreds of callers at once, a
hung server, calls cancelled or timed out mid-reply, connections the server
closed, RESP3 push messages between replies, and damaged sessions read in the
same round trip as good ones. Afterwards every call gets its own reply, and
the pool is not exhausted.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from langgraph.checkpoint.base import (
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    empty_checkpoint,
)
from langgraph.checkpoint.base.id import uuid6
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.errors import CheckpointCorruptedError
from support.api import Api
from support.redis_server import RedisServer
from support.workload import config


def _checkpoint(thread_id: str, n: int) -> Checkpoint:
    """A checkpoint whose values say which session and step it belongs to."""
    cp = empty_checkpoint()
    cp["id"] = str(uuid6(clock_seq=n))
    cp["channel_values"] = {"owner": thread_id, "n": n}
    cp["channel_versions"] = {"owner": f"{n:032}.0", "n": f"{n:032}.0"}
    return cp


def _meta(n: int) -> CheckpointMetadata:
    return {"source": "loop", "step": n, "parents": {}}


async def _put(api: Api, thread_id: str, n: int) -> None:
    cp = _checkpoint(thread_id, n)
    await api.put(config(thread_id), cp, _meta(n), cp["channel_versions"])


def _owner(found: CheckpointTuple | None) -> tuple[str, int] | None:
    if found is None:
        return None
    values = found.checkpoint["channel_values"]
    assert found.config["configurable"]["thread_id"] == values["owner"]
    return values["owner"], values["n"]


@pytest.fixture
def stoppable(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The private server; SIGCONT on the way out, whatever the test did."""
    try:
        yield redis_server
    finally:
        if redis_server.pid is not None:
            os.kill(redis_server.pid, signal.SIGCONT)


def _one_connection_saver(server: RedisServer, **kwargs: Any) -> RedisCheckpointSaver:
    """A saver whose sync and async clients each have exactly one pooled
    connection, so every call reuses the link the previous one left."""
    options: dict[str, Any] = {"port": server.port, "max_connections": 1, "timeout": 30, **kwargs}
    sync = redis.Redis(
        connection_pool=redis.BlockingConnectionPool(**options), retry=Retry(NoBackoff(), 0)
    )
    aclient = redis.asyncio.Redis(
        connection_pool=redis.asyncio.BlockingConnectionPool(**options),
        retry=AsyncRetry(NoBackoff(), 0),
    )
    return RedisCheckpointSaver(sync, aclient=aclient)


async def _close(saver: RedisCheckpointSaver) -> None:
    await saver.aclose()
    saver.close()


async def test_hundreds_of_async_callers_needing_a_script_share_one_load(
    redis_server: RedisServer,
) -> None:
    """Concurrent async calls share one round trip, so they fit in a small
    pool; when the server lacks a script (first use, restart, SCRIPT FLUSH)
    they all get NOSCRIPT at once, and one SCRIPT LOAD each took as many
    connections: redis-py's asyncio pool (100 connections by default) raised
    MaxConnectionsError for every caller beyond its limit."""
    client = redis.asyncio.Redis(port=redis_server.port, max_connections=4)
    saver = RedisCheckpointSaver(client)
    api = Api(saver, "async")
    sessions = [f"s{i}" for i in range(60)]
    try:
        for thread_id in sessions:
            await _put(api, thread_id, 1)
        # get.lua's first use: every caller gets NOSCRIPT in the same tick.
        found = await asyncio.gather(*(saver.aget_tuple(config(t)) for t in sessions))
        assert [_owner(f) for f in found] == [(t, 1) for t in sessions]
        with redis.Redis(port=redis_server.port) as admin:
            admin.script_flush()
        await asyncio.gather(*(_put(api, t, 2) for t in sessions))
        found = await asyncio.gather(*(saver.aget_tuple(config(t)) for t in sessions))
        assert [_owner(f) for f in found] == [(t, 2) for t in sessions]
    finally:
        await client.aclose()


async def test_a_call_that_timed_out_on_a_hung_server_leaves_no_reply_behind(
    stoppable: RedisServer, mode: str
) -> None:
    """The late replies of calls that timed out while Redis was paused must
    not reach the next call on the same (only) pooled connection."""
    saver = _one_connection_saver(stoppable, socket_timeout=0.5)
    api = Api(saver, mode)
    try:
        await _put(api, "a", 1)
        await _put(api, "b", 1)
        assert stoppable.pid is not None
        os.kill(stoppable.pid, signal.SIGSTOP)
        with pytest.raises(redis.exceptions.TimeoutError):
            await api.get_tuple(config("a"))
        with pytest.raises(redis.exceptions.TimeoutError):
            await _put(api, "a", 2)
        os.kill(stoppable.pid, signal.SIGCONT)
        assert _owner(await api.get_tuple(config("b"))) == ("b", 1)
        assert [_owner(t) for t in await api.list(config("b"))] == [("b", 1)]
        # The timed-out put is whole or absent.
        assert _owner(await api.get_tuple(config("a"))) in (("a", 1), ("a", 2))
    finally:
        await _close(saver)


async def test_a_call_cancelled_mid_reply_leaves_no_reply_behind(stoppable: RedisServer) -> None:
    saver = _one_connection_saver(stoppable)
    api = Api(saver, "async")
    try:
        await _put(api, "a", 1)
        await _put(api, "b", 1)
        assert stoppable.pid is not None
        os.kill(stoppable.pid, signal.SIGSTOP)
        # The request is written; its reply cannot come while Redis is paused.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(saver.aget_tuple(config("a")), 0.2)
        pending = asyncio.ensure_future(saver.aget_tuple(config("a")))
        await asyncio.sleep(0)  # let it submit
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        os.kill(stoppable.pid, signal.SIGCONT)
        found = await asyncio.gather(*(saver.aget_tuple(config(t)) for t in "ba" * 5))
        assert [_owner(f) for f in found] == [("b", 1), ("a", 1)] * 5
    finally:
        await _close(saver)


async def test_connections_closed_by_the_server_are_replaced(
    redis_server: RedisServer, mode: str
) -> None:
    """``CLIENT KILL`` (or the server's idle ``timeout``) closes pooled
    connections between calls; the next call runs on a fresh one."""
    sync = redis.Redis(port=redis_server.port, retry=Retry(NoBackoff(), 1))
    aclient = redis.asyncio.Redis(port=redis_server.port, retry=AsyncRetry(NoBackoff(), 1))
    saver = RedisCheckpointSaver(sync, aclient=aclient)
    api = Api(saver, mode)
    try:
        with redis.Redis(port=redis_server.port) as admin:
            for n in range(1, 4):
                await _put(api, "a", n)
                admin.client_kill_filter(_type="normal", skipme=True)
                assert _owner(await api.get_tuple(config("a"))) == ("a", n)
                admin.client_kill_filter(_type="normal", skipme=True)
    finally:
        await _close(saver)


async def test_resp3_push_messages_between_replies_are_not_taken_for_replies(
    redis_server: RedisServer, mode: str
) -> None:
    """With RESP3 and client tracking, Redis pushes invalidation messages on
    the saver's connections whenever another client writes its keys."""

    def track(conn: Any) -> None:
        conn.on_connect()
        conn.send_command("CLIENT", "TRACKING", "ON", "BCAST")
        assert conn.read_response() in (b"OK", "OK")

    async def atrack(conn: Any) -> None:
        await conn.on_connect()
        await conn.send_command("CLIENT", "TRACKING", "ON", "BCAST")
        assert await conn.read_response() in (b"OK", "OK")

    port = redis_server.port
    saver = RedisCheckpointSaver(
        redis.Redis(port=port, protocol=3, redis_connect_func=track),
        aclient=redis.asyncio.Redis(port=port, protocol=3, redis_connect_func=atrack),
    )
    api = Api(saver, mode)
    try:
        with RedisCheckpointSaver(redis.Redis(port=port)) as other:
            await _put(api, "b", 1)
            for n in range(1, 20):
                cp = _checkpoint("a", n)
                other.put(config("a"), cp, _meta(n), cp["channel_versions"])
                assert _owner(await api.get_tuple(config("a"))) == ("a", n)
                assert _owner(await api.get_tuple(config("b"))) == ("b", 1)
    finally:
        await _close(saver)


async def test_damaged_and_good_sessions_read_in_one_round_trip_get_their_own_replies(
    redis_url: str, prefix: str
) -> None:
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        api = Api(saver, "async")
        sessions = [f"s{i}" for i in range(40)]
        for thread_id in sessions:
            await _put(api, thread_id, 1)
        damaged = set(sessions[::5])
        with redis.Redis.from_url(redis_url) as admin:
            for thread_id in damaged:  # `latest` of another type
                admin.delete(f"{prefix}:{thread_id}:latest")
                admin.rpush(f"{prefix}:{thread_id}:latest", "x")
        found = await asyncio.gather(
            *(saver.aget_tuple(config(t)) for t in sessions), return_exceptions=True
        )
        for thread_id, result in zip(sessions, found, strict=True):
            if thread_id in damaged:
                assert isinstance(result, CheckpointCorruptedError), result
            else:
                assert not isinstance(result, BaseException), result
                assert _owner(result) == (thread_id, 1)
