"""Legacy pickled sessions: read them safely, show them, migrate them.

The store this saver replaces kept each session as
``pickle.dumps({"checkpoint": state, "metadata": ..., "config": ...})`` under
``langgraph:checkpoint:<session>:latest``. This package reads such pickles
with a restricted unpickler (`read_pickle`: an explicit class table, nothing
named by the data is imported or called) and converts them into checkpoints
(`migrate_pickle_sessions`, also ``lgrs migrate --from-pickle``).

It is used by ``lgrs`` and by migration code only: the saver never imports it,
and its read path never unpickles. Meeting a legacy session, the saver raises
`~langgraph_redis_saver.errors.LegacySessionError` instead.

>>> from langgraph_redis_saver.legacy import migrate_pickle_sessions  # doctest: +SKIP
>>> migrate_pickle_sessions(saver, graph=graph, as_node="listen")   # doctest: +SKIP
"""

from __future__ import annotations

from ._migrate import (
    LegacyState,
    MigrationReport,
    SessionOutcome,
    migrate_pickle_sessions,
    parse_legacy,
    read_legacy_session,
)
from ._store import LegacySession, find_legacy_sessions, is_pickle
from ._unpickle import LegacyObject, LegacyPickleError, LegacyRead, read_pickle

__all__ = [
    "LegacyObject",
    "LegacyPickleError",
    "LegacyRead",
    "LegacySession",
    "LegacyState",
    "MigrationReport",
    "SessionOutcome",
    "find_legacy_sessions",
    "is_pickle",
    "migrate_pickle_sessions",
    "parse_legacy",
    "read_legacy_session",
    "read_pickle",
]
