"""``lgrs`` and legacy pickled sessions: sessions --legacy, show, doctor, migrate --from-pickle."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from examples.interview import build_graph
from examples.interview.graph import QUESTIONS
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from support.legacy_store import hostile_session, write_legacy_session
from support.lgrs_sessions import Lgrs


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.fixture
def lgrs(redis_url: str, prefix: str) -> Lgrs:
    return Lgrs(redis_url, prefix)


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
