"""What the pages show, computed from `Browser` results; no HTTP, no HTML.

Kept apart from the routes so that the shapes can be tested without a
browser: the rows of the sessions page (from `Browser.session_page`, the
listing ``lgrs sessions`` prints), the rows of the legacy sessions page (the
listing ``lgrs sessions --legacy`` prints), and the chat bubbles of a
conversation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from langgraph_redis_saver.browse import Browser, SessionPage, SessionSummary, SkippedEntry
from langgraph_redis_saver.cli.sanitize import inert

if TYPE_CHECKING:
    from langgraph_redis_saver.legacy._view import LegacyRow

__all__ = [
    "Bubble",
    "LegacyLine",
    "LegacyListing",
    "Listing",
    "Row",
    "bubbles",
    "list_legacy",
    "list_sessions",
    "pretty",
    "problem_status",
    "visible",
]


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

    session_id: str | None
    """None for a skipped index entry (no session to link to)."""
    shown_id: str
    updated_at: datetime
    messages: int | None
    checkpoints: int | None
    ttl: float | None
    bytes: int | None
    status: str = "ok"
    """``ok``, ``encrypted``, ``unreadable`` or ``skipped``."""
    problem: str | None = None

    @classmethod
    def of(cls, row: SessionSummary | SkippedEntry) -> Row:
        """The table row of a `Browser.session_page` row."""
        if isinstance(row, SkippedEntry):
            unknown = (None, None, None, None)  # messages, checkpoints, TTL, bytes
            return cls(None, row.shown, row.updated_at, *unknown, "skipped", row.error)
        status = "encrypted" if row.encrypted else "unreadable" if row.error else "ok"
        return cls(
            row.session_id,
            row.session_id,
            row.updated_at,
            row.messages,
            row.checkpoints,
            row.ttl,
            row.bytes,
            status,
            row.error,
        )


@dataclass
class Listing:
    """One page of sessions and what produced it."""

    rows: list[Row]
    total: int
    """Rows in all pages: sessions and skipped index entries."""
    skipped: int
    """Skipped index entries among them (not UTF-8)."""
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
    """One page of the sessions listing, the one ``lgrs sessions`` prints.

    `Browser.session_page` filters, sorts and counts over the sessions index
    and reads counts and sizes for the `per_page` rows shown only, so the
    page agrees with ``lgrs sessions`` (damaged sessions, skipped index
    entries, filters) and stays fast at 10,000 sessions. A page past the
    end shows the last one.
    """

    def read(number: int) -> SessionPage:
        return browser.session_page(
            user=user,
            since=since,
            search=search,
            sort=sort,
            descending=descending,
            offset=(number - 1) * per_page,
            limit=per_page,
            count=True,
        )

    page = max(page, 1)
    found = read(page)
    assert found.total is not None  # count=True
    pages = _pages(found.total, per_page)
    if page > pages:
        page = pages
        found = read(page)
    assert found.total is not None
    return Listing(
        rows=[Row.of(r) for r in found.rows],
        total=found.total,
        skipped=found.skipped or 0,
        page=page,
        pages=pages,
        per_page=per_page,
    )


# -- legacy sessions page --------------------------------------------------------------


@dataclass
class LegacyLine:
    """One row of the legacy sessions table: a row of ``lgrs sessions --legacy``."""

    row: LegacyRow
    badge: str
    """The status's first word: ``legacy``, ``migrating``, ``refused``, ``unreadable``,
    ``expired`` or ``ambiguous`` (the column ``lgrs sessions --legacy`` prints)."""
    why: str | None
    """The rest of the status (what was refused, why it is unreadable), if any."""

    @classmethod
    def of(cls, row: LegacyRow) -> LegacyLine:
        badge, _, why = row.status.partition(":")
        return cls(row, badge, why.strip() or None)


@dataclass
class LegacyListing:
    """One page of the legacy pickled sessions, and what produced it."""

    lines: list[LegacyLine]
    total: int
    page: int
    pages: int
    per_page: int
    ambiguous: list[str]
    """Keys of the legacy sessions whose id holds ``:`` or is empty (on any page)."""
    params: dict[str, str] = field(default_factory=dict)


def list_legacy(
    browser: Browser, *, search: str = "", page: int = 1, per_page: int = 50
) -> LegacyListing:
    """One page of the legacy pickled sessions, the rows ``lgrs sessions --legacy`` prints.

    Found by SCAN of the prefix (`find_legacy_sessions`, sorted by id; never
    unpickled), searched by part of the id; only the pickles of the page
    are read, by the restricted reader ``lgrs`` uses (`legacy_rows`). A page
    past the end shows the last one.
    """
    from langgraph_redis_saver.legacy._store import find_legacy_sessions
    from langgraph_redis_saver.legacy._view import legacy_rows

    found = find_legacy_sessions(browser.client, browser.keys)
    if search:
        needle = search.casefold()
        found = [f for f in found if needle in f.session_id.casefold()]
    pages = _pages(len(found), per_page)
    page = min(max(page, 1), pages)
    shown = found[(page - 1) * per_page : page * per_page]
    return LegacyListing(
        lines=[LegacyLine.of(r) for r in legacy_rows(browser.client, shown)],
        total=len(found),
        page=page,
        pages=pages,
        per_page=per_page,
        ambiguous=[f.key for f in found if f.ambiguous],
    )


def _pages(total: int, per_page: int) -> int:
    """Pages that `total` rows fill, at least one (an empty listing is one page)."""
    return max(1, -(-total // per_page))


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
