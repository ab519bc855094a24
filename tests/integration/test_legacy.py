"""Legacy pickled sessions on a real Redis: the saver refuses them, migration converts them."""

from __future__ import annotations

import collections
import pickle
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from examples.interview import build_graph
from examples.interview.graph import QUESTIONS
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.errors import LegacySessionError
from langgraph_redis_saver.legacy import find_legacy_sessions, is_pickle, migrate_pickle_sessions
from support.api import Api
from support.legacy_store import (
    DAY,
    hostile_session,
    legacy_pickle,
    legacy_state,
    write_legacy_session,
)


def _config(session: str) -> Any:
    return {"configurable": {"thread_id": session, "checkpoint_ns": ""}}


async def test_saver_meeting_a_legacy_session_raises_and_keeps_it(
    api: Api, client: redis.Redis, prefix: str
) -> None:
    data = write_legacy_session(client, "cli_1", prefix=prefix)
    with pytest.raises(LegacySessionError, match="lgrs migrate --from-pickle"):
        await api.get_tuple(_config("cli_1"))
    checkpoint = empty_checkpoint()
    with pytest.raises(LegacySessionError, match="cli_1"):
        await api.put(_config("cli_1"), checkpoint, {"source": "input", "step": -1}, {})
    assert client.get(f"{prefix}:cli_1:latest") == data
    assert 0 < client.ttl(f"{prefix}:cli_1:latest") <= DAY
    assert not list(client.scan_iter(match=f"{prefix}:cli_1:timeline*"))


