"""Convert legacy pickled sessions into checkpoints of this saver.

One session at a time, so an interrupted run loses nothing and a rerun
continues where it stopped:

1. Read the pickle and load it with the restricted reader; a pickle that is
   corrupted, or names anything outside the class table, is reported and left
   exactly as it is.
2. In place (the saver's ``latest`` is the very key that holds the pickle),
   move the pickle aside with one ``RENAME`` guarded by ``WATCH`` (it keeps
   its TTL), to ``<session keys>legacy:pickle``. A crash from here on leaves
   the pickle in that backup, and a rerun resumes from it.
3. Write the first checkpoint: through ``graph.update_state`` when a graph is
   given, else with the saver's ``put`` (both one atomic script), then give
   the new keys the pickle's remaining TTL.
4. Unless legacy data is kept, delete the pickle (or its backup) and the old
   store's ``<prefix>:S:<id>`` pickles.

A session whose new checkpoint exists is never written again (idempotent).
"""

from __future__ import annotations

import collections
import json
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, empty_checkpoint
from redis.exceptions import ResponseError, WatchError

from langgraph_redis_saver.errors import ConfigurationError, RedisSaverError
from langgraph_redis_saver.keys import KeySchema
from langgraph_redis_saver.saver import RedisCheckpointSaver

from ._store import (
    LegacyKeys,
    LegacySession,
    explicit_session,
    find_legacy_sessions,
    is_pickle,
    probe_pickles,
    read_legacy_bounded,
    read_legacy_value,
)
from ._unpickle import MAX_BYTES, LegacyObject, LegacyPickleError, read_pickle

__all__ = [
    "TRUSTED_CLASSES_HINT",
    "LegacyState",
    "MigrationReport",
    "SessionOutcome",
    "migrate_pickle_sessions",
    "refusal_reason",
]

Status = Literal["migrated", "would migrate", "skipped", "failed"]
_STATE_KEY: Final = "checkpoint"


@dataclass
class LegacyState:
    """A legacy session read through the restricted unpickler."""

    session_id: str
    values: dict[str, Any]
    """The state (``pickle["checkpoint"]``): messages, turn_count, ..."""
    metadata: dict[str, Any]
    config: Any
    refused: list[str]
    """Globals named by the pickle that were not rebuilt (placeholders in `values`)."""
    ttl_ms: int | None
    size: int

    @property
    def messages(self) -> list[BaseMessage]:
        found = self.values.get("messages")
        return [m for m in found if isinstance(m, BaseMessage)] if type(found) is list else []


