"""``lgrs --json`` agrees with LangGraph's own view of sessions written by real graphs.

For each corpus shape (tests/support/lgrs_corpus.py), every checkpoint of
``lgrs history --json`` is compared with ``graph.get_state_history`` (next,
task ids and names, interrupts) and ``lgrs show --json`` with
``graph.get_state`` (state values, message count, pending interrupts).
Where lgrs says "unknown" (``null``), it must be one of the few places where
the stored data cannot say.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.browse import PlainReader
from langgraph_redis_saver.cli.output import to_json
from support.lgrs_corpus import AES_KEY, ENCRYPTED, SHAPES, close_corpus, write_corpus
from support.lgrs_sessions import Lgrs

KEY_ENV = {"LANGGRAPH_AES_KEY": AES_KEY.decode()}
UNKNOWABLE = {("functional", -1)}
"""(thread, step) rows whose ``next`` the stored data cannot settle.

A functional-API session paused in its first step holds only the input: the
name of the entrypoint that reads it is stored nowhere until it finishes.
"""


@pytest.fixture(scope="module")
def corpus(redis_url: str) -> Iterator[tuple[Lgrs, dict[str, Any]]]:
    prefix = f"test-truth-{uuid.uuid4().hex[:8]}:checkpoint"
    graphs = write_corpus(redis_url, prefix)
    yield Lgrs(redis_url, prefix), graphs
    close_corpus(graphs)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        saver.clear_all()


def plain(graphs: dict[str, Any], value: Any) -> Any:
    """LangGraph's Python objects as lgrs shows them: plain data, through JSON."""
    serde = graphs["__savers__"][0].serde
    return json.loads(to_json(PlainReader().loads_typed(serde.dumps_typed(value))))


def lgrs_json(lgrs: Lgrs, thread: str, *args: str) -> Any:
    env = KEY_ENV if thread == ENCRYPTED else None
    return json.loads(lgrs(*args, thread, "--json", env=env).stdout)


def namespaces(lgrs: Lgrs, thread: str) -> list[str]:
    return list(lgrs_json(lgrs, thread, "show")["namespaces"])


THREADS = [s.thread for s in SHAPES] + [ENCRYPTED]


