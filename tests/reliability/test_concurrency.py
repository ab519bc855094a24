"""Concurrency: many writers at once, and two writers on one session.

LangGraph does not lock a thread: two runs on the same ``thread_id`` read the
same newest checkpoint and each write children of it, so the session forks.
The saver does not prevent that; it guarantees that each checkpoint is stored
whole (one script), that ``latest`` is always the greatest checkpoint id
whatever order the writes land in, and that no pointer dangles. These tests
check exactly that, with separate processes and with concurrent asyncio tasks.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
from langgraph.checkpoint.base.id import uuid6
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from support.audit import audit, check_session
from support.graphs import interview_graph
from support.workload import Api, SessionWriter, config

TESTS = Path(__file__).parents[1]


def spawn(*args: str, barrier: str | None = None) -> subprocess.Popen[str]:
    """``python -m support.workload ARGS`` in a new process (``support`` from tests/)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    if barrier:
        env["WORKLOAD_BARRIER"] = barrier
    return subprocess.Popen(
        [sys.executable, "-m", "support.workload", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def acknowledged(procs: list[subprocess.Popen[str]]) -> dict[str, list[str]]:
    """Wait for workload processes; their acknowledged checkpoint ids per session."""
    acked: dict[str, list[str]] = defaultdict(list)
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        for line in out.splitlines():
            session, cid = line.split()
            acked[session].append(cid)
    return acked


def parents_exist(saver: RedisCheckpointSaver, thread_id: str) -> list[str]:
    listed = {t.checkpoint["id"]: t for t in saver.list(config(thread_id))}
    return [
        cid
        for cid, t in listed.items()
        if t.parent_config and t.parent_config["configurable"]["checkpoint_id"] not in listed
    ]


def test_processes_writing_sessions_at_once(redis_url: str, prefix: str) -> None:
    """Four processes, two sessions each, plus two processes sharing one session."""
    barrier = f"{prefix}-barrier 6"  # outside the prefix: not the saver's key
    procs = [
        spawn(redis_url, prefix, "12", f"p{i}-a", f"p{i}-b", barrier=barrier) for i in range(4)
    ]
    procs += [spawn(redis_url, prefix, "20", "shared", barrier=barrier) for _ in range(2)]
    acked = acknowledged(procs)
    assert len(acked) == 9 and len(acked["shared"]) == 40
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix, ttl=None) as saver:
        for session, ids in acked.items():
            assert check_session(saver, session, ids) == [], session
            assert parents_exist(saver, session) == [], session
        newest = saver.get_tuple(config("shared"))
        assert newest is not None and newest.checkpoint["id"] == max(acked["shared"])
        assert {s.thread_id for s in saver.list_sessions()} == set(acked)
        with redis.Redis.from_url(redis_url) as r:
            assert audit(r, saver.keys).problems() == []
            r.delete(barrier.split()[0])
        saver.clear_all()


async def test_two_graph_runs_on_one_thread_at_once(
    saver: RedisCheckpointSaver, mode: str, redis_url: str
) -> None:
    """Two runs of one interview thread at once (threads, or asyncio tasks): the
    thread forks but stays whole, and a third run resumes from its newest state."""
    graph = interview_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "race"}}
    if mode == "sync":
        start = threading.Barrier(2)

        def run() -> dict[str, Any]:
            start.wait()
            return graph.invoke({"turn_count": 0}, cfg)

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: run(), range(2)))
    else:
        results = await asyncio.gather(*(graph.ainvoke({"turn_count": 0}, cfg) for _ in range(2)))
    assert all(r["__interrupt__"][0].value["turn"] == 0 for r in results)
    resumed = await graph.ainvoke(Command(resume="an answer"), cfg)
    assert resumed["turn_count"] == 1
    assert check_session(saver, "race") == []
    assert parents_exist(saver, "race") == []
    with redis.Redis.from_url(redis_url) as r:
        assert audit(r, saver.keys).problems() == []


async def test_concurrent_tasks_on_shared_and_separate_sessions(
    saver: RedisCheckpointSaver, mode: str, redis_url: str
) -> None:
    api = Api(saver, mode)
    separate = [SessionWriter(api, f"task-{i}") for i in range(12)]
    shared = [SessionWriter(api, "together", reread=True) for _ in range(3)]

    async def run(writer: SessionWriter, steps: int) -> None:
        for _ in range(steps):
            await writer.step()
            await asyncio.sleep(0)

    await asyncio.gather(*(run(w, 5) for w in separate), *(run(w, 8) for w in shared))
    for w in separate:
        assert check_session(saver, w.thread_id, w.acknowledged) == []
    together = [cid for w in shared for cid in w.acknowledged]
    assert check_session(saver, "together", together) == []
    assert (await api.get_tuple(config("together"))).checkpoint["id"] == max(together)
    with redis.Redis.from_url(redis_url) as r:
        assert audit(r, saver.keys).problems() == []


async def test_latest_is_the_greatest_id_whatever_lands_last(
    saver: RedisCheckpointSaver, mode: str
) -> None:
    """A slow writer whose older checkpoint lands last does not move ``latest`` back."""
    api = Api(saver, mode)
    writer = SessionWriter(api, "order")
    await writer.step()
    parent = writer.last
    older_id, newer_id = str(uuid6(clock_seq=-1)), str(uuid6(clock_seq=-1))
    for cid in (newer_id, older_id):  # the older one is written second
        cp, versions = writer.next_checkpoint(parent)
        cp["id"] = cid
        meta = {"source": "loop", "step": 1, "parents": {}}
        await api.put(config("order", parent["id"]), cp, meta, versions)
    assert (await api.get_tuple(config("order"))).checkpoint["id"] == newer_id
    assert check_session(saver, "order", [newer_id, older_id]) == []
