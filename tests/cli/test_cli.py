"""``lgrs`` against a real Redis holding sessions written by real graphs."""

from __future__ import annotations

import csv
import io
import json
import re
import runpy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
import redis
from click.testing import CliRunner
from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from langgraph_redis_saver.browse import CSV_COLUMNS, redact
from langgraph_redis_saver.cli.app import cli
from support.graphs import QUESTIONS
from support.lgrs_sessions import (
    CHAT,
    FINISHED,
    INTERVIEW,
    LONG,
    LONG_ANSWER,
    ODD,
    PII,
    PII_ANSWER,
    SUBGRAPH,
    Lgrs,
)
from support.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["sessions", "show", "history", "export", "delete", "stats", "doctor"]

Fresh = tuple[Lgrs, Callable[..., None]]


def as_json(result: Any) -> Any:
    return json.loads(result.stdout)


# -- help and docs -------------------------------------------------------------------


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_help_of_each_command(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {name}" in result.stdout
    for option in ("--url", "--prefix", "--json"):
        assert option in result.stdout


def test_docs_cli_md_is_generated_from_help() -> None:
    generator = runpy.run_path(str(ROOT / "scripts" / "gen_cli_docs.py"))
    expected = generator["render"]()
    current = (ROOT / "docs" / "cli.md").read_text("utf-8")
    assert current == expected, "docs/cli.md is stale: run python scripts/gen_cli_docs.py"
    for name in COMMANDS:
        assert f"## `lgrs {name}`" in current


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "langgraph_redis_saver", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("lgrs, version ")


def test_help_imports_neither_langgraph_nor_redis_nor_rich() -> None:
    """``lgrs --help`` stays fast: only the commands that decode load the heavy parts."""
    code = (
        "import sys\n"
        "from langgraph_redis_saver.cli import main\n"
        "sys.argv = ['lgrs', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('langgraph', 'langchain_core', 'redis', 'rich', 'msgpack')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_lazy_migrate_command_lists_its_own_summary() -> None:
    from langgraph_redis_saver.cli.migrate import migrate

    listed = cli.commands["migrate"]
    assert listed.get_short_help_str(200) == migrate.get_short_help_str(200)
    result = CliRunner().invoke(cli, ["migrate", "--help"])
    assert result.exit_code == 0 and "--from-pickle" in result.stdout


def test_cli_default_channel_is_the_browsers() -> None:
    from langgraph_redis_saver import browse
    from langgraph_redis_saver.cli import _common

    assert _common.DEFAULT_CHANNEL == browse.DEFAULT_CHANNEL


def test_missing_cli_extra_prints_the_install_hint() -> None:
    code = (
        "import sys; sys.modules['click'] = None\n"
        "from langgraph_redis_saver.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "pip install 'langgraph-redis-saver[cli]'" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- sessions ------------------------------------------------------------------------


def test_sessions_json_newest_first_with_counts(stored: Lgrs) -> None:
    rows = as_json(stored("sessions", "--json"))
    by_id = {r["sessionId"]: r for r in rows}
    assert set(by_id) == {INTERVIEW, FINISHED, SUBGRAPH, CHAT, PII, LONG, ODD}
    assert [r["updatedAt"] for r in rows] == sorted((r["updatedAt"] for r in rows), reverse=True)
    assert rows[0]["sessionId"] == CHAT  # written last
    iv = by_id[INTERVIEW]
    assert iv["messages"] == 4
    assert iv["checkpoints"] == 3
    assert 0 < iv["ttl"] <= 24 * 3600
    assert iv["bytes"] > 0 and iv["keys"] > 5
    assert iv["latestCheckpointId"]
    assert by_id[FINISHED]["messages"] == 4 * len(QUESTIONS)


def test_sessions_filters(stored: Lgrs) -> None:
    mine = as_json(stored("sessions", "--user", "u1", "--json"))
    assert [r["sessionId"] for r in mine] == [CHAT, INTERVIEW]
    assert len(as_json(stored("sessions", "--limit", "2", "--json"))) == 2
    assert as_json(stored("sessions", "--since", "2999-01-01", "--json")) == []
    assert len(as_json(stored("sessions", "--since", "1h", "--json"))) == 7


def test_sessions_table_has_no_colour_when_piped(stored: Lgrs) -> None:
    out = stored("sessions").stdout
    assert "\x1b[" not in out
    assert INTERVIEW in out and ODD in out
    assert "7 sessions" in out


def test_sessions_bad_time_is_a_usage_error(stored: Lgrs) -> None:
    result = stored("sessions", "--since", "yesterday-ish", code=2)
    assert "is not a time" in result.stderr


# -- show ----------------------------------------------------------------------------


def test_show_json_turns_tools_interrupt_and_state(stored: Lgrs) -> None:
    conv = as_json(stored("show", INTERVIEW, "--json"))
    turns = conv["turns"]
    assert [t["role"] for t in turns] == ["assistant", "user", "assistant", "tool"]
    assert turns[0]["content"] == QUESTIONS[0]
    assert turns[1]["content"] == "I built a compiler in Rust"
    assert turns[2]["toolCalls"] == [
        {"id": "call_0", "name": "score_answer", "args": {"answer": "I built a compiler in Rust"}}
    ]
    assert turns[3]["toolCallId"] == "call_0" and turns[3]["toolName"] == "score_answer"
    assert turns[3]["content"] == "6"
    assert all(t["timestamp"].endswith("Z") for t in turns)
    (pending,) = conv["pendingInterrupts"]
    assert pending["question"] == QUESTIONS[1]
    assert pending["value"] == {"question": QUESTIONS[1], "turn": 1}
    assert conv["state"] == {"is_complete": False, "turn_count": 1}
    assert conv["metadata"]["user_id"] == "u1"
    assert conv["checkpoints"] == 3


def test_show_transcript_marks_the_pending_question(stored: Lgrs) -> None:
    out = stored("show", INTERVIEW).stdout
    assert "WAITING FOR AN ANSWER" in out
    assert QUESTIONS[1] in out
    assert 'score_answer({"answer": "I built a compiler in Rust"})' in out
    assert "turn_count" in out and "is_complete" in out
    assert "\x1b[" not in out


def test_show_finished_interview_has_no_pending_question(stored: Lgrs) -> None:
    conv = as_json(stored("show", FINISHED, "--json"))
    assert conv["pendingInterrupts"] == []
    assert conv["state"] == {"is_complete": True, "turn_count": 3}
    assert "WAITING" not in stored("show", FINISHED).stdout


def test_show_model_and_token_usage(stored: Lgrs) -> None:
    turns = as_json(stored("show", CHAT, "--json"))["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert turns[1]["model"] == "gpt-test-mini"
    assert turns[1]["tokenUsage"] == {"input": 12, "output": 7, "total": 19}
    assert "gpt-test-mini" in stored("show", CHAT).stdout


def test_show_subgraph_namespace(stored: Lgrs) -> None:
    root = as_json(stored("show", SUBGRAPH, "--json"))
    (sub_ns,) = [ns for ns in root["namespaces"] if ns]
    assert sub_ns.startswith("interview:")
    assert root["pendingInterrupts"][0]["question"] == QUESTIONS[0]
    inner = as_json(stored("show", SUBGRAPH, "--ns", "interview", "--json"))
    assert inner["namespace"] == sub_ns
    assert inner["pendingInterrupts"][0]["question"] == QUESTIONS[0]
    assert inner["state"] == {"turn_count": 0}
    assert as_json(stored("show", SUBGRAPH, "--ns", sub_ns, "--json"))["namespace"] == sub_ns
    result = stored("show", SUBGRAPH, "--ns", "nope", code=1)
    assert "has no namespace 'nope'" in result.stderr


def test_show_truncates_long_content_unless_full(stored: Lgrs) -> None:
    short = stored("show", LONG).stdout
    assert "--full to show all" in short
    assert "THE-END" not in short
    assert "[bold]literal markup[/bold]" in short  # stored text is never console markup
    full = stored("show", LONG, "--full").stdout
    assert "THE-END" in full
    assert as_json(stored("show", LONG, "--json"))["turns"][1]["content"] == LONG_ANSWER


def test_show_tail_keeps_the_last_turns(stored: Lgrs) -> None:
    out = stored("show", FINISHED, "--tail", "2").stdout
    assert "10 earlier turns not shown" in out
    assert QUESTIONS[0] not in out


def test_show_as_of_a_checkpoint(stored: Lgrs) -> None:
    rows = as_json(stored("history", FINISHED, "--json"))
    first_answer = next(r for r in reversed(rows) if "messages" in r["writes"])
    conv = as_json(stored("show", FINISHED, "--checkpoint", first_answer["checkpointId"], "--json"))
    assert len(conv["turns"]) == 4
    assert conv["state"]["turn_count"] == 1
    # The question asked at that checkpoint was answered later (a resume write).
    assert conv["pendingInterrupts"] == []


def test_show_odd_session_id(stored: Lgrs) -> None:
    conv = as_json(stored("show", ODD, "--json"))
    assert conv["sessionId"] == ODD
    assert conv["turns"][1]["content"] == "odd ids work"


def test_missing_session_is_one_line_and_exit_1(stored: Lgrs) -> None:
    for command in ("show", "history", "export"):
        result = stored(command, "no-such-session", code=1)
        assert result.stderr.strip().splitlines() == [
            "Error: session 'no-such-session' not found (it does not exist or has expired)"
        ]
        assert "Traceback" not in result.output


# -- errors and connection -------------------------------------------------------------


def test_unreachable_redis_names_host_and_port_not_password() -> None:
    port = free_port()
    url = f"redis://:s3cret-pw@127.0.0.1:{port}/0"
    result = CliRunner().invoke(cli, ["sessions", "--url", url])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"cannot connect to Redis at 127.0.0.1:{port}" in lines[0]
    assert "s3cret-pw" not in result.output
    assert "Traceback" not in result.output


def test_connection_from_redis_host_and_port(stored: Lgrs) -> None:
    parsed = redis.connection.parse_url(stored.url)
    env = {"REDIS_URL": None, "REDIS_HOST": parsed["host"], "REDIS_PORT": str(parsed["port"]),
           "LGRS_PREFIX": stored.prefix}  # fmt: skip
    result = CliRunner().invoke(cli, ["sessions", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 7


def test_group_options_apply_to_commands(stored: Lgrs) -> None:
    result = CliRunner().invoke(cli, ["--url", stored.url, "sessions", "--prefix", stored.prefix])
    assert result.exit_code == 0, result.output
    assert INTERVIEW in result.stdout


# -- history ---------------------------------------------------------------------------


def test_history_json_timeline(stored: Lgrs) -> None:
    rows = as_json(stored("history", INTERVIEW, "--json"))
    assert len(rows) == 3
    newest, middle, oldest = rows
    assert oldest["source"] == "input" and oldest["step"] == -1
    assert newest["source"] == "loop" and newest["nodes"] == ["ask"]
    assert newest["writes"] == ["is_complete", "messages", "turn_count"]
    assert newest["waiting"] == 1 and "__interrupt__" in newest["pendingWrites"]
    assert [i["value"]["turn"] for i in newest["interrupts"]] == [1]
    assert newest["parentId"] == middle["checkpointId"]
    assert middle["next"] == ["ask"]
    text = stored("history", INTERVIEW).stdout
    assert newest["checkpointId"] in text and "(input)" in text
    assert "waiting for an answer" in text


def test_history_one_checkpoint_by_prefix(stored: Lgrs) -> None:
    newest = as_json(stored("history", INTERVIEW, "--json"))[0]["checkpointId"]
    cp = as_json(stored("history", INTERVIEW, "--checkpoint", newest[:20], "--json"))
    assert cp["checkpointId"] == newest
    assert cp["channelValues"]["turn_count"] == 1
    assert cp["channelValues"]["messages"][0]["__type__"] == "lc.AIMessage"
    assert any(w["channel"] == "__interrupt__" for w in cp["pendingWrites"])
    text = stored("history", INTERVIEW, "--checkpoint", newest).stdout
    assert "Channel values" in text and "Pending writes" in text
    result = stored("history", INTERVIEW, "--checkpoint", "zzz", code=1)
    assert "no checkpoint 'zzz'" in result.stderr


def test_history_diff(stored: Lgrs) -> None:
    rows = as_json(stored("history", INTERVIEW, "--json"))
    new, old = rows[0]["checkpointId"], rows[1]["checkpointId"]
    diff = as_json(stored("history", INTERVIEW, "--diff", old, new, "--json"))
    assert diff["changed"]["turn_count"] == {"from": 0, "to": 1}
    assert diff["added"] == {"is_complete": False}
    assert [t["role"] for t in diff["messagesAdded"]] == ["assistant", "user", "assistant", "tool"]
    text = stored("history", INTERVIEW, "--diff", old, new).stdout
    assert re.search(r"~ turn_count: +0  ->  1", text)


def test_history_subgraph_namespace(stored: Lgrs) -> None:
    rows = as_json(stored("history", SUBGRAPH, "--ns", "interview", "--json"))
    assert rows and all(r["namespace"].startswith("interview:") for r in rows)


# -- export ----------------------------------------------------------------------------


def test_export_json_document(stored: Lgrs) -> None:
    doc = as_json(stored("export", INTERVIEW))
    assert list(doc) == ["sessionId", "createdAt", "updatedAt", "turns", "metadata"]
    assert doc["sessionId"] == INTERVIEW
    assert doc["createdAt"] <= doc["updatedAt"]
    assert [t["index"] for t in doc["turns"]] == [0, 1, 2, 3]
    assert doc["turns"][2]["toolCalls"][0]["name"] == "score_answer"
    md = doc["metadata"]
    assert md["toolsUsed"] == ["score_answer"]
    assert md["state"] == {"is_complete": False, "turn_count": 1}
    assert md["pendingInterrupts"][0]["question"] == QUESTIONS[1]
    assert md["checkpointMetadata"] == {"user_id": "u1"}
    chat = as_json(stored("export", CHAT))
    assert chat["turns"][1]["model"] == "gpt-test-mini"
    assert chat["metadata"]["tokenUsage"] == {"input": 12, "output": 7, "total": 19}
    assert "metadata" not in as_json(stored("export", INTERVIEW, "--no-metadata"))


def test_export_csv_one_row_per_turn(stored: Lgrs) -> None:
    out = stored("export", FINISHED, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0].split(",") == CSV_COLUMNS
    assert len(rows) == 4 * len(QUESTIONS)
    assert rows[0]["role"] == "assistant" and rows[0]["content"] == QUESTIONS[0]
    assert json.loads(rows[2]["toolCalls"])[0]["args"] == {"answer": "A compiler"}
    assert rows[3]["name"] == "score_answer" and rows[3]["toolCallId"] == "call_0"
    chat = list(csv.DictReader(io.StringIO(stored("export", CHAT, "--format", "csv").stdout)))
    assert (chat[1]["model"], chat[1]["totalTokens"]) == ("gpt-test-mini", "19")


def test_export_redact(stored: Lgrs) -> None:
    doc = as_json(stored("export", PII, "--redact"))
    text = json.dumps(doc)
    for secret in ("jane.doe@example.com", "555) 123-4567", "4111 1111 1111 1111"):
        assert secret not in text
    answer = doc["turns"][1]["content"]
    assert answer == (
        "Write to [EMAIL] or call [PHONE]; my card is [CARD]. Release 2025-11-08 14:30 went fine."
    )
    assert doc["turns"][2]["toolCalls"][0]["args"]["answer"] == answer
    plain = as_json(stored("export", PII))
    assert plain["turns"][1]["content"] == PII_ANSWER


def test_redact_keeps_dates_ids_and_invalid_card_numbers() -> None:
    kept = "2025-11-08 14:30, v1.2.3, 10.0.0.1, order 1234567890123, 1f1e61a0-94a3-66d4-8001"
    assert redact(kept) == kept
    assert redact("+33612345678 / 06 12 34 56 78") == "[PHONE] / [PHONE]"


def test_export_time_range(stored: Lgrs) -> None:
    assert as_json(stored("export", INTERVIEW, "--until", "2000-01-01"))["turns"] == []
    assert len(as_json(stored("export", INTERVIEW, "--since", "1h"))["turns"]) == 4


def test_export_all_to_directory(stored: Lgrs, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    summary = as_json(stored("export", "--all", "--output", str(out), "--json"))
    assert {f["sessionId"] for f in summary["files"]} == {
        INTERVIEW, FINISHED, SUBGRAPH, CHAT, PII, LONG, ODD,
    }  # fmt: skip
    for item in summary["files"]:
        doc = json.loads(Path(item["file"]).read_text("utf-8"))
        assert doc["sessionId"] == item["sessionId"]
        assert Path(item["file"]).parent == out
    odd = next(f for f in summary["files"] if f["sessionId"] == ODD)
    assert "/" not in Path(odd["file"]).name and ":" not in Path(odd["file"]).name
    result = stored("export", "--all", "-o", str(tmp_path / "csv"), "--format", "csv",
                    "--user", "u1")  # fmt: skip
    assert "exported 2 sessions" in result.stderr
    assert len(list((tmp_path / "csv").glob("*.csv"))) == 2
    none = as_json(stored("export", "--all", "-o", str(tmp_path / "old"), "--until", "2000-01-01",
                          "--json"))  # fmt: skip
    assert none["files"] == [] and len(none["skipped"]) == 7


@pytest.mark.parametrize(
    ("terminal", "json_flag", "bar"),
    [(True, False, True), (False, False, False), (True, True, False)],
    ids=["terminal", "piped", "json"],
)
def test_export_all_progress_bar_only_on_a_terminal_without_json(
    stored: Lgrs, tmp_path: Path, terminal: bool, json_flag: bool, bar: bool
) -> None:
    env = {"TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1"} if terminal else {"TTY_COMPATIBLE": "0"}
    args = ["export", "--all", "-o", str(tmp_path / "x"), *(["--json"] if json_flag else [])]
    result = stored(*args, env=env)
    assert ("exporting" in result.stderr) is bar


def test_export_single_session_to_file(stored: Lgrs, tmp_path: Path) -> None:
    target = tmp_path / "iv.csv"
    summary = as_json(stored("export", INTERVIEW, "-o", str(target), "--format", "csv", "--json"))
    assert summary["files"][0]["turns"] == 4
    assert len(list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))) == 4


def test_export_usage_errors(stored: Lgrs) -> None:
    assert "--all needs --output" in stored("export", "--all", code=2).stderr
    assert "one SESSION" in stored("export", code=2).stderr


# -- delete ----------------------------------------------------------------------------


def test_delete_dry_run_changes_nothing(fresh: Fresh) -> None:
    lgrs, write = fresh
    write("a")
    # "bytes" is MEMORY USAGE, an estimate that Valkey 8 changes when it
    # re-encodes a key it only read: compare what a write would change.
    unchanging = ("server", "bytes")
    before = {k: v for k, v in as_json(lgrs("stats", "--json")).items() if k not in unchanging}
    plan = as_json(lgrs("delete", "a", "--dry-run", "--json"))
    assert plan["dryRun"] is True
    assert plan["sessions"] == [
        {"sessionId": "a", "keys": as_json(lgrs("sessions", "--json"))[0]["keys"], "legacy": False}
    ]
    assert lgrs("delete", "--all", "--dry-run").stdout.strip() == "a"
    after = as_json(lgrs("stats", "--json"))
    assert {k: v for k, v in after.items() if k not in unchanging} == before
    assert before["sessions"] == 1 and before["checkpoints"] > 0


def test_delete_asks_and_aborts_on_no(fresh: Fresh) -> None:
    lgrs, write = fresh
    write("a")
    result = lgrs("delete", "a", input="n\n", code=1)
    assert "Delete 1 session" in result.stderr and "Aborted" in result.stderr
    assert [r["sessionId"] for r in as_json(lgrs("sessions", "--json"))] == ["a"]


def test_delete_one_session(fresh: Fresh) -> None:
    lgrs, write = fresh
    write("a")
    write("b", ["an answer"])
    lgrs("delete", "b", input="y\n")
    assert [r["sessionId"] for r in as_json(lgrs("sessions", "--json"))] == ["a"]
    lgrs("show", "b", code=1)
    result = as_json(lgrs("delete", "a", "--yes", "--json"))
    assert result["dryRun"] is False and result["sessions"][0]["sessionId"] == "a"
    assert as_json(lgrs("sessions", "--json")) == []


def test_delete_missing_session_deletes_nothing(fresh: Fresh) -> None:
    lgrs, write = fresh
    write("a")
    result = lgrs("delete", "a", "ghost", "--yes", code=1)
    assert "session 'ghost' not found" in result.stderr
    assert len(as_json(lgrs("sessions", "--json"))) == 1


def test_delete_all(fresh: Fresh) -> None:
    lgrs, write = fresh
    write("a")
    write("b")
    stats = as_json(lgrs("stats", "--json"))
    result = as_json(lgrs("delete", "--all", "--yes", "--json"))
    assert result["keys"] == stats["keys"]
    assert as_json(lgrs("stats", "--json"))["keys"] == 0


# -- stats and doctor ------------------------------------------------------------------


def test_stats(stored: Lgrs) -> None:
    stats = as_json(stored("stats", "--json"))
    assert stats["prefix"] == stored.prefix
    assert stats["sessions"] == 7
    assert stats["checkpoints"] > stats["rootCheckpoints"] >= 7  # the subgraph adds some
    assert stats["namespaces"] == 8
    assert stats["keys"] > 50 and stats["bytes"] > 0
    assert stats["server"]["version"]
    text = stored("stats").stdout
    assert "sessions" in text and "checkpoints" in text


def test_doctor_json(stored: Lgrs) -> None:
    report = as_json(stored("doctor", "--json"))
    checks = {f["check"]: f for f in report["findings"]}
    assert set(checks) >= {"version", "maxmemory-policy", "persistence", "cluster", "acl", "ttl"}
    assert all(f["severity"] in ("ok", "info", "warning", "error") for f in checks.values())
    assert checks["ttl"]["severity"] == "ok"
    assert checks["version"]["severity"] == "ok"
    assert report["ok"] is True
    assert "version" in stored("doctor").stdout


def test_doctor_finds_risky_server_settings(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()
    try:
        client = redis.Redis(port=server.port)
        client.config_set("maxmemory", "64mb")
        client.config_set("maxmemory-policy", "allkeys-lru")
        client.execute_command(
            "ACL", "SETUSER", "limited", "on", ">Zq9-secret", "~*",
            "+@read", "+acl", "+info", "+config|get", "+memory",
        )  # fmt: skip
        client.set("langgraph:checkpoint:s:latest", "x")  # no TTL, unlike the saver's keys
        client.set("langgraph:checkpoint:s:1", "x", px=60_000)
        url = f"redis://limited:Zq9-secret@127.0.0.1:{server.port}/0"
        result = CliRunner().invoke(cli, ["doctor", "--url", url, "--json"])
        assert result.exit_code == 1, result.output
        checks = {f["check"]: f for f in json.loads(result.stdout)["findings"]}
        assert checks["maxmemory-policy"]["severity"] == "error"
        assert "noeviction" in checks["maxmemory-policy"]["fix"]
        assert checks["persistence"]["severity"] == "warning"
        if client.info("server")["redis_version"] >= "7":
            assert checks["acl"]["severity"] == "error"
            assert "EVALSHA" in checks["acl"]["message"] and "HSET" in checks["acl"]["message"]
        else:  # no ACL DRYRUN before 7.0: unknown, and the message says how to check
            assert checks["acl"]["severity"] == "info"
            assert "ACL GETUSER limited" in checks["acl"]["message"]
        assert checks["ttl"]["severity"] == "warning"
        assert "Zq9-secret" not in result.output
        # A read-only user without INFO (cluster detection) can still browse.
        client.execute_command("ACL", "SETUSER", "reader", "on", ">pw2", "~*", "+@read")
        reader = f"redis://reader:pw2@127.0.0.1:{server.port}/0"
        result = CliRunner().invoke(cli, ["sessions", "--url", reader, "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == []
        client.close()
    finally:
        server.stop()


def test_a_saver_only_acl_user_can_write_and_inspect(redis_server: RedisServer) -> None:
    """A user allowed the prefix's keys and the saver's commands, but no INFO or
    DBSIZE: from_url and `lgrs stats` still work; the password never shows."""
    from langgraph_redis_saver import RedisCheckpointSaver
    from support.lgrs_sessions import Lgrs, interview

    admin = redis.Redis(port=redis_server.port)
    admin.execute_command(
        "ACL", "SETUSER", "saver", "on", ">s3cret", "~app:checkpoint:*", "resetchannels",
        "+@read", "+@write", "+@scripting", "+ping", "+scan", "+memory",
        "-info", "-dbsize", "-flushall", "-flushdb", "-keys",
    )  # fmt: skip
    url = f"redis://saver:s3cret@127.0.0.1:{redis_server.port}/0"
    with RedisCheckpointSaver.from_url(url, key_prefix="app:checkpoint") as saver:
        interview(saver, "acl", ["an answer"])
    stats = as_json(Lgrs(url, "app:checkpoint")("stats", "--json"))
    assert stats["sessions"] == 1 and stats["server"]["dbsize"] is None
    result = Lgrs(url, "app:checkpoint")("sessions")
    assert "acl" in result.stdout and "s3cret" not in result.stdout + result.stderr
    admin.close()


class ChatState(TypedDict):
    """A graph state that keeps its conversation under `chat`, not `messages`."""

    chat: Annotated[list[AnyMessage], add_messages]


def test_channel_option_reads_a_conversation_kept_under_another_key(
    fresh: tuple[Lgrs, Callable[..., None]],
) -> None:
    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.graph import START, StateGraph

    from langgraph_redis_saver import RedisCheckpointSaver

    lgrs, _ = fresh
    builder = StateGraph(ChatState)
    builder.add_node("reply", lambda s: {"chat": [AIMessage("pong")]})
    builder.add_edge(START, "reply")
    with RedisCheckpointSaver.from_url(lgrs.url, key_prefix=lgrs.prefix) as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"chat": [HumanMessage("ping")]}, {"configurable": {"thread_id": "c"}})
    turns = as_json(lgrs("show", "c", "--channel", "chat", "--json"))["turns"]
    assert [(t["role"], t["content"]) for t in turns] == [("user", "ping"), ("assistant", "pong")]
    assert as_json(lgrs("--channel", "chat", "show", "c", "--json"))["turns"] == turns
    assert as_json(lgrs("show", "c", "--json"))["turns"] == []


def test_sessions_round_trips_do_not_grow_with_the_number_listed(
    stored: Lgrs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langgraph_redis_saver import _drive
    from langgraph_redis_saver.browse import Browser

    sent: list[int] = []
    execute = _drive.execute
    monkeypatch.setattr(_drive, "execute", lambda c, b: sent.append(1) or execute(c, b))

    def trips(limit: int | None) -> int:
        sent.clear()
        with Browser.from_url(stored.url, prefix=stored.prefix) as b:
            pipeline = b.pipeline
            b.pipeline = lambda cmds: sent.append(1) or pipeline(cmds)  # type: ignore[method-assign]
            assert len(b.sessions(limit=limit)) == (limit or 7)
        return len(sent)

    assert trips(1) == trips(None) == trips(3)
