"""The saver's logic, without I/O.

Every operation is a flow (see ``_drive``): a generator that yields a `Batch`
of Redis commands, receives the replies, and returns the result. Sync and
async methods of the saver run the same flow with different drivers, so the
logic exists once. Nothing here imports a Redis client or awaits.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgpack

from ._drive import Batch, Call, Command, Emit, Flow
from ._lists import Encoded, ListCache
from ._records import (
    dump_metadata,
    make_config,
    pack_link,
    pack_typed,
    parse_entry,
    record_fields,
    run_member,
    stray_entry,
)
from .errors import (
    CheckpointCorruptedError,
    ConfigurationError,
    IndexWarning,
    RedisSaverError,
    SkippedSessionWarning,
)
from .keys import KeySchema, NamespaceKeys, blob_suffix, escape
from .lua import calls

# LangGraph and langchain-core are imported where used: `lgrs sessions` loads
# neither (tests/cli/test_sessions_fast.py).
if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import (
        ChannelVersions,
        Checkpoint,
        CheckpointMetadata,
        CheckpointTuple,
    )
    from langgraph.checkpoint.serde.base import SerializerProtocol

__all__ = [
    "Context",
    "delete_thread_flow",
    "drop_call",
    "entry",
    "get_tuple_flow",
    "ids_from_config",
    "index_commands",
    "list_flow",
    "next_version",
    "put_flow",
    "put_writes_flow",
    "unindex_runs",
]

TRIM_SAMPLE = 1 / 16  # share of writes that also trim expired index entries
LIST_PAGE = 100
SESSIONS_PAGE = 50


@dataclass(frozen=True)
class Context:
    """What a flow needs besides its arguments."""

    keys: KeySchema
    serde: SerializerProtocol
    ttl_ms: int  # 0: keys never expire
    refresh_on_read: bool = False
    session_index_keys: tuple[str, ...] = ("user_id",)
    max_checkpoints: int | None = None
    compress_min: int = 0  # 0: never compress
    lists: ListCache | None = None  # None: store every list value in full

    @property
    def read_ttl(self) -> int:
        return self.ttl_ms if self.refresh_on_read else 0


# -- config -------------------------------------------------------------------


def ids_from_config(config: RunnableConfig | None) -> tuple[str, str, str | None]:
    """``(thread_id, checkpoint_ns, checkpoint_id)`` of a run config, validated."""
    configurable = (config or {}).get("configurable") or {}
    thread_id = configurable.get("thread_id")
    if thread_id is None:
        raise ConfigurationError(
            "the config has no 'thread_id': pass "
            "{'configurable': {'thread_id': '<session id>'}} to invoke()/stream()"
        )
    checkpoint_ns = configurable.get("checkpoint_ns") or ""
    checkpoint_id = configurable.get("checkpoint_id") or None
    return str(thread_id), str(checkpoint_ns), checkpoint_id


def next_version(current: str | int | float | None) -> str:
    """A channel version that sorts after `current` and is unique across forks.

    Versions are ``<counter:032>.<random>`` as in LangGraph's own savers. The
    random part matters: after a fork or a replay from an old checkpoint, two
    branches reach the same counter; blobs are keyed by (channel, version), so
    equal versions would let one branch overwrite the other's values.
    """
    if current is None:
        counter = 0
    elif isinstance(current, str):
        counter = int(current.split(".", 1)[0])
    else:
        counter = int(current)
    return f"{counter + 1:032}.{random.getrandbits(64):016x}"


# -- put ----------------------------------------------------------------------


def _delta_channels_to_walk(metadata: CheckpointMetadata, values: Mapping[str, Any]) -> list[str]:
    """Escaped names of the DeltaChannels this checkpoint rebuilds from ancestors."""
    counters = metadata.get("counters_since_delta_snapshot") or {}
    return [escape(ch) for ch in counters if ch not in values]


def put_flow(
    ctx: Context,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    now_ms: int | None = None,
) -> Flow[RunnableConfig]:
    """Store one checkpoint: record, new blobs, `latest`, timeline; one round trip.

    A list value that extends one this saver stored for its channel is
    stored as a link (see ``_lists``). If a base of a link has gone meanwhile
    (it expired, or a prune removed it), the script writes nothing and the
    put is sent again with full copies: a second round trip, only then.

    Raises:
        CheckpointConflictError: What the checkpoint builds on (a reused
            channel value, a DeltaChannel ancestor) was removed after the run
            read it; nothing was written.
        CheckpointCorruptedError: The parent chain loops (edited by hand).
    """
    thread_id, checkpoint_ns, _ = ids_from_config(config)
    values = checkpoint["channel_values"]
    dumps = ctx.serde.dumps_typed
    typed = {
        channel: dumps(values[channel])
        for channel in new_versions
        if channel in values and channel in checkpoint["channel_versions"]
    }
    lists = ctx.lists
    while True:
        linked: dict[str, Encoded] = {}
        stored = yield from _put(
            ctx, config, checkpoint, metadata, new_versions, typed, linked, now_ms
        )
        if stored or not any(e.chain for e in linked.values()):
            break
        # A base is gone: forget what this saver remembers of those channels.
        for channel in linked:
            if lists is not None:
                lists.forget((thread_id, checkpoint_ns, channel))
        ctx = dataclasses.replace(ctx, lists=None)
    if lists is not None:
        for channel, encoded in linked.items():
            lists.remember((thread_id, checkpoint_ns, channel), encoded.remember)
    return make_config(thread_id, checkpoint_ns, checkpoint["id"])


def _put(
    ctx: Context,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    typed: Mapping[str, tuple[str, bytes]],
    linked: dict[str, Encoded],
    now_ms: int | None,
) -> Flow[bool]:
    """One put script call; False when a list-link base was gone (nothing
    written). Fills `linked` with the list values it encoded."""
    thread_id, checkpoint_ns, parent_id = ids_from_config(config)
    cid = checkpoint["id"]
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    values = checkpoint["channel_values"]

    new_blobs: list[tuple[str, bytes]] = []
    kept_blobs: list[str] = []
    suffixes: list[str] = []
    bases: dict[str, None] = {}  # ordered set of list-link bases
    kept_lists = False  # a reused value that may be a list link
    for channel, version in checkpoint["channel_versions"].items():
        # A channel without a value (empty, or a DeltaChannel between
        # snapshots) has no blob; readers treat it as absent.
        if channel not in values:
            continue
        suffix = blob_suffix(channel, version)
        suffixes.append(suffix)
        if channel not in new_versions:
            kept_blobs.append(ns.blob_prefix + suffix)
            kept_lists = kept_lists or isinstance(values[channel], list)
            continue
        value = typed[channel]
        encoded = None
        if ctx.lists is not None:
            encoded = ctx.lists.encode((thread_id, checkpoint_ns, channel), suffix, *value)
        if encoded is not None:
            linked[channel] = encoded
            bases.update(dict.fromkeys(encoded.chain))
        if encoded is not None and encoded.chain:
            stored = pack_link(value[0], encoded.stored, ctx.compress_min)
        else:
            stored = pack_typed(value, ctx.compress_min)
        new_blobs.append((ns.blob_prefix + suffix, stored))
    # Link bases come after every channel value: a channel's first suffix in
    # the list is its value (lib.lua `blob_of` and put.lua rely on it).
    own = set(suffixes)
    base_suffixes = [s for s in bases if s not in own]

    md, md_json = dump_metadata(config, metadata)
    indexed = indexed_values(ctx, md)
    run_id = md.get("run_id")
    fields = record_fields(
        serde=ctx.serde,
        checkpoint=checkpoint,
        metadata_json=md_json,
        blob_suffixes=suffixes + base_suffixes,
        thread_id=thread_id,
        checkpoint_ns=checkpoint_ns,
        parent_id=parent_id,
        run=None if run_id is None else str(run_id),
        indexed=indexed,
        chained=bool(base_suffixes),
    )
    indexes = index_commands(
        ctx, thread_id, md, [run_member(thread_id, checkpoint_ns, cid)], now_ms, indexed
    )
    put = calls.put(
        ns,
        checkpoint_id=cid,
        checkpoint_ns=checkpoint_ns,
        parent_id=parent_id,
        ttl_ms=ctx.ttl_ms,
        fields=fields,
        new_blobs=new_blobs,
        kept_blobs=kept_blobs,
        delta_channels=_delta_channels_to_walk(metadata, values),
        index_commands=() if ctx.keys.cluster else indexes,
        base_blobs=[ns.blob_prefix + s for s in base_suffixes],
        inherit_bases=kept_lists,
    )
    batch = Batch([put])
    if ctx.max_checkpoints:
        batch.commands.append(drop_call(ns, checkpoint_ns, "cap", count=ctx.max_checkpoints))
    if ctx.keys.cluster:
        # Advisory: an error there must not fail a put whose checkpoint is stored.
        batch.commands += indexes
        batch.tolerate = frozenset(range(len(batch.commands) - len(indexes), len(batch.commands)))
    replies = yield batch
    if replies[0][0] == 0:
        return False
    index_errors = [*replies[0][1], *(r for r in replies if isinstance(r, Exception))]
    if index_errors:
        _warn_index(ctx, index_errors)
    if ctx.max_checkpoints and replies[1][1]:
        # The cap removed older checkpoints (every quarter of the cap, not on
        # every put): take them out of their runs' index sets too.
        yield Batch(unindex_runs(ctx, thread_id, checkpoint_ns, replies[1][1]))
    return True


def _warn_index(ctx: Context, errors: Sequence[Any]) -> None:
    text = "; ".join(
        (e.decode(errors="replace") if isinstance(e, bytes) else str(e))[:200] for e in errors[:3]
    )
    warnings.warn(
        f"the checkpoint was stored, but a cross-session index under "
        f"{ctx.keys.prefix!r} could not be updated ({text}). The key holds something "
        f"the saver did not write: delete it (redis-cli DEL <key>) and the next writes "
        f"rebuild it; until then list_sessions() and list(None) miss sessions.",
        IndexWarning,
        stacklevel=4,
    )


def unindex_runs(
    ctx: Context, thread_id: str, checkpoint_ns: str, runs: Sequence[bytes]
) -> list[Command]:
    """``SREM`` commands for deleted checkpoints, from ``{run_id, id, ...}`` pairs
    as lua/drop.lua returns them: a run set left with no live checkpoint is gone."""
    members: dict[str, list[bytes]] = {}
    for i in range(0, len(runs) - 1, 2):
        member = run_member(thread_id, checkpoint_ns, runs[i + 1].decode())
        members.setdefault(runs[i].decode(), []).append(member)
    return [("SREM", ctx.keys.run(run_id), *m) for run_id, m in members.items()]


def drop_call(
    ns: NamespaceKeys, checkpoint_ns: str, mode: str, ids: Sequence[str] = (), count: int = 0
) -> Call:
    """Delta-safe removal of checkpoints of one namespace (see lua/drop.lua)."""
    return calls.drop(ns, checkpoint_ns, mode, ids=ids, count=count)


def indexed_values(ctx: Context, metadata: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (key, value) sessions indexes a checkpoint with `metadata` joins:
    values are strings, spelled once here, and stored in the record as such."""
    return [
        (key, str(metadata[key]))
        for key in ctx.session_index_keys
        if isinstance(metadata.get(key), (str, int, float)) and not isinstance(metadata[key], bool)
    ]


