"""Extended interface: DeltaChannel history, prune, copy, runs, sessions, cap."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import pytest
import redis
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from test_saver import ACountingConnection, Counter, CountingConnection, checkpoint, config, meta
from typing_extensions import TypedDict

from langgraph_redis_saver import CheckpointCorruptedError, ConfigurationError, RedisCheckpointSaver
from support.api import Api


def concat(state: list[str], writes: list[Any]) -> list[str]:
    out = list(state)
    for w in writes:
        out.extend(w if isinstance(w, list) else [w])
    return out


class LogState(TypedDict, total=False):
    log: Annotated[list[str], DeltaChannel(concat, snapshot_frequency=20)]
    turn: int


def delta_graph(checkpointer: Any) -> Any:
    builder = StateGraph(LogState)
    builder.add_node(
        "step", lambda s: {"log": [f"out{s.get('turn', 0)}"], "turn": s.get("turn", 0) + 1}
    )
    builder.add_edge(START, "step")
    return builder.compile(checkpointer=checkpointer)


async def invoke(graph: Any, payload: Any, cfg: dict[str, Any], mode: str) -> Any:
    if mode == "sync":
        return graph.invoke(payload, cfg)
    return await graph.ainvoke(payload, cfg)


async def values(graph: Any, cfg: dict[str, Any], mode: str) -> dict[str, Any]:
    snap = graph.get_state(cfg) if mode == "sync" else await graph.aget_state(cfg)
    return dict(snap.values)


async def run_turns(graph: Any, thread: str, turns: range, mode: str) -> None:
    for i in turns:
        cfg = {"configurable": {"thread_id": thread, "run_id": str(uuid.UUID(int=i))}}
        await invoke(graph, {"log": [f"in{i}"]}, cfg, mode)


async def test_delta_channel_over_257_turns_prune_and_copy(
    saver: RedisCheckpointSaver, api: Api, mode: str
) -> None:
    ours, theirs = delta_graph(saver), delta_graph(InMemorySaver())
    cfg = {"configurable": {"thread_id": "delta"}}
    # 257 turns = 514 updates: the newest snapshot (every 20) is 14 updates
    # back, so prune and copy must keep the ancestors in between.
    for g in (ours, theirs):
        await run_turns(g, "delta", range(257), mode)
    expected = await values(theirs, cfg, mode)
    assert len(expected["log"]) == 514
    assert await values(ours, cfg, mode) == expected

    # An old checkpoint in the middle of a snapshot interval rebuilds exactly too.
    ours_hist = await api.list(cfg, limit=137)
    theirs_hist = list(theirs.checkpointer.list(cfg, limit=137))
    for a, b in [(ours_hist[-1], theirs_hist[-1]), (ours_hist[40], theirs_hist[40])]:
        assert a.metadata["step"] == b.metadata["step"]
        assert await values(ours, a.config, mode) == await values(theirs, b.config, mode)

    await api.copy_thread("delta", "delta-copy")
    await api.prune(["delta"], strategy="keep_latest")
    assert len(await api.list(cfg)) == 1
    assert await values(ours, cfg, mode) == expected
    copy_cfg = {"configurable": {"thread_id": "delta-copy"}}
    assert await values(ours, copy_cfg, mode) == expected

    # Both keep working after the prune and the copy.
    await run_turns(theirs, "delta", range(257, 275), mode)
    await run_turns(ours, "delta", range(257, 275), mode)
    await run_turns(ours, "delta-copy", range(257, 275), mode)
    expected = await values(theirs, cfg, mode)
    assert await values(ours, cfg, mode) == expected
    assert await values(ours, copy_cfg, mode) == expected
    await api.prune(["delta", "delta-copy"], strategy="delete")
    assert await api.list(cfg) == [] and await api.list(copy_cfg) == []


async def test_delta_history_is_one_round_trip(redis_url: str, prefix: str, mode: str) -> None:
    conn = CountingConnection if mode == "sync" else ACountingConnection
    saver = RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, cluster=False, client_kwargs={"connection_class": conn}
    )
    api = Api(saver, mode)
    graph = delta_graph(saver)
    await run_turns(graph, "walk", range(30), mode)
    latest = await api.get_tuple({"configurable": {"thread_id": "walk"}})
    Counter.round_trips = 0
    history = await api.get_delta_channel_history(config=latest.config, channels=["log"])
    assert Counter.round_trips == 1
    reference = InMemorySaver()
    ref_graph = delta_graph(reference)
    await run_turns(ref_graph, "walk", range(30), mode)
    ref_latest = reference.get_tuple({"configurable": {"thread_id": "walk"}})
    expected = reference.get_delta_channel_history(config=ref_latest.config, channels=["log"])
    assert [w[1:] for w in history["log"]["writes"]] == [w[1:] for w in expected["log"]["writes"]]
    assert history["log"].get("seed") == expected["log"].get("seed")
    assert await api.get_delta_channel_history(config=latest.config, channels=[]) == {}
    if mode == "async":
        await saver.aclose()
    saver.close()


async def test_delta_chain_outlives_the_ttl_while_used(
    redis_url: str, prefix: str, mode: str
) -> None:
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix, ttl=1.0) as saver:
        ours, theirs = delta_graph(saver), delta_graph(InMemorySaver())
        for i in range(16):  # ~3.2 s: the snapshot (every 20 updates) is older than the TTL
            for g in (ours, theirs):
                await run_turns(g, "alive", range(i, i + 1), mode)
            await asyncio.sleep(0.2)
        cfg = {"configurable": {"thread_id": "alive"}}
        assert await values(ours, cfg, mode) == await values(theirs, cfg, mode)


async def test_delete_for_runs_keeps_surviving_state_intact(
    saver: RedisCheckpointSaver, api: Api, mode: str
) -> None:
    ours, theirs = delta_graph(saver), delta_graph(InMemorySaver())
    for g in (ours, theirs):
        await run_turns(g, "runs", range(25), mode)
    cfg = {"configurable": {"thread_id": "runs"}}
    expected = await values(theirs, cfg, mode)
    doomed = [str(uuid.UUID(int=i)) for i in (21, 22, 23)]
    before = {t.metadata["run_id"] for t in await api.list(cfg)}
    assert set(doomed) <= before
    # 25 turns = 50 updates: runs 21-23 sit between the last snapshot and the head.
    await api.delete_for_runs(doomed)
    listed = await api.list(cfg)
    assert {t.metadata["run_id"] for t in listed} == before - set(doomed)
    assert await values(ours, cfg, mode) == expected
    await api.delete_for_runs([])
    await api.delete_for_runs(["no-such-run"])


async def test_max_checkpoints_per_session_prunes_as_it_writes(
    redis_url: str, prefix: str, mode: str
) -> None:
    async with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, max_checkpoints_per_session=20
    ) as saver:
        api = Api(saver, mode)
        ours, theirs = delta_graph(saver), delta_graph(InMemorySaver())
        for g in (ours, theirs):
            await run_turns(g, "capped", range(120), mode)
        cfg = {"configurable": {"thread_id": "capped"}}
        assert 20 <= len(await api.list(cfg)) <= 25
        assert await values(ours, cfg, mode) == await values(theirs, cfg, mode)
        r = redis.Redis.from_url(redis_url)
        records = list(r.scan_iter(match=saver.keys.session_pattern("capped")))
        assert len(records) < 200  # 120 turns wrote ~360 checkpoints
        r.close()


def test_invalid_prune_strategy_and_cap() -> None:
    saver = RedisCheckpointSaver(redis.Redis())
    with pytest.raises(ConfigurationError, match="keep_latest"):
        saver.prune(["x"], strategy="oldest")
    with pytest.raises(ConfigurationError, match="max_checkpoints_per_session"):
        RedisCheckpointSaver(redis.Redis(), max_checkpoints_per_session=0)


async def test_copy_thread_between_hostile_ids_keeps_namespaces_and_writes(api: Api) -> None:
    src, dst = "src:{a} *", "dst\n日本"
    parent = checkpoint({"a": 1})
    c1 = await api.put(config(src), parent, meta(0), parent["channel_versions"])
    child = checkpoint({"a": 2}, a="2")
    c2 = await api.put(c1, child, meta(1), {"a": "2"})
    sub = checkpoint({"s": "sub"})
    await api.put(config(src, ns="sub:1"), sub, meta(0), sub["channel_versions"])
    await api.put_writes(c2, [("a", 3)], "task")
    await api.copy_thread(src, dst)
    got = await api.get_tuple(config(dst))
    assert got.checkpoint["channel_values"] == {"a": 2}
    assert got.pending_writes == [("task", "a", 3)]
    assert got.parent_config["configurable"]["checkpoint_id"] == parent["id"]
    assert got.config["configurable"]["thread_id"] == dst
    sub_got = await api.get_tuple(config(dst, ns="sub:1"))
    assert sub_got.checkpoint["channel_values"] == {"s": "sub"}
    await api.delete_thread(src)
    assert (await api.get_tuple(config(dst))).checkpoint["channel_values"] == {"a": 2}
    await api.copy_thread("nothing-here", "still-nothing")
    assert await api.get_tuple(config("still-nothing")) is None


async def test_list_sessions_newest_first_with_user_filter(
    saver: RedisCheckpointSaver, api: Api, mode: str
) -> None:
    for i, (thread, user) in enumerate([("s1", "alice"), ("s2", "bob"), ("s3", "alice")]):
        cp = checkpoint({"messages": [HumanMessage(f"hi {i}")]})
        cfg = {"configurable": {"thread_id": thread, "checkpoint_ns": "", "user_id": user}}
        await api.put(cfg, cp, meta(0), cp["channel_versions"])
        await asyncio.sleep(0.01)
    sessions = await api.list_sessions()
    assert [s.thread_id for s in sessions] == ["s3", "s2", "s1"]
    assert sessions[0].checkpoint_count == 1 and 86_000 < sessions[0].ttl <= 86_400
    assert sessions[0].updated_at > datetime.now(timezone.utc) - timedelta(minutes=1)
    alice = await api.list_sessions(filter={"user_id": "alice"})
    assert [s.thread_id for s in alice] == ["s3", "s1"]
    assert [s.thread_id for s in await api.list_sessions(limit=1)] == ["s3"]
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert await api.list_sessions(since=future) == []
    with pytest.raises(ConfigurationError, match="session_index_keys"):
        await api.list_sessions(filter={"tenant": "x"})
    await api.delete_thread("s3")
    r = redis.Redis.from_url(saver._url)
    # Deleting a session also takes it out of the per-user index, not only lazily.
    assert r.zrange(saver.keys.sessions_by("user_id", "alice"), 0, -1) == [b"s1"]
    r.close()
    assert [s.thread_id for s in await api.list_sessions(filter={"user_id": "alice"})] == ["s1"]


async def test_expired_sessions_leave_the_index(redis_url: str, prefix: str, mode: str) -> None:
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix, ttl=0.5) as saver:
        api = Api(saver, mode)
        cp = checkpoint({"a": 1})
        await api.put(config("short"), cp, meta(), cp["channel_versions"])
        assert [s.thread_id for s in await api.list_sessions()] == ["short"]
        await asyncio.sleep(0.7)
        assert await api.list_sessions() == []
        assert await api.list(None) == []


async def test_messages_clear_session_and_clear_all(
    saver: RedisCheckpointSaver, api: Api, redis_url: str
) -> None:
    convo = [HumanMessage("hello", id="1"), AIMessage("hi there", id="2")]
    cp = checkpoint({"messages": convo})
    await api.put(config("chat"), cp, meta(), cp["channel_versions"])
    other = checkpoint({"messages": []})
    await api.put(config("other"), other, meta(), other["channel_versions"])
    assert await api.get_messages("chat") == convo
    assert await api.get_messages("missing") == []
    await api.clear_session("chat")
    assert await api.get_messages("chat") == []
    assert await api.get_tuple(config("other")) is not None
    assert await api.clear_all() > 0
    r = redis.Redis.from_url(redis_url)
    assert list(r.scan_iter(match=saver.keys.prefix_pattern())) == []
    r.close()


async def test_delete_for_runs_that_empties_a_session_unlists_it(
    saver: RedisCheckpointSaver, api: Api, mode: str, redis_url: str
) -> None:
    graph = delta_graph(saver)
    await run_turns(graph, "one-run", range(1), mode)
    await run_turns(graph, "kept", range(1, 2), mode)
    await api.delete_for_runs([str(uuid.UUID(int=0))])
    r = redis.Redis.from_url(redis_url)
    assert r.zrange(saver.keys.sessions, 0, -1) == [b"kept"]
    r.close()
    assert [s.thread_id for s in await api.list_sessions()] == ["kept"]
    assert await api.list({"configurable": {"thread_id": "one-run"}}) == []


async def test_delta_seed_missing_from_redis_is_an_error_not_an_empty_value(
    saver: RedisCheckpointSaver, api: Api, redis_url: str, mode: str
) -> None:
    """A snapshot blob deleted by hand or evicted: the rebuilt value would silently
    lose everything before it, so the read fails as `get_tuple` does for a value."""
    graph = delta_graph(saver)
    await run_turns(graph, "evicted", range(12), mode)  # 24 updates: a snapshot at 20
    cfg = {"configurable": {"thread_id": "evicted"}}
    assert len((await values(graph, cfg, mode))["log"]) == 24
    r = redis.Redis.from_url(redis_url)
    try:
        pattern = saver.keys.namespace("evicted", "").blob_prefix + "log:*"
        snapshots = list(r.scan_iter(match=pattern.replace("%", "[%]")))
        assert snapshots
        r.delete(*snapshots)
    finally:
        r.close()
    latest = await api.get_tuple(cfg)
    with pytest.raises(CheckpointCorruptedError, match=r"log:.*missing from Redis"):
        await api.get_delta_channel_history(config=latest.config, channels=["log"])
    with pytest.raises(CheckpointCorruptedError, match="missing from Redis"):
        await values(graph, cfg, mode)
