"""The sessions listing of ``lgrs sessions`` and ``lgrs serve``: one query, one flow.

Both read the sessions index here, so counts, filters, unreadable sessions
and skipped index entries agree between the terminal and the web page.
Nothing here writes: unlike the library's ``list_sessions``, the listing
never trims the index, and it returns what it cannot read instead of
warning (`SessionInfo.error`, `SkippedEntry`).

Cost: the index is read in one command (a page of it when the order is the
index's own and no total is asked for); whether each entry is still a
session takes one ``MGET`` per thousand entries (`_live`); the entries
returned are read with three commands each, pipelined, and their message
counts and sizes are read for them only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from langgraph_redis_saver._admin import SessionInfo, raw_pairs, session_info
from langgraph_redis_saver._core import Context
from langgraph_redis_saver._drive import Batch, Flow
from langgraph_redis_saver._records import stray_entry, stray_literal
from langgraph_redis_saver.errors import ConfigurationError

from ._flows import (
    PIPELINE_CHUNK,
    Size,
    counts_flow,
    message_counts_flow,
    pipeline_flow,
    sizes_flow,
)
from ._plain import SessionSummary, is_encrypted, iso, one_line

__all__ = [
    "SORTS",
    "SessionPage",
    "SessionQuery",
    "SkippedEntry",
    "index_flow",
    "session_page_flow",
]

SORTS = ("updated", "id")
"""Orders of the listing: by last write (the index's score), by session id."""
LIST_PAGE = 100_000
"""Index entries read per command when listing all sessions in index order."""
LIVE_CHUNK = 10 * PIPELINE_CHUNK
"""Entries checked per round trip when a query stops at its slice (`_live`)."""
MGET_KEYS = 1000
"""Keys per ``MGET`` in `_live`."""


@dataclass(frozen=True)
class SessionQuery:
    """What to list: filters, order, and the slice wanted.

    Args:
        user: Only sessions whose runs had this ``user_id`` (its own index).
        since: Only sessions written at or after this time.
        search: Only session ids that contain this text (case-insensitive).
        sort: ``updated`` (last write) or ``id``.
        descending: Newest (or greatest id) first.
        offset: Entries to leave out before the slice.
        limit: At most this many entries; None for all.
        count: Also count every matching entry (`SessionPage.total`), which
            checks them all (cheaply) rather than stopping at the slice.
    """

    user: str | None = None
    since: datetime | None = None
    search: str = ""
    sort: str = "updated"
    descending: bool = True
    offset: int = 0
    limit: int | None = None
    count: bool = False

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ConfigurationError(
                f"unknown sort {self.sort!r}; sort by one of: {', '.join(SORTS)}"
            )
        if self.offset < 0 or (self.limit is not None and self.limit < 0):
            raise ConfigurationError(
                f"offset and limit must be 0 or more (got offset={self.offset}, limit={self.limit})"
            )

    @property
    def in_index_order(self) -> bool:
        """Whether the index's own order serves the query, a page of it at a time."""
        return not self.search and self.sort == "updated" and self.descending and not self.count


@dataclass(frozen=True)
class SkippedEntry:
    """An entry of the sessions index that names no session: it is not UTF-8 text.

    The saver writes thread ids as text, so such an entry was written by
    another tool or by hand. Listings skip it and say so; it has no session
    to show, and its counts are unknown (None).
    """

    entry: bytes
    """The index member as stored."""
    updated_at: datetime
    """Its score in the index, as a time (UTC)."""

    @property
    def shown(self) -> str:
        """The entry as a short ASCII Python bytes literal: safe to print anywhere."""
        return stray_literal(self.entry)

    @property
    def error(self) -> str:
        """Why it was skipped, and what to do about it."""
        return stray_entry(self.entry)

    def to_dict(self) -> dict[str, Any]:
        """The ``lgrs sessions --json`` row: `SessionSummary`'s keys, ``sessionId`` null."""
        return {
            "sessionId": None,
            "updatedAt": iso(self.updated_at),
            "messages": None,
            "checkpoints": None,
            "ttl": None,
            "keys": None,
            "bytes": None,
            "latestCheckpointId": None,
            "encrypted": False,
            "error": self.error,
        }

    def to_report(self) -> dict[str, Any]:
        """The ``skippedEntries`` item of ``lgrs stats --json`` and ``export --all --json``."""
        return {"entry": self.shown, "updatedAt": iso(self.updated_at), "error": self.error}


@dataclass(frozen=True)
class IndexPage:
    """Entries of the sessions index (`index_flow`)."""

    entries: list[SessionInfo | SkippedEntry]
    total: int | None
    """Matching entries in all, with `SessionQuery.count`; else None."""
    skipped: int | None
    """How many of them are `SkippedEntry`, with `SessionQuery.count`; else None."""


@dataclass(frozen=True)
class SessionPage:
    """Rows of the sessions listing (`session_page_flow`, `Browser.session_page`)."""

    rows: list[SessionSummary | SkippedEntry]
    """In the query's order; a session that cannot be read has its `error`."""
    total: int | None
    """Matching rows in all (for paging), with `SessionQuery.count`; else None."""
    skipped: int | None = None
    """How many of them are `SkippedEntry` (not sessions), with `SessionQuery.count`."""


def index_flow(ctx: Context, query: SessionQuery) -> Flow[IndexPage]:
    """The index entries `query` asks for: sessions (`SessionInfo`) and skipped entries.

    An entry whose session is gone (expired or deleted, not yet trimmed) is
    left out and not counted; one that is not UTF-8 is a `SkippedEntry`.
    Whether an entry is still a session is checked for every entry up to
    the slice (all of them with `SessionQuery.count`) by `_live`, cheaply;
    the entries of the slice are then read (`session_info`).
    """
    index = ctx.keys.sessions
    if query.user is not None:
        if "user_id" not in ctx.session_index_keys:
            raise ConfigurationError(
                "sessions are not indexed by user_id here; list them without a user filter"
            )
        index = ctx.keys.sessions_by("user_id", query.user)
    floor = "-inf" if query.since is None else repr(query.since.timestamp() * 1000)
    want = None if query.limit is None else query.offset + query.limit
    matched: list[tuple[bytes, float]] = []

    def enough() -> bool:
        return not query.count and want is not None and len(matched) >= want

    if query.in_index_order:
        page, start = max(want or LIST_PAGE, 1), 0
        while not enough():
            (rows,) = yield Batch(
                [("ZREVRANGEBYSCORE", index, "+inf", floor, "WITHSCORES", "LIMIT", start, page)]
            )
            pairs = raw_pairs(rows)
            matched += yield from _live(ctx, pairs)
            if len(pairs) < page:
                break
            start += page
    else:
        (rows,) = yield Batch([("ZREVRANGEBYSCORE", index, "+inf", floor, "WITHSCORES")])
        pairs = _arranged(raw_pairs(rows), query)
        for start in range(0, len(pairs), LIVE_CHUNK):
            if enough():
                break
            matched += yield from _live(ctx, pairs[start : start + LIVE_CHUNK])
    entries = yield from _read(ctx, matched[query.offset : want])
    return IndexPage(
        entries=entries,
        total=len(matched) if query.count else None,
        skipped=sum(_id(m) is None for m, _ in matched) if query.count else None,
    )


def _id(member: bytes) -> str | None:
    """An index member as a session id; None when it is not UTF-8 (not the saver's)."""
    try:
        return member.decode()
    except UnicodeDecodeError:
        return None


def _text(member: bytes) -> str:
    """An index member as text, for search and sort (undecodable bytes replaced)."""
    return member.decode(errors="replace")


def _arranged(pairs: list[tuple[bytes, float]], query: SessionQuery) -> list[tuple[bytes, float]]:
    """`pairs` (newest first) searched and sorted as `query` says."""
    if query.search:
        needle = query.search.casefold()
        pairs = [p for p in pairs if needle in _text(p[0]).casefold()]
    if query.sort == "id":
        return sorted(pairs, key=lambda p: _text(p[0]), reverse=query.descending)
    return pairs if query.descending else pairs[::-1]


def _live(ctx: Context, pairs: list[tuple[bytes, float]]) -> Flow[list[tuple[bytes, float]]]:
    """The entries of `pairs` that are still sessions, or not UTF-8 (reported, never gone).

    Gone means what `list_sessions` trims by: no `latest` key and an empty
    root timeline. One ``MGET`` of the `latest` keys answers for nearly
    every entry (a standalone server; a cluster client sends one ``GET``
    each, as keys of different sessions are in different slots); only the
    entries it finds no string for get ``EXISTS`` and ``ZCARD``. That keeps a
    count over 10,000 sessions to a few commands.
    """
    ids = [_id(m) for m, _ in pairs]
    named = [(i, t) for i, t in enumerate(ids) if t is not None]
    keys = [ctx.keys.root_latest(t) for _, t in named]
    if ctx.keys.cluster:  # a key of another type answers with an error: not gone
        values = yield from pipeline_flow([("GET", k) for k in keys], tolerate=True)
    else:  # MGET answers None for a key of another type: checked below
        chunks = yield from pipeline_flow(
            [("MGET", *keys[i : i + MGET_KEYS]) for i in range(0, len(keys), MGET_KEYS)]
        )
        values = [v for chunk in chunks for v in chunk]
    unsure = [
        (i, ctx.keys.namespace(t, ""))
        for (i, t), value in zip(named, values, strict=True)
        if value is None
    ]
    replies = yield from pipeline_flow(
        [cmd for _, nk in unsure for cmd in (("EXISTS", nk.latest), ("ZCARD", nk.timeline))],
        tolerate=True,
    )
    gone = {i for n, (i, _) in enumerate(unsure) if replies[2 * n : 2 * n + 2] == [0, 0]}
    return [p for i, p in enumerate(pairs) if i not in gone]


def _read(ctx: Context, pairs: list[tuple[bytes, float]]) -> Flow[list[SessionInfo | SkippedEntry]]:
    """Index entries as sessions (`SessionInfo`) or skipped entries; gone ones left out."""
    ids = [_id(m) for m, _ in pairs]
    commands = []
    for thread_id in ids:
        if thread_id is not None:
            root = ctx.keys.namespace(thread_id, "")
            commands += [("GET", root.latest), ("ZCARD", root.timeline), ("PTTL", root.latest)]
    # A key of one session holding another type (WRONGTYPE) is that session's
    # error, never the listing's.
    replies = iter((yield from pipeline_flow(commands, tolerate=True)))
    found: list[SessionInfo | SkippedEntry] = []
    for (member, score), thread_id in zip(pairs, ids, strict=True):
        if thread_id is None:
            when = datetime.fromtimestamp(score / 1000, tz=timezone.utc)
            found.append(SkippedEntry(entry=member, updated_at=when))
            continue
        latest, count, pttl = next(replies), next(replies), next(replies)
        if latest is None and count == 0:
            continue  # gone since `_live` looked
        found.append(session_info(thread_id, score, latest, count, pttl))
    return found


def session_page_flow(ctx: Context, channel: str, query: SessionQuery) -> Flow[SessionPage]:
    """The listing's rows: `index_flow`, then message counts and sizes of those rows only."""
    page = yield from index_flow(ctx, query)
    infos = [e for e in page.entries if isinstance(e, SessionInfo)]
    latest = {i.thread_id: i.latest_checkpoint_id for i in infos}
    messages = yield from message_counts_flow(ctx, latest, channel)
    sizes = yield from sizes_flow(ctx, [i.thread_id for i in infos])
    failed = [t for t, size in sizes.items() if not isinstance(size, Size)]
    if failed:  # a key of the wrong type: sizes unknown, checkpoints still counted
        for t, c in (yield from counts_flow(ctx, failed)).items():
            sizes[t] = Size(keys=0, bytes=None, checkpoints=c.checkpoints)
    rows: list[SessionSummary | SkippedEntry] = []
    for entry in page.entries:
        if isinstance(entry, SkippedEntry):
            rows.append(entry)
            continue
        rows.append(_summary(entry, messages[entry.thread_id], sizes[entry.thread_id]))
    return SessionPage(rows=rows, total=page.total, skipped=page.skipped)


def _summary(info: SessionInfo, count: int | BaseException | None, size: Any) -> SessionSummary:
    # An exception as the count: one bad session hides no other.
    error = info.error or (one_line(count) if isinstance(count, BaseException) else None)
    if count is None and error is None:
        error = (
            f"its latest checkpoint {info.latest_checkpoint_id!r:.80} does not exist "
            "(the `latest` pointer names a record that is gone)"
        )
    assert isinstance(size, Size)
    return SessionSummary(
        session_id=info.thread_id,
        updated_at=info.updated_at,
        messages=count if isinstance(count, int) else None,
        checkpoints=size.checkpoints,
        ttl=info.ttl,
        keys=size.keys,
        bytes=size.bytes,
        latest_checkpoint_id=info.latest_checkpoint_id,
        encrypted=is_encrypted(count),
        error=error,
    )
