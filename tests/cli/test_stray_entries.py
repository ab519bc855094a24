"""``lgrs stats`` and ``export --all`` report a sessions-index entry that is not UTF-8.

Another tool (or a hand) can add such an entry to the sessions index; it
names no session the saver wrote. ``lgrs sessions`` shows it as a row with
``sessionId: null`` and a warning; ``stats`` and ``export --all`` say the
same warning and list it under ``skippedEntries``, exit 0 and hide no
session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from langgraph_redis_saver import RedisCheckpointSaver
from support.lgrs_sessions import Lgrs, interview

STRAY = b"\xff\xfe-stray\x1b[31m"
"""Not UTF-8, with an ESC sequence that must not reach the terminal."""
ALICE_STRAY = b"alice-\xc3("


@pytest.fixture
def strays(redis_url: str, prefix: str) -> Iterator[Lgrs]:
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "alice-1", ["an answer"], user_id="alice")
        interview(saver, "bob-1", ["an answer", "another"], user_id="bob")
        client = redis.Redis.from_url(redis_url)
        score = client.zscore(saver.keys.sessions, "bob-1")
        assert score is not None
        client.zadd(saver.keys.sessions, {STRAY: score - 1})
        client.zadd(saver.keys.sessions_by("user_id", "alice"), {ALICE_STRAY: score - 1})
        yield Lgrs(redis_url, prefix)
        client.close()
        saver.clear_all()


def _listed(lgrs: Lgrs, *args: str) -> tuple[list[dict[str, object]], list[str]]:
    """``lgrs sessions``' skipped rows (``--json``) and its warning lines."""
    result = lgrs("sessions", "--json", "--limit", "0", *args)
    rows = [r for r in json.loads(result.stdout) if r["sessionId"] is None]
    return rows, [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def _same_as_sessions(report: list[dict[str, object]], rows: list[dict[str, object]]) -> None:
    assert [(e["updatedAt"], e["error"]) for e in report] == [
        (r["updatedAt"], r["error"]) for r in rows
    ]
    for entry in report:
        assert str(entry["entry"]) in str(entry["error"])


def test_stats_reports_a_skipped_index_entry_as_lgrs_sessions_does(strays: Lgrs) -> None:
    rows, warnings = _listed(strays)
    assert len(rows) == 1 and len(warnings) == 1
    result = strays("stats", "--json")
    doc = json.loads(result.stdout)
    assert doc["sessions"] == 2 and doc["errors"] == []
    assert doc["skippedEntries"][0]["entry"] == "b'\\xff\\xfe-stray\\x1b[31m'"
    _same_as_sessions(doc["skippedEntries"], rows)
    assert [line for line in result.stderr.splitlines() if line.startswith("warning:")] == warnings
    text = strays("stats")
    lines = [" ".join(line.split()) for line in text.stdout.splitlines()]
    assert lines[3] == "skipped 1 index entry (not UTF-8, see the warnings)", lines
    assert text.stderr.splitlines() == warnings
    assert "\x1b" not in text.output and "\\x1b[31m" in text.stderr


def test_export_all_reports_a_skipped_index_entry_and_exports_the_rest(
    strays: Lgrs, tmp_path: Path
) -> None:
    rows, warnings = _listed(strays)
    result = strays("export", "--all", "-o", str(tmp_path / "json"), "--json")
    summary = json.loads(result.stdout)
    assert sorted(f["sessionId"] for f in summary["files"]) == ["alice-1", "bob-1"]
    assert summary["errors"] == [] and summary["skipped"] == []
    _same_as_sessions(summary["skippedEntries"], rows)
    assert [line for line in result.stderr.splitlines() if line.startswith("warning:")] == warnings
    text = strays("export", "--all", "-o", str(tmp_path / "text"))
    assert text.stderr.splitlines()[:-1] == warnings
    assert text.stderr.splitlines()[-1] == (
        f"exported 2 sessions to {tmp_path / 'text'}; "
        "1 index entry skipped (not UTF-8, see the warnings)"
    )
    assert "\x1b" not in text.output
    one = json.loads(strays("export", "bob-1", "-o", str(tmp_path / "one.json"), "--json").stdout)
    assert one["skippedEntries"] == []  # one session: the index is not read


def test_export_all_for_a_user_reports_that_users_skipped_entry(
    strays: Lgrs, tmp_path: Path
) -> None:
    rows, warnings = _listed(strays, "--user", "alice")
    result = strays("export", "--all", "--user", "alice", "-o", str(tmp_path), "--json")
    summary = json.loads(result.stdout)
    assert [f["sessionId"] for f in summary["files"]] == ["alice-1"]
    assert summary["skippedEntries"][0]["entry"] == "b'alice-\\xc3('"
    _same_as_sessions(summary["skippedEntries"], rows)
    assert [line for line in result.stderr.splitlines() if line.startswith("warning:")] == warnings