@dataclass
class SessionOutcome:
    """What happened (or, in a dry run, would happen) to one session."""

    session_id: str
    status: Status
    reason: str = ""
    messages: int = 0
    fields: list[str] = field(default_factory=list)
    ttl_ms: int | None = None
    refused: list[str] = field(default_factory=list)
    """What the reader could not rebuild (the session was skipped, nothing changed)."""
    pickled: bool = False
    """The legacy pickle is still there (skipped or failed): the session is not migrated."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "status": self.status,
            "reason": self.reason,
            "refused": self.refused,
            "leftPickled": self.pickled,
            "messages": self.messages,
            "fields": self.fields,
            "ttlSeconds": None if self.ttl_ms is None else self.ttl_ms // 1000,
        }


@dataclass
class MigrationReport:
    """Per-session outcomes of `migrate_pickle_sessions`, in session order."""

    outcomes: list[SessionOutcome] = field(default_factory=list)
    dry_run: bool = False

    def with_status(self, status: Status) -> list[SessionOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def counts(self) -> dict[str, int]:
        out = {"migrated": 0, "would migrate": 0, "skipped": 0, "failed": 0}
        for outcome in self.outcomes:
            out[outcome.status] += 1
        return out

    @property
    def left_pickled(self) -> list[SessionOutcome]:
        """Sessions whose legacy pickle is still there (skipped or failed), in session order."""
        return [o for o in self.outcomes if o.pickled]

    def as_dict(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "dryRun": self.dry_run,
            "migrated": counts["migrated"],
            "wouldMigrate": counts["would migrate"],
            "skipped": counts["skipped"],
            "failed": counts["failed"],
            "leftPickled": len(self.left_pickled),
            "sessions": [o.as_dict() for o in self.outcomes],
        }


def parse_legacy(
    session_id: str,
    data: bytes,
    *,
    ttl_ms: int | None = None,
    allowed: Iterable[type[Any]] = (),
) -> LegacyState:
    """Load one legacy pickle and take the session state out of it.

    Raises:
        LegacyPickleError: the pickle is unreadable, or not a session
            (``{"checkpoint": {...}, "metadata": ..., "config": ...}``).
    """
    read = read_pickle(data, allowed=allowed)
    doc = read.value
    if type(doc) is not dict or type(doc.get(_STATE_KEY)) is not dict:
        raise LegacyPickleError(
            f"not a legacy session: expected a dict with a {_STATE_KEY!r} dict, "
            f"got {_describe(doc)}"
        )
    state = doc[_STATE_KEY]
    # LangGraph-shaped checkpoints keep the state in channel_values.
    if type(state.get("channel_values")) is dict:
        state = state["channel_values"]
    metadata = doc.get("metadata")
    return LegacyState(
        session_id=session_id,
        values={str(k): v for k, v in state.items()},
        metadata=metadata if type(metadata) is dict else {},
        config=doc.get("config"),
        refused=read.refused,
        ttl_ms=ttl_ms,
        size=len(data),
    )


#: How to rebuild application classes: said once per report, not per session.
TRUSTED_CLASSES_HINT: Final = (
    "to rebuild trusted application classes, pass them to "
    "migrate_pickle_sessions(..., allowed=[...]) (docs/migration.md)"
)


def names_classes(refused: Iterable[str]) -> bool:
    """Whether some refused entry is a class or function name (``allowed=`` may help)."""
    return any(not name.startswith("<") and " " not in name for name in refused)


def refusal_reason(refused: Sequence[str]) -> str:
    """Why a session whose pickle holds something the reader cannot rebuild is skipped."""
    shown = ", ".join(refused[:5]) + (f" and {len(refused) - 5} more" if len(refused) > 5 else "")
    return (
        f"refused to rebuild {shown} (nothing was imported or run); "
        "left as it is rather than migrated with placeholders"
    )


_PLAIN_SCALARS: Final = (str, int, float, bool, type(None))


def _plain(value: Any, depth: int) -> bool:
    """Whether `value` is only JSON-like data and LangChain messages (kept by any serializer)."""
    kind = type(value)
    if kind in _PLAIN_SCALARS or isinstance(value, BaseMessage):
        return True
    if depth > 100:
        return False
    if kind is list:
        return all(_plain(v, depth + 1) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    return False


def _diff_types(old: Any, new: Any, path: str, out: list[str], depth: int) -> None:
    """Append ``path: old type -> new type`` for each value whose type a round trip changed."""
    if len(out) >= 10 or depth > 100:
        return
    if type(old) is not type(new):
        out.append(f"{path} ({type(old).__name__}) as {type(new).__name__}")
        return
    if isinstance(old, collections.defaultdict) and old.default_factory is not getattr(
        new, "default_factory", None
    ):
        out.append(f"{path} (defaultdict) without its default factory")
    if isinstance(old, collections.deque) and old.maxlen != getattr(new, "maxlen", None):
        out.append(f"{path} (deque) without its maxlen")
    if isinstance(old, dict):
        for key, value in old.items():
            if key in new:
                _diff_types(value, new[key], f"{path}.{key}", out, depth + 1)
    elif isinstance(old, (list, tuple, collections.deque)):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            _diff_types(a, b, f"{path}[{i}]", out, depth + 1)


def ambiguous_reason(found: LegacySession) -> str:
    """Why a legacy key whose session id holds ``:`` or is empty is not migrated unasked."""
    return (
        f"ambiguous legacy key {found.key}: the session id holds ':' or is empty, so the "
        "old store's other keys cannot be told apart; migrate it by naming it: "
        f"lgrs migrate --from-pickle --session {shlex.quote(found.session_id)}"
    )


def _describe(value: Any) -> str:
    if type(value) is LegacyObject:
        return f"a {value.type} object"
    if type(value) is dict:
        return f"a dict with keys {sorted(map(str, value))[:5]}"
    return f"a {type(value).__name__}"


def _plain_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The legacy metadata as JSON-safe data (it is stored as JSON)."""
    return dict(json.loads(json.dumps(metadata, default=str)))


