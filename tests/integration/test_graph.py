"""Real LangGraph graphs on the saver, compared with LangGraph's InMemorySaver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from support.graphs import QUESTIONS, interview_graph, map_reduce_graph, subgraph_parent

SUPPORT = Path(__file__).parents[1] / "support"


def history_is_exact(durability: str = "async") -> bool:
    """Whether LangGraph hands savers a stable snapshot of every checkpoint.

    With ``durability="async"`` (LangGraph's default) the loop passes a shallow
    copy of the checkpoint to a background save that first waits for the
    previous save, while the next superstep mutates shared channel state (e.g.
    barrier sets). Any saver slower than a dict can then store a past
    checkpoint with later state mixed in; it reproduces with InMemorySaver
    given a 10 ms delay in put, most easily with sync invoke (a worker thread)
    and under load with ainvoke. The newest checkpoint is always exact.
    """
    return durability != "async"


async def run(graph: Any, payload: Any, config: dict[str, Any], mode: str, **kw: Any) -> Any:
    if mode == "sync":
        return graph.invoke(payload, config, **kw)
    return await graph.ainvoke(payload, config, **kw)


async def state(graph: Any, config: dict[str, Any], mode: str, **kw: Any) -> Any:
    if mode == "sync":
        return graph.get_state(config, **kw)
    return await graph.aget_state(config, **kw)


async def history(graph: Any, config: dict[str, Any], mode: str) -> list[Any]:
    if mode == "sync":
        return list(graph.get_state_history(config))
    return [s async for s in graph.aget_state_history(config)]


def shape(snapshot: Any) -> tuple[Any, ...]:
    """What must match between two savers: values, next nodes, step, source."""
    return (
        snapshot.values,
        snapshot.next,
        snapshot.metadata.get("step"),
        snapshot.metadata.get("source"),
        [i.value for i in snapshot.interrupts],
    )


async def interview(checkpointer: Any, mode: str, thread: str) -> tuple[Any, list[Any]]:
    graph = interview_graph().compile(checkpointer=checkpointer)
    config = {"configurable": {"thread_id": thread}}
    out = await run(graph, {"turn_count": 0}, config, mode)
    assert out["__interrupt__"][0].value == {"question": QUESTIONS[0], "turn": 0}
    for answer in ("a compiler", "a race in the scheduler", "I like durable agents"):
        out = await run(graph, Command(resume=answer), config, mode)
    return await state(graph, config, mode), await history(graph, config, mode)


async def test_interrupt_resume_matches_in_memory_saver(
    saver: RedisCheckpointSaver, mode: str
) -> None:
    ours, our_history = await interview(saver, mode, "interview:1")
    theirs, their_history = await interview(InMemorySaver(), mode, "interview:1")
    assert ours.values["is_complete"] is True
    assert ours.values["turn_count"] == 3
    assert len(ours.values["messages"]) == 12
    assert shape(ours) == shape(theirs)
    assert [shape(s) for s in our_history] == [shape(s) for s in their_history]


def test_resume_by_session_id_from_new_processes(redis_url: str, prefix: str) -> None:
    thread = "cli_20251108_145739"

    def step(action: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, str(SUPPORT / "graphs.py"), redis_url, prefix, thread, action],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    assert step("start") == {"turn_count": 0, "pending": [{"question": QUESTIONS[0], "turn": 0}]}
    assert step("first answer")["pending"] == [{"question": QUESTIONS[1], "turn": 1}]
    # Each step ran in a process of its own; the next one resumes by id alone.
    step("second answer")
    assert step("third answer") == {"turn_count": 3, "pending": []}

    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        graph = interview_graph().compile(checkpointer=saver)
        final = graph.get_state({"configurable": {"thread_id": thread}})
    answers = [m.content for m in final.values["messages"] if m.type == "human"]
    assert answers == ["first answer", "second answer", "third answer"]
    assert final.values["is_complete"] is True


async def test_subgraph_interrupts_use_namespaces(saver: RedisCheckpointSaver, mode: str) -> None:
    async def drive(checkpointer: Any) -> tuple[Any, Any]:
        graph = subgraph_parent().compile(checkpointer=checkpointer)
        config = {"configurable": {"thread_id": "parent"}}
        await run(graph, {"turn_count": 0}, config, mode)
        await run(graph, Command(resume="one"), config, mode)
        mid = await state(graph, config, mode, subgraphs=True)
        await run(graph, Command(resume="two"), config, mode)
        await run(graph, Command(resume="three"), config, mode)
        return mid, await state(graph, config, mode)

    (our_mid, ours), (their_mid, theirs) = await drive(saver), await drive(InMemorySaver())
    assert ours.values["summary"] == "12 messages"
    assert shape(ours) == shape(theirs)
    sub = our_mid.tasks[0].state
    assert sub.config["configurable"]["checkpoint_ns"].startswith("interview:")
    assert sub.values["turn_count"] == their_mid.tasks[0].state.values["turn_count"] == 1
    namespaces = {
        t.config["configurable"]["checkpoint_ns"]
        for t in saver.list({"configurable": {"thread_id": "parent"}})
    }
    assert "" in namespaces and any(ns.startswith("interview:") for ns in namespaces)


async def test_send_and_parallel_branches(saver: RedisCheckpointSaver, mode: str) -> None:
    async def drive(checkpointer: Any) -> tuple[Any, list[Any]]:
        graph = map_reduce_graph().compile(checkpointer=checkpointer)
        config = {"configurable": {"thread_id": "fan"}}
        out = await run(graph, {"items": [1, 2, 3, 4]}, config, mode, durability="sync")
        assert out["total"] == 20 and out["left"] == "L" and out["right"] == "R"
        return await state(graph, config, mode), await history(graph, config, mode)

    (ours, our_history), (theirs, their_history) = await drive(saver), await drive(InMemorySaver())
    assert sorted(ours.values["results"]) == [2, 4, 6, 8]
    assert shape(ours) == shape(theirs)
    assert [shape(s)[1:] for s in our_history] == [shape(s)[1:] for s in their_history]


async def test_update_state_and_fork_from_an_old_checkpoint(
    saver: RedisCheckpointSaver, mode: str
) -> None:
    async def drive(checkpointer: Any) -> tuple[Any, Any, Any]:
        graph = interview_graph().compile(checkpointer=checkpointer)
        config = {"configurable": {"thread_id": "fork"}}
        await run(graph, {"turn_count": 0}, config, mode)
        await run(graph, Command(resume="original first"), config, mode)
        await run(graph, Command(resume="original second"), config, mode)
        snapshots = await history(graph, config, mode)
        # The checkpoint waiting for the second answer, then a fork from it.
        old = next(s for s in snapshots if s.values.get("turn_count") == 1 and s.next)
        if mode == "sync":
            forked = graph.update_state(old.config, {"turn_count": 1})
        else:
            forked = await graph.aupdate_state(old.config, {"turn_count": 1})
        await run(graph, Command(resume="forked second"), forked, mode)
        return (
            await state(graph, old.config, mode),
            await state(graph, config, mode),
            old,
        )

    old_after, head, old_before = await drive(saver)
    _, their_head, _ = await drive(InMemorySaver())
    # The old checkpoint still reads its own values after the fork wrote new ones.
    assert old_after.values == old_before.values
    answers = [m.content for m in head.values["messages"] if m.type == "human"]
    assert answers == ["original first", "forked second"]
    assert shape(head) == shape(their_head)


@pytest.mark.parametrize("durability", ["exit", "async", "sync"])
async def test_durability_modes(saver: RedisCheckpointSaver, mode: str, durability: str) -> None:
    async def drive(checkpointer: Any) -> tuple[Any, list[Any]]:
        graph = map_reduce_graph().compile(checkpointer=checkpointer)
        config = {"configurable": {"thread_id": f"durable-{durability}"}}
        await run(graph, {"items": [5, 6]}, config, mode, durability=durability)
        await run(graph, {"items": [1]}, config, mode, durability=durability)
        return await state(graph, config, mode), await history(graph, config, mode)

    (ours, our_history), (theirs, their_history) = await drive(saver), await drive(InMemorySaver())
    assert ours.values["total"] == theirs.values["total"] == 24
    assert shape(ours) == shape(theirs)
    assert len(our_history) == len(their_history)
    if history_is_exact(durability):
        assert [shape(s)[1:] for s in our_history] == [shape(s)[1:] for s in their_history]


async def test_one_saver_serves_sync_and_async_on_one_thread(saver: RedisCheckpointSaver) -> None:
    graph = interview_graph().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "mixed"}}
    graph.invoke({"turn_count": 0}, config)
    await graph.ainvoke(Command(resume="async answer"), config)
    graph.invoke(Command(resume="sync answer"), config)
    final = await graph.aget_state(config)
    assert final.values["turn_count"] == 2
    assert [m.content for m in final.values["messages"] if m.type == "human"] == [
        "async answer",
        "sync answer",
    ]


@pytest.mark.parametrize("kind", ["plain", "encrypted"])
def test_strict_mode_allowlist_from_the_state_schema(
    redis_url: str, prefix: str, kind: str
) -> None:
    env = {**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true"}
    proc = subprocess.run(
        [sys.executable, str(SUPPORT / "strict_app.py"), redis_url, prefix, kind],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "profile": "Profile",
        "years": 8,
        "score": 12.0,
        "level": "senior",
        "compiled_with_clone": True,
    }


def test_unregistered_user_type_is_stored_without_strict_mode(saver: RedisCheckpointSaver) -> None:
    from support.strict_app import Profile, State

    builder = StateGraph(State)
    builder.add_node("noop", lambda s: {})
    builder.add_edge(START, "noop")
    graph = builder.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": "u"}}
    graph.invoke({"profile": Profile(name="Ada", years=8)}, cfg)
    assert graph.get_state(cfg).values["profile"] == Profile(name="Ada", years=8)
    allowed = saver.with_allowlist({(Profile.__module__, Profile.__qualname__)})
    assert allowed is not saver and saver.with_allowlist(set()) is saver
    graph = builder.compile(checkpointer=allowed)
    out = graph.invoke(
        {"profile": Profile(name="Ada", years=8)}, {"configurable": {"thread_id": "u2"}}
    )
    assert out["profile"] == Profile(name="Ada", years=8)
