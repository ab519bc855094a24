"""The rules `lgrs` uses to say what runs next, on hand-made checkpoints (no server).

The corpus tests (test_truth.py) hold them against LangGraph on real graphs;
these pin the cases where the answer must be "unknown" rather than a guess.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import CheckpointTuple

from langgraph_redis_saver.browse._truth import Evidence, next_tasks

V1, V2 = "00000000000000000000000000000001.0", "00000000000000000000000000000002.0"


def tup(values: dict[str, Any], versions: dict[str, str], seen: dict[str, Any], **kw: Any) -> Any:
    cp = {
        "v": 4,
        "id": "1f0bcd2a-4e5f-6000-8000-a1b2c3d4e5f6",
        "ts": "2025-11-08T14:57:39+00:00",
        "channel_values": values,
        "channel_versions": versions,
        "versions_seen": seen,
    }
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": cp["id"]}}
    md = {"source": "loop", "step": kw.get("step", 1)}
    return CheckpointTuple(config, cp, md, None, kw.get("writes", []))  # type: ignore[arg-type]


def names(found: Any) -> list[str] | None:
    tasks = next_tasks(found, Evidence([found]))
    return None if tasks is None else [t["name"] for t in tasks]


def test_a_branch_channel_with_a_value_and_a_newer_version_triggers_its_node() -> None:
    found = tup({"branch:to:b": None}, {"branch:to:b": V2}, {"b": {"branch:to:b": V1}})
    assert names(found) == ["b"]


def test_a_consumed_branch_channel_triggers_nothing_even_with_a_newer_version() -> None:
    found = tup({}, {"branch:to:b": V2}, {"b": {"branch:to:b": V1}})
    assert names(found) == []


def test_nodes_triggered_by_state_channels_are_unknown() -> None:
    """Graphs from LangGraph before branch channels: node triggers we cannot see."""
    found = tup({"messages": []}, {"messages": V2}, {"agent": {"messages": V1}})
    assert names(found) is None


def test_a_deferred_node_barrier_is_unknown() -> None:
    found = tup({"branch:to:b": [None, False]}, {"branch:to:b": V2}, {})
    assert names(found) is None


def test_pending_sends_are_tasks_and_a_join_waits_for_all_its_nodes() -> None:
    send = {"__type__": "lg.Send", "node": "work", "arg": {}}
    values = {"__pregel_tasks": [send, send], "join:a+b:c": ["a"]}
    found = tup(values, {"__pregel_tasks": V2, "join:a+b:c": V2}, {"c": {}})
    assert names(found) == ["work", "work"]
    done = tup({"join:a+b:c": ["b", "a"]}, {"join:a+b:c": V2}, {"c": {}})
    assert names(done) == ["c"]


def test_a_write_from_a_task_the_rules_did_not_predict_makes_it_unknown() -> None:
    writes = [("0a1b2c3d-0000-0000-0000-000000000000", "messages", [])]
    found = tup({"branch:to:b": None}, {"branch:to:b": V2}, {}, writes=writes)
    assert names(found) is None


def test_the_input_node_of_a_functional_entrypoint_is_unknown_until_stored() -> None:
    found = tup({"__start__": "hi"}, {"__start__": V1}, {"__input__": {}}, step=-1)
    assert names(found) is None
