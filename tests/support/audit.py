"""Invariant checks over everything a saver stored under its prefix.

`audit` scans every key under the prefix and classifies it by the grammar of
``docs/key-schema.md``; `check_session` reads a session back through the
saver's public API. Both work on a standalone server and on a cluster.

Definitions (per session ``S`` and namespace ``NS``):

- a checkpoint hash belongs to its namespace when its id is in ``timeline:<NS>``;
- a writes hash belongs to the checkpoint hash of the same id;
- a blob belongs to the checkpoint hashes whose ``blobs`` field lists it;
- ``latest`` must name the newest visible (not hidden) checkpoint of its timeline;
- ``index:namespaces`` belongs to the session while it has a timeline;
- a cross-session index key belongs to the sessions (or checkpoints) it lists:
  an entry for something gone is *stale* (readers skip and drop those), and a
  key whose every entry is stale is an orphan.

An *orphan* is a key that belongs to nothing; a *dangling* reference names a
key that is missing. Neither may exist after any operation or crash, except
timeline entries whose checkpoint expired (``list`` drops them lazily).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
from langchain_core.runnables import RunnableConfig

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.keys import KeySchema, escape

__all__ = ["Audit", "KeyKind", "audit", "check_session", "parse_key"]

PIPELINE_CHUNK = 500


@dataclass(frozen=True)
class KeyKind:
    """A key parsed by the documented grammar (components stay escaped)."""

    kind: str  # record latest timeline writes blob namespaces sessions runs
    session: str = ""
    ns: str = ""
    item: str = ""  # checkpoint id, or ``<CH>:<VER>`` for blobs


def parse_key(key: str, schema: KeySchema) -> KeyKind | None:
    """Classify `key`, or None when it is not in the documented layout."""
    if not key.startswith(schema.root):
        return None
    rest = key[len(schema.root) :]
    if rest.startswith(":"):
        parts = rest[1:].split(":")
        if parts == ["sessions"] or (len(parts) == 3 and parts[0] == "sessions"):
            return KeyKind("sessions")
        if len(parts) == 2 and parts[0] == "runs":
            return KeyKind("runs")
        return None
    if schema.cluster:
        if not rest.startswith("{") or "}:" not in rest:
            return None
        session, tail = rest[1:].split("}:", 1)
    else:
        session, _, tail = rest.partition(":")
    parts = tail.split(":")
    match parts:
        case ["latest"]:
            return KeyKind("latest", session, "")
        case [cid]:
            return KeyKind("record", session, "", cid)
        case ["ns", ns, "latest"]:
            return KeyKind("latest", session, ns)
        case ["ns", ns, cid]:
            return KeyKind("record", session, ns, cid)
        case ["timeline", ns]:
            return KeyKind("timeline", session, ns)
        case ["writes", ns, cid]:
            return KeyKind("writes", session, ns, cid)
        case ["blob", ns, channel, version]:
            return KeyKind("blob", session, ns, f"{channel}:{version}")
        case ["index", "namespaces"]:
            return KeyKind("namespaces", session)
    return None


def _ns(raw: str) -> str:
    return "" if raw == "" else escape(raw)


@dataclass
class Audit:
    """What `audit` found; `problems` lists every violation in words."""

    keys: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    dangling: list[str] = field(default_factory=list)
    expired_entries: list[str] = field(default_factory=list)
    stale_index_entries: list[str] = field(default_factory=list)
    index_orphans: list[str] = field(default_factory=list)
    sessions: set[str] = field(default_factory=set)
    """Escaped ids of sessions that have a root ``latest``."""

    def problems(
        self, *, allow_expired: bool = False, allow_stale_index: bool = False
    ) -> list[str]:
        """Violations; `allow_expired` and `allow_stale_index` excuse what a TTL
        or a crash between a session's script and its index update may leave."""
        found = [f"unknown key {k!r}" for k in self.unknown]
        found += [f"orphan: {k}" for k in self.orphans]
        if not allow_stale_index:
            found += [f"orphan: {k}" for k in self.index_orphans]
        found += [f"dangling: {k}" for k in self.dangling]
        if not allow_expired:
            found += [f"timeline entry without checkpoint: {k}" for k in self.expired_entries]
        return found


