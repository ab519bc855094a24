"""``lgrs export``, ``history`` and ``delete`` on legacy pickled sessions, hostile ones included."""

from __future__ import annotations

import csv
import io
import json
import pickle
from pathlib import Path

import pytest
import redis
from examples.interview.graph import QUESTIONS
from langchain_core.messages import HumanMessage

from langgraph_redis_saver.keys import KeySchema
from support.legacy_store import (
    GADGETS,
    MEMORY_BOMBS,
    hostile_session,
    legacy_pickle,
    legacy_state,
    write_legacy_session,
)
from support.lgrs_sessions import Lgrs, interview

from .test_cli_legacy import _lgrs_bounded

STAMP = "2025-11-08T15:03:24.000Z"  # the legacy store's one time per session


# -- export ------------------------------------------------------------------------------


def test_lgrs_export_a_legacy_session_json_csv_filters_and_redaction(
    lgrs: Lgrs, client: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    state = legacy_state(2)
    state["messages"].append(HumanMessage("mail jane.doe@example.com or call +1 (555) 123-4567"))
    data = write_legacy_session(
        client, "cli_1", prefix=prefix, payload=legacy_pickle(state, "cli_1")
    )
    doc = json.loads(lgrs("export", "cli_1").stdout)
    assert doc["sessionId"] == "cli_1" and doc["legacy"] is True and doc["refused"] == []
    assert doc["createdAt"] == doc["updatedAt"] == STAMP
    assert [t["role"] for t in doc["turns"]] == ["assistant", "user"] * 2 + ["assistant", "user"]
    assert doc["turns"][0] == {
        "index": 0,
        "role": "assistant",
        "content": QUESTIONS[0],
        "timestamp": STAMP,
    }
    meta = doc["metadata"]
    assert meta["totalTurns"] == meta["messages"] == 6 and meta["checkpoints"] == 0
    assert meta["state"]["turn_count"] == 2 and meta["checkpointMetadata"]["legacy"] is True
    assert "jane.doe@example.com" in doc["turns"][-1]["content"]

    bare = json.loads(lgrs("export", "cli_1", "--no-metadata", "--redact").stdout)
    assert "metadata" not in bare and bare["legacy"] is True  # the mark stays
    assert "jane.doe@example.com" not in bare["turns"][-1]["content"]
    assert "555" not in bare["turns"][-1]["content"]
    assert json.loads(lgrs("export", "cli_1", "--since", "2025-11-09").stdout)["turns"] == []
    assert len(json.loads(lgrs("export", "cli_1", "--until", "2025-11-09").stdout)["turns"]) == 6

    rows = list(csv.DictReader(io.StringIO(lgrs("export", "cli_1", "--format", "csv").stdout)))
    assert [r["role"] for r in rows] == [t["role"] for t in doc["turns"]]
    assert {r["sessionId"] for r in rows} == {"cli_1"} and rows[0]["timestamp"] == STAMP

    out = lgrs("export", "cli_1", "--json", "-o", str(tmp_path / "cli_1.json")).stdout
    assert json.loads(out)["files"][0]["legacy"] is True
    assert client.get(f"{prefix}:cli_1:latest") == data  # read-only


def test_lgrs_export_all_includes_legacy_sessions(
    lgrs: Lgrs, redis_url: str, client: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    from langgraph_redis_saver import RedisCheckpointSaver

    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "new_1", ["an answer"], user_id="u1")
    write_legacy_session(client, "old_1", prefix=prefix)
    write_legacy_session(client, "broken", prefix=prefix, payload=b"\x80\x04garbage")
    mine = legacy_state(1)
    owned = pickle.dumps(
        {"checkpoint": mine, "metadata": {"user_id": "u1"}, "config": {"configurable": {}}}
    )
    write_legacy_session(client, "old_u1", prefix=prefix, payload=owned)
    write_legacy_session(client, "kept", prefix=prefix)
    lgrs("migrate", "--from-pickle", "--session", "kept", "--keep-legacy", "--yes")

    result = lgrs("export", "--all", "-o", str(tmp_path / "all"), "--json")
    summary = json.loads(result.stdout)
    files = {f["sessionId"]: f for f in summary["files"]}
    assert set(files) == {"new_1", "kept", "old_1", "old_u1"}  # kept: once, migrated
    assert files["old_1"]["legacy"] is True and "legacy" not in files["new_1"]
    assert "legacy" not in files["kept"]
    (error,) = summary["errors"]
    assert error["sessionId"] == "broken" and "corrupted or truncated pickle" in error["error"]
    assert "legacy pickled session" in error["error"] and "broken" in result.stderr
    doc = json.loads(Path(files["old_1"]["file"]).read_text())
    assert doc["legacy"] is True and len(doc["turns"]) == 5

    text = lgrs("export", "--all", "-o", str(tmp_path / "text"))
    assert "exported 4 sessions" in text.stderr and "2 of them legacy pickled" in text.stderr

    none = json.loads(
        lgrs("export", "--all", "-o", str(tmp_path / "n"), "--no-legacy", "--json").stdout
    )
    assert {f["sessionId"] for f in none["files"]} == {"new_1", "kept"} and not none["errors"]
    by_user = json.loads(
        lgrs("export", "--all", "-o", str(tmp_path / "u"), "--user", "u1", "--json").stdout
    )
    assert {f["sessionId"] for f in by_user["files"]} == {"new_1", "old_u1"}
    later = json.loads(
        lgrs("export", "--all", "-o", str(tmp_path / "s"), "--since", "2025-11-09", "--json").stdout
    )
    later_ids = {f["sessionId"] for f in later["files"]}
    assert "old_1" not in later_ids and "old_u1" in later_ids  # old_u1: no time was stored
    assert (
        "--no-legacy only applies with --all" in lgrs("export", "x", "--no-legacy", code=2).stderr
    )


@pytest.mark.parametrize("kind", GADGETS)
def test_lgrs_export_hostile_legacy_sessions_runs_nothing(
    lgrs: Lgrs, client: redis.Redis, prefix: str, tmp_path: Path, kind: str
) -> None:
    canary = tmp_path / "canary"
    write_legacy_session(client, "evil", prefix=prefix, payload=hostile_session(canary, kind))
    doc = json.loads(lgrs("export", "evil").stdout)
    assert doc["refused"] and doc["metadata"]["state"]["profile_data"]["x"]["__legacy_type__"]
    summary = json.loads(lgrs("export", "--all", "-o", str(tmp_path / "out"), "--json").stdout)
    assert [f["sessionId"] for f in summary["files"]] == ["evil"]
    assert lgrs("history", "evil", code=1) and not canary.exists()
    lgrs("delete", "evil", "--yes")
    assert not canary.exists() and not client.exists(f"{prefix}:evil:latest")


@MEMORY_BOMBS
def test_lgrs_export_refuses_legacy_pickles_that_would_exhaust_memory(
    lgrs: Lgrs, client: redis.Redis, prefix: str, tmp_path: Path, payload: bytes, reason: str
) -> None:
    write_legacy_session(client, "big", prefix=prefix, payload=payload)
    write_legacy_session(client, "ok", prefix=prefix)
    one = _lgrs_bounded(lgrs, "export", "big")
    assert one.returncode == 1 and reason in one.stderr, one.stderr
    assert "legacy pickled session 'big' cannot be exported" in one.stderr
    every = _lgrs_bounded(lgrs, "export", "--all", "-o", str(tmp_path / "out"), "--json")
    assert every.returncode == 0, every.stderr
    summary = json.loads(every.stdout)
    assert [f["sessionId"] for f in summary["files"]] == ["ok"]
    assert summary["errors"][0]["sessionId"] == "big" and reason in summary["errors"][0]["error"]


def test_lgrs_export_never_fetches_an_oversized_pickle_whole(
    lgrs: Lgrs, client: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    size = 48 << 20  # three times the reader's 16 MiB limit
    write_legacy_session(client, "huge", prefix=prefix, payload=b"\x80\x04" + b"x" * size)
    before = int(client.info("stats")["total_net_output_bytes"])
    result = lgrs("export", "huge", code=1)
    sent = int(client.info("stats")["total_net_output_bytes"]) - before
    assert f"pickle of {size + 2} bytes is over the" in result.stderr
    assert sent < 20 << 20, f"{sent} bytes sent for a {size} byte value"


# -- history -----------------------------------------------------------------------------


def test_lgrs_history_of_a_legacy_session_says_it_has_no_timeline(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    session = "it's legacy"
    write_legacy_session(client, session, prefix=prefix)
    human = lgrs("history", session, code=1)
    assert "is a legacy pickled session: it has no checkpoint timeline" in human.stderr
    assert "lgrs show 'it'\"'\"'s legacy'" in human.stderr
    assert "lgrs migrate --from-pickle --session 'it'\"'\"'s legacy' --dry-run" in human.stderr
    for extra in ((), ("--checkpoint", "abc"), ("--limit", "3")):
        doc = json.loads(lgrs("history", session, "--json", *extra, code=1).stdout)
        assert doc["sessionId"] == session and doc["legacy"] is True
        assert "no checkpoint timeline" in doc["error"]
        assert doc["migrate"][-1] == "lgrs migrate --from-pickle --session 'it'\"'\"'s legacy'"
    assert "not found" in lgrs("history", "nope", code=1).stderr
    lgrs("migrate", "--from-pickle", "--yes")
    (row,) = json.loads(lgrs("history", session, "--json").stdout)
    assert row["source"] == "update"


# -- delete ------------------------------------------------------------------------------


def test_lgrs_delete_a_legacy_session_removes_its_pickles_only(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "a*", prefix=prefix, history=2)
    client.set(f"{prefix}:a*:user_profile", b"application data, not a pickle")
    sibling = write_legacy_session(client, "ab", prefix=prefix)  # matches an unescaped a*:*
    dry = json.loads(lgrs("delete", "a*", "--dry-run", "--json").stdout)
    assert dry["sessions"] == [{"sessionId": "a*", "keys": 3, "legacy": True}]
    assert "legacy pickled" in lgrs("delete", "a*", "--dry-run").stdout
    lgrs("delete", "a*", input="n\n", code=1)
    assert client.exists(f"{prefix}:a*:latest")
    done = lgrs("delete", "a*", "--yes")
    assert "1 session, 1 of them legacy pickled (3 keys)" in done.stderr
    assert client.exists(f"{prefix}:a*:latest", f"{prefix}:a*:checkpoint_id_1") == 0
    assert client.get(f"{prefix}:a*:user_profile") == b"application data, not a pickle"
    assert client.get(f"{prefix}:ab:latest") == sibling
    assert client.exists(f"{prefix}:ab:checkpoint_id_0")
    assert "not found" in lgrs("delete", "a*", "--yes", code=1).stderr


def test_lgrs_delete_all_names_legacy_sessions_under_a_glob_prefix(
    redis_url: str, client: redis.Redis, prefix: str
) -> None:
    globbed = prefix.replace("test-", "t?st-")  # as a glob, it matches `prefix` too
    lgrs = Lgrs(redis_url, globbed)
    write_legacy_session(client, "one", prefix=globbed)
    neighbour = write_legacy_session(client, "one", prefix=prefix)
    dry = lgrs("delete", "--all", "--dry-run")
    assert "ALL 0 sessions and 1 legacy pickled session (2 keys)" in dry.stderr
    assert json.loads(lgrs("delete", "--all", "--dry-run", "--json").stdout)["sessions"] == [
        {"sessionId": "one", "keys": None, "legacy": True}
    ]
    lgrs("delete", "--all", "--yes")
    assert not client.exists(f"{globbed}:one:latest", f"{globbed}:one:checkpoint_id_0")
    assert client.get(f"{prefix}:one:latest") == neighbour


def test_delete_pickles_leaves_a_key_rewritten_since_it_was_planned(
    client: redis.Redis, prefix: str
) -> None:
    from langgraph_redis_saver.legacy._store import delete_pickles

    write_legacy_session(client, "s", prefix=prefix)
    latest = f"{prefix}:s:latest"
    client.set(latest, b"1ef0a1b2-5c3d-6e4f-8000-0123456789ab")  # migrated meanwhile
    assert delete_pickles(client, [latest, f"{prefix}:s:checkpoint_id_0"]) == 1
    assert client.get(latest) == b"1ef0a1b2-5c3d-6e4f-8000-0123456789ab"
    assert KeySchema(prefix).namespace("s", "").latest == latest