def test_graph_on_a_legacy_session_raises_one_clear_error(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    data = write_legacy_session(client, "cli_2", prefix=prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        graph = build_graph().compile(checkpointer=saver)
        with pytest.raises(LegacySessionError, match="lgrs migrate"):
            graph.invoke({"messages": []}, _config("cli_2"))
    assert client.get(f"{prefix}:cli_2:latest") == data


def test_migrate_in_place_keeps_state_ttl_and_resumes_the_interview(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "cli_20251108_145739", prefix=prefix, turns=1, ttl=3600)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        graph = build_graph().compile(checkpointer=saver)
        report = migrate_pickle_sessions(saver, graph=graph, as_node="ask")
        assert report.counts["migrated"] == 1, report
        config = {"configurable": {"thread_id": "cli_20251108_145739"}}
        state = graph.get_state(config)
        assert state.values["turn_count"] == 1
        assert [type(m) for m in state.values["messages"]] == [AIMessage, HumanMessage, AIMessage]
        assert state.next == ("listen",)
        # TTL: the pickle's remaining hour, not the saver's 24 h
        assert 3000 < client.ttl(saver.keys.namespace("cli_20251108_145739", "").latest) <= 3600
        out = graph.invoke(None, config)
        assert out["__interrupt__"][0].value["question"] == QUESTIONS[1]
        out = graph.invoke(Command(resume="I fixed a flaky deploy"), config)
        assert out["turn_count"] == 2
        assert out["messages"][-1].content == QUESTIONS[2]
    # the legacy keys are gone: the pickle, its backup and the old id keys
    assert not client.exists(f"{prefix}:cli_20251108_145739:checkpoint_id_0")
    assert not find_legacy_sessions(client, saver.keys)


def test_migrate_without_graph_writes_the_legacy_state_as_a_first_checkpoint(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "s1", prefix=prefix, turns=2)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        report = migrate_pickle_sessions(saver)
        assert [o.status for o in report.outcomes] == ["migrated"]
        found = saver.get_tuple(_config("s1"))
        assert found is not None
        values = found.checkpoint["channel_values"]
        assert values["turn_count"] == 2 and values["is_complete"] is False
        assert values["current_analysis"]["engagement_index"] == 0.95
        assert len(values["messages"]) == 5
        assert found.metadata["legacy_metadata"] == {
            "timestamp": "2025-11-08T15:03:24",
            "version": "1.0",
        }
        # an add_messages graph continues the conversation from there
        graph = build_graph().compile(checkpointer=saver)
        assert len(graph.get_state({"configurable": {"thread_id": "s1"}}).values["messages"]) == 5


def test_migrate_dry_run_changes_nothing(redis_url: str, client: redis.Redis, prefix: str) -> None:
    data = write_legacy_session(client, "s1", prefix=prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        report = migrate_pickle_sessions(saver, dry_run=True)
    (outcome,) = report.outcomes
    assert outcome.status == "would migrate" and outcome.messages == 5
    assert "move the pickle" in outcome.reason and "write 1 checkpoint" in outcome.reason
    assert client.get(f"{prefix}:s1:latest") == data
    assert sorted(client.scan_iter(match=f"{prefix}:*")) == sorted(
        [f"{prefix}:s1:latest".encode(), f"{prefix}:s1:checkpoint_id_0".encode()]
    )


def test_migrate_keep_legacy_is_idempotent(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    data = write_legacy_session(client, "s1", prefix=prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        first = migrate_pickle_sessions(saver, keep_legacy=True)
        assert first.counts["migrated"] == 1
        backup = saver.keys.session_base("s1") + "legacy:pickle"
        assert client.get(backup) == data and client.ttl(backup) > 0
        assert client.exists(f"{prefix}:s1:checkpoint_id_0")
        cid = saver.get_tuple(_config("s1")).checkpoint["id"]  # type: ignore[union-attr]
        second = migrate_pickle_sessions(saver, keep_legacy=True)
        assert [(o.status, o.reason) for o in second.outcomes] == [("skipped", "already migrated")]
        assert saver.get_tuple(_config("s1")).checkpoint["id"] == cid  # type: ignore[union-attr]
        third = migrate_pickle_sessions(saver)  # now drop the kept pickle
        assert third.outcomes[0].status == "skipped"
        assert not client.exists(backup)


def test_migrate_resumes_after_a_crash_between_move_and_write(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    data = write_legacy_session(client, "s1", prefix=prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        # the state a crash right after the RENAME leaves: pickle in the backup, no session
        backup = saver.keys.session_base("s1") + "legacy:pickle"
        client.rename(f"{prefix}:s1:latest", backup)
        assert [s.in_backup for s in find_legacy_sessions(client, saver.keys)] == [True]
        assert saver.get_tuple(_config("s1")) is None
        report = migrate_pickle_sessions(saver)
        assert report.counts["migrated"] == 1
        assert saver.get_tuple(_config("s1")) is not None
        assert not client.exists(backup)
    assert data  # the pickle was the only source


def test_migrate_write_failure_puts_the_pickle_back(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    data = write_legacy_session(client, "s1", prefix=prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:

        def boom(values: dict[str, Any]) -> dict[str, Any]:
            return {"messages": values["messages"], "bad": object()}  # not serializable

        report = migrate_pickle_sessions(saver, transform=boom)
    (outcome,) = report.outcomes
    assert outcome.status == "failed" and "writing the checkpoint failed" in outcome.reason
    assert client.get(f"{prefix}:s1:latest") == data


def test_migrate_to_another_prefix_and_the_source_is_read_first(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "s1", prefix=prefix)
    target = f"{prefix}-new"
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=target) as saver:
        report = migrate_pickle_sessions(
            saver, source=client, source_prefix=prefix, keep_legacy=True
        )
        assert report.counts["migrated"] == 1
        assert saver.get_tuple(_config("s1")) is not None
        assert client.exists(f"{prefix}:s1:latest")
        again = migrate_pickle_sessions(saver, source=client, source_prefix=prefix)
        assert again.outcomes[0].reason.startswith("already migrated in the target")
        saver.clear_all()


def test_migrate_reports_corrupted_hostile_and_expired_sessions(
    redis_url: str, client: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    write_legacy_session(client, "good", prefix=prefix)
    write_legacy_session(client, "bad", prefix=prefix, payload=b"\x80\x04\x95garbage")
    write_legacy_session(
        client, "evil", prefix=prefix, payload=hostile_session(canary, "os.system")
    )
    write_legacy_session(client, "brief", prefix=prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        seen: list[str] = []

        def expire_next(outcome: Any) -> None:
            seen.append(outcome.session_id)
            if outcome.session_id == "bad":  # "brief" is next: its TTL runs out mid-run
                client.pexpire(f"{prefix}:brief:latest", 1)
                time.sleep(0.01)

        report = migrate_pickle_sessions(saver, on_session=expire_next)
    by_id = {o.session_id: o for o in report.outcomes}
    assert by_id["good"].status == "migrated"
    assert by_id["bad"].status == "failed" and "corrupted or truncated" in by_id["bad"].reason
    assert by_id["evil"].status == "skipped" and "posix.system" in by_id["evil"].reason
    assert by_id["brief"].status == "skipped" and "expired" in by_id["brief"].reason
    assert not canary.exists()
    # what was not migrated is left exactly as it was
    assert client.get(f"{prefix}:bad:latest") == b"\x80\x04\x95garbage"
    assert client.exists(f"{prefix}:evil:latest")


def test_migrate_rejects_a_graph_compiled_with_another_saver(redis_url: str, prefix: str) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from langgraph_redis_saver.errors import ConfigurationError

    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        graph = build_graph().compile(checkpointer=InMemorySaver())
        with pytest.raises(ConfigurationError, match="compiled with the target saver"):
            migrate_pickle_sessions(saver, graph=graph, as_node="ask")


def test_find_legacy_sessions_ignores_the_savers_own_keys(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "old", prefix=prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        graph = build_graph().compile(checkpointer=saver)
        graph.invoke({"messages": []}, {"configurable": {"thread_id": f"new-{uuid.uuid4()}"}})
        (found,) = find_legacy_sessions(client, saver.keys)
    assert found.session_id == "old" and found.id_keys == [f"{prefix}:old:checkpoint_id_0"]
    assert found.ttl_ms is not None and found.size > 100


# -- what an outside attack found -----------------------------------------------------------


@pytest.mark.parametrize("protocol", [0, 1])
async def test_saver_refuses_protocol_0_and_1_legacy_sessions(
    api: Api, redis_url: str, client: redis.Redis, prefix: str, protocol: int
) -> None:
    doc = {"checkpoint": legacy_state(1), "metadata": {}, "config": {}}
    data = write_legacy_session(client, "old", prefix=prefix, payload=pickle.dumps(doc, protocol))
    assert not data.startswith(b"\x80")
    with pytest.raises(LegacySessionError, match="lgrs migrate --from-pickle"):
        await api.get_tuple(_config("old"))
    with pytest.raises(LegacySessionError):
        await api.put(_config("old"), empty_checkpoint(), {"source": "input", "step": -1}, {})
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        graph = build_graph().compile(checkpointer=saver)
        with pytest.raises(LegacySessionError):
            graph.invoke({"messages": []}, _config("old"))
    assert client.get(f"{prefix}:old:latest") == data


def test_lua_is_legacy_is_the_twin_of_is_pickle(client: redis.Redis) -> None:
    from langgraph_redis_saver.lua import LIB_FUNCTIONS, LIB_SOURCE

    script = client.register_script(
        "local " + ", ".join(LIB_FUNCTIONS) + "\n" + LIB_SOURCE
        + "\nreturn is_legacy(ARGV[1]) and 1 or 0"
    )  # fmt: skip
    doc = {"checkpoint": legacy_state(1), "metadata": {}, "config": {}}
    pickles = [pickle.dumps(doc, p) for p in range(pickle.HIGHEST_PROTOCOL + 1)]
    pickles += [pickle.dumps({}, 0), pickle.dumps({}, 1), b"\x80\x04garbage"]
    ids = [str(uuid.uuid4()), "1ef0a1b2-5c3d-6e4f-8000-0123456789ab", "", "(.", "}x.", "(\n"]
    ids += [bytes([b]).decode("latin-1") for b in range(128)]
    for value in pickles:
        assert script(args=[value]) == 1 and is_pickle(value), value[:20]
    for value in ids:
        raw = value.encode()
        assert script(args=[raw]) == int(is_pickle(raw)) == 0, raw


def test_migrate_keeps_the_container_types_the_serializer_stores(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    state = legacy_state(1)
    state["profile_data"] = {
        "tags": collections.defaultdict(list, {"x": [1]}),
        "recent": collections.deque(["a", "b"], maxlen=3),
        "ordered": collections.OrderedDict(b=1, a=2),
        "counts": collections.Counter(a=2),
    }
    write_legacy_session(client, "s1", prefix=prefix, payload=legacy_pickle(state, "s1"))
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        report = migrate_pickle_sessions(saver)
        assert [o.status for o in report.outcomes] == ["migrated"]
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as fresh:
        found = fresh.get_tuple(_config("s1"))
    assert found is not None
    got = found.checkpoint["channel_values"]["profile_data"]
    assert got == state["profile_data"]
    assert {k: type(v) for k, v in got.items()} == {
        k: type(v) for k, v in state["profile_data"].items()
    }
    assert got["tags"].default_factory is list and got["recent"].maxlen == 3
    assert list(got["ordered"]) == ["b", "a"]


def test_migrate_skips_sessions_with_placeholders_and_keeps_the_pickle(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    state = legacy_state(1)
    state["profile_data"] = collections.defaultdict(collections.Counter, {"k": 1})
    data = write_legacy_session(client, "dd", prefix=prefix, payload=legacy_pickle(state, "dd"))
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        (outcome,) = migrate_pickle_sessions(saver).outcomes
        assert outcome.status == "skipped" and outcome.pickled
        assert outcome.refused == ["collections.defaultdict factory collections.Counter"]
    assert client.get(f"{prefix}:dd:latest") == data


def test_migrate_never_changes_a_type_silently(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    """A value the serializer would store as another type is kept or reported, never changed."""
    state = legacy_state(1)
    state["profile_data"] = {"raw": bytearray(b"\x00\xff")}
    data = write_legacy_session(client, "s1", prefix=prefix, payload=legacy_pickle(state, "s1"))
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        keeps = type(saver.serde.loads_typed(saver.serde.dumps_typed({"b": bytearray(b"x")}))["b"])
        (outcome,) = migrate_pickle_sessions(saver).outcomes
        found = saver.get_tuple(_config("s1")) if outcome.status == "migrated" else None
    if keeps is bytearray:  # the serializer stores nested bytearrays: migrated as one
        assert outcome.status == "migrated" and found is not None
        assert type(found.checkpoint["channel_values"]["profile_data"]["raw"]) is bytearray
    else:  # reported, and the session stays as it was
        assert outcome.status == "skipped" and outcome.pickled and found is None
        assert "profile_data.raw (bytearray) as bytes" in outcome.reason
        assert client.get(f"{prefix}:s1:latest") == data
