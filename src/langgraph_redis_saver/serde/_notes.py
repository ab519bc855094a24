"""Warnings noted while decoding, emitted once the value is fully decoded.

A warning raised in the middle of msgpack's extension hook would abort the
decode when warnings are errors (`-W error`, pytest's `filterwarnings`), so
codecs only note what happened; `SafeMsgpackSerializer.loads_typed` emits the
notes (once per class and reason) after decoding succeeded.
"""

from __future__ import annotations

import threading
from typing import NamedTuple

__all__ = ["Note", "has_notes", "note", "take"]


class Note(NamedTuple):
    """What a read could not restore exactly, to be reported once per class."""

    where: str  # the class or type concerned, e.g. "app.models.Ticket"
    what: str  # what happened
    fix: str  # a call that fixes it


class _Pending(threading.local):
    # Initialised per thread, so reading `pending` never takes the slow
    # missing-attribute path: `take` runs on every decode.
    def __init__(self) -> None:
        self.pending: list[Note] = []


_local = _Pending()
_NONE: tuple[Note, ...] = ()


def note(event: Note) -> None:
    """Record `event` for the decode running on this thread."""
    _local.pending.append(event)


def take() -> list[Note] | tuple[Note, ...]:
    """Return and clear the events noted on this thread."""
    pending = _local.pending
    if not pending:
        return _NONE
    _local.pending = []
    return pending


def has_notes() -> bool:
    """Whether the decode running on this thread noted anything."""
    return bool(_local.pending)