def index_commands(
    ctx: Context,
    thread_id: str,
    metadata: Mapping[str, Any],
    run_members: Sequence[bytes],
    now_ms: int | None = None,
    indexed: Sequence[tuple[str, str]] | None = None,
) -> list[tuple[Any, ...]]:
    """Commands that keep the cross-session indexes current.

    They run outside the per-session script: in a cluster the indexes live in
    other slots. The indexes are advisory (readers check that a session still
    exists, and drop entries that have expired), so they need not change
    atomically with the checkpoint. Expired entries are trimmed by score on a
    random sample of writes (`TRIM_SAMPLE`) and by `list_sessions`, so an
    index stays close to the sessions of one TTL window.
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if indexed is None:
        indexed = indexed_values(ctx, metadata)
    indexes = [ctx.keys.sessions] + [ctx.keys.sessions_by(k, v) for k, v in indexed]
    cmds: list[tuple[Any, ...]] = []
    trim = ctx.ttl_ms and random.random() < TRIM_SAMPLE
    for index in indexes:
        cmds.append(("ZADD", index, now, thread_id))
        if ctx.ttl_ms:
            # An index outlives its newest session by at most the TTL, so an
            # index whose sessions all expired does not stay behind.
            cmds.append(("PEXPIRE", index, ctx.ttl_ms))
        if trim:
            cmds.append(("ZREMRANGEBYSCORE", index, "-inf", f"({now - ctx.ttl_ms}"))
    run_id = metadata.get("run_id")
    if run_id is not None and run_members:
        cmds.append(("SADD", ctx.keys.run(str(run_id)), *run_members))
        if ctx.ttl_ms:
            cmds.append(("PEXPIRE", ctx.keys.run(str(run_id)), ctx.ttl_ms))
    return cmds


# -- put_writes ---------------------------------------------------------------


def put_writes_flow(
    ctx: Context,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str = "",
) -> Flow[None]:
    """Store a task's pending writes for one checkpoint; one round trip."""
    from langgraph.checkpoint.base import WRITES_IDX_MAP

    thread_id, checkpoint_ns, cid = ids_from_config(config)
    if cid is None:
        raise ConfigurationError("put_writes needs a config with a 'checkpoint_id'")
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    entries: list[tuple[Any, Any, str]] = []
    dumps = ctx.serde.dumps_typed
    for idx, (channel, value) in enumerate(writes):
        widx = WRITES_IDX_MAP.get(channel, idx)
        typ, data = dumps(value)
        entries.append(
            (
                msgpack.packb((task_id, widx)),
                msgpack.packb((task_id, channel, typ, data, task_path, widx), use_bin_type=True),
                "set" if widx < 0 else "nx",
            )
        )
    yield Batch([calls.put_writes(ns, cid, ttl_ms=ctx.ttl_ms, entries=entries)])


