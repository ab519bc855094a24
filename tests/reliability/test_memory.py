"""Memory limits: a full Redis refuses a write cleanly and keeps what it has.

With ``maxmemory`` and ``noeviction``, Redis 7 refuses a script at its first
write that may grow memory (``OOM command not allowed``) and lets a script
that has already written run to its end, so a script never stops half-way
for lack of memory. ``put.lua`` writes its blobs first: a put that cannot be
stored writes nothing. Reads keep working, and pruning frees room again.

With an ``allkeys-*`` policy Redis may evict any key; the saver then reports
a damaged checkpoint as `CheckpointCorruptedError` (never a wrong state), and
``lgrs doctor`` flags the policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.exceptions import OutOfMemoryError, ResponseError

from langgraph_redis_saver import (
    CheckpointConflictError,
    CheckpointCorruptedError,
    RedisCheckpointSaver,
)
from langgraph_redis_saver.browse import Browser
from support.audit import audit, check_session
from support.servers import RedisServer
from support.workload import Api, SessionWriter, config

HEADROOM = 3_000_000  # bytes above the empty server's usage
BIG = "x" * 200_000  # one message this large per step


class BigWriter(SessionWriter):
    """A session whose every step adds a large message (a new blob)."""

    def next_checkpoint(self, parent: Any) -> tuple[Any, dict[str, Any]]:
        cp, new_versions = super().next_checkpoint(parent)
        cp["channel_values"]["messages"].append(BIG)
        return cp, new_versions


@pytest.fixture
def full(tmp_path: Path) -> Iterator[RedisServer]:
    """A server with ``noeviction`` and a limit a few megabytes above its usage."""
    server = RedisServer(tmp_path / "redis", "--maxmemory-policy", "noeviction").start()
    with redis.Redis(port=server.port) as r:
        r.config_set("maxmemory", r.info("memory")["used_memory"] + HEADROOM)
    yield server
    server.stop()


async def fill(writer: SessionWriter, steps: int = 60) -> OutOfMemoryError:
    for _ in range(steps):
        try:
            await writer.step()
        except OutOfMemoryError as exc:
            return exc
    raise AssertionError(f"{steps} large steps fit under maxmemory")


async def test_oom_write_fails_clearly_and_leaves_no_partial_state(
    full: RedisServer, mode: str
) -> None:
    async with RedisCheckpointSaver.from_url(full.url, key_prefix="oom", ttl=None) as saver:
        api = Api(saver, mode)
        writer = BigWriter(api, "big")
        error = await fill(writer)
        assert "maxmemory" in str(error)
        assert len(writer.acknowledged) >= 3
        newest = writer.acknowledged[-1]
        with redis.Redis(port=full.port) as r:
            assert audit(r, saver.keys).problems() == []  # no blob of the refused put
        assert check_session(saver, "big", writer.acknowledged) == []
        listed = await api.list(config("big"))
        assert [t.checkpoint["id"] for t in listed] == writer.acknowledged[::-1]
        found = await api.get_tuple(config("big"))
        assert found.checkpoint["id"] == newest and len(found.pending_writes) == 2
        # pending writes are refused the same way, and the stored ones stay. The
        # server must still be full for that: Redis 6.2 may free the refused
        # call's buffers and drop back under the limit, so pin the limit below.
        with redis.Redis(port=full.port) as r:
            used = r.info("memory")["used_memory"]
            limit = int(r.config_get("maxmemory")["maxmemory"])
            if used < limit:
                r.config_set("maxmemory", used - 1024)
        with pytest.raises(OutOfMemoryError):
            # Larger than the headroom left, whatever step the fill stopped at.
            await api.put_writes(found.config, [("messages", BIG * 10)], "late-task")
        again = await api.get_tuple(config("big"))
        assert again.pending_writes == found.pending_writes
        assert [s.thread_id for s in await api.list_sessions()] == ["big"]
        # a copy that does not fit is refused whole (one MULTI/EXEC)
        with pytest.raises(ResponseError):
            await api.copy_thread("big", "big-copy")
        with redis.Redis(port=full.port) as r:
            after = audit(r, saver.keys)
        assert after.problems() == [] and not [k for k in after.keys if "big-copy" in k]
        # pruning frees room: the same saver writes again (under the first limit)
        with redis.Redis(port=full.port) as r:
            r.config_set("maxmemory", limit)
        await api.prune(["big"])
        writer.last = None
        await writer.step()
        assert check_session(saver, "big", writer.acknowledged[-1:]) == []


def test_eviction_damage_is_reported_never_misread(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", "--maxmemory-policy", "allkeys-random").start()
    try:
        with redis.Redis(port=server.port) as r:
            r.config_set("maxmemory", r.info("memory")["used_memory"] + HEADROOM)
            with RedisCheckpointSaver.from_url(server.url, key_prefix="evict", ttl=None) as saver:
                import asyncio

                writers = [BigWriter(Api(saver, "sync"), f"e{i}") for i in range(4)]
                outcomes = set()
                for _ in range(8):
                    for w in list(writers):
                        try:
                            asyncio.run(w.step())
                        except CheckpointConflictError as exc:
                            # A value this step reuses was evicted: the put is
                            # refused rather than stored unreadable.
                            assert "eviction" in str(exc)
                            outcomes.add("refused")
                assert r.info("stats")["evicted_keys"] > 0
                for w in writers:
                    try:
                        found = saver.get_tuple(config(w.thread_id))
                        outcomes.add("ok" if found else "gone")
                        if found:
                            assert found.checkpoint["channel_values"]["messages"][-1] == BIG
                    except CheckpointCorruptedError as exc:
                        outcomes.add("reported")
                        assert "lgrs doctor" in str(exc)
                assert outcomes != {"ok"}  # the eviction did reach the sessions
            with Browser.from_url(server.url, prefix="evict") as browser:
                (policy,) = [f for f in browser.doctor() if f.check == "maxmemory-policy"]
            assert policy.severity == "error" and "noeviction" in (policy.fix or "")
    finally:
        server.stop()
