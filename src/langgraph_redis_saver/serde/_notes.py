"""Warnings noted while decoding, emitted once the value is fully decoded.

A warning raised in the middle of msgpack's extension hook would abort the
decode when warnings are errors (`-W error`, pytest's `filterwarnings`), so
codecs only note what happened; `SafeMsgpackSerializer.loads_typed` emits the
notes (once per class and reason) after decoding succeeded.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

__all__ = ["Note", "note", "take"]


class Note(NamedTuple):
    """What a read could not restore exactly, to be reported once per class."""

    where: str  # the class or type concerned, e.g. "app.models.Ticket"
    what: str  # what happened
    fix: str  # a call that fixes it


_local = threading.local()


def note(event: Note) -> None:
    """Record `event` for the decode running on this thread."""
    pending: list[Note] | None = getattr(_local, "pending", None)
    if pending is None:
        pending = _local.pending = []
    pending.append(event)


def take() -> list[Note]:
    """Return and clear the events noted on this thread."""
    pending: list[Note] | None = getattr(_local, "pending", None)
    if not pending:
        return []
    _local.pending = []
    return pending