def _pipeline(client: Any, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
    replies: list[Any] = []
    for start in range(0, len(commands), PIPELINE_CHUNK):
        with client.pipeline(transaction=False) as pipe:
            for cmd in commands[start : start + PIPELINE_CHUNK]:
                pipe.execute_command(*cmd)
            replies += pipe.execute()
    return replies


def audit(client: Any, schema: KeySchema) -> Audit:
    """Scan every key under the prefix and check it against the key schema.

    Args:
        client: A sync redis-py client (``Redis`` or ``RedisCluster``).
        schema: The saver's key layout (``saver.keys``).
    """
    result = Audit()
    parsed: dict[str, KeyKind] = {}
    for raw in client.scan_iter(match=schema.prefix_pattern(), count=1000):
        key = raw.decode()
        result.keys.append(key)
        kind = parse_key(key, schema)
        if kind is None:
            result.unknown.append(key)
        else:
            parsed[key] = kind
    reads = {
        "record": ("HGETALL",), "latest": ("GET",), "timeline": ("ZRANGE", None, 0, -1),
        "namespaces": ("SMEMBERS",), "sessions": ("ZRANGE", None, 0, -1), "runs": ("SMEMBERS",),
    }  # fmt: skip
    wanted = [k for k, kind in parsed.items() if kind.kind in reads]
    commands = []
    for key in wanted:
        cmd = reads[parsed[key].kind]
        commands.append((cmd[0], key, *cmd[2:]))
    values = dict(zip(wanted, _pipeline(client, commands), strict=True))

    records: dict[tuple[str, str], dict[str, dict[bytes, bytes]]] = defaultdict(dict)
    timelines: dict[tuple[str, str], list[bytes]] = {}
    latest: dict[tuple[str, str], bytes] = {}
    blobs: dict[tuple[str, str], set[str]] = defaultdict(set)
    namespace_sets: set[str] = set()
    writes: list[tuple[str, KeyKind]] = []
    for key, kind in parsed.items():
        place = (kind.session, kind.ns)
        if kind.kind == "record":
            records[place][kind.item] = values[key]
        elif kind.kind == "timeline":
            timelines[place] = values[key]
        elif kind.kind == "latest":
            latest[place] = values[key]
        elif kind.kind == "blob":
            blobs[place].add(kind.item)
        elif kind.kind == "namespaces":
            namespace_sets.add(kind.session)
        elif kind.kind == "writes":
            writes.append((key, kind))

    visible: dict[tuple[str, str], list[bytes]] = {}
    for place, ids in timelines.items():
        recs = records.get(place, {})
        for cid in ids:
            if escape(cid.decode()) not in recs:
                result.expired_entries.append(f"{place} {cid!r}")
        live = [c for c in ids if escape(c.decode()) in recs]
        visible[place] = [c for c in live if b"hidden" not in recs[escape(c.decode())]]
        if not live:
            result.orphans.append(f"timeline {place} lists no existing checkpoint")

    referenced: dict[tuple[str, str], set[str]] = defaultdict(set)
    for place, recs in records.items():
        in_timeline = {escape(c.decode()) for c in timelines.get(place, [])}
        for cid, fields in recs.items():
            where = f"checkpoint {place} {cid}"
            if cid not in in_timeline:
                result.orphans.append(f"{where}: not in its timeline")
            missing = {b"v", b"checkpoint", b"metadata", b"checkpoint_id"} - set(fields)
            if missing:
                result.dangling.append(f"{where}: incomplete, lacks {sorted(missing)}")
            for suffix in fields.get(b"blobs", b"").decode().split("\n"):
                if suffix:
                    referenced[place].add(suffix)
                    if suffix not in blobs.get(place, set()):
                        result.dangling.append(f"{where}: lists missing blob {suffix}")

    for place, suffixes in blobs.items():
        for suffix in suffixes - referenced[place]:
            result.orphans.append(f"blob {place} {suffix}: no checkpoint refers to it")

    for key, kind in writes:
        if kind.item not in records.get((kind.session, kind.ns), {}):
            result.orphans.append(f"writes {key}: its checkpoint is missing")

    for place in set(latest) | set(visible):
        newest = max(visible.get(place, []), default=None)
        pointer = latest.get(place)
        if pointer != newest:
            result.dangling.append(
                f"latest of {place} is {pointer!r}, newest visible checkpoint is {newest!r}"
            )
    result.sessions = {s for (s, ns) in latest if ns == ""}

    with_timeline = {s for (s, _) in timelines}
    for session in namespace_sets - with_timeline:
        result.orphans.append(f"namespaces set of session {session}: session has no timeline")

    for key, kind in parsed.items():
        if kind.kind == "sessions":
            live = [m for m in values[key] if escape(m.decode()) in result.sessions]
            stale = len(values[key]) - len(live)
            result.stale_index_entries += [f"{key}: {stale} stale"] if stale else []
            if not live:
                result.index_orphans.append(f"index {key}: every session it lists is gone")
        elif kind.kind == "runs":
            live = [m for m in values[key] if _run_member_exists(m, records)]
            stale = len(values[key]) - len(live)
            result.stale_index_entries += [f"{key}: {stale} stale"] if stale else []
            if not live:
                result.index_orphans.append(f"run set {key}: every checkpoint it lists is gone")
    return result


def _run_member_exists(
    member: bytes, records: dict[tuple[str, str], dict[str, dict[bytes, bytes]]]
) -> bool:
    thread_id, checkpoint_ns, cid = msgpack.unpackb(member)
    return escape(cid) in records.get((escape(thread_id), _ns(checkpoint_ns)), {})


def _config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def check_session(
    saver: RedisCheckpointSaver, thread_id: str, acknowledged: Iterable[str] = ()
) -> list[str]:
    """Read one session back through the saver; return what is wrong with it.

    Checks: ``latest`` resolves and is the newest listed checkpoint; every
    listed checkpoint reads back by id with the same content; every
    `acknowledged` checkpoint id is still there.
    """
    problems: list[str] = []
    listed = list(saver.list(_config(thread_id)))
    ids = [t.checkpoint["id"] for t in listed]
    if ids != sorted(ids, reverse=True):
        problems.append(f"{thread_id}: list is not newest first")
    newest = saver.get_tuple(_config(thread_id))
    if listed and (newest is None or newest.checkpoint["id"] != max(ids)):
        got = newest.checkpoint["id"] if newest else None
        problems.append(f"{thread_id}: latest is {got}, newest listed is {max(ids)}")
    if not listed and newest is not None:
        problems.append(f"{thread_id}: latest resolves but list is empty")
    for found in listed:
        again = saver.get_tuple(found.config)
        if again is None or again.checkpoint != found.checkpoint:
            problems.append(f"{thread_id}: listed {found.checkpoint['id']} does not read back")
    missing = set(acknowledged) - set(ids)
    if missing:
        problems.append(f"{thread_id}: {len(missing)} acknowledged checkpoints lost")
    return problems