# -- reads --------------------------------------------------------------------


def entry(
    ctx: Context, thread_id: str, checkpoint_ns: str, reply: Sequence[Any]
) -> CheckpointTuple:
    """One checkpoint as the scripts return it, as a `CheckpointTuple`
    (see `_records.parse_entry`)."""
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    return parse_entry(ctx.serde, ns, thread_id, checkpoint_ns, reply)


def get_tuple_flow(ctx: Context, config: RunnableConfig) -> Flow[CheckpointTuple | None]:
    """One checkpoint (by id, or the newest of its namespace); one round trip."""
    thread_id, checkpoint_ns, cid = ids_from_config(config)
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    (reply,) = yield Batch([calls.get(ns, cid, refresh_ttl_ms=ctx.read_ttl)])
    if not reply:
        return None
    return entry(ctx, thread_id, checkpoint_ns, reply)


def _list_call(
    ctx: Context,
    ns: NamespaceKeys,
    before: str | None,
    limit: int,
    filter_json: str,
    exact_id: str | None,
) -> Call:
    return calls.list_page(
        ns, before_id=before, limit=limit, filter_json=filter_json, exact_id=exact_id
    )


def _filter_json(filter: Mapping[str, Any] | None) -> str:
    if not filter:
        return ""
    try:
        return json.dumps(dict(filter), separators=(",", ":"), ensure_ascii=False)
    except TypeError as exc:
        raise ConfigurationError(
            f"list(filter=...) values must be JSON-like (str, int, float, bool, None, "
            f"list, dict); got {filter!r:.100}"
        ) from exc