class _Migrator:
    def __init__(
        self,
        saver: RedisCheckpointSaver,
        source: Any,
        source_keys: LegacyKeys,
        *,
        in_place: bool,
        graph: Any,
        as_node: str | Callable[[dict[str, Any]], str | None] | None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None,
        allowed: Sequence[type[Any]],
        dry_run: bool,
        keep_legacy: bool,
    ) -> None:
        self.saver = saver
        self.target = saver._sync()
        self.source = source
        self.legacy = source_keys
        self.in_place = in_place
        self.graph = graph
        self.as_node = as_node
        self.transform = transform
        self.allowed = allowed
        self.dry_run = dry_run
        self.keep_legacy = keep_legacy

    def target_latest(self, session: str) -> str:
        return self.saver.keys.namespace(session, "").latest

    def clashes(self, session: str) -> bool:
        """Whether the saver's ``latest`` of `session` is the legacy pickle's own key."""
        return self.in_place and self.target_latest(session) == self.legacy.latest(session)

    def target_has_session(self, session: str) -> bool:
        value = self.target.get(self.target_latest(session))
        return bool(value) and not is_pickle(value)

    def run(self, found: LegacySession) -> SessionOutcome:
        session = found.session_id
        if found.ambiguous:
            reason = ambiguous_reason(found)
            return SessionOutcome(session, "skipped", reason, ttl_ms=found.ttl_ms, pickled=True)
        clash = self.clashes(session)
        if self.target_has_session(session):
            if found.in_backup or not clash:
                if found.in_backup and not self.keep_legacy and not self.dry_run:
                    self.cleanup(found, found.key)  # an earlier run stopped before this
                where = "" if found.in_backup else " in the target; not overwritten"
                return SessionOutcome(session, "skipped", f"already migrated{where}")
        value, ttl_ms = read_legacy_value(self.source, found.key)
        if value is None:
            return SessionOutcome(session, "skipped", "expired before it was read")
        try:
            state = parse_legacy(session, value, ttl_ms=ttl_ms, allowed=self.allowed)
        except LegacyPickleError as exc:
            return SessionOutcome(session, "failed", str(exc), ttl_ms=ttl_ms, pickled=True)
        outcome = SessionOutcome(
            session,
            "would migrate" if self.dry_run else "migrated",
            messages=len(state.messages),
            fields=sorted(state.values),
            ttl_ms=ttl_ms,
        )
        if state.refused:
            outcome.status = "skipped"
            outcome.pickled = True
            outcome.refused = list(state.refused)
            outcome.reason = refusal_reason(state.refused)
            return outcome
        try:
            changed = self.type_changes(state)
        except Exception:  # values the serializer refuses: writing reports it, and rolls back
            changed = []
        if changed:
            outcome.status, outcome.pickled = "skipped", True
            outcome.reason = (
                f"the serializer would store {'; '.join(changed[:3])}; left as it is "
                "rather than migrated with changed types (convert them with transform=)"
            )
            return outcome
        if self.dry_run:
            outcome.reason = self.plan_text(found, clash)
            return outcome
        pickle_key = found.key
        if clash and not found.in_backup:
            moved = self.move_aside(found, value)
            if moved is not None:
                outcome.status, outcome.reason = moved
                outcome.pickled = True
                return outcome
            pickle_key = self.legacy.backup(session)
        try:
            self.write(state)
        except Exception as exc:
            if clash:  # put the pickle back where the application reads it
                self.source.renamenx(pickle_key, self.legacy.latest(session))
            outcome.status = "failed"
            outcome.pickled = True
            outcome.reason = f"writing the checkpoint failed ({type(exc).__name__}: {exc})"
            return outcome
        if not self.keep_legacy:
            self.cleanup(found, pickle_key, expect=None if clash else value)
        else:
            outcome.reason = f"legacy pickle kept at {pickle_key}"
        return outcome

    def plan_text(self, found: LegacySession, clash: bool) -> str:
        steps = []
        if found.in_backup:
            steps.append("resume an interrupted migration from " + found.key)
        elif clash:
            steps.append(f"move the pickle to {self.legacy.backup(found.session_id)}")
        steps.append("write 1 checkpoint")
        if not self.keep_legacy:
            n = len(self.pickled_id_keys(found))
            steps.append(f"delete the pickle and {n} old pickled key{'s' if n != 1 else ''}")
            kept = len(found.id_keys) - n
            if kept:
                holds = "s that hold" if kept != 1 else " that holds"
                steps.append(f"keep {kept} other key{holds} no pickle")
        return "; ".join(steps)

    def pickled_id_keys(self, found: LegacySession) -> list[str]:
        """The old store's ``<prefix>:S:<id>`` keys of `found` holding pickles (deleted ones)."""
        if not found.id_keys:
            return []
        probed = probe_pickles(self.source, found.id_keys)
        return [k for k, (pickled, _, _) in zip(found.id_keys, probed, strict=True) if pickled]

    def move_aside(self, found: LegacySession, value: bytes) -> tuple[Status, str] | None:
        """Atomically move the pickle to its backup key if it is still `value`."""
        key, backup = found.key, self.legacy.backup(found.session_id)
        with self.source.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)
                if pipe.get(key) != value:
                    return "skipped", "expired or changed while migrating; rerun to retry"
                pipe.multi()
                pipe.rename(key, backup)
                pipe.execute()
            except WatchError:
                return "skipped", "expired or changed while migrating; rerun to retry"
            except ResponseError as exc:
                return "skipped", f"expired while migrating ({exc})"
        return None

    def type_changes(self, state: LegacyState) -> list[str]:
        """Where storing the values would change a type (``path: old -> new``), found by
        a round trip through the saver's serializer of each value as it would be stored."""
        serde = self.saver.serde
        changes: list[str] = []
        for name, value in self.values_of(state).items():
            if _plain(value, 0):
                continue  # JSON-like data and messages: nothing a round trip could change
            back = serde.loads_typed(serde.dumps_typed(value))
            _diff_types(value, back, name, changes, 0)
        return changes

    def values_of(self, state: LegacyState) -> dict[str, Any]:
        values = dict(state.values)
        return dict(self.transform(values)) if self.transform is not None else values

    def write(self, state: LegacyState) -> None:
        session = state.session_id
        config: RunnableConfig = {"configurable": {"thread_id": session, "checkpoint_ns": ""}}
        values = self.values_of(state)
        if self.graph is not None:
            node = self.as_node(values) if callable(self.as_node) else self.as_node
            saved = self.graph.update_state(config, values, as_node=node)
        else:
            checkpoint = empty_checkpoint()
            versions: ChannelVersions = {
                ch: self.saver.get_next_version(None, None) for ch in values
            }
            checkpoint["channel_values"] = values
            checkpoint["channel_versions"] = versions
            metadata: Any = {"source": "update", "step": 0, "parents": {}}
            if state.metadata:
                metadata["legacy_metadata"] = _plain_metadata(state.metadata)
            saved = self.saver.put(config, checkpoint, metadata, versions)
        if state.ttl_ms:
            self.expire(session, saved, state.ttl_ms)

    def expire(self, session: str, saved: RunnableConfig, ttl_ms: int) -> None:
        """Give the new checkpoint's keys the pickle's remaining TTL."""
        found = self.saver.get_tuple(saved)
        if found is None:
            return
        ns = self.saver.keys.namespace(session, "")
        cid = found.checkpoint["id"]
        keys = [ns.record(cid), ns.latest, ns.timeline, ns.namespaces, ns.writes(cid)]
        keys += [ns.blob(ch, v) for ch, v in found.checkpoint["channel_versions"].items()]
        pipe = self.target.pipeline(transaction=False)
        for key in keys:
            pipe.pexpire(key, ttl_ms)
        pipe.execute()

    def cleanup(self, found: LegacySession, pickle_key: str, expect: bytes | None = None) -> None:
        """Delete the pickle (if still `expect`, when given) and the old store's id keys.

        The pickle is deleted under WATCH in its own transaction; the id keys
        (other slots in a cluster) one by one after it.
        """
        with self.source.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(pickle_key)
                unchanged = expect is None or pipe.get(pickle_key) == expect
                pipe.multi()
                if unchanged:  # rewritten meanwhile: not ours to delete
                    pipe.delete(pickle_key)
                pipe.execute()
            except WatchError:
                pass  # changed meanwhile: leave it; the new checkpoint is complete
        doomed = self.pickled_id_keys(found)
        if doomed:
            pipe = self.source.pipeline(transaction=False)
            for key in doomed:
                pipe.delete(key)
            pipe.execute()


