"""What people see at 80 and at 200 columns: snapshots in tests/cli/snapshots/.

Each renderer of ``lgrs`` draws fixed data (modelled on the corpus sessions:
a react agent paused before its tools, a human approval waiting with a full
interrupt payload, a 20-way fan-out) into a rich console of each width. The
snapshot files are plain text a reviewer can read; refresh them with
``LGRS_UPDATE_SNAPSHOTS=1 pytest tests/cli/test_render.py`` and read the diff.

At 80 columns no line is wider than the console and no word is split: every
word printed narrow is a word of the wide rendering (columns may be dropped,
never cut).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from langgraph_redis_saver.browse import Conversation, Finding, SessionSummary
from langgraph_redis_saver.cli import output

SNAPSHOTS = Path(__file__).parent / "snapshots"
WHEN = datetime(2025, 11, 8, 14, 57, 39, tzinfo=timezone.utc)
STAMP = "2025-11-08T14:57:39.000Z"
IDS = [f"1f0bcd2a-4e5f-6{i:03d}-8{i:03d}-a1b2c3d4e5f6" for i in range(6)]
PAYLOAD = {
    "question": "Publish this draft of the quarterly report to the whole company?",
    "options": ["approve", "edit", "reject"],
    "schema": {"type": "object", "properties": {"action": {"type": "string"}}},
    "draft": "Q3 report: revenue grew eleven percent; churn fell to a record low",
}


def _row(i: int, step: int, source: str, nodes: list[str], writes: list[str], nxt: Any) -> Any:
    return {
        "checkpointId": IDS[i],
        "parentId": IDS[i + 1] if i + 1 < len(IDS) else None,
        "namespace": "",
        "step": step,
        "source": source,
        "nodes": nodes,
        "writes": writes,
        "next": nxt,
        "tasks": None,
        "pendingWrites": [],
        "interrupts": [],
        "waiting": 0,
        "createdAt": STAMP,
    }


REACT_BEFORE = [
    _row(0, 1, "loop", ["agent"], ["messages"], ["tools"]),
    _row(1, 0, "loop", ["__start__"], ["messages"], ["agent"]),
    _row(2, -1, "input", [], [], ["__start__"]),
]
APPROVAL = [
    {**_row(0, 2, "loop", ["draft"], ["draft", "messages"], ["review"]), "waiting": 1},
    _row(1, 1, "loop", ["__start__"], ["messages"], ["draft"]),
    _row(2, -1, "input", [], [], None),
]
FANOUT = [
    _row(0, 2, "loop", ["work"], ["results"], ["reduce"]),
    _row(1, 1, "loop", ["split"], [], ["work"] * 20),
]
SESSIONS = [
    SessionSummary(sid, WHEN, msgs, ckpts, 86_000, 9, size, IDS[0], encrypted=enc)
    for sid, msgs, ckpts, size, enc in [
        ("cli_20251108_145739", 12, 24, 18_944, False),
        ("customer-support/eu-west/ticket-88412 (escalated)", 4, 5, 7_100, False),
        ("encrypted-approval", None, 3, 9_300, True),
    ]
]
CONVERSATION = Conversation(
    session_id="approval-waiting",
    namespace="",
    checkpoint_id=IDS[0],
    created_at=WHEN,
    updated_at=WHEN,
    turns=[
        {"index": 0, "role": "user", "content": "Write the quarterly report.", "timestamp": STAMP},
        {
            "index": 1,
            "role": "assistant",
            "content": "",
            "timestamp": STAMP,
            "toolCalls": [{"id": "call-0", "name": "search_reports", "args": {"quarter": "Q3"}}],
        },
        {
            "index": 2,
            "role": "tool",
            "content": "Three reports found for Q3, the newest from October the twelfth",
            "timestamp": STAMP,
            "toolCallId": "call-0",
            "toolName": "search_reports",
            "artifact": {"ids": [101, 102, 103], "source": "archive"},
        },
        {
            "index": 3,
            "role": "assistant",
            "content": "Here is a draft. " * 12,
            "timestamp": STAMP,
            "model": "gpt-test-mini",
            "tokenUsage": {"input": 120, "output": 80, "total": 200},
        },
    ],
    pending=[
        {
            "id": "27abc445e3a6e1b9fc7f86cee80d425f",
            "taskId": "t1",
            "value": PAYLOAD,
            "question": PAYLOAD["question"],
        }
    ],
    state={"draft": PAYLOAD["draft"], "decision": None, "turn_count": 3},
    metadata={},
    checkpoints=3,
    namespaces=["", "intake:5f1c2d3e-aaaa-bbbb-cccc-111122223333"],
    ttl=86_000,
)
CHECKPOINT = {
    "sessionId": "approval-waiting",
    "namespace": "",
    "checkpointId": IDS[0],
    "parentId": IDS[1],
    "createdAt": STAMP,
    "metadata": {"source": "loop", "step": 2, "parents": {}, "user_id": "u-42"},
    "next": ["review"],
    "channelValues": {"draft": PAYLOAD["draft"], "branch:to:review": None},
    "pendingWrites": [
        {
            "taskId": "8487708a-2776-339c-575e-443b91d6fc5a",
            "channel": "__interrupt__",
            "value": [PAYLOAD],
        }
    ],
}
DIFF = {
    "from": {"checkpointId": IDS[1], "createdAt": STAMP, "metadata": {"step": 1}},
    "to": {"checkpointId": IDS[0], "createdAt": STAMP, "metadata": {"step": 2}},
    "added": {"draft": PAYLOAD["draft"]},
    "removed": {},
    "changed": {"turn_count": {"from": 2, "to": 3}},
    "messagesAdded": [{"index": 3, "role": "assistant", "content": "Here is a draft. " * 6}],
    "messagesRemoved": [],
}
STATS = {
    "prefix": "langgraph:checkpoint",
    "sessions": 11,
    "checkpoints": 45,
    "rootCheckpoints": 38,
    "namespaces": 13,
    "keys": 260,
    "bytes": 190_000,
    "server": {"version": "7.2.4", "usedMemory": 2_000_000, "maxmemory": 0,
               "maxmemoryPolicy": "noeviction", "dbsize": 300},
}  # fmt: skip
FINDINGS = [
    Finding("maxmemory-policy", "ok", "noeviction: Redis refuses writes instead of evicting."),
    Finding(
        "persistence",
        "warning",
        "neither RDB snapshots nor the append-only file are enabled, so a restart of the "
        "server loses every session",
        "CONFIG SET appendonly yes (and add it to redis.conf so that it survives restarts)",
    ),
]

VIEWS: dict[str, Callable[[Console], None]] = {
    "history-react-before": lambda c: output.render_timeline(c, REACT_BEFORE, full=False),
    "history-approval": lambda c: output.render_timeline(c, APPROVAL, full=False),
    "history-fanout": lambda c: output.render_timeline(c, FANOUT, full=False),
    "sessions": lambda c: output.render_sessions(c, SESSIONS, limit=50),
    "show": lambda c: output.render_conversation(
        c, CONVERSATION, full=False, tail=50, hint="resume it with graph.invoke(Command(...))"
    ),
    "checkpoint": lambda c: output.render_checkpoint(c, CHECKPOINT, full=False),
    "diff": lambda c: output.render_diff(c, DIFF, full=False),
    "stats": lambda c: output.render_stats(c, STATS, "localhost:6379"),
    "doctor": lambda c: output.render_findings(c, FINDINGS, "localhost:6379"),
}


def render(name: str, width: int) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, highlight=False, emoji=False)
    VIEWS[name](console)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "ago", lambda stamp: "2h ago")


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_render_matches_snapshot(name: str, width: int) -> None:
    text = render(name, width)
    path = SNAPSHOTS / f"{name}-{width}.txt"
    if os.environ.get("LGRS_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed; see its docstring"


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_render_at_80_columns_fits_and_splits_no_word(name: str) -> None:
    narrow, wide = render(name, 80), render(name, 200)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    words = set(wide.split())
    assert [w for w in narrow.split() if w not in words] == []


def test_render_at_200_columns_uses_the_width() -> None:
    narrow, wide = render("history-approval", 80), render("history-approval", 200)
    assert "writes" not in narrow and "time (UTC)" not in narrow
    assert "writes" in wide and "time (UTC)" in wide and "draft, messages" in wide
    assert "unknown" in narrow  # a row lgrs cannot settle says so, in every width