@pytest.mark.parametrize("thread", THREADS)
def test_history_agrees_with_get_state_history(
    corpus: tuple[Lgrs, dict[str, Any]], thread: str
) -> None:
    lgrs, graphs = corpus
    graph = graphs[thread]
    for ns in namespaces(lgrs, thread):
        config = {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
        truth = list(graph.get_state_history(config))
        rows = (
            lgrs_json(lgrs, thread, "history", "--ns", ns)
            if ns
            else lgrs_json(lgrs, thread, "history")
        )
        assert [r["checkpointId"] for r in rows] == [
            s.config["configurable"]["checkpoint_id"] for s in truth
        ]
        for row, snap in zip(rows, truth, strict=True):
            where = (thread, ns, row["step"])
            if row["next"] is None:
                assert (thread, row["step"]) in UNKNOWABLE, where
                assert row["tasks"] is None
            else:
                assert sorted(row["next"]) == sorted(snap.next), where
                known = {(t.id, t.name) for t in snap.tasks}
                assert {(t["id"], t["name"]) for t in row["tasks"] if t["id"]} <= known, where
            assert sorted(i["id"] for i in row["interrupts"]) == sorted(
                i.id for i in snap.interrupts
            ), where
            assert [i["value"] for i in sorted(row["interrupts"], key=lambda i: i["id"])] == [
                plain(graphs, i.value) for i in sorted(snap.interrupts, key=lambda i: i.id)
            ], where


@pytest.mark.parametrize("thread", THREADS)
def test_show_agrees_with_get_state(corpus: tuple[Lgrs, dict[str, Any]], thread: str) -> None:
    lgrs, graphs = corpus
    state = graphs[thread].get_state({"configurable": {"thread_id": thread}})
    shown = lgrs_json(lgrs, thread, "show")
    assert sorted(shown["pendingInterrupts"], key=lambda i: i["id"]) == sorted(
        (
            {"id": i.id, "value": plain(graphs, i.value)}
            | {"question": shown_q(i.value), "taskId": shown_task(shown, i.id)}
            for i in state.interrupts
        ),
        key=lambda i: i["id"],
    )
    if shown["api"] is None:
        assert thread == "functional"  # paused before its entrypoint's name is stored
        return
    assert shown["values"] == plain(graphs, state.values)
    messages = state.values.get("messages", []) if isinstance(state.values, dict) else []
    assert shown["messages"] == len(messages) == len(shown["turns"])


def shown_q(value: Any) -> str:
    from langgraph_redis_saver.browse._plain import question_of

    return question_of(value)


def shown_task(shown: dict[str, Any], interrupt_id: str) -> Any:
    return next(i["taskId"] for i in shown["pendingInterrupts"] if i["id"] == interrupt_id)


def test_counts_are_the_same_in_sessions_show_stats_and_export(
    corpus: tuple[Lgrs, dict[str, Any]],
) -> None:
    lgrs, _ = corpus
    listed = {r["sessionId"]: r for r in json.loads(lgrs("sessions", "--json").stdout)}
    total = 0
    for thread in THREADS:
        env = KEY_ENV if thread == ENCRYPTED else None
        shown = json.loads(lgrs("show", thread, "--json", env=env).stdout)
        exported = json.loads(lgrs("export", thread, env=env).stdout)
        history = sum(
            len(json.loads(lgrs("history", thread, "--ns", ns, "--json", env=env).stdout))
            for ns in shown["namespaces"]
        )
        assert shown["checkpoints"] == exported["metadata"]["checkpoints"] == history
        assert listed[thread]["checkpoints"] == history, thread
        if thread != ENCRYPTED:
            assert listed[thread]["messages"] == shown["messages"], thread
        assert exported["metadata"]["messages"] == shown["messages"]
        total += history
    assert json.loads(lgrs("stats", "--json").stdout)["checkpoints"] == total


def test_encrypted_session_without_a_key_is_listed_and_shown_as_encrypted(
    corpus: tuple[Lgrs, dict[str, Any]],
) -> None:
    lgrs, _ = corpus
    listed = {r["sessionId"]: r for r in json.loads(lgrs("sessions", "--json").stdout)}
    row = listed[ENCRYPTED]
    assert row["encrypted"] is True and row["messages"] is None
    assert row["checkpoints"] == 3 and row["ttl"] is not None
    assert not listed["react"]["encrypted"]
    shown = json.loads(lgrs("show", ENCRYPTED, "--json").stdout)
    assert shown["encrypted"] is True and shown["checkpoints"] == 3
    assert shown["turns"] == [] and shown["sessionId"] == ENCRYPTED
    text = lgrs("show", ENCRYPTED).stdout
    assert "encrypted" in text and "LANGGRAPH_AES_KEY" in text


def test_encrypted_session_with_the_wrong_key_says_so(
    corpus: tuple[Lgrs, dict[str, Any]], tmp_path: Any
) -> None:
    lgrs, _ = corpus
    key = tmp_path / "key"
    key.write_bytes(b"x" * 32)
    result = lgrs("history", ENCRYPTED, "--aes-key-file", str(key), code=1)
    assert "does not decrypt" in result.stderr
    key.write_bytes(AES_KEY + b"\n")
    rows = json.loads(lgrs("history", ENCRYPTED, "--aes-key-file", str(key), "--json").stdout)
    assert rows[0]["next"] == ["review"]


def test_tool_call_artifacts_in_show_and_export(corpus: tuple[Lgrs, dict[str, Any]]) -> None:
    lgrs, _ = corpus
    shown = json.loads(lgrs("show", "react", "--json").stdout)
    tool = next(t for t in shown["turns"] if t["role"] == "tool")
    assert tool["artifact"] == {"city": "Paris", "celsius": 21, "source": "fake"}
    exported = json.loads(lgrs("export", "react").stdout)
    assert any(t.get("artifact") for t in exported["turns"])
    rows = list(csv.DictReader(io.StringIO(lgrs("export", "react", "--format", "csv").stdout)))
    assert json.loads(next(r["artifact"] for r in rows if r["artifact"]))["celsius"] == 21
    assert "celsius" in lgrs("show", "react").stdout


def test_interrupt_shows_every_field(corpus: tuple[Lgrs, dict[str, Any]]) -> None:
    lgrs, _ = corpus
    text = lgrs("show", "approval-waiting", "--full").stdout
    for expected in ("Publish this draft?", "approve", "reject", "schema", "Q3 report"):
        assert expected in text


def test_functional_session_shows_its_state(corpus: tuple[Lgrs, dict[str, Any]]) -> None:
    lgrs, _ = corpus
    shown = json.loads(lgrs("show", "functional-done", "--json").stdout)
    assert shown["api"] == "functional"
    assert shown["state"]["return"]["first"] == "intro"
    assert "intro" in lgrs("show", "functional-done").stdout
    waiting = lgrs("show", "functional").stdout
    assert "redis" in waiting and "Which part first?" in waiting


def test_diff_hides_internal_channels(corpus: tuple[Lgrs, dict[str, Any]]) -> None:
    lgrs, _ = corpus
    rows = json.loads(lgrs("history", "approval-done", "--json").stdout)
    diff = json.loads(
        lgrs(
            "history", "approval-done", "--diff", rows[-1]["checkpointId"],
            rows[0]["checkpointId"], "--json",
        ).stdout
    )  # fmt: skip
    keys = [*diff["added"], *diff["removed"], *diff["changed"]]
    assert keys and not [k for k in keys if k.startswith("__") or ":" in k]
    assert "published" in diff["added"]


def test_private_state_classes_show_as_plain_fields(corpus: tuple[Lgrs, dict[str, Any]]) -> None:
    lgrs, _ = corpus
    shown = json.loads(lgrs("show", "private", "--json").stdout)
    assert shown["state"]["profile"]["name"] == "Ada"
