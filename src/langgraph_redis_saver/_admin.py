"""Flows beyond put/get/list: history walks, pruning, copies, sessions.

Like ``_core``, nothing here does I/O: each function is a flow that the
saver runs with the sync or the async driver.
"""

from __future__ import annotations

import json
import time
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import msgpack

from ._core import (
    Context,
    delete_thread_flow,
    drop_call,
    ids_from_config,
    index_commands,
    unindex_runs,
)
from ._drive import Batch, Command, Flow, Scan
from ._records import (
    blob_list,
    load_at,
    missing_value,
    parse_writes,
    run_member,
    stray_entry,
    unpack_value,
)
from .errors import ConfigurationError, SkippedSessionWarning
from .keys import Field, escape
from .lua import calls

# LangGraph and langchain-core are imported where used: `lgrs sessions` loads
# neither (tests/cli/test_sessions_fast.py).
if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import DeltaChannelHistory, PendingWrite

__all__ = [
    "SessionInfo",
    "clear_all_flow",
    "copy_thread_flow",
    "delete_for_runs_flow",
    "delta_history_flow",
    "list_sessions_flow",
    "prune_flow",
    "raw_pairs",
    "session_info",
]

PRUNE_STRATEGIES = ("keep_latest", "delete")


# -- DeltaChannel history -------------------------------------------------------


def delta_history_flow(
    ctx: Context, config: RunnableConfig, channels: Sequence[str]
) -> Flow[dict[str, DeltaChannelHistory]]:
    """Writes and seed per channel along the parent chain; one round trip.

    Same contract as ``BaseCheckpointSaver.get_delta_channel_history``: each
    channel's walk stops at the nearest ancestor that stores a value for it
    (the seed); writes are returned oldest first, in ``writes_sort_key``
    order within a checkpoint, excluding the target's own writes.
    """
    if not channels:
        return {}
    thread_id, checkpoint_ns, cid = ids_from_config(config)
    ns = ctx.keys.namespace(thread_id, checkpoint_ns)
    by_escaped = {escape(ch): ch for ch in channels}
    (ancestors,) = yield Batch([calls.delta(ns, cid, list(by_escaped))])

    collected: dict[str, list[PendingWrite]] = {ch: [] for ch in channels}
    seeds: dict[str, Any] = {}
    remaining = set(channels)
    for raw_id, raw_writes, raw_seeds in ancestors:
        key = ns.writes(raw_id.decode())
        for write in reversed(parse_writes(ctx.serde, raw_writes, key)):
            if write[1] in remaining:
                collected[write[1]].append(write)
        for i in range(0, len(raw_seeds), 2):
            channel = by_escaped[raw_seeds[i].decode()]
            # The seed's blob, then the bases of a list link: a list channel
            # stored (as links) before it became a DeltaChannel.
            found = raw_seeds[i + 1]
            blobs = {found[j].decode(): found[j + 1] for j in range(0, len(found), 2)}
            key, raw = ns.blob_prefix + found[0].decode(), found[1]
            if raw is None:  # else the value would silently restart from empty
                raise missing_value(raw_id.decode(), thread_id, key)
            seeds[channel] = load_at(ctx.serde, unpack_value(raw, key, blobs), key)
            remaining.discard(channel)
    result: dict[str, DeltaChannelHistory] = {}
    for ch in channels:
        entry: DeltaChannelHistory = {"writes": collected[ch][::-1]}
        if ch in seeds:
            entry["seed"] = seeds[ch]
        result[ch] = entry
    return result


# -- pruning and deletion ---------------------------------------------------------


def _namespaces_of(ctx: Context, thread_ids: Sequence[str]) -> Flow[dict[str, list[str]]]:
    """Every namespace of each thread (root included); one round trip."""
    replies = yield Batch([("SMEMBERS", ctx.keys.namespace(t, "").namespaces) for t in thread_ids])
    return {
        t: sorted({m.decode() for m in members} | {""})
        for t, members in zip(thread_ids, replies, strict=True)
    }


def prune_flow(ctx: Context, thread_ids: Sequence[str], strategy: str) -> Flow[None]:
    """``keep_latest``: the newest checkpoint per namespace, plus any ancestor
    its DeltaChannels still need (hidden from listings). ``delete``: all."""
    if strategy not in PRUNE_STRATEGIES:
        raise ConfigurationError(
            f"unknown prune strategy {strategy!r}; use one of {', '.join(PRUNE_STRATEGIES)}"
        )
    threads = [str(t) for t in dict.fromkeys(thread_ids)]
    if not threads:
        return
    if strategy == "delete":
        for thread_id in threads:
            yield from delete_thread_flow(ctx, thread_id)
        return
    namespaces = yield from _namespaces_of(ctx, threads)
    places = [(t, ns) for t, nss in namespaces.items() for ns in nss]
    replies = yield Batch(
        [drop_call(ctx.keys.namespace(t, ns), ns, "keep_latest") for t, ns in places]
    )
    yield from _unindex_dropped(ctx, places, replies)


