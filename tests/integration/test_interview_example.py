"""The interview example (`python -m examples.interview`): start, stop, resume in new processes."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langgraph_redis_saver import RedisCheckpointSaver

ROOT = Path(__file__).resolve().parents[2]


def interview(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the example's CLI in a new process, as a user would, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "examples.interview", "--url", url, *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def saver(redis_url: str) -> Iterator[RedisCheckpointSaver]:
    with RedisCheckpointSaver.from_url(redis_url) as s:
        yield s


@pytest.fixture
def session(saver: RedisCheckpointSaver) -> Iterator[str]:
    sid = f"test_interview_{uuid.uuid4().hex[:8]}"
    yield sid
    saver.delete_thread(sid)


def state_of(saver: RedisCheckpointSaver, session: str) -> dict[str, Any]:
    from examples.interview import build_graph

    graph = build_graph().compile(checkpointer=saver)
    values: dict[str, Any] = graph.get_state({"configurable": {"thread_id": session}}).values
    return values


def test_start_stop_and_resume_from_new_processes(
    redis_url: str, saver: RedisCheckpointSaver, session: str
) -> None:
    first = interview(
        redis_url, "--session", session, "--answer", "I write compilers", "--answer", "Tracing"
    )
    assert first.returncode == 0, first.stderr
    assert f"session: {session}" in first.stdout
    assert "you: Tracing" in first.stdout
    assert "interrupted: stopped after 2 of 4 answers" in first.stdout
    assert state_of(saver, session)["turn_count"] == 2

    second = interview(redis_url, "--resume", session, "--answer", "By building things")
    assert second.returncode == 0, second.stderr
    assert "resumed: session" in second.stdout
    assert "2 answers and 5 messages restored" in second.stdout
    assert "interrupted: stopped after 3 of 4 answers" in second.stdout

    # Answers from standard input, one per line, as when piped.
    third = interview(redis_url, "--resume", session, stdin="Reading code\n")
    assert third.returncode == 0, third.stderr
    assert "interviewer (4/4)" in third.stdout
    assert "completed: session" in third.stdout

    values = state_of(saver, session)
    assert values["is_complete"] is True
    assert values["turn_count"] == 4
    assert values["analysis"]["answers"] == 4
    assert values["analysis"]["words"] == 9
    roles = [m.type for m in values["messages"]]
    assert roles == ["ai", "human"] * 4 + ["ai"]
    assert values["messages"][1].content == "I write compilers"

    again = interview(redis_url, "--resume", session)
    assert again.returncode == 0
    assert "already complete" in again.stdout


def test_new_session_ids_look_like_cli_timestamps(
    redis_url: str, saver: RedisCheckpointSaver
) -> None:
    done = interview(redis_url, "--user", "alice")  # no answers: stops at the first question
    assert done.returncode == 0, done.stderr
    match = re.search(r"^session: (cli_\d{8}_\d{6}(?:_\d+)?)$", done.stdout, re.M)
    assert match, done.stdout
    try:
        assert "interrupted: stopped after 0 of 4 answers" in done.stdout
        latest = saver.get_tuple({"configurable": {"thread_id": match[1]}})
        assert latest is not None
        assert latest.metadata.get("user_id") == "alice"
    finally:
        saver.delete_thread(match[1])


def test_unknown_session_is_a_clear_error(redis_url: str) -> None:
    done = interview(redis_url, "--resume", f"missing_{uuid.uuid4().hex}")
    assert done.returncode == 1
    assert "no session" in done.stderr


def test_unreachable_redis_is_a_clear_error() -> None:
    done = interview("redis://127.0.0.1:1/0", "--answer", "hello")
    assert done.returncode == 2
    assert "cannot reach Redis" in done.stderr


def test_analysis() -> None:
    from examples.interview import analyze

    assert analyze([]) == {
        "answers": 0,
        "words": 0,
        "average_answer_words": 0.0,
        "vocabulary_richness": 0.0,
    }
    result = analyze(["I build compilers.", "I build tests, don't I?"])
    assert result["words"] == 8
    assert result["average_answer_words"] == 4.0
    assert result["vocabulary_richness"] == round(5 / 8, 3)
