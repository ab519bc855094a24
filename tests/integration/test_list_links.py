"""A growing list channel is stored as its previous version plus the new items.

Every test compares with LangGraph's `InMemorySaver` on the same graph, so a
link that rebuilt the wrong list would show as a different state.
"""

from __future__ import annotations

import operator
import zlib
from typing import Annotated, Any

import pytest
import redis
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from test_saver import checkpoint, config, meta
from typing_extensions import TypedDict

from langgraph_redis_saver import CheckpointCorruptedError, RedisCheckpointSaver
from langgraph_redis_saver._lists import LINK, MAX_CHAIN, rebuild
from langgraph_redis_saver._records import split_typed, unpack_typed
from support.api import Api


def chat(checkpointer: Any) -> Any:
    def reply(state: MessagesState) -> dict[str, Any]:
        n = len(state["messages"])
        return {"messages": [AIMessage(f"answer {n} " + "lorem ipsum " * 10, id=f"a{n}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=checkpointer)


async def turn(graph: Any, cfg: dict[str, Any], mode: str, payload: Any) -> None:
    if mode == "sync":
        graph.invoke(payload, cfg)
    else:
        await graph.ainvoke(payload, cfg)


async def history(
    graph: Any, cfg: dict[str, Any], mode: str, channel: str = "messages"
) -> list[Any]:
    if mode == "sync":
        snaps = list(graph.get_state_history(cfg))
    else:
        snaps = [s async for s in graph.aget_state_history(cfg)]
    if channel != "messages":
        return [s.values.get(channel) for s in snaps]
    return [[(type(m).__name__, m.id, m.content) for m in s.values["messages"]] for s in snaps]


def messages_blobs(
    redis_url: str, saver: RedisCheckpointSaver, thread: str, channel: str = "messages"
) -> dict[bytes, bytes]:
    r = redis.Redis.from_url(redis_url)
    pattern = saver.keys.namespace(thread, "").blob_prefix + f"{channel}:*"
    try:
        return {k: r.get(k) for k in r.scan_iter(match=pattern.replace("%", "[%]"))}
    finally:
        r.close()


async def test_list_links_keep_a_conversation_linear_in_bytes(
    saver: RedisCheckpointSaver, redis_url: str, mode: str
) -> None:
    graph, cfg = chat(saver), {"configurable": {"thread_id": "long"}}
    for i in range(60):
        await turn(graph, cfg, mode, {"messages": [HumanMessage(f"q{i}", id=f"h{i}")]})
    blobs = messages_blobs(redis_url, saver, "long")
    links = [v for v in blobs.values() if v[:5] == b"lgrs" + LINK]
    largest = max(len(v) for v in blobs.values())
    assert len(links) == len(blobs) - 1  # one full copy, then links
    # 120 versions of a list of up to 120 messages: full copies would store
    # about 60 times the largest; links store each message about log2(120)/2
    # times, plus a small header each: under 10 times the largest in all.
    assert sum(len(v) for v in blobs.values()) < 10 * largest
    assert sorted(len(v) for v in links)[len(links) // 2] < largest / 20


async def test_list_links_read_back_as_inmemory_through_edits_removals_and_forks(
    saver: RedisCheckpointSaver, redis_url: str, prefix: str, mode: str
) -> None:
    ours, theirs = chat(saver), chat(InMemorySaver())
    cfg = {"configurable": {"thread_id": "edits"}}

    async def both(payload: Any) -> None:
        for g in (ours, theirs):
            await turn(g, cfg, mode, payload)

    async def update(values: Any, at: dict[str, Any] = cfg) -> dict[str, Any]:
        out = []
        for g in (ours, theirs):
            target = at if g is ours else {"configurable": {**at["configurable"]}}
            if mode == "sync":
                out.append(g.update_state(target, values))
            else:
                out.append(await g.aupdate_state(target, values))
        return out[0]

    for i in range(2 * MAX_CHAIN):  # links of several levels
        await both({"messages": [HumanMessage(f"q{i}", id=f"h{i}")]})
    await update({"messages": [RemoveMessage(id="h3")]})  # an early message removed
    await both({"messages": [HumanMessage("after removal", id="r1")]})
    await update({"messages": [HumanMessage("replaced", id="h5")]})  # same id, new content
    await both({"messages": [HumanMessage("after replace", id="r2")]})

    # An in-place edit of an earlier message object, returned by a node.
    def edit(state: MessagesState) -> dict[str, Any]:
        state["messages"][0].content = "edited in place"
        return {"messages": [state["messages"][0]]}

    for g in (ours, theirs):
        if mode == "sync":
            g.update_state(cfg, edit(g.get_state(cfg).values))
        else:
            g_state = await g.aget_state(cfg)
            await g.aupdate_state(cfg, edit(g_state.values))
    await both({"messages": [HumanMessage("after edit", id="r3")]})
    assert await history(ours, cfg, mode) == await history(theirs, cfg, mode)

    # A fork from an old checkpoint continues from that checkpoint's list.
    old_ours = (await history_configs(ours, cfg, mode))[30]
    old_theirs = (await history_configs(theirs, cfg, mode))[30]
    for g, at in ((ours, old_ours), (theirs, old_theirs)):
        await turn(g, at, mode, {"messages": [HumanMessage("forked", id="f1")]})
    assert await history(ours, cfg, mode) == await history(theirs, cfg, mode)

    # A saver with nothing remembered (another process) reads and continues.
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as fresh:
        other = chat(fresh)
        assert await history(other, cfg, mode) == await history(theirs, cfg, mode)
        await turn(other, cfg, mode, {"messages": [HumanMessage("elsewhere", id="e1")]})
        await turn(theirs, cfg, mode, {"messages": [HumanMessage("elsewhere", id="e1")]})
        assert await history(other, cfg, mode) == await history(theirs, cfg, mode)


async def history_configs(graph: Any, cfg: dict[str, Any], mode: str) -> list[Any]:
    if mode == "sync":
        return [s.config for s in graph.get_state_history(cfg)]
    return [s.config async for s in graph.aget_state_history(cfg)]


async def test_list_links_survive_prune_copy_and_ttl_refresh(
    saver: RedisCheckpointSaver, api: Api, redis_url: str, mode: str
) -> None:
    graph, theirs = chat(saver), chat(InMemorySaver())
    cfg = {"configurable": {"thread_id": "kept"}}
    for i in range(MAX_CHAIN + 5):
        for g in (graph, theirs):
            await turn(g, cfg, mode, {"messages": [HumanMessage(f"q{i}", id=f"h{i}")]})
    expected = (await history(theirs, cfg, mode))[0]
    await api.copy_thread("kept", "kept-copy")
    await api.prune(["kept"], strategy="keep_latest")
    assert (await history(graph, cfg, mode))[0] == expected
    copy_cfg = {"configurable": {"thread_id": "kept-copy"}}
    assert (await history(graph, copy_cfg, mode))[0] == expected

    # A put that keeps the list unchanged refreshes the TTL of its bases too.
    r = redis.Redis.from_url(redis_url)
    latest = await api.get_tuple(cfg)
    record = saver.keys.namespace("kept", "").record(latest.config["configurable"]["checkpoint_id"])
    suffixes = r.hget(record, "blobs").decode().split("\n")
    bases = [s for s in suffixes if s.startswith("messages:")][1:]
    assert bases, "the newest checkpoint's messages should be a link"
    blob_prefix = saver.keys.namespace("kept", "").blob_prefix
    for s in bases:
        r.pexpire(blob_prefix + s, 5000)
    cp = checkpoint(latest.checkpoint["channel_values"])
    cp["channel_versions"] = dict(latest.checkpoint["channel_versions"])
    await api.put(latest.config, cp, meta(), {})
    assert all(r.pttl(blob_prefix + s) > 60_000 for s in bases)
    r.close()


async def test_list_link_whose_base_is_gone_is_stored_in_full(
    saver: RedisCheckpointSaver, api: Api
) -> None:
    first = [HumanMessage("one", id="1")]
    cp1 = checkpoint({"messages": first}, messages=f"{1:032}.a")
    await api.put(config("gone"), cp1, meta(), cp1["channel_versions"])
    # The base disappears behind the saver's back (here: the thread is
    # deleted; in production: it expired or was pruned by another process).
    await api.delete_thread("gone")
    cp2 = checkpoint({"messages": [*first, AIMessage("two", id="2")]}, messages=f"{2:032}.b")
    stored = await api.put(config("gone"), cp2, meta(), cp2["channel_versions"])
    found = await api.get_tuple(stored)
    assert [m.content for m in found.checkpoint["channel_values"]["messages"]] == ["one", "two"]


@pytest.mark.parametrize(
    ("blobs", "problem"),
    [
        ({}, "missing"),
        ({"m:1": b"lgrs\x02m:1\n1\n\xa1x"}, "loops"),
        ({"m:1": b"lgrs\x02m:2\n1\n\xa1x", "m:2": b"lgrs\x02m:1\n1\n\xa1x"}, "loops"),
        ({"m:1": b"other\x00\x01\x91\xa1a"}, "different types"),
        ({"m:1": b"lgrs\x00\x01\xa1a"}, "not a list"),
        ({"m:1": b"lgrs\x02no-newlines"}, "malformed"),
        # A compressed link that inflates far past its stored size (a bomb).
        ({"m:1": b"lgrs\x03" + zlib.compress(b"m:0\n1\n" + bytes(20_000_000), 9)}, "inflates"),
    ],
)
def test_list_link_rebuild_refuses_hostile_chains(blobs: dict[str, bytes], problem: str) -> None:
    with pytest.raises(CheckpointCorruptedError, match=problem):
        rebuild("lgrs", b"m:1\n1\n\xa1y", "k", blobs, split_typed, unpack_typed)


async def test_list_link_that_compresses_too_well_is_stored_raw_and_reads_back(
    redis_url: str, prefix: str, mode: str
) -> None:
    """A turn adding 100 KB of repetitive text: its link would shrink past what the
    reader inflates (the decode budget), so it is stored uncompressed, as values are."""
    async with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, compress_threshold=256
    ) as saver:
        ours, theirs = chat(saver), chat(InMemorySaver())
        cfg = {"configurable": {"thread_id": "pasted-log"}}
        for payload in ("hi", "x" * 100_000, "ab" * 60_000, "thanks"):
            for g in (ours, theirs):
                message = HumanMessage(payload, id=f"h{len(payload)}")
                await turn(g, cfg, mode, {"messages": [message]})
        assert await history(ours, cfg, mode) == await history(theirs, cfg, mode)
        blobs = messages_blobs(redis_url, saver, "pasted-log")
        assert any(v[:5] == b"lgrs\x02" and len(v) > 100_000 for v in blobs.values())


async def test_list_links_compressed_with_compress_threshold(
    redis_url: str, prefix: str, mode: str
) -> None:
    async with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, compress_threshold=2048
    ) as saver:
        ours, theirs = chat(saver), chat(InMemorySaver())
        cfg = {"configurable": {"thread_id": "zipped"}}
        for i in range(20):
            for g in (ours, theirs):
                await turn(g, cfg, mode, {"messages": [HumanMessage(f"q{i}", id=f"h{i}")]})
        blobs = messages_blobs(redis_url, saver, "zipped")
        assert any(v[:5] == b"lgrs\x03" for v in blobs.values())  # compressed links
        assert any(v[:5] == b"lgrs\x02" for v in blobs.values())  # small ones are not
        assert await history(ours, cfg, mode) == await history(theirs, cfg, mode)


class ListState(TypedDict):
    log: Annotated[list[str], operator.add]


def extend(state: list[str], writes: list[list[str]]) -> list[str]:
    return [*state, *(item for write in writes for item in write)]


class DeltaListState(TypedDict):
    log: Annotated[list[str], DeltaChannel(extend)]


def logger(schema: Any, checkpointer: Any) -> Any:
    builder = StateGraph(schema)
    builder.add_node("step", lambda s: {"log": [f"out{len(s['log'])}"]})
    builder.add_edge(START, "step")
    return builder.compile(checkpointer=checkpointer)


@pytest.mark.parametrize("threshold", [None, 64], ids=["raw", "compressed"])
async def test_list_link_is_the_seed_when_a_channel_becomes_a_delta_channel(
    redis_url: str, prefix: str, mode: str, threshold: int | None
) -> None:
    """A list channel (stored as links) switched to `DeltaChannel`: LangGraph rebuilds
    it from the last value stored before the switch, read by `get_delta_channel_history`."""
    async with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, compress_threshold=threshold
    ) as saver:
        cfg = {"configurable": {"thread_id": "migrated"}}
        graphs = {"ours": saver, "theirs": InMemorySaver()}
        for schema, turns in ((ListState, range(6)), (DeltaListState, range(6, 8))):
            for checkpointer in graphs.values():
                graph = logger(schema, checkpointer)
                for i in turns:
                    await turn(graph, cfg, mode, {"log": [f"in{i}"]})
        blobs = messages_blobs(redis_url, saver, "migrated", channel="log")
        assert any(v[4:5] in (LINK, b"\x03") for v in blobs.values())  # the seed is a link
        ours, theirs = (logger(DeltaListState, c) for c in graphs.values())
        expected = await history(theirs, cfg, mode, channel="log")
        assert len(expected[0]) == 16
        assert await history(ours, cfg, mode, channel="log") == expected
