"""Redis Cluster: a real three-master cluster on loopback, sync and async.

The same behaviours as on a standalone server (put, get, list, history,
delete, prune, copy, delete_for_runs, sessions index, ``list(None)``,
``clear_all``), plus what only a cluster has: every key of a session in one
slot, sessions spread over the masters, scripts loaded on every primary, and
cluster detection by ``from_url``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
import redis.asyncio.cluster
import redis.cluster
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver import lua as scripts
from support.audit import audit, check_session, parse_key
from support.graphs import subgraph_parent
from support.servers import ClusterServers, acl_rules
from support.workload import Api, SessionWriter, config


@pytest.fixture
async def csaver(cluster: ClusterServers) -> AsyncIterator[RedisCheckpointSaver]:
    prefix = f"cl-{uuid.uuid4().hex[:8]}:checkpoint"
    async with RedisCheckpointSaver.from_url(
        cluster.url, key_prefix=prefix, timeout=5, retries=3
    ) as saver:
        yield saver
        saver.clear_all()


@pytest.fixture
def admin(cluster: ClusterServers) -> redis.cluster.RedisCluster:
    return redis.cluster.RedisCluster.from_url(cluster.url)


async def run_interview(saver: RedisCheckpointSaver, mode: str, thread: str, user: str) -> None:
    graph = subgraph_parent().compile(checkpointer=saver)
    payloads = [{"turn_count": 0}, Command(resume="yes"), Command(resume="no")]
    for turn, payload in enumerate(payloads):
        run = f"{thread}-{turn}"
        cfg: Any = {"configurable": {"thread_id": thread, "user_id": user, "run_id": run}}
        if mode == "sync":
            graph.invoke(payload, cfg)
        else:
            await graph.ainvoke(payload, cfg)


async def test_cluster_from_url_detects_the_cluster(csaver: RedisCheckpointSaver) -> None:
    assert isinstance(csaver._client, redis.cluster.RedisCluster)
    assert csaver.keys.cluster and "cluster" in repr(csaver)
    assert isinstance(csaver._async(), redis.asyncio.cluster.RedisCluster)
    assert csaver.keys.namespace("a:b", "").latest.endswith(":{a%3Ab}:latest")


async def test_cluster_same_behaviour_as_standalone(
    csaver: RedisCheckpointSaver, admin: redis.cluster.RedisCluster, mode: str
) -> None:
    api = Api(csaver, mode)
    await run_interview(csaver, mode, "iv:1", "alice")
    await run_interview(csaver, mode, "iv {2}", "bob")
    writers = [SessionWriter(api, f"plain-{i}", user_id="carol") for i in range(3)]
    for _ in range(4):
        for w in writers:
            await w.step()
    assert audit(admin, csaver.keys).problems() == []

    # reads: latest, by id, history with before/limit/filter, all sessions
    history = await api.list(config("plain-0"))
    assert [t.checkpoint["id"] for t in history] == writers[0].acknowledged[::-1]
    assert (await api.get_tuple(config("plain-0"))).checkpoint["id"] == history[0].checkpoint["id"]
    older = await api.list(config("plain-0"), before=history[0].config, limit=2)
    assert [t.checkpoint["id"] for t in older] == writers[0].acknowledged[-2:-4:-1]
    assert len(await api.list(config("iv:1"), filter={"source": "input"})) >= 1
    every = await api.list(None)
    assert {t.config["configurable"]["thread_id"] for t in every} >= {"iv:1", "iv {2}", "plain-2"}
    sessions = await api.list_sessions()
    assert {s.thread_id for s in sessions} == {"iv:1", "iv {2}", "plain-0", "plain-1", "plain-2"}
    assert [s.thread_id for s in await api.list_sessions(filter={"user_id": "bob"})] == ["iv {2}"]
    messages = await api.get_messages("plain-0")
    assert messages[-1].content == "question 4"

    # writes: copy, prune, delete for runs, delete
    await api.copy_thread("iv:1", "iv:copy")
    copied = await api.list(config("iv:copy"))
    assert [t.checkpoint for t in copied] == [t.checkpoint for t in await api.list(config("iv:1"))]
    await api.prune(["plain-1"])
    assert len(await api.list(config("plain-1"))) == 1
    await api.delete_for_runs(["iv {2}-2"])
    assert check_session(csaver, "iv {2}") == []
    await api.delete_thread("iv:1")
    assert await api.get_tuple(config("iv:1")) is None
    assert check_session(csaver, "iv:copy") == []
    assert audit(admin, csaver.keys).problems(allow_stale_index=True) == []

    # clear_all walks every master
    assert await api.clear_all() > 0
    assert audit(admin, csaver.keys).keys == []


async def test_cluster_keys_of_a_session_share_one_slot(
    csaver: RedisCheckpointSaver, admin: redis.cluster.RedisCluster, cluster: ClusterServers
) -> None:
    sessions = [f"s-{i}:{uuid.uuid4().hex[:4]}" for i in range(24)]
    for thread in sessions:
        await SessionWriter(Api(csaver, "sync"), thread).step()
    await run_interview(csaver, "sync", "with-subgraph", "u")
    found = audit(admin, csaver.keys)
    by_session: dict[str, set[int]] = {}
    node = redis.Redis(port=cluster.nodes[0].port)
    for key in found.keys:
        kind = parse_key(key, csaver.keys)
        assert kind is not None, key
        if kind.session:
            by_session.setdefault(kind.session, set()).add(node.cluster("keyslot", key))
    node.close()
    assert len(by_session) == 25
    assert all(len(slots) == 1 for slots in by_session.values()), by_session
    masters = {admin.get_node_from_key(csaver.keys.namespace(t, "").latest).name for t in sessions}
    assert len(masters) == 3  # 24 sessions hashed over 3 masters: all of them get some


async def test_cluster_scripts_reload_on_every_primary(
    csaver: RedisCheckpointSaver, admin: redis.cluster.RedisCluster, mode: str
) -> None:
    """SCRIPT FLUSH everywhere (as after a failover or restart): NOSCRIPT, reload, go on."""
    api = Api(csaver, mode)
    writers = [SessionWriter(api, f"flush-{i}") for i in range(6)]
    for w in writers:
        await w.step()
    admin.script_flush()  # routed to every primary
    assert admin.script_exists(scripts.PUT.sha) == [False]
    for w in writers:
        await w.step()
    assert admin.script_exists(scripts.PUT.sha) == [True]
    for w in writers:
        assert check_session(csaver, w.thread_id, w.acknowledged) == []


async def test_cluster_forced_mode_and_ready_clients(cluster: ClusterServers) -> None:
    """``cluster=True`` without asking the server, and ready RedisCluster clients."""
    prefix = f"cl-{uuid.uuid4().hex[:8]}:checkpoint"
    client = redis.cluster.RedisCluster.from_url(cluster.url)
    aclient = redis.asyncio.cluster.RedisCluster.from_url(cluster.url)
    saver = RedisCheckpointSaver(client, aclient=aclient, key_prefix=prefix)
    assert saver.keys.cluster
    await SessionWriter(Api(saver, "sync"), "ready-sync").step()
    await SessionWriter(Api(saver, "async"), "ready-async").step()
    with RedisCheckpointSaver.from_url(cluster.url, cluster=True, key_prefix=prefix) as forced:
        assert {s.thread_id for s in forced.list_sessions()} == {"ready-sync", "ready-async"}
        assert forced.clear_all() > 0
    client.close()
    await aclient.aclose()


async def test_cluster_acl_user_limited_to_the_prefix(cluster: ClusterServers, mode: str) -> None:
    """The documented cluster ACL (saver commands + CLUSTER SLOTS + COMMAND) suffices."""
    prefix = f"cl-acl-{uuid.uuid4().hex[:6]}:checkpoint"
    user = f"saver{mode}"
    for node in cluster.nodes:  # ACL users are per node
        with redis.Redis(port=node.port) as r:
            r.execute_command("ACL", "SETUSER", user, *acl_rules(prefix, "pw-c1", cluster=True))
    url = cluster.url.replace("redis://", f"redis://{user}:pw-c1@")
    async with RedisCheckpointSaver.from_url(url, key_prefix=prefix) as saver:
        assert saver.keys.cluster
        api = Api(saver, mode)
        writers = [SessionWriter(api, f"acl-{i}") for i in range(6)]
        for w in writers:
            await w.step()
            await w.step()
        await api.copy_thread("acl-0", "acl-copy")
        await api.prune(["acl-1"])
        await api.delete_thread("acl-2")
        assert len(await api.list_sessions()) == 6
        assert check_session(saver, "acl-copy", writers[0].acknowledged) == []
        assert await api.clear_all() > 0


def test_cluster_inspector_listing_counts_and_reads_every_session(
    csaver: RedisCheckpointSaver, admin: redis.cluster.RedisCluster, cluster: ClusterServers
) -> None:
    from langgraph_redis_saver.browse import Browser, SkippedEntry

    writers = [f"s-{i}" for i in range(6)]
    for thread in writers:
        csaver.put(
            {"configurable": {"thread_id": thread, "checkpoint_ns": ""}},
            {**_empty_checkpoint(), "id": str(uuid.uuid1())},
            {"source": "input", "step": -1},
            {},
        )
    keys = csaver.keys
    admin.delete(keys.namespace("s-1", "").latest)
    admin.rpush(keys.namespace("s-1", "").latest, "x")  # a key of another type
    admin.zadd(keys.sessions, {"gone": 1, b"\xff-stray": 2})
    with Browser.from_url(cluster.url, prefix=keys.prefix) as b:
        page = b.session_page(count=True, sort="id", limit=4)
        every = b.session_page(limit=None).rows
    assert page.total == 7 and page.skipped == 1
    assert isinstance(page.rows[0], SkippedEntry)  # U+FFFD for the bad byte sorts last
    assert [getattr(r, "session_id", None) for r in page.rows] == [None, "s-5", "s-4", "s-3"]
    assert len(every) == 7
    broken = next(r for r in every if not isinstance(r, SkippedEntry) and r.session_id == "s-1")
    assert broken.error and "another type" in broken.error


def _empty_checkpoint() -> Any:
    from langgraph.checkpoint.base import empty_checkpoint

    return empty_checkpoint()