def migrate_pickle_sessions(
    saver: RedisCheckpointSaver,
    *,
    source: Any = None,
    source_prefix: str | None = None,
    sessions: Iterable[str] | None = None,
    graph: Any = None,
    as_node: str | Callable[[dict[str, Any]], str | None] | None = None,
    transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    allowed: Iterable[type[Any]] = (),
    dry_run: bool = False,
    keep_legacy: bool = False,
    on_session: Callable[[SessionOutcome], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> MigrationReport:
    """Convert legacy pickled sessions into first checkpoints of `saver`.

    Each session becomes one checkpoint whose state is the legacy
    ``pickle["checkpoint"]`` (messages as LangChain messages), with the
    pickle's remaining TTL. The pickles are read with a restricted unpickler:
    nothing they name is imported or run; a session naming anything outside
    the class table is skipped and reported.

    Args:
        saver: Where sessions go (its server, prefix and serializer).
        source: Client of the Redis holding the pickles; default the saver's
            own client (in place: the pickles are replaced by the saver's keys).
        source_prefix: Prefix of the legacy keys; default the saver's prefix.
        sessions: Only these session ids; default every legacy session found.
        graph: A graph compiled with `saver`: each session is written with
            ``graph.update_state(config, values, as_node=as_node)``, so the
            graph resumes where `as_node` says.
        as_node: Node name, or a function of the values returning one.
        transform: Maps the legacy values to the graph's state (rename or drop
            fields) before writing.
        allowed: Trusted application classes to rebuild from the pickles
            (matched by module and qualified name, rebuilt from their fields
            as registered classes are; never through ``__reduce__``).
        dry_run: Only report what would be done.
        keep_legacy: Leave the pickles (in place: at
            ``<session keys>legacy:pickle``, with their TTL).
        on_session: Called after each session (progress).
        on_start: Called once with the number of sessions found.

    Returns:
        The per-session outcomes: migrated, would migrate, skipped or failed,
        each with a reason.

    >>> report = migrate_pickle_sessions(saver, dry_run=True)  # doctest: +SKIP
    >>> report.counts                                            # doctest: +SKIP
    {'migrated': 0, 'would migrate': 1000, 'skipped': 3, 'failed': 2}
    """
    if graph is not None and getattr(graph, "checkpointer", None) is not saver:
        raise ConfigurationError(
            "graph must be compiled with the target saver: "
            "graph = builder.compile(checkpointer=saver)"
        )
    if graph is not None and as_node is None:
        raise ConfigurationError(
            "with graph=, say where the graph resumes: as_node='node name' "
            "(or a function of the legacy values that returns one)"
        )
    client = saver._sync()
    in_place = source is None
    prefix = saver.keys.prefix if source_prefix is None else source_prefix
    legacy = LegacyKeys(KeySchema(prefix, cluster=saver.keys.cluster))
    src = client if source is None else source
    found = find_legacy_sessions(src, legacy.schema)
    if sessions is not None:
        wanted = set(sessions)
        found = [
            explicit_session(src, f) if f.ambiguous else f for f in found if f.session_id in wanted
        ]
    missing = [] if sessions is None else sorted(wanted - {f.session_id for f in found})
    migrator = _Migrator(
        saver,
        src,
        legacy,
        in_place=in_place,
        graph=graph,
        as_node=as_node,
        transform=transform,
        allowed=list(allowed),
        dry_run=dry_run,
        keep_legacy=keep_legacy,
    )
    report = MigrationReport(dry_run=dry_run)
    for name in missing:
        report.outcomes.append(
            SessionOutcome(name, "skipped", "no legacy pickled session of that id under the prefix")
        )
    if on_start is not None:
        on_start(len(found))
    for item in found:
        try:
            outcome = migrator.run(item)
        except RedisSaverError as exc:
            outcome = SessionOutcome(item.session_id, "failed", str(exc), pickled=True)
        report.outcomes.append(outcome)
        if on_session is not None:
            on_session(outcome)
    return report


def read_legacy_session(
    client: Any, schema: KeySchema, session_id: str, *, allowed: Iterable[type[Any]] = ()
) -> LegacyState | None:
    """One legacy session, read-only (for ``lgrs show``); None when there is none.

    Raises:
        LegacyPickleError: the pickle is unreadable or not a session.
    """
    keys = LegacyKeys(schema)
    for key in (keys.latest(session_id), keys.backup(session_id)):
        value, ttl_ms = read_legacy_bounded(client, key, MAX_BYTES)
        if is_pickle(value):
            assert value is not None
            return parse_legacy(session_id, value, ttl_ms=ttl_ms, allowed=allowed)
    return None
