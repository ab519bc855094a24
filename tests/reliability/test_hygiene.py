"""Hygiene: nothing is left under the prefix that belongs to nothing.

After each operation that removes data (``delete_thread``, ``prune`` both
ways, ``copy_thread`` then deleting the copy, ``clear_all``, TTL expiry) every
key under the prefix is scanned and classified by ``docs/key-schema.md``
(see `audit`). The sessions use real graphs: interrupts, a subgraph
namespace, pending writes, two users and one run per invoke.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from support.audit import audit, check_session
from support.graphs import interview_graph, subgraph_parent
from support.workload import Api, config

OPERATIONS = ["delete_thread", "prune_keep_latest", "prune_delete", "copy_then_delete"]


async def interview(saver: RedisCheckpointSaver, mode: str, thread: str, user: str) -> None:
    """Two answered questions in a subgraph interview, one invoke (run) per turn."""
    graph = subgraph_parent().compile(checkpointer=saver)
    for turn, payload in enumerate([{"turn_count": 0}, Command(resume="a"), Command(resume="b")]):
        run = f"{thread}-run-{turn}"
        cfg: Any = {"configurable": {"thread_id": thread, "user_id": user, "run_id": run}}
        if mode == "sync":
            graph.invoke(payload, cfg)
        else:
            await graph.ainvoke(payload, cfg)


@pytest.fixture
def keys_of(redis_url: str) -> Iterator[Any]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_hygiene_no_leftovers_after(
    saver: RedisCheckpointSaver, keys_of: redis.Redis, mode: str, operation: str
) -> None:
    api = Api(saver, mode)
    await interview(saver, mode, "gone", "u-gone")
    await interview(saver, mode, "kept", "u-kept")
    before = audit(keys_of, saver.keys)
    assert before.problems() == [] and "gone" in before.sessions
    if operation == "delete_thread":
        await api.delete_thread("gone")
    elif operation == "prune_keep_latest":
        await api.prune(["gone"], strategy="keep_latest")
    elif operation == "prune_delete":
        await api.prune(["gone"], strategy="delete")
    else:
        await api.copy_thread("gone", "copy")
        assert "copy" in audit(keys_of, saver.keys).sessions
        await api.delete_thread("copy")
    after = audit(keys_of, saver.keys)
    assert after.problems() == []
    assert after.stale_index_entries == []
    if operation in ("delete_thread", "prune_delete"):
        assert "gone" not in after.sessions
        assert not [k for k in after.keys if ":gone:" in k or "u-gone" in k]
    if operation == "prune_keep_latest":
        assert len(await api.list(config("gone"))) == 1
    assert check_session(saver, "kept") == []


async def test_hygiene_clear_all_leaves_no_key(
    saver: RedisCheckpointSaver, keys_of: redis.Redis, mode: str
) -> None:
    await interview(saver, mode, "one", "u1")
    await interview(saver, mode, "two", "u2")
    assert len(audit(keys_of, saver.keys).keys) > 20
    assert await Api(saver, mode).clear_all() > 20
    assert audit(keys_of, saver.keys).keys == []


def test_hygiene_ttl_expiry_leaves_no_key(redis_url: str, keys_of: redis.Redis) -> None:
    prefix = f"ttl-{uuid.uuid4().hex[:8]}:checkpoint"
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix, ttl=0.6) as saver:
        graph = interview_graph().compile(checkpointer=saver)
        cfg: Any = {"configurable": {"thread_id": "old", "user_id": "u", "run_id": "r1"}}
        graph.invoke({"turn_count": 0}, cfg)
        time.sleep(0.4)
        cfg = {"configurable": {"thread_id": "new", "user_id": "u", "run_id": "r2"}}
        graph.invoke({"turn_count": 0}, cfg)
        graph.invoke(Command(resume="x"), cfg)
        time.sleep(0.35)  # "old" has expired, "new" is alive
        partial = audit(keys_of, saver.keys)
        assert partial.sessions == {"new"}
        assert partial.problems(allow_expired=True) == []
        assert saver.get_tuple(config("old")) is None
        time.sleep(0.7)
        assert audit(keys_of, saver.keys).keys == []


def test_audit_reports_each_kind_of_leftover(
    saver: RedisCheckpointSaver, keys_of: redis.Redis
) -> None:
    """The checker itself: every damage done by hand is reported."""
    graph = interview_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "t", "user_id": "u", "run_id": "r"}}
    graph.invoke({"turn_count": 0}, cfg)
    graph.invoke(Command(resume="x"), cfg)
    assert audit(keys_of, saver.keys).problems() == []
    ns = saver.keys.namespace("t", "")
    ids = [m.decode() for m in keys_of.zrange(ns.timeline, 0, -1)]
    blob = next(k for k in audit(keys_of, saver.keys).keys if ":blob:" in k)
    damage = {
        "stray blob": lambda: keys_of.set(ns.blob_prefix + "x:1", b"v"),
        "orphan writes": lambda: keys_of.hset(ns.writes("nope"), "f", "v"),
        "record not in timeline": lambda: keys_of.zrem(ns.timeline, ids[0]),
        "missing blob": lambda: keys_of.delete(blob),
        "latest behind": lambda: keys_of.set(ns.latest, ids[0]),
        "unknown key": lambda: keys_of.set(saver.keys.root + "t:what:is:this:key", 1),
        "orphan index": lambda: keys_of.zadd(saver.keys.sessions_by("user_id", "x"), {"z": 1}),
    }
    reported = 0
    for what, act in damage.items():
        act()
        now = len(audit(keys_of, saver.keys).problems())
        assert now > reported, what
        reported = now
