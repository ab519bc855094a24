"""What the pages show, computed from `Browser` results; no HTTP, no HTML.

Kept apart from the routes so that the shapes can be tested without a
browser: the sessions page (filter, sort and page over the sessions index,
then read only the rows shown), and the chat bubbles of a conversation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from langgraph_redis_saver.browse import Browser, one_line
from langgraph_redis_saver.cli.sanitize import inert
from langgraph_redis_saver.errors import RedisSaverError

__all__ = [
    "SORTS",
    "Bubble",
    "Listing",
    "Row",
    "bubbles",
    "list_sessions",
    "pretty",
    "problem_status",
    "visible",
]

SORTS = ("updated", "id")
"""Orders the sessions index gives for every session at once (by last write, by id)."""


def visible(text: Any) -> str:
    """`text` with control, bidi and invisible characters shown as escapes (``\\x1b``).

    HTML escaping is the template engine's job (autoescape); this keeps an
    ESC sequence or a right-to-left override from hiding what was stored.
    The rule is `lgrs`'s own (`cli.sanitize.inert`), so the page and the
    terminal show the same text.
    """
    return inert(text)


def pretty(value: Any) -> str:
    """A stored value as indented JSON, made `visible`."""
    if isinstance(value, str):
        return visible(value)
    return visible(json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=True))


# -- sessions page ---------------------------------------------------------------------


@dataclass
class Row:
    """One row of the sessions table."""

    session_id: str
    updated_at: datetime
    checkpoints: int
    ttl: float | None
    messages: int | None = None
    keys: int = 0
    bytes: int | None = None
    status: str = "ok"
    """``ok``, ``encrypted`` or ``unreadable``."""
    problem: str | None = None


@dataclass
class Listing:
    """One page of sessions and what produced it."""

    rows: list[Row]
    total: int
    page: int
    pages: int
    per_page: int
    params: dict[str, str] = field(default_factory=dict)


def list_sessions(
    browser: Browser,
    *,
    search: str = "",
    user: str | None = None,
    since: datetime | None = None,
    sort: str = "updated",
    descending: bool = True,
    page: int = 1,
    per_page: int = 50,
) -> Listing:
    """Filter, sort and page the sessions index, then read only the rows shown.

    The index (a sorted set of session ids scored by last write, one per
    indexed ``user_id``) is read in one command, so search, filters and
    sorting cost one pass over ids in memory; counts, TTLs, message counts
    and sizes are read for the `per_page` rows shown only. That keeps a
    page fast at 10,000 sessions.
    """
    keys = browser.keys
    index = keys.sessions if user is None else keys.sessions_by("user_id", user)
    floor = f"{since.timestamp() * 1000}" if since else "-inf"
    raw = browser.client.zrevrangebyscore(index, "+inf", floor, withscores=True)
    entries = []
    for member, score in raw:
        try:
            entries.append((member.decode(), score))
        except UnicodeDecodeError:  # not written by the saver, whose ids are str
            continue
    if search:
        needle = search.casefold()
        entries = [e for e in entries if needle in e[0].casefold()]
    if sort == "id":
        entries.sort(key=lambda e: e[0], reverse=descending)
    elif not descending:
        entries.reverse()
    pages = max(1, -(-len(entries) // per_page))
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * per_page : page * per_page]
    return Listing(
        rows=_rows(browser, shown), total=len(entries), page=page, pages=pages, per_page=per_page
    )


def _rows(browser: Browser, entries: Sequence[tuple[str, float]]) -> list[Row]:
    ids = [thread_id for thread_id, _ in entries]
    commands: list[tuple[Any, ...]] = []
    for thread_id in ids:
        root = browser.keys.namespace(thread_id, "")
        commands += [("ZCARD", root.timeline), ("PTTL", root.latest)]
    replies = browser.pipeline(commands)
    sizes = browser.session_sizes(ids)
    rows = []
    for i, (thread_id, score) in enumerate(entries):
        count, pttl = replies[2 * i : 2 * i + 2]
        if pttl == -2:  # expired or deleted since the index was read
            continue
        updated = datetime.fromtimestamp(score / 1000, tz=timezone.utc)
        ttl = pttl / 1000 if isinstance(pttl, int) and pttl >= 0 else None
        row = Row(thread_id, updated, count if isinstance(count, int) else 0, ttl)
        row.keys, row.bytes = sizes.get(thread_id, (0, None))
        try:
            msgs = _messages(browser, thread_id)
        except (RedisSaverError, RecursionError) as exc:  # one bad session hides no other
            row.status, row.problem = problem_status(exc), one_line(exc)
            msgs = None
        row.messages = len(msgs) if isinstance(msgs, list) else (None if row.problem else 0)
        rows.append(row)
    return rows


def _messages(browser: Browser, thread_id: str) -> Any:
    found = browser.saver.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    return found.checkpoint["channel_values"].get(browser.channel) if found else None


def problem_status(exc: Exception) -> str:
    """``encrypted`` or ``unreadable``: how a session that cannot be decoded is labelled."""
    return "encrypted" if "encrypted" in str(exc) else "unreadable"


# -- session page ----------------------------------------------------------------------


@dataclass
class Bubble:
    """One message as shown: a turn, its content blocks, its tool calls with their results."""

    turn: dict[str, Any]
    blocks: list[dict[str, str]]
    calls: list[dict[str, Any]]


def _blocks(turn: dict[str, Any]) -> list[dict[str, str]]:
    raw = turn.get("contentBlocks")
    if not isinstance(raw, list):
        return [{"kind": "text", "text": str(turn.get("content") or "")}]
    out = []
    for block in raw:
        if isinstance(block, str):
            out.append({"kind": "text", "text": block})
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            out.append({"kind": "text", "text": block["text"]})
        elif isinstance(block, dict) and "image" in str(block.get("type", "")):
            # Never loaded: the address is attacker-controlled and the page works offline.
            out.append({"kind": "image", "text": "image (not loaded)"})
        else:
            kind = block.get("type", "block") if isinstance(block, dict) else "block"
            out.append({"kind": "other", "text": f"[{kind}]"})
    return out


def bubbles(turns: Sequence[dict[str, Any]]) -> list[Bubble]:
    """Turns as chat bubbles; a tool result is folded into the call that asked for it."""
    results = {t["toolCallId"]: t for t in turns if t.get("toolCallId")}
    folded: set[int] = set()
    out = []
    for t in turns:
        calls = []
        for call in t.get("toolCalls") or []:
            result = results.get(call.get("id")) if call.get("id") else None
            if result is not None:
                folded.add(result["index"])
            calls.append({**call, "result": result})
        out.append(Bubble(t, _blocks(t), calls))
    return [b for b in out if b.turn["index"] not in folded]