def _unindex_dropped(
    ctx: Context, places: Sequence[tuple[str, str]], replies: Sequence[Any]
) -> Flow[None]:
    """Take checkpoints that lua/drop.lua deleted out of their runs' index sets,
    and a session whose root namespace it emptied out of the sessions index."""
    cleanup: list[Command] = []
    for (thread_id, ns), (_, runs, emptied) in zip(places, replies, strict=False):
        cleanup += unindex_runs(ctx, thread_id, ns, runs)
        if ns == "" and emptied:
            # Per-metadata indexes drop it lazily: list_sessions checks `latest`.
            cleanup.append(("ZREM", ctx.keys.sessions, thread_id))
    if cleanup:
        yield Batch(cleanup)


def delete_for_runs_flow(ctx: Context, run_ids: Sequence[str]) -> Flow[None]:
    """Delete the checkpoints (and their writes) that the given runs wrote.

    Checkpoints that a surviving checkpoint's DeltaChannel history depends on
    are hidden rather than deleted, so surviving state stays reconstructible.
    """
    runs = [str(r) for r in dict.fromkeys(run_ids)]
    if not runs:
        return
    replies = yield Batch([("SMEMBERS", ctx.keys.run(r)) for r in runs])
    targets: dict[tuple[str, str], list[str]] = defaultdict(list)
    for members in replies:
        for member in members:
            thread_id, checkpoint_ns, cid = msgpack.unpackb(member)
            targets[(thread_id, checkpoint_ns)].append(cid)
    places = list(targets)
    batch = Batch(
        [
            drop_call(ctx.keys.namespace(t, ns), ns, "ids", ids=sorted(set(targets[(t, ns)])))
            for t, ns in places
        ]
    )
    batch.commands += [("DEL", ctx.keys.run(r)) for r in runs]
    replies = yield batch
    # Hidden ancestors that could now go may belong to other runs.
    yield from _unindex_dropped(ctx, places, replies)


# -- copy --------------------------------------------------------------------------


def copy_thread_flow(ctx: Context, source: str, target: str) -> Flow[None]:
    """Copy every namespace, checkpoint, write and blob of `source` to `target`.

    The complete parent chain is copied (hidden ancestors included), so
    DeltaChannel state of the copy reconstructs exactly as the source's.
    Keys are read with type-specific commands rather than DUMP/RESTORE, which
    managed services often disable. The target's keys are written in one
    MULTI/EXEC, so readers and crashes see all of the copy or none of it.
    """
    source, target = str(source), str(target)
    namespaces = (yield from _namespaces_of(ctx, [source]))[source]
    src = {ns: ctx.keys.namespace(source, ns) for ns in namespaces}
    timelines = yield Batch([("ZRANGE", src[ns].timeline, 0, -1) for ns in namespaces])
    ids = {ns: [i.decode() for i in tl] for ns, tl in zip(namespaces, timelines, strict=True)}
    reads: list[tuple[str, str, str]] = []
    commands: list[Command] = []
    for ns in namespaces:
        for cid in ids[ns]:
            reads += [(ns, cid, "record"), (ns, cid, "writes")]
            commands += [("HGETALL", src[ns].record(cid)), ("HGETALL", src[ns].writes(cid))]
    replies = yield Batch(commands)
    records: dict[tuple[str, str], dict[bytes, bytes]] = {}
    writes: dict[tuple[str, str], dict[bytes, bytes]] = {}
    for (ns, cid, kind), reply in zip(reads, replies, strict=True):
        if reply:
            (records if kind == "record" else writes)[(ns, cid)] = reply
    blobs = Field.BLOBS.encode()
    suffixes = sorted(
        {(ns, s) for (ns, _), rec in records.items() for s in blob_list(rec.get(blobs))}
    )
    blob_values = yield Batch([("GET", src[ns].blob_prefix + s) for ns, s in suffixes])

    ttl = ctx.ttl_ms
    dst = {ns: ctx.keys.namespace(target, ns) for ns in namespaces}
    out: list[Command] = []

    def expire(key: str) -> None:
        if ttl:
            out.append(("PEXPIRE", key, ttl))

    for (ns, suffix), value in zip(suffixes, blob_values, strict=True):
        if value is not None:
            out.append(("SET", dst[ns].blob_prefix + suffix, value, *(("PX", ttl) if ttl else ())))
    for (ns, cid), fields in writes.items():
        out.append(("HSET", dst[ns].writes(cid), *_flat(fields)))
        expire(dst[ns].writes(cid))
    runs: dict[str, list[bytes]] = defaultdict(list)
    metadata: Mapping[str, Any] = {}
    md_field, hidden = Field.METADATA.encode(), Field.HIDDEN.encode()
    for (ns, cid), fields in records.items():
        fields = {**fields, Field.THREAD_ID.encode(): target.encode()}
        out += [("DEL", dst[ns].record(cid)), ("HSET", dst[ns].record(cid), *_flat(fields))]
        expire(dst[ns].record(cid))
        # Each copy joins the index set of the run that wrote its original.
        run_id = _json(fields.get(md_field)).get("run_id")
        if run_id is not None:
            runs[str(run_id)].append(run_member(target, ns, cid))
    for ns in namespaces:
        live = [cid for cid in ids[ns] if (ns, cid) in records]
        if not live:
            continue
        out.append(("ZADD", dst[ns].timeline, *[x for cid in live for x in (0, cid)]))
        expire(dst[ns].timeline)
        out.append(("SADD", dst[ns].namespaces, ns))
        expire(dst[ns].namespaces)
    for ns in namespaces:
        visible = [
            cid for cid in ids[ns] if (ns, cid) in records and hidden not in records[(ns, cid)]
        ]
        if visible:
            out.append(("SET", dst[ns].latest, max(visible), *(("PX", ttl) if ttl else ())))
            if ns == "":
                metadata = _json(records[(ns, max(visible))].get(md_field))
    if records:
        # The target's keys change in one MULTI/EXEC (they share one slot): a
        # crash never leaves part of a copy behind. The indexes follow.
        yield Batch(out, transaction=True)
        indexes: list[Command] = [*index_commands(ctx, target, metadata, [])]
        for run_id, members in runs.items():
            indexes.append(("SADD", ctx.keys.run(run_id), *members))
            if ttl:
                indexes.append(("PEXPIRE", ctx.keys.run(run_id), ttl))
        yield Batch(indexes)


