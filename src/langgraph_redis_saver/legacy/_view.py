"""Legacy sessions as the inspector's views (``lgrs show``, ``sessions --legacy``), read-only."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel

from langgraph_redis_saver.browse._export import export_document
from langgraph_redis_saver.browse._plain import Conversation, iso, parse_iso, turn

from ._migrate import LegacyState, parse_legacy
from ._store import LegacySession, read_legacy_bounded
from ._unpickle import MAX_BYTES, LegacyObject, LegacyPickleError

__all__ = [
    "LegacyRow",
    "legacy_conversation",
    "legacy_export",
    "legacy_rows",
    "plain",
    "updated_at",
    "user_of",
]

LEGACY_CHECKPOINT = "(legacy pickle)"


def plain(value: Any, depth: int = 0) -> Any:
    """JSON-like data for display: messages and models as dicts, placeholders tagged."""
    if depth > 60:
        return "..."
    if isinstance(value, LegacyObject):
        return plain(value.to_plain(), depth + 1)
    if isinstance(value, BaseModel):
        return plain(value.model_dump(), depth + 1)
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, collections.deque)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"__legacy_type__": "bytes", "size": len(value)}
    return value


def _when(metadata: dict[str, Any]) -> datetime | None:
    stamp = metadata.get("timestamp")
    if isinstance(stamp, datetime):
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
    try:
        return parse_iso(str(stamp)) if isinstance(stamp, str) else None
    except ValueError:
        return None


def updated_at(state: LegacyState) -> datetime | None:
    """When a legacy session was last saved (its metadata ``timestamp``), or None."""
    return _when(state.metadata)


def legacy_conversation(state: LegacyState, channel: str = "messages") -> Conversation:
    """The ``lgrs show`` view of a legacy session (metadata ``legacy: true``)."""
    when = _when(state.metadata)
    msgs = state.values.get(channel)
    calls: dict[str, str] = {}
    turns = [
        turn(i, plain(m), when, calls) for i, m in enumerate(msgs if type(msgs) is list else [])
    ]
    return Conversation(
        session_id=state.session_id,
        namespace="",
        checkpoint_id=LEGACY_CHECKPOINT,
        created_at=when,
        updated_at=when,
        turns=turns,
        pending=[],
        state={k: plain(v) for k, v in sorted(state.values.items()) if k != channel},
        metadata={"legacy": True, "refused": state.refused, **plain(state.metadata)},
        checkpoints=0,
        namespaces=[],
        ttl=None if state.ttl_ms is None else state.ttl_ms / 1000,
        messages=len(turns),
    )


def legacy_export(
    state: LegacyState,
    channel: str = "messages",
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    metadata: bool = True,
    redacted: bool = False,
) -> dict[str, Any]:
    """The ``lgrs export`` document of a legacy session: the usual shape, marked.

    ``legacy: true`` and ``refused`` (what the restricted reader did not
    rebuild, shown as ``__legacy_type__`` placeholders) are added at the top,
    so they stay with ``--no-metadata``. The old store kept one time per
    session, its metadata ``timestamp``: it is ``createdAt``, ``updatedAt`` and
    every turn's ``timestamp``, so ``since``/``until`` keep all the turns or none.
    """
    conv = legacy_conversation(state, channel)
    doc = export_document(conv, since=since, until=until, metadata=metadata, redacted=redacted)
    return {**doc, "legacy": True, "refused": list(state.refused)}


def user_of(state: LegacyState) -> str | None:
    """The ``user_id`` of a legacy session: its metadata's, else its config's, else None."""
    found = state.metadata.get("user_id")
    config = state.config if type(state.config) is dict else {}
    configurable = config.get("configurable")
    if found is None and type(configurable) is dict:
        found = configurable.get("user_id")
    return None if found is None else str(found)


@dataclass(frozen=True)
class LegacyRow:
    """One row of ``lgrs sessions --legacy``."""

    session_id: str
    updated_at: datetime | None
    messages: int | None
    turn_count: Any
    ttl: float | None
    bytes: int
    status: str
    """``legacy``, ``migrating`` (pickle moved aside by an interrupted run), or the error."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "updatedAt": iso(self.updated_at),
            "messages": self.messages,
            "turnCount": self.turn_count,
            "ttl": self.ttl,
            "bytes": self.bytes,
            "legacy": True,
            "status": self.status,
        }


def legacy_row(found: LegacySession, state: LegacyState | None, error: str | None) -> LegacyRow:
    status = error or ("migrating" if found.in_backup else "legacy")
    if found.ambiguous:
        status = f"ambiguous: key {found.key}; migrate it with --session"
    if state is not None and state.refused:
        more = f" +{len(state.refused) - 3}" if len(state.refused) > 3 else ""
        status = "refused: " + ", ".join(state.refused[:3]) + more
    return LegacyRow(
        session_id=found.session_id,
        updated_at=_when(state.metadata) if state else None,
        messages=len(state.messages) if state else None,
        turn_count=state.values.get("turn_count") if state else None,
        ttl=None if found.ttl_ms is None else found.ttl_ms / 1000,
        bytes=found.size,
        status=status,
    )


def legacy_rows(client: Any, found: Sequence[LegacySession]) -> list[LegacyRow]:
    """The rows of ``lgrs sessions --legacy`` (and of ``lgrs serve``'s legacy list) for `found`.

    Each pickle is read through the restricted reader, at most `MAX_BYTES`
    of it (a bigger one is never fetched whole), one round trip each. A
    pickle that cannot be read is its row's status (``unreadable: ...``),
    never the listing's error.
    """
    rows = []
    for item in found:
        state, error = None, None
        try:
            value, ttl_ms = read_legacy_bounded(client, item.key, MAX_BYTES)
            if value is None:
                error = "expired"
            else:
                state = parse_legacy(item.session_id, value, ttl_ms=ttl_ms)
        except LegacyPickleError as exc:
            error = f"unreadable: {exc}"
        except RecursionError:
            error = "unreadable: a stored value is nested too deeply to read"
        rows.append(legacy_row(item, state, error))
    return rows
