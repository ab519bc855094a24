"""``lgrs`` and legacy pickled sessions: sessions --legacy, show, doctor, migrate --from-pickle."""

from __future__ import annotations

import json
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from examples.interview import build_graph
from examples.interview.graph import QUESTIONS
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from support.legacy_store import (
    MEMORY_BOMBS,
    hostile_session,
    legacy_pickle,
    legacy_state,
    write_legacy_session,
)
from support.lgrs_sessions import Lgrs


def test_lgrs_sessions_legacy_lists_pickled_sessions(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "cli_20251108_145739", prefix=prefix, turns=3)
    write_legacy_session(client, "broken", prefix=prefix, payload=b"\x80\x04garbage")
    rows = json.loads(lgrs("sessions", "--legacy", "--json").stdout)
    by_id = {r["sessionId"]: r for r in rows}
    assert by_id["cli_20251108_145739"]["messages"] == 7
    assert by_id["cli_20251108_145739"]["turnCount"] == 3
    assert by_id["cli_20251108_145739"]["legacy"] is True
    assert 0 < by_id["cli_20251108_145739"]["ttl"] <= 24 * 3600
    assert by_id["broken"]["status"].startswith("unreadable")
    text = lgrs("sessions", "--legacy").stdout
    assert "cli_20251108_145739" in text and "2 legacy pickled sessions" in text
    # the saver's own listing does not show them
    assert json.loads(lgrs("sessions", "--json").stdout) == []
    # filters that legacy sessions cannot answer are refused, not ignored
    for option in (["--user", "u1"], ["--since", "2h"]):
        refused = lgrs("sessions", "--legacy", *option, code=2)
        assert "do not apply with --legacy" in refused.stderr


def test_lgrs_show_a_legacy_session_read_only(lgrs: Lgrs, client: redis.Redis, prefix: str) -> None:
    data = write_legacy_session(client, "cli_1", prefix=prefix, turns=1)
    doc = json.loads(lgrs("show", "cli_1", "--json").stdout)
    assert doc["legacy"] is True and doc["metadata"]["legacy"] is True
    assert [t["role"] for t in doc["turns"]] == ["assistant", "user", "assistant"]
    assert doc["turns"][0]["content"] == QUESTIONS[0]
    assert doc["state"]["turn_count"] == 1 and doc["state"]["is_complete"] is False
    assert doc["state"]["current_analysis"]["vocabulary_richness"] == 0.95
    assert 0 < doc["ttl"] <= 24 * 3600
    text = lgrs("show", "cli_1").stdout
    assert "LEGACY pickled session" in text and "lgrs migrate --from-pickle" in text
    assert client.get(f"{prefix}:cli_1:latest") == data  # read-only