def _flat(fields: Mapping[bytes, bytes]) -> list[bytes]:
    return [x for kv in fields.items() for x in kv]


def _json(raw: bytes | None) -> Mapping[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- sessions --------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionInfo:
    """One session (LangGraph thread) as listed by ``list_sessions``."""

    thread_id: str
    updated_at: datetime
    """Time of the last write (UTC)."""
    checkpoint_count: int
    """Checkpoints in the root namespace (subgraph checkpoints not counted)."""
    latest_checkpoint_id: str | None
    ttl: float | None
    """Seconds until the session expires if unused; ``None``: never expires."""
    error: str | None = None
    """Why the session cannot be read. Only the inspector's read-only listing
    (``browse._index``) returns such sessions; `list_sessions` skips them with
    a warning."""


MAX_ID_CHARS = 256
"""Longest checkpoint id a `latest` pointer may hold (LangGraph's are 36)."""


def list_sessions_flow(
    ctx: Context,
    *,
    filter: Mapping[str, Any] | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    page: int = 100,
) -> Flow[list[SessionInfo]]:
    """Sessions newest first, from the sessions index; two round trips a page.

    A session whose keys are gone (expired or deleted) is dropped from the
    index lazily, so the index does not grow forever. A session that cannot
    be read (a key of another type, a `latest` pointer that is missing while
    checkpoints remain, or that holds no checkpoint id) is skipped with a
    `SkippedSessionWarning` naming it, and stays in the index. (The
    inspector lists read-only, through ``browse._index``.)
    """
    if limit is not None and limit <= 0:
        return []
    index = ctx.keys.sessions
    if filter:
        if len(filter) != 1:
            raise ConfigurationError(
                "list_sessions(filter=...) takes one key, e.g. {'user_id': 'u1'}"
            )
        ((key, value),) = filter.items()
        if key not in ctx.session_index_keys:
            raise ConfigurationError(
                f"metadata key {key!r} is not indexed; create the saver with "
                f"session_index_keys=({key!r},) to list sessions by it"
            )
        index = ctx.keys.sessions_by(key, value)
    floor = since.timestamp() * 1000 if since else float("-inf")
    if ctx.ttl_ms:
        floor = max(floor, time.time() * 1000 - ctx.ttl_ms)
    found: list[SessionInfo] = []
    offset = 0
    while limit is None or len(found) < limit:
        (rows,) = yield Batch(
            [("ZREVRANGEBYSCORE", index, "+inf", f"({floor}" if floor != float("-inf") else "-inf",
              "WITHSCORES", "LIMIT", offset, page)]
        )  # fmt: skip
        if not rows:
            break
        pairs = _pairs(rows)
        commands: list[Command] = []
        for thread_id, _ in pairs:
            root = ctx.keys.namespace(thread_id, "")
            commands += [("GET", root.latest), ("ZCARD", root.timeline), ("PTTL", root.latest)]
        # A key of one session holding another type (WRONGTYPE) must not
        # fail the listing of every session: that session is skipped and named.
        every = frozenset(range(len(commands)))
        replies = (yield Batch(commands, tolerate=every)) if commands else []
        gone = []
        for i, (thread_id, score) in enumerate(pairs):
            latest, count, pttl = replies[3 * i : 3 * i + 3]
            if latest is None and count == 0:
                gone.append(thread_id)
                continue
            info = session_info(thread_id, score, latest, count, pttl)
            if info.error is not None:
                _skip_session(thread_id, info.error)
                continue
            found.append(info)
        if gone:
            # Expired or deleted sessions: drop them from the index lazily.
            trim: list[Command] = [("ZREM", index, *gone)]
            if ctx.ttl_ms:
                cutoff = time.time() * 1000 - ctx.ttl_ms
                trim.append(("ZREMRANGEBYSCORE", index, "-inf", f"({cutoff}"))
            yield Batch(trim)
        if len(rows) < page * (1 if isinstance(rows[0], (list, tuple)) else 2):
            break
        offset += page - len(gone)
    return found if limit is None else found[:limit]


def session_info(thread_id: str, score: float, latest: Any, count: Any, pttl: Any) -> SessionInfo:
    """A session from its index score and the replies of ``GET latest``, ``ZCARD
    timeline`` and ``PTTL latest`` (`SessionInfo.error` says why it cannot be read)."""
    checkpoint_id, problem = _latest_id(latest, count)
    return SessionInfo(
        thread_id=thread_id,
        updated_at=datetime.fromtimestamp(score / 1000, tz=timezone.utc),
        checkpoint_count=count if isinstance(count, int) else 0,
        latest_checkpoint_id=checkpoint_id,
        ttl=pttl / 1000 if isinstance(pttl, int) and pttl >= 0 else None,
        error=problem,
    )


def _latest_id(latest: Any, count: Any) -> tuple[str | None, str | None]:
    """A session's `latest` pointer as ``(checkpoint id, None)``, or ``(None, why not)``.

    `latest` and `count` are the replies of ``GET latest`` and ``ZCARD
    timeline``: an exception (a key of another type) or what Redis returned.
    Every stored byte is attacker-controlled: a pointer that is not UTF-8 or
    not an id is that session's problem, never the whole listing's.
    """
    for reply, key in ((latest, "`latest` pointer"), (count, "root timeline")):
        if isinstance(reply, Exception):
            return None, f"its {key} key holds another type of value ({reply!s:.80})"
    if latest is None:
        return None, (
            f"its `latest` pointer is missing while {count} root checkpoint"
            f"{'s' if count != 1 else ''} remain"
        )
    try:
        text = latest.decode()
    except UnicodeDecodeError:
        return None, "its `latest` pointer is not UTF-8 text (not written by the saver)"
    if not text or len(text) > MAX_ID_CHARS or not text.isprintable():
        return None, "its `latest` pointer holds no checkpoint id (not written by the saver)"
    return text, None


def _skip_session(thread_id: str, error: str) -> None:
    warnings.warn(
        f"list_sessions skipped session {thread_id!r:.120}: {error:.200}. One of its "
        f"keys holds a value the saver did not write; inspect it with `lgrs show "
        f"{thread_id!r:.120}` or remove it with delete_thread().",
        SkippedSessionWarning,
        stacklevel=5,
    )


def raw_pairs(rows: Sequence[Any]) -> list[tuple[bytes, float]]:
    """``ZRANGE ... WITHSCORES`` replies as (member, score), RESP2 or RESP3."""
    if not rows or not isinstance(rows[0], (list, tuple)):
        rows = [(rows[i], rows[i + 1]) for i in range(0, len(rows), 2)]
    return [(member, float(score)) for member, score in rows]


def _pairs(rows: Sequence[Any]) -> list[tuple[str, float]]:
    """`raw_pairs` with members as str.

    A member that is not UTF-8 was not written by the saver (thread ids are
    str): it is skipped with a `SkippedSessionWarning` rather than failing
    the whole listing.
    """
    pairs = []
    for member, score in raw_pairs(rows):
        try:
            pairs.append((member.decode(), score))
        except UnicodeDecodeError:
            warnings.warn(
                f"list_sessions: {stray_entry(member)}", SkippedSessionWarning, stacklevel=5
            )
    return pairs


def clear_all_flow(ctx: Context, batch: int = 500) -> Flow[int]:
    """Delete every key under the prefix, a SCAN batch at a time (UNLINK)."""
    scan = Scan(ctx.keys.prefix_pattern(), batch)
    deleted = 0
    while keys := (yield scan):
        # One UNLINK per key: in a cluster the keys of a batch span slots.
        replies = yield Batch([("UNLINK", k) for k in keys])
        deleted += sum(int(r) for r in replies)
    return deleted
