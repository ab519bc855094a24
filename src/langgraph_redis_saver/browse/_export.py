"""The export document (``lgrs export``) built from a `Conversation`, pure.

One function for checkpointed and legacy pickled sessions alike, so both
give the same shape: ``{sessionId, createdAt, updatedAt, turns, metadata}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._plain import Conversation, export_metadata, iso, parse_iso, redact

__all__ = ["export_document", "in_range"]


def export_document(
    conv: Conversation,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    metadata: bool = True,
    redacted: bool = False,
) -> dict[str, Any]:
    """`conv` as an export document (see `Browser.export` for the arguments)."""
    turns = [t for t in conv.turns if in_range(t.get("timestamp"), since, until)]
    doc: dict[str, Any] = {
        "sessionId": conv.session_id,
        "createdAt": iso(conv.created_at),
        "updatedAt": iso(conv.updated_at),
        "turns": turns,
    }
    if metadata:
        doc["metadata"] = export_metadata(conv)
    if redacted:
        for t in turns:
            for key in ("content", "contentBlocks", "toolCalls"):
                if key in t:
                    t[key] = redact(t[key])
        if metadata:
            doc["metadata"] = redact(doc["metadata"])
    return doc


def in_range(stamp: str | None, since: datetime | None, until: datetime | None) -> bool:
    """Whether a turn's ISO `stamp` lies in ``[since, until]``; a turn without a time does."""
    if stamp is None or (since is None and until is None):
        return True
    when = parse_iso(stamp)
    return (since is None or when >= since) and (until is None or when <= until)