def list_flow(
    ctx: Context,
    config: RunnableConfig | None,
    *,
    filter: Mapping[str, Any] | None = None,
    before: RunnableConfig | None = None,
    limit: int | None = None,
) -> Flow[None]:
    """Emit matching checkpoints, newest first.

    One namespace: one round trip per page (a single page when `limit` is
    set). All namespaces of a session: one round trip for the namespace set
    and one for the pages. ``config=None``: sessions come from the
    cross-session index, newest first, a page of sessions at a time.
    """
    if limit is not None and limit <= 0:
        return
    before_id = ((before or {}).get("configurable") or {}).get("checkpoint_id")
    fjson = _filter_json(filter)
    remaining = limit
    if config is None:
        start = 0
        while True:
            (ids,) = yield Batch(
                [("ZREVRANGE", ctx.keys.sessions, start, start + SESSIONS_PAGE - 1)]
            )
            for raw in ids:
                emitted = yield from _skip_damaged(
                    raw,
                    lambda t, left=remaining: _list_thread(  # type: ignore[misc]
                        ctx, t, None, None, before_id, fjson, left, tolerant=True
                    ),
                )
                if remaining is not None:
                    remaining -= emitted
                    if remaining <= 0:
                        return
            if len(ids) < SESSIONS_PAGE:
                return
            start += SESSIONS_PAGE
    thread_id, _, exact_id = ids_from_config(config)
    configurable = config.get("configurable") or {}
    checkpoint_ns = configurable.get("checkpoint_ns")
    yield from _list_thread(ctx, thread_id, checkpoint_ns, exact_id, before_id, fjson, remaining)


def _skip_damaged(raw_id: bytes, flow: Callable[[str], Flow[int]]) -> Flow[int]:
    """Run one session's part of ``list(None)``; a session that cannot be read
    is skipped with a `SkippedSessionWarning` naming it, so one damaged
    session does not hide every other."""
    try:
        thread_id = raw_id.decode()
    except UnicodeDecodeError:
        warnings.warn(f"list(None): {stray_entry(raw_id)}", SkippedSessionWarning, stacklevel=4)
        return 0
    try:
        return (yield from flow(thread_id))
    except RedisSaverError as exc:
        warnings.warn(
            f"list(None) skipped session {thread_id!r:.120}: {exc!s:.300}. Inspect it with "
            f"`lgrs show {thread_id!r:.120}` or remove it with delete_thread().",
            SkippedSessionWarning,
            stacklevel=4,
        )
        return 0


