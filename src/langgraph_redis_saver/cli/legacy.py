"""Legacy pickled sessions in ``lgrs show``, ``export``, ``history`` and ``delete``.

Legacy sessions are the pickled ones of the store this saver replaces
(docs/migration.md). ``show`` and ``export`` read them through the restricted
unpickler of `langgraph_redis_saver.legacy` (nothing a pickle names is
imported or run); ``history`` and ``delete`` only look at the first and last
bytes of values (`~langgraph_redis_saver.legacy._store.probe_pickles`) and
never unpickle anything. ``lgrs serve`` calls the same functions, so its pages
say what these commands print. The legacy package is imported inside the
functions, so other commands never load it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from langgraph_redis_saver.browse import Browser, one_line
from langgraph_redis_saver.cli.sanitize import inert
from langgraph_redis_saver.errors import SessionNotFoundError

if TYPE_CHECKING:
    from langgraph_redis_saver.browse import Conversation
    from langgraph_redis_saver.legacy import LegacyState

__all__ = [
    "DeletePlan",
    "export_legacy",
    "legacy_conversation",
    "legacy_exports",
    "legacy_history",
    "migrate_commands",
    "no_timeline",
    "plan_delete",
    "run_delete",
]


def _not_found(session: str) -> SessionNotFoundError:
    return SessionNotFoundError(f"session {session!r} not found (it does not exist or has expired)")


def migrate_commands(session: str) -> list[str]:
    """The commands that convert one legacy session, dry run first (`session` shell-quoted)."""
    quoted = shlex.quote(session)
    return [f"lgrs migrate --from-pickle --session {quoted}{x}" for x in (" --dry-run", "")]


# -- show --------------------------------------------------------------------------------


def legacy_conversation(b: Browser, session: str) -> tuple[LegacyState, Conversation]:
    """The ``lgrs show`` view of the legacy session `session`, and the state it was read from.

    Raises:
        SessionNotFoundError: there is no legacy session of that id either.
        LegacyPickleError: its pickle is corrupted, too big or not a session.
    """
    from langgraph_redis_saver.legacy._view import legacy_conversation as conversation

    state = _read(b, session, "shown")
    return state, conversation(state, b.channel)


def _read(b: Browser, session: str, what: str) -> LegacyState:
    """The legacy session `session`; errors say it cannot be `what` (shown, exported).

    Raises:
        SessionNotFoundError: there is no legacy session of that id either.
        LegacyPickleError: its pickle is corrupted, too big or not a session.
    """
    from langgraph_redis_saver.legacy._migrate import read_legacy_session
    from langgraph_redis_saver.legacy._unpickle import LegacyPickleError

    try:
        state = read_legacy_session(b.client, b.keys, session)
    except LegacyPickleError as exc:
        raise LegacyPickleError(
            f"legacy pickled session {session!r} cannot be {what}: {exc}"
        ) from None
    if state is None:
        raise _not_found(session)
    return state


Export = tuple[str, dict[str, Any] | None, str | None]
"""``(session id, export document or None, error or None)``, as `Browser.iter_exports`."""


# -- export ------------------------------------------------------------------------------


def export_legacy(b: Browser, session: str, options: dict[str, Any]) -> dict[str, Any]:
    """The export document of the legacy session `session` (``legacy: true``).

    Raises:
        SessionNotFoundError: there is no legacy session of that id either.
        LegacyPickleError: its pickle is corrupted, too big or not a session.
    """
    from langgraph_redis_saver.legacy._view import legacy_export

    return legacy_export(_read(b, session, "exported"), b.channel, **options)


def legacy_exports(
    b: Browser,
    *,
    skip: set[str],
    user: str | None,
    since: datetime | None,
    options: dict[str, Any],
) -> tuple[int, Iterator[Export]]:
    """The legacy sessions under the prefix (SCAN) for ``export --all``, read one by one.

    Sessions in `skip` (already exported from their checkpoints: migrated
    with ``--keep-legacy``) are left out. With `user`, only sessions whose
    pickled metadata or config holds that ``user_id``; with `since`, only
    those saved since then (or whose time is unknown). A pickle that cannot
    be read is an error for that session only.

    Returns:
        How many legacy sessions were found, and the exports.
    """
    from langgraph_redis_saver.legacy._migrate import parse_legacy
    from langgraph_redis_saver.legacy._store import (
        find_legacy_sessions,
        is_pickle,
        read_legacy_bounded,
    )
    from langgraph_redis_saver.legacy._unpickle import MAX_BYTES, LegacyPickleError
    from langgraph_redis_saver.legacy._view import legacy_export, updated_at, user_of

    found = [f for f in find_legacy_sessions(b.client, b.keys) if f.session_id not in skip]

    def exports() -> Iterator[Export]:
        for item in found:
            try:
                value, ttl_ms = read_legacy_bounded(b.client, item.key, MAX_BYTES)
                if not is_pickle(value):
                    yield item.session_id, None, None  # expired or migrated meanwhile
                    continue
                assert value is not None
                state = parse_legacy(item.session_id, value, ttl_ms=ttl_ms)
            except (LegacyPickleError, RecursionError) as exc:
                yield item.session_id, None, f"legacy pickled session: {one_line(exc)}"
                continue
            if user is not None and user_of(state) != user:
                continue
            when = updated_at(state)
            if since is not None and when is not None and when < since:
                continue
            yield item.session_id, legacy_export(state, b.channel, **options), None

    return len(found), exports()


# -- history -----------------------------------------------------------------------------


def no_timeline(b: Browser, session: str) -> dict[str, Any] | None:
    """What ``lgrs history`` says of a legacy pickled session; None when `session` is not one.

    ``{sessionId, legacy: true, error, show, migrate}``: it has no checkpoint
    timeline, and the commands that show and convert it. Nothing is unpickled
    (`~langgraph_redis_saver.legacy._store.pickle_heads` probes the values).
    """
    from langgraph_redis_saver.legacy._store import pickle_heads

    if not pickle_heads(b.client, b.keys, session):
        return None
    error = (
        f"session {session!r} is a legacy pickled session: it has no checkpoint timeline "
        "(the store this saver replaces kept only each session's latest state, in one pickle)"
    )
    return {
        "sessionId": session,
        "legacy": True,
        "error": error,
        "show": f"lgrs show {shlex.quote(session)}",
        "migrate": migrate_commands(session),
    }


def legacy_history(settings: Any, b: Browser, session: str) -> bool:
    """If `session` is a legacy pickled session, say it has no timeline and exit with 1.

    Returns False (and prints nothing) when it is not one; nothing is unpickled.
    """
    from . import output

    said = no_timeline(b, session)
    if said is None:
        return False
    if settings.as_json:
        output.echo_json(said)
    else:
        lines = [
            f"Error: {said['error']}",
            f"  show it: {said['show']}",
            "  convert it into checkpoints (then it has a timeline), dry run first:",
            *(f"    {m}" for m in said["migrate"]),
        ]
        for line in lines:
            click.echo(inert(line, one_line=True), err=True)
    click.get_current_context().exit(1)
    return True  # pragma: no cover - exit() raises


# -- delete ------------------------------------------------------------------------------


@dataclass
class DeletePlan:
    """What ``lgrs delete`` removes: checkpointed sessions and legacy pickles."""

    entries: list[dict[str, Any]]
    """``{sessionId, keys, legacy}`` per session, as ``delete --json`` prints them."""
    keys: int
    """Keys to delete (``--all``: every key under the prefix)."""
    what: str
    """The confirmation's description, e.g. ``2 sessions (9 keys) on host:port``."""
    checkpointed: list[str] = field(default_factory=list)
    pickles: dict[str, list[str]] = field(default_factory=dict)
    """Legacy pickle keys per named session (empty with ``--all``: every key goes)."""


