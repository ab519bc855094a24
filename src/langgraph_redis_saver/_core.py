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
import re
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import msgpack
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
    get_serializable_checkpoint_metadata,
    writes_sort_key,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from . import lua as scripts
from ._drive import Batch, Call, Command, Emit, Flow
from ._lists import LINK, Encoded, ListCache, rebuild
from .errors import (
    CheckpointCorruptedError,
    ConfigurationError,
    RedisSaverError,
    SchemaVersionError,
)
from .keys import KeySchema, NamespaceKeys, blob_suffix, escape

__all__ = [
    "Context",
    "delete_thread_flow",
    "get_tuple_flow",
    "list_flow",
    "next_version",
    "put_flow",
    "put_writes_flow",
]

RECORD_FORMAT = b"1"
RECORD_FORMAT_CHAINS = b"2"  # the record lists list-link bases after its values (_lists)
RECORD_FORMATS = (RECORD_FORMAT, RECORD_FORMAT_CHAINS)
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


def _config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


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


# -- encoding -----------------------------------------------------------------


RAW, ZLIB = b"\x00", b"\x01"  # separator after the type name: how the bytes are stored
ZLINK = b"\x03"  # a list link (LINK, b"\x02"), zlib-compressed
MAX_INFLATED = 256 * 1024 * 1024  # refuse compressed blobs that inflate past this
_SEPARATOR = re.compile(rb"[\x00-\x03]")


def _pack_typed(typed: tuple[str, bytes], compress_min: int = 0) -> bytes:
    """``<type><sep><bytes>``: the stored form of one serialized value.

    With `compress_min`, values at least that large are stored zlib-compressed
    (level 1: cheap, and text-heavy state shrinks several times) when that
    saves space.
    """
    typ, data = typed
    if compress_min and len(data) >= compress_min:
        packed = zlib.compress(data, 1)
        if len(packed) < len(data):
            return typ.encode() + ZLIB + packed
    return typ.encode() + RAW + data


def _pack_link(typ: str, link: bytes, compress_min: int = 0) -> bytes:
    """A list link as stored (``_lists``), zlib-compressed as `_pack_typed` does."""
    body = link[len(typ) + 1 :]
    if compress_min and len(body) >= compress_min:
        packed = zlib.compress(body, 1)
        if len(packed) < len(body):
            return typ.encode() + ZLINK + packed
    return link


def _split_typed(raw: bytes, key: str) -> tuple[str, bytes, bytes]:
    """``(type, separator, rest)`` of a stored value; a compressed link comes
    back inflated, as a `LINK`."""
    # Type names never contain bytes below 0x04, so the first one is the
    # separator: one scan that stops there, not one search per separator.
    found = _SEPARATOR.search(raw)
    if found is None:
        raise CheckpointCorruptedError(f"{key!r} holds a value with no type header")
    cut = found.start()
    typ, sep, rest = raw[:cut].decode(errors="replace"), raw[cut : cut + 1], raw[cut + 1 :]
    if sep == ZLINK:
        return typ, LINK, _inflate(rest, key)
    return typ, sep, rest


def _inflate(data: bytes, key: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED)
    except zlib.error as exc:
        raise CheckpointCorruptedError(f"{key!r} holds a corrupted compressed value") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise CheckpointCorruptedError(
            f"{key!r} holds a compressed value that is truncated or inflates past "
            f"{MAX_INFLATED} bytes"
        )
    return out


def _unpack_typed(raw: bytes, key: str) -> tuple[str, bytes]:
    typ, sep, data = _split_typed(raw, key)
    if sep == LINK:
        raise CheckpointCorruptedError(
            f"{key!r} holds a list link (a new version stored as its base plus new "
            f"items), which is only read with the checkpoint that lists its base"
        )
    if sep == ZLIB:
        data = _inflate(data, key)
    return typ, data