def _checked(replies: Sequence[Any], thread_id: str) -> Sequence[Any]:
    """`replies` of a tolerant batch, raising the first error as damage of the session."""
    for reply in replies:
        if isinstance(reply, Exception):
            raise CheckpointCorruptedError(
                f"session {thread_id!r:.120} cannot be read: {reply!s:.300}"
            )
    return replies


def _list_thread(
    ctx: Context,
    thread_id: str,
    checkpoint_ns: str | None,
    exact_id: str | None,
    before_id: str | None,
    fjson: str,
    limit: int | None,
    *,
    tolerant: bool = False,
) -> Flow[int]:
    """Emit one session's checkpoints. `tolerant`: an error reply is raised
    in the flow as `CheckpointCorruptedError` (for `_skip_damaged`)."""
    every = frozenset(range(64)) if tolerant else frozenset()
    if exact_id is not None and before_id is not None and not exact_id < before_id:
        return 0
    if checkpoint_ns is not None:
        namespaces = [checkpoint_ns]
    else:
        ns_keys = ctx.keys.namespace(thread_id, "")
        (members,) = _checked(
            (yield Batch([("SMEMBERS", ns_keys.namespaces)], tolerate=every)), thread_id
        )
        namespaces = sorted({m.decode(errors="replace") for m in members} | {""})
    page = limit if limit is not None else LIST_PAGE
    cursors: dict[str, str | None] = {ns: before_id for ns in namespaces}
    emitted = 0
    while cursors:
        order = list(cursors)
        batch = Batch(
            [
                _list_call(
                    ctx, ctx.keys.namespace(thread_id, ns), cursors[ns], page, fjson, exact_id
                )
                for ns in order
            ]
        )
        if tolerant:
            batch.tolerate = frozenset(range(len(batch.commands)))
        replies = _checked((yield batch), thread_id)
        found: list[CheckpointTuple] = []
        for ns, (entries, cursor) in zip(order, replies, strict=False):
            found += [entry(ctx, thread_id, ns, e) for e in entries]
            if cursor and limit is None:
                cursors[ns] = cursor.decode()
            else:
                del cursors[ns]
        if len(order) > 1:
            found.sort(key=lambda t: t.checkpoint["id"], reverse=True)
        if limit is not None:
            found = found[: limit - emitted]
        emitted += len(found)
        yield Emit(found)
        if limit is not None and emitted >= limit:
            break
    return emitted


# -- delete -------------------------------------------------------------------


def delete_thread_flow(ctx: Context, thread_id: str) -> Flow[None]:
    """Delete every key of one session: two round trips (three when the
    session appears in per-metadata session indexes)."""
    thread_id = str(thread_id)
    root = ctx.keys.namespace(thread_id, "")
    (members,) = yield Batch([("SMEMBERS", root.namespaces)], tolerate=frozenset({0}))
    if isinstance(members, Exception):  # planted by hand: the script deletes it
        members = []
    namespaces = {m.decode() for m in members} | {""}
    groups = sorted(namespaces)
    delete = calls.delete(
        [ctx.keys.namespace(thread_id, ns) for ns in groups],
        namespaces_set=root.namespaces,
        index_keys=ctx.session_index_keys,
    )
    (_, indexed, runs), _ = yield Batch([delete, ("ZREM", ctx.keys.sessions, thread_id)])
    pairs = zip(indexed[::2], indexed[1::2], strict=True)
    cleanup: list[Command] = [
        ("ZREM", ctx.keys.sessions_by(k.decode(), v.decode()), thread_id) for k, v in pairs
    ]
    # The session's id is inside its runs' index members too: remove them, so
    # nothing of a deleted session stays behind.
    by_ns: dict[str, list[bytes]] = {}
    for i in range(0, len(runs) - 2, 3):
        by_ns.setdefault(groups[int(runs[i + 1])], []).extend((runs[i], runs[i + 2]))
    for checkpoint_ns, flat in by_ns.items():
        cleanup += unindex_runs(ctx, thread_id, checkpoint_ns, flat)
    if cleanup:
        yield Batch(cleanup)