def test_lgrs_show_a_hostile_legacy_session_runs_nothing(
    lgrs: Lgrs, client: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    write_legacy_session(client, "evil", prefix=prefix, payload=hostile_session(canary, "exec"))
    doc = json.loads(lgrs("show", "evil", "--json").stdout)
    assert doc["metadata"]["refused"] == ["builtins.exec"]
    assert doc["state"]["profile_data"]["x"]["__legacy_type__"] == "builtins.exec"
    assert not canary.exists()


def test_lgrs_show_unknown_session_still_says_not_found(lgrs: Lgrs) -> None:
    result = lgrs("show", "nope", code=1)
    assert "not found" in result.stderr


def test_lgrs_doctor_counts_legacy_sessions(lgrs: Lgrs, client: redis.Redis, prefix: str) -> None:
    write_legacy_session(client, "a", prefix=prefix)
    write_legacy_session(client, "b", prefix=prefix)
    result = lgrs("doctor", "--json")
    (finding,) = [
        f for f in json.loads(result.stdout)["findings"] if f["check"] == "legacy sessions"
    ]
    assert finding["severity"] == "warning" and "2 legacy" in finding["message"]
    assert "lgrs migrate --from-pickle" in finding["fix"]


def test_lgrs_migrate_needs_from_pickle_and_confirmation(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    data = write_legacy_session(client, "a", prefix=prefix)
    assert "--from-pickle" in lgrs("migrate", code=2).stderr
    lgrs("migrate", "--from-pickle", input="n\n", code=1)  # declined: nothing changes
    assert client.get(f"{prefix}:a:latest") == data


def test_lgrs_migrate_dry_run_then_migrate_then_rerun(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    data = write_legacy_session(client, "a", prefix=prefix)
    dry = lgrs("migrate", "--from-pickle", "--dry-run")
    assert "a  would migrate: 5 messages" in dry.stdout
    assert "dry run: would migrate 1, skipped 0, failed 0" in dry.stdout
    assert client.get(f"{prefix}:a:latest") == data
    done = json.loads(lgrs("migrate", "--from-pickle", "--yes", "--json").stdout)
    assert done["migrated"] == 1 and done["sessions"][0]["status"] == "migrated"
    again = json.loads(lgrs("migrate", "--from-pickle", "--yes", "--json").stdout)
    assert again["migrated"] == 0 and again["sessions"] == []
    show = json.loads(lgrs("show", "a", "--json").stdout)
    assert "legacy" not in show and len(show["turns"]) == 5


def test_lgrs_migrate_to_another_prefix_keep_legacy(
    lgrs: Lgrs, redis_url: str, client: redis.Redis, prefix: str
) -> None:
    data = write_legacy_session(client, "a", prefix=prefix)
    target = prefix + "-v2"
    out = lgrs("migrate", "--from-pickle", "--to-prefix", target, "--keep-legacy", "--yes")
    assert "migrated 1" in out.stdout
    assert client.get(f"{prefix}:a:latest") == data
    assert len(json.loads(Lgrs(redis_url, target)("sessions", "--json").stdout)) == 1
    again = lgrs("migrate", "--from-pickle", "--to-prefix", target, "--keep-legacy", "--yes")
    assert "already migrated in the target" in again.stdout


@pytest.mark.slow
def test_lgrs_migrate_1000_sessions_with_hostile_and_corrupted_ones(
    lgrs: Lgrs, redis_url: str, client: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    """The issue's "done means": 1,000 sessions migrate, 5 bad ones are reported, nothing runs."""
    canary = tmp_path / "canary"
    payload = write_legacy_session(client, "template", prefix=prefix, turns=1)
    client.delete(f"{prefix}:template:latest", f"{prefix}:template:checkpoint_id_0")
    pipe = client.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(f"{prefix}:cli_{i:04d}:latest", payload, ex=24 * 3600)
        pipe.set(f"{prefix}:cli_{i:04d}:checkpoint_id_0", payload, ex=24 * 3600)
    for kind in ("os.system", "subprocess", "chain"):
        pipe.set(f"{prefix}:hostile_{kind}:latest", hostile_session(canary, kind), ex=3600)
    pipe.set(f"{prefix}:corrupted_1:latest", payload[: len(payload) // 2], ex=3600)
    pipe.set(f"{prefix}:corrupted_2:latest", b"\x80\x05" + b"\xff" * 64, ex=3600)
    pipe.execute()

    started = time.monotonic()
    result = lgrs("migrate", "--from-pickle", "--yes", code=1)  # 1: some sessions failed
    seconds = time.monotonic() - started
    print(result.stdout, f"[{seconds:.1f} s]")
    assert "migrated 1000, skipped 3, failed 2 of 1005 legacy sessions" in result.stdout
    for name in ("hostile_os.system", "hostile_subprocess", "hostile_chain"):
        assert f"  {name}  refused to rebuild" in result.stdout
    assert "  corrupted_1  corrupted or truncated pickle" in result.stdout
    assert "  corrupted_2  corrupted or truncated pickle" in result.stdout
    assert not canary.exists()
    # a graph resumes a migrated interview by session id, in a fresh saver
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        graph = build_graph().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "cli_0421"}}
        assert graph.get_state(config).values["turn_count"] == 1
        out = graph.invoke({"messages": [("user", "I build compilers")]}, config)
        assert out["__interrupt__"][0].value["question"] == QUESTIONS[1]
        out = graph.invoke(Command(resume="I profiled it"), config)
        assert out["turn_count"] == 2
    assert not client.exists(f"{prefix}:cli_0421:checkpoint_id_0")
    assert len(json.loads(lgrs("sessions", "--legacy", "--json").stdout)) == 5


def test_lgrs_migrate_to_another_database(
    lgrs: Lgrs, redis_url: str, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "a", prefix=prefix, ttl=600)
    other = redis_url.rsplit("/", 1)[0] + "/1"
    out = json.loads(lgrs("migrate", "--from-pickle", "--to-url", other, "--yes", "--json").stdout)
    assert out["migrated"] == 1
    assert not client.exists(f"{prefix}:a:latest")  # moved, not kept
    with RedisCheckpointSaver.from_url(other, key_prefix=prefix) as saver:
        found = saver.get_tuple({"configurable": {"thread_id": "a"}})
        assert found is not None and found.checkpoint["channel_values"]["turn_count"] == 2
        assert 0 < saver._sync().ttl(saver.keys.namespace("a", "").latest) <= 600
        saver.clear_all()


def test_lgrs_shows_a_session_whose_migration_was_interrupted(
    lgrs: Lgrs, redis_url: str, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "a", prefix=prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        backup = saver.keys.session_base("a") + "legacy:pickle"
    client.rename(f"{prefix}:a:latest", backup)  # where a crash mid-migration leaves it
    (row,) = json.loads(lgrs("sessions", "--legacy", "--json").stdout)
    assert row["status"] == "migrating"
    assert json.loads(lgrs("show", "a", "--json").stdout)["legacy"] is True
    assert "migrated 1" in lgrs("migrate", "--from-pickle", "--yes").stdout
    assert "legacy" not in json.loads(lgrs("show", "a", "--json").stdout)
    assert not client.exists(backup)


def test_lgrs_legacy_output_is_inert(lgrs: Lgrs, client: redis.Redis, prefix: str) -> None:
    session = "evil\x1b]0;owned\x07\u202e"
    write_legacy_session(client, session, prefix=prefix, payload=b"\x80\x04\x95\x1b[2J")
    for args in (("sessions", "--legacy"), ("migrate", "--from-pickle", "--dry-run")):
        result = lgrs(*args, code=1 if args[0] == "migrate" else 0)
        assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
        assert "evil\\x1b]0;owned\\x07" in result.stdout


# -- what an outside attack found ---------------------------------------------------------

MEMORY_LIMIT = 512 << 20  # address space of the lgrs child: ~5x what it needs


def _lgrs_bounded(lgrs: Lgrs, *args: str) -> subprocess.CompletedProcess[str]:
    """``lgrs`` in a child process whose address space is capped (RLIMIT_AS)."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    code = "from langgraph_redis_saver.cli.app import cli; cli()"
    argv = [sys.executable, "-c", code, "--url", lgrs.url, "--prefix", lgrs.prefix, *args]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LGRS_PREFIX")}
    return subprocess.run(
        argv, preexec_fn=cap, capture_output=True, text=True, timeout=120, env=env
    )


@MEMORY_BOMBS
def test_lgrs_refuses_legacy_pickles_that_would_exhaust_memory(
    lgrs: Lgrs, client: redis.Redis, prefix: str, payload: bytes, reason: str
) -> None:
    write_legacy_session(client, "big", prefix=prefix, payload=payload)
    write_legacy_session(client, "ok", prefix=prefix)
    listed = _lgrs_bounded(lgrs, "sessions", "--legacy", "--json")
    assert listed.returncode == 0, listed.stderr
    by_id = {r["sessionId"]: r for r in json.loads(listed.stdout)}
    assert reason in by_id["big"]["status"] and by_id["ok"]["status"] == "legacy"
    shown = _lgrs_bounded(lgrs, "show", "big")
    assert shown.returncode == 1 and reason in shown.stderr, shown.stderr
    migrated = _lgrs_bounded(lgrs, "migrate", "--from-pickle", "--yes", "--json")
    assert migrated.returncode == 1, migrated.stderr
    outcomes = {o["sessionId"]: o for o in json.loads(migrated.stdout)["sessions"]}
    assert outcomes["big"]["status"] == "failed" and reason in outcomes["big"]["reason"]
    assert outcomes["ok"]["status"] == "migrated"
    assert client.get(f"{prefix}:big:latest") == payload  # left as it was


def test_lgrs_placeholders_keep_the_session_pickled_and_say_so(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    loop: list[object] = [1]
    loop.append(loop)
    state = legacy_state(1)
    state["loop"] = loop
    write_legacy_session(client, "cycle", prefix=prefix, payload=legacy_pickle(state, "c"))
    persid = b"(dp0\nVcheckpoint\np1\n(dp2\nVpid\np3\nPsome-file\np4\nss."
    write_legacy_session(client, "persid", prefix=prefix, payload=persid)
    rows = {r["sessionId"]: r for r in json.loads(lgrs("sessions", "--legacy", "--json").stdout)}
    assert rows["cycle"]["status"] == "refused: <reference cycle>"
    assert rows["persid"]["status"] == "refused: <persistent id>"
    result = lgrs("migrate", "--from-pickle", "--yes", "--json", code=1)
    done = {o["sessionId"]: o for o in json.loads(result.stdout)["sessions"]}
    assert done["cycle"]["status"] == done["persid"]["status"] == "skipped"
    assert done["cycle"]["leftPickled"] and "refused to rebuild" in done["persid"]["reason"]
    assert client.get(f"{prefix}:persid:latest") == persid
    assert client.exists(f"{prefix}:cycle:latest", f"{prefix}:cycle:checkpoint_id_0") == 2


def test_lgrs_ambiguous_legacy_keys_are_reported_and_migrate_when_named(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    for session in ("a:b", "a:b*{c} d", ""):
        write_legacy_session(client, session, prefix=prefix)
    write_legacy_session(client, "plain", prefix=prefix)
    rows = {r["sessionId"]: r for r in json.loads(lgrs("sessions", "--legacy", "--json").stdout)}
    assert sorted(rows) == ["", "a:b", "a:b*{c} d", "plain"]
    assert rows["a:b"]["status"].startswith(f"ambiguous: key {prefix}:a:b:latest")
    text = lgrs("sessions", "--legacy").stdout
    assert "3 ambiguous legacy keys" in text and f"  {prefix}::latest" in text
    doctor = lgrs("doctor", "--json").stdout
    (finding,) = [f for f in json.loads(doctor)["findings"] if f["check"] == "legacy sessions"]
    assert (
        "4 legacy" in finding["message"] and "3 of them under ambiguous keys" in finding["message"]
    )
    # migrating everything skips them, says so, and does not claim success
    result = lgrs("migrate", "--from-pickle", "--yes", code=1)
    assert "migrated 1, skipped 3" in result.stdout
    assert "3 legacy sessions stay pickled" in result.stdout
    assert "--session 'a:b*{c} d'" in result.stdout
    assert client.exists(f"{prefix}:a:b:latest", f"{prefix}::latest") == 2
    # naming them migrates them, with their old pickled keys
    done = lgrs("migrate", "--from-pickle", "--yes", "--session", "a:b", "--session", "")
    assert "migrated 2, skipped 0" in done.stdout
    assert not client.exists(f"{prefix}:a:b:latest", f"{prefix}:a:b:checkpoint_id_0")
    assert not client.exists(f"{prefix}::latest", f"{prefix}::checkpoint_id_0")
    assert client.exists(f"{prefix}:a:b*{{c}} d:latest")
    assert json.loads(lgrs("show", "a:b", "--json").stdout).get("legacy") is None
    missing = lgrs("migrate", "--from-pickle", "--yes", "--session", "nope").stdout
    assert "nope  no legacy pickled session of that id" in missing


def test_lgrs_lists_protocol_0_and_1_legacy_sessions(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    for protocol in (0, 1):
        doc = {"checkpoint": legacy_state(1), "metadata": {}, "config": {}}
        write_legacy_session(
            client, f"p{protocol}", prefix=prefix, payload=pickle.dumps(doc, protocol)
        )
    rows = json.loads(lgrs("sessions", "--legacy", "--json").stdout)
    assert [(r["sessionId"], r["status"], r["messages"]) for r in rows] == [
        ("p0", "legacy", 3),
        ("p1", "legacy", 3),
    ]
    assert "update time unknown" in lgrs("show", "p0").stdout
    assert "migrated 2" in lgrs("migrate", "--from-pickle", "--yes").stdout


def test_lgrs_migrate_dry_run_says_exactly_which_keys_go(
    lgrs: Lgrs, client: redis.Redis, prefix: str
) -> None:
    write_legacy_session(client, "mix", prefix=prefix, history=3)
    client.set(f"{prefix}:mix:user_profile", b"plain text, not a pickle")
    dry = lgrs("migrate", "--from-pickle", "--dry-run").stdout
    assert "delete the pickle and 3 old pickled keys; keep 1 other key that holds no pickle" in (
        " ".join(dry.split())
    )
    lgrs("migrate", "--from-pickle", "--yes")
    assert client.get(f"{prefix}:mix:user_profile") == b"plain text, not a pickle"
    assert not client.exists(*[f"{prefix}:mix:checkpoint_id_{i}" for i in range(3)])


def test_lgrs_legacy_views_at_80_columns_keep_commands_and_names_whole(
    lgrs: Lgrs, client: redis.Redis, prefix: str, tmp_path: Path
) -> None:
    write_legacy_session(client, "cli_20251108_145739_a_long_session_name", prefix=prefix)
    for kind in ("os.system", "subprocess"):
        write_legacy_session(
            client, f"hostile_{kind}", prefix=prefix, payload=hostile_session(tmp_path, kind)
        )
    env: dict[str, str | None] = {"COLUMNS": "80"}
    texts = {
        "sessions": lgrs("sessions", "--legacy", env=env).stdout,
        "doctor": lgrs("doctor", env=env).stdout,
        "show": lgrs("show", "cli_20251108_145739_a_long_session_name", env=env).stdout,
        "dry": lgrs("migrate", "--from-pickle", "--dry-run", env=env).stdout,
    }
    for name, text in texts.items():
        lines = text.splitlines()
        assert all(len(line) <= 80 for line in lines), name
        assert not any(line.rstrip().endswith("lgrs migrate") for line in lines), name
        if name != "dry":
            commands = [line.strip() for line in lines]
            assert "lgrs migrate --from-pickle --dry-run" in commands, name
            assert "lgrs migrate --from-pickle" in commands, name
    assert "  hostile_os.system  refused: posix.system" in texts["sessions"]
    assert "updated - UTC ()" not in texts["show"]
    # the trusted-classes hint once, and a dry run lists each session once
    assert texts["dry"].count("allowed=[...]") == 1
    assert texts["dry"].count("hostile_subprocess  ") == 1
    prompt = lgrs("migrate", "--from-pickle", input="n\n", code=1)
    assert "[y/N]" in prompt.stdout + prompt.stderr


def test_lgrs_non_utf8_argument_is_one_clear_error(lgrs: Lgrs) -> None:
    bad = b"\xffsession".decode("utf-8", "surrogateescape")
    for args in (("show", bad), ("migrate", "--from-pickle", "--session", bad)):
        result = lgrs(*args, code=1)
        assert "not valid UTF-8 (byte 0xff)" in result.stderr, result.stderr
        assert "UnicodeEncodeError" not in result.stderr