def plan_delete(b: Browser, sessions: Sequence[str], *, where: str) -> DeletePlan:
    """The plan for ``delete SESSION...``: each id is a checkpointed or a legacy session.

    A legacy session's keys are its pickles (``latest``, a migration backup,
    the old store's ``<session>:<id>`` pickles), found by probing and SCAN,
    never unpickled; an application's other keys under the id are kept.

    Raises:
        SessionNotFoundError: an id is neither.
    """
    from langgraph_redis_saver.legacy._store import session_pickles

    unique = list(dict.fromkeys(sessions))
    pickles = {s: session_pickles(b.client, b.keys, s) for s in unique}
    checkpointed = [
        s
        for s in unique
        if b.keys.namespace(s, "").latest not in pickles[s] and b.exists(s)  # latest: not a pickle
    ]
    missing = [s for s in unique if s not in checkpointed and not pickles[s]]
    if missing:
        raise _not_found(missing[0])
    sizes = b.session_sizes(checkpointed) if checkpointed else {}
    counts = {s: (sizes[s][0] if s in sizes else 0) + len(pickles[s]) for s in unique}
    entries: list[dict[str, Any]] = [
        {"sessionId": s, "keys": counts[s], "legacy": bool(pickles[s])} for s in unique
    ]
    nkeys = sum(counts.values())
    plural = "s" if len(entries) != 1 else ""
    legacy = sum(1 for s in unique if pickles[s])
    also = f", {legacy} of them legacy pickled" if legacy else ""
    what = f"{len(entries)} session{plural}{also} ({nkeys} keys) on {where}"
    return DeletePlan(entries, nkeys, what, checkpointed, {s: p for s, p in pickles.items() if p})


def plan_delete_all(b: Browser, *, where: str) -> DeletePlan:
    """The plan for ``delete --all``: every key under the prefix, legacy pickles included.

    Legacy sessions are found by SCAN (never unpickled) so the confirmation
    names them; `run_delete` removes them with everything else.
    """
    from langgraph_redis_saver.legacy._store import find_legacy_sessions

    entries: dict[str, dict[str, Any]] = {
        s: {"sessionId": s, "keys": None, "legacy": False} for s in b.session_ids()
    }
    checkpointed = len(entries)
    legacy = find_legacy_sessions(b.client, b.keys)
    for found in legacy:
        entries.setdefault(found.session_id, {"sessionId": found.session_id, "keys": None})
        entries[found.session_id]["legacy"] = True
    nkeys = sum(1 for _ in b.scan_keys())
    sessions = f"{checkpointed} session{'s' if checkpointed != 1 else ''}"
    if legacy:
        sessions += f" and {len(legacy)} legacy pickled session{'s' if len(legacy) != 1 else ''}"
    what = f"ALL {sessions} ({nkeys} keys) under prefix {b.keys.prefix!r} on {where}"
    return DeletePlan(list(entries.values()), nkeys, what)


def run_delete(b: Browser, plan: DeletePlan, *, everything: bool) -> int:
    """Carry out `plan`; returns the keys it planned (``--all``: the keys deleted)."""
    if everything:
        return b.saver.clear_all()  # SCAN + UNLINK of the prefix: pickles go too
    from langgraph_redis_saver.legacy._store import delete_pickles

    for session in plan.checkpointed:
        b.saver.clear_session(session)
    for keys in plan.pickles.values():
        delete_pickles(b.client, keys)
    return plan.keys