def _unpack_value(raw: bytes, key: str, blobs: Mapping[str, bytes | None]) -> tuple[str, bytes]:
    """A stored channel value; a list link is rebuilt from the bases in `blobs`."""
    typ, sep, rest = _split_typed(raw, key)
    if sep == LINK:
        return rebuild(typ, rest, key, blobs, _split_typed, _unpack_typed)
    return _unpack_typed(raw, key)


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise ConfigurationError(
        f"checkpoint metadata must be JSON-like; got {type(value).__qualname__} "
        f"({value!r:.60}). Put plain str/int/float/bool/list/dict values in metadata."
    )


def _dump_metadata(
    config: RunnableConfig, metadata: CheckpointMetadata
) -> tuple[Mapping[str, Any], bytes]:
    """The metadata LangGraph asks savers to store, and its JSON form."""
    md = get_serializable_checkpoint_metadata(config, metadata)
    text = json.dumps(md, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    return md, text.encode()


def run_member(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> bytes:
    """A member of a run's index set: which checkpoint the run wrote."""
    return cast(bytes, msgpack.packb((thread_id, checkpoint_ns, checkpoint_id)))


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

    A list value that extends the last one stored for its channel is stored
    as a link (see ``_lists``). If a base of a link has gone meanwhile (it
    expired, or a prune removed it), the script writes nothing and the put is
    sent again with full copies: a second round trip, only in that case.
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
        reply = yield from _put(
            ctx, config, checkpoint, metadata, new_versions, typed, linked, now_ms
        )
        if reply != 0 or not any(e.chain for e in linked.values()):
            break
        # A base is gone: forget what this saver remembers of those channels.
        assert lists is not None
        for channel in linked:
            lists.forget((thread_id, checkpoint_ns, channel))
        ctx = dataclasses.replace(ctx, lists=None)
    if lists is not None:
        for channel, encoded in linked.items():
            lists.remember((thread_id, checkpoint_ns, channel), encoded.remember)
    return _config(thread_id, checkpoint_ns, checkpoint["id"])


def _put(
    ctx: Context,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
    typed: Mapping[str, tuple[str, bytes]],
    linked: dict[str, Encoded],
    now_ms: int | None,
) -> Flow[Any]:
    """One put script call; fills `linked` with the list values it encoded."""
    thread_id, checkpoint_ns, parent_id = ids_from_config(config)
    cid = checkpoint["id"]
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    values = checkpoint["channel_values"]

    new_keys: list[str] = []
    new_values: list[bytes] = []
    kept_keys: list[str] = []
    suffixes: list[str] = []
    chain: dict[str, None] = {}  # ordered set of link bases
    for channel, version in checkpoint["channel_versions"].items():
        # A channel without a value (empty, or a DeltaChannel between
        # snapshots) has no blob; readers treat it as absent.
        if channel not in values:
            continue
        suffix = blob_suffix(channel, version)
        suffixes.append(suffix)
        if channel in new_versions:
            new_keys.append(ns.blob_prefix + suffix)
            value = typed[channel]
            encoded = None
            if ctx.lists is not None:
                encoded = ctx.lists.encode((thread_id, checkpoint_ns, channel), suffix, *value)
            if encoded is not None:
                linked[channel] = encoded
                chain.update(dict.fromkeys(encoded.chain))
            if encoded is not None and encoded.chain:
                new_values.append(_pack_link(value[0], encoded.stored, ctx.compress_min))
            else:
                new_values.append(_pack_typed(value, ctx.compress_min))
        else:
            kept_keys.append(ns.blob_prefix + suffix)
    # Link bases come after every channel value: a channel's first suffix in
    # the list is its value (lua/lib.lua `blob_of` relies on it).
    chain_suffixes = [s for s in chain if s not in set(suffixes)]

    record = {k: v for k, v in checkpoint.items() if k != "channel_values"}
    md, md_json = _dump_metadata(config, metadata)
    fields: list[Any] = [
        "v", RECORD_FORMAT_CHAINS if chain_suffixes else RECORD_FORMAT,
        "checkpoint", _pack_typed(ctx.serde.dumps_typed(record)),
        "metadata", md_json,
        "blobs", "\n".join(suffixes + chain_suffixes),
        "thread_id", thread_id,
        "checkpoint_ns", checkpoint_ns,
        "checkpoint_id", cid,
    ]  # fmt: skip
    if parent_id is not None:
        fields += ["parent", parent_id]

    keys = [ns.record(cid), ns.latest, ns.timeline, ns.namespaces, ns.writes(cid)]
    delta = _delta_channels_to_walk(metadata, values)
    args: list[Any] = [
        ctx.ttl_ms, cid, checkpoint_ns, len(new_keys), len(kept_keys), len(delta),
        ns.record_prefix, ns.writes_prefix, ns.blob_prefix, len(fields) // 2,
        *fields, *new_values, *delta,
    ]  # fmt: skip
    indexes = index_commands(
        ctx, thread_id, md, [run_member(thread_id, checkpoint_ns, cid)], now_ms
    )
    if ctx.keys.cluster:
        args.append(0)
    else:
        args.append(len(indexes))
        for cmd in indexes:
            args += [len(cmd), *cmd]
    chain_keys = [ns.blob_prefix + s for s in chain_suffixes]
    batch = Batch([Call(scripts.PUT, [*keys, *new_keys, *kept_keys, *chain_keys], args)])
    if ctx.max_checkpoints:
        batch.commands.append(drop_call(ns, checkpoint_ns, "cap", count=ctx.max_checkpoints))
    if ctx.keys.cluster:
        batch.commands += indexes
    replies = yield batch
    if replies[0] == 0:
        return 0
    if ctx.max_checkpoints and replies[1][1]:
        # The cap removed older checkpoints (every quarter of the cap, not on
        # every put): take them out of their runs' index sets too.
        yield Batch(unindex_runs(ctx, thread_id, checkpoint_ns, replies[1][1]))
    return replies[0]


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
    args = [ns.record_prefix, ns.writes_prefix, ns.blob_prefix, mode, count, checkpoint_ns, *ids]
    return Call(scripts.DROP, [ns.timeline, ns.latest, ns.namespaces], args)


def index_commands(
    ctx: Context,
    thread_id: str,
    metadata: Mapping[str, Any],
    run_members: Sequence[bytes],
    now_ms: int | None = None,
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
    indexes = [ctx.keys.sessions] + [
        ctx.keys.sessions_by(key, metadata[key])
        for key in ctx.session_index_keys
        if isinstance(metadata.get(key), (str, int, float)) and not isinstance(metadata[key], bool)
    ]
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
    thread_id, checkpoint_ns, cid = ids_from_config(config)
    if cid is None:
        raise ConfigurationError("put_writes needs a config with a 'checkpoint_id'")
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    args: list[Any] = [ctx.ttl_ms, ns.blob_prefix, len(writes)]
    dumps = ctx.serde.dumps_typed
    for idx, (channel, value) in enumerate(writes):
        widx = WRITES_IDX_MAP.get(channel, idx)
        typ, data = dumps(value)
        args += [
            msgpack.packb((task_id, widx)),
            msgpack.packb((task_id, channel, typ, data, task_path, widx), use_bin_type=True),
            "set" if widx < 0 else "nx",
        ]
    keys = [ns.writes(cid), ns.record(cid), ns.latest, ns.timeline, ns.namespaces]
    yield Batch([Call(scripts.PUT_WRITES, keys, args)])


# -- reads --------------------------------------------------------------------


def _parse_writes(ctx: Context, raw: Iterable[bytes], key: str) -> list[PendingWrite]:
    rows = []
    for envelope in raw:
        try:
            task_id, channel, typ, data, task_path, idx = msgpack.unpackb(envelope, raw=False)
        except Exception as exc:
            raise CheckpointCorruptedError(f"{key!r} holds a malformed pending write") from exc
        rows.append((writes_sort_key(task_path, task_id, idx), task_id, channel, typ, data))
    rows.sort(key=lambda r: r[0])
    loads = ctx.serde.loads_typed
    return [(task_id, channel, loads((typ, data))) for _, task_id, channel, typ, data in rows]


def parse_entry(
    ctx: Context, thread_id: str, checkpoint_ns: str, reply: Sequence[Any]
) -> CheckpointTuple:
    """Turn one checkpoint as returned by the Lua scripts into a `CheckpointTuple`.

    Raises:
        CheckpointCorruptedError: The stored data is damaged (bytes changed by
            hand or by another tool): never another exception type.
        SerializationError: A stored value does not decode (see the serializer).
    """
    try:
        found = _parse_entry(ctx, thread_id, checkpoint_ns, reply)
        if found.checkpoint.get("id") != found.config["configurable"]["checkpoint_id"]:
            raise ValueError("the record holds another checkpoint's id")
        if not isinstance(found.metadata, dict):
            raise TypeError("the metadata is not a JSON object")
        return found
    except RedisSaverError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise CheckpointCorruptedError(
            f"checkpoint {reply[0] if reply else None!r:.80} of session {thread_id!r} is "
            f"damaged ({type(exc).__name__}: {exc!s:.200}); it was changed outside the saver"
        ) from exc


def _parse_entry(
    ctx: Context, thread_id: str, checkpoint_ns: str, reply: Sequence[Any]
) -> CheckpointTuple:
    raw_id, fmt, raw_checkpoint, raw_metadata, raw_parent, raw_blobs, blob_values, raw_writes = (
        reply
    )
    cid = raw_id.decode()
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    rkey = ns.record(cid)
    check_record_format(fmt, rkey)
    loads = ctx.serde.loads_typed
    checkpoint = cast(Checkpoint, loads(_unpack_typed(raw_checkpoint, rkey)))
    try:
        metadata = json.loads(raw_metadata) if raw_metadata else {}
    except ValueError as exc:
        raise CheckpointCorruptedError(f"{rkey!r} has metadata that is not JSON") from exc

    channel_values: dict[str, Any] = {}
    if raw_blobs:
        by_suffix = {blob_suffix(ch, ver): ch for ch, ver in checkpoint["channel_versions"].items()}
        listed = dict(zip(raw_blobs.decode().split("\n"), blob_values, strict=False))
        channels = {s.split(":", 1)[0] for s in by_suffix}
        for suffix, value in listed.items():
            channel = by_suffix.get(suffix)
            if channel is None and fmt == RECORD_FORMAT_CHAINS:
                # A base of a list link: read through its link, checked there.
                if suffix.split(":", 1)[0] in channels:
                    continue
            if value is None:
                raise CheckpointCorruptedError(
                    f"checkpoint {cid!r} of session {thread_id!r} lists the channel value "
                    f"{ns.blob_prefix + suffix!r}, which is missing from Redis. It was "
                    f"deleted by hand or evicted: run `lgrs doctor`, and set "
                    f"maxmemory-policy to 'noeviction' (every saver key has a TTL, so "
                    f"'volatile-*' policies evict them too)."
                )
            if channel is None:
                raise CheckpointCorruptedError(f"{rkey!r} lists an unknown blob {suffix!r}")
            channel_values[channel] = loads(_unpack_value(value, ns.blob_prefix + suffix, listed))
    checkpoint["channel_values"] = channel_values

    return CheckpointTuple(
        config=_config(thread_id, checkpoint_ns, cid),
        checkpoint=checkpoint,
        metadata=cast(CheckpointMetadata, metadata),
        parent_config=(
            _config(thread_id, checkpoint_ns, raw_parent.decode()) if raw_parent else None
        ),
        pending_writes=_parse_writes(ctx, raw_writes, ns.writes(cid)),
    )


def _get_call(ctx: Context, ns: NamespaceKeys, checkpoint_id: str | None) -> Call:
    return Call(
        scripts.GET,
        [ns.latest, ns.timeline],
        [
            checkpoint_id or "",
            ns.record_prefix,
            ns.writes_prefix,
            ns.blob_prefix,
            ctx.read_ttl,
        ],
    )


def get_tuple_flow(ctx: Context, config: RunnableConfig) -> Flow[CheckpointTuple | None]:
    """One checkpoint (by id, or the newest of its namespace); one round trip."""
    thread_id, checkpoint_ns, cid = ids_from_config(config)
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    (reply,) = yield Batch([_get_call(ctx, ns, cid)])
    if not reply:
        return None
    return parse_entry(ctx, thread_id, checkpoint_ns, reply)


def _list_call(
    ctx: Context,
    ns: NamespaceKeys,
    before: str | None,
    limit: int,
    filter_json: str,
    exact_id: str | None,
) -> Call:
    args = [
        ns.record_prefix, ns.writes_prefix, ns.blob_prefix,
        before or "", limit, filter_json, exact_id or "",
    ]  # fmt: skip
    return Call(scripts.LIST, [ns.timeline], args)


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
                emitted = yield from _list_thread(
                    ctx, raw.decode(), None, None, before_id, fjson, remaining
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


def _list_thread(
    ctx: Context,
    thread_id: str,
    checkpoint_ns: str | None,
    exact_id: str | None,
    before_id: str | None,
    fjson: str,
    limit: int | None,
) -> Flow[int]:
    if exact_id is not None and before_id is not None and not exact_id < before_id:
        return 0
    if checkpoint_ns is not None:
        namespaces = [checkpoint_ns]
    else:
        ns_keys = ctx.keys.namespace(thread_id, "")
        (members,) = yield Batch([("SMEMBERS", ns_keys.namespaces)])
        namespaces = sorted({m.decode() for m in members} | {""})
    page = limit if limit is not None else LIST_PAGE
    cursors: dict[str, str | None] = {ns: before_id for ns in namespaces}
    emitted = 0
    while cursors:
        order = list(cursors)
        replies = yield Batch(
            [
                _list_call(
                    ctx, ctx.keys.namespace(thread_id, ns), cursors[ns], page, fjson, exact_id
                )
                for ns in order
            ]
        )
        found: list[CheckpointTuple] = []
        for ns, (entries, cursor) in zip(order, replies, strict=False):
            found += [parse_entry(ctx, thread_id, ns, e) for e in entries]
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
    (members,) = yield Batch([("SMEMBERS", root.namespaces)])
    namespaces = {m.decode() for m in members} | {""}
    args: list[Any] = [len(namespaces)]
    for checkpoint_ns in sorted(namespaces):
        ns = ctx.keys.namespace(thread_id, checkpoint_ns)
        args += [ns.record_prefix, ns.writes_prefix, ns.blob_prefix, ns.timeline]
    args += ctx.session_index_keys
    (_, indexed, runs), _ = yield Batch(
        [
            Call(scripts.DELETE, [root.namespaces], args),
            ("ZREM", ctx.keys.sessions, thread_id),
        ]
    )
    pairs = zip(indexed[::2], indexed[1::2], strict=True)
    cleanup: list[Command] = [
        ("ZREM", ctx.keys.sessions_by(k.decode(), v.decode()), thread_id) for k, v in pairs
    ]
    # The session's id is inside its runs' index members too: remove them, so
    # nothing of a deleted session stays behind.
    groups = sorted(namespaces)
    by_ns: dict[str, list[bytes]] = {}
    for i in range(0, len(runs) - 2, 3):
        by_ns.setdefault(groups[int(runs[i + 1])], []).extend((runs[i], runs[i + 2]))
    for checkpoint_ns, flat in by_ns.items():
        cleanup += unindex_runs(ctx, thread_id, checkpoint_ns, flat)
    if cleanup:
        yield Batch(cleanup)


def check_record_format(version: bytes | None, key: str) -> None:
    """Refuse records written by a newer, incompatible layout."""
    if version is not None and version not in RECORD_FORMATS:
        raise SchemaVersionError(
            f"{key!r} uses record format {version.decode(errors='replace')!r}; this "
            f"version of langgraph-redis-saver reads formats "
            f"{', '.join(repr(f.decode()) for f in RECORD_FORMATS)}. "
            f"Upgrade: pip install -U langgraph-redis-saver"
        )
