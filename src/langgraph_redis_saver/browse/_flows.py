"""Read flows of the inspector, run by the saver's drivers (``_drive.run_flow``).

Like ``_core`` and ``_admin``, nothing here does I/O: each flow yields
`Batch` es and receives replies, so one listing costs a fixed number of
round trips whatever the number of sessions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from langgraph_redis_saver._core import Context
from langgraph_redis_saver._drive import Batch, Command, Emit, Flow, Scan
from langgraph_redis_saver._records import COUNTED_TYPE, unpack_typed, unpack_value
from langgraph_redis_saver.errors import CheckpointCorruptedError, RedisSaverError
from langgraph_redis_saver.keys import Field, escape
from langgraph_redis_saver.lua import calls

__all__ = [
    "Counts",
    "counts_flow",
    "message_counts_flow",
    "pipeline_flow",
    "scan_flow",
    "sizes_flow",
]

PIPELINE_CHUNK = 2000
"""Commands per pipeline in bulk reads: bounds memory on both ends."""


def pipeline_flow(commands: Sequence[Command], *, tolerate: bool = False) -> Flow[list[Any]]:
    """Run read commands in batches of `PIPELINE_CHUNK` (one round trip per batch).

    With `tolerate`, an error reply comes back as the exception in its place
    (one session's damaged key must not fail a listing) instead of raising.
    """
    replies: list[Any] = []
    for start in range(0, len(commands), PIPELINE_CHUNK):
        chunk = list(commands[start : start + PIPELINE_CHUNK])
        every = frozenset(range(len(chunk))) if tolerate else frozenset()
        replies += yield Batch(chunk, tolerate=every)
    return replies


def _damaged(exc: Exception) -> Exception:
    """A per-session error reply, as the session's error (``WRONGTYPE``: changed by hand)."""
    if "WRONGTYPE" in str(exc):
        return CheckpointCorruptedError(
            "a key of this session holds a value of another type, so it was changed "
            "outside the saver; delete the session or the key"
        )
    return exc


def message_counts_flow(
    ctx: Context, latest: Mapping[str, str | None], channel: str
) -> Flow[dict[str, int | BaseException | None]]:
    """Messages in each session's newest root checkpoint, reading only what that needs.

    One round trip for any number of sessions whose newest checkpoint carries
    `Field.LENGTHS` (written by this package's own serializer, well-formed):
    the count is read from it and nothing is decoded, so listing needs
    neither the serializer nor LangGraph. The others (older records, other
    or encrypting serializers, damaged records) are decoded as before, with a
    second round trip for the one value of `channel` each (with its bases if
    it is a list link). A session without the channel has 0 messages; one
    that cannot be read gets the exception (an `EncryptedSessionError` when it
    is encrypted and there is no key), and one whose checkpoint is gone gets
    None.
    """
    ids = [t for t, cid in latest.items() if cid]
    spaces = {t: ctx.keys.namespace(t, "") for t in ids}
    records = yield from pipeline_flow(
        [
            (
                "HMGET",
                spaces[t].record(str(latest[t])),
                Field.LENGTHS,
                Field.CHECKPOINT,
                Field.BLOBS,
            )
            for t in ids
        ],
        tolerate=True,
    )
    prefix = escape(channel) + ":"
    wanted: dict[str, list[str]] = {}
    counts: dict[str, int | BaseException | None] = dict.fromkeys(latest, None)
    for t, record in zip(ids, records, strict=True):
        if isinstance(record, Exception):
            counts[t] = _damaged(record)
            continue
        raw_lengths, raw_cp, raw_blobs = record
        if raw_cp is None:
            continue
        recorded = _recorded_length(raw_lengths, raw_cp, channel)
        if recorded is not None:
            counts[t] = recorded
            continue
        try:
            ctx.serde.loads_typed(unpack_typed(raw_cp, spaces[t].record(str(latest[t]))))
            suffixes = (raw_blobs or b"").decode().split("\n")
        except (RedisSaverError, RecursionError, UnicodeDecodeError) as exc:
            counts[t] = exc
            continue
        # The channel's value, then the bases of a list link (see _lists).
        mine = [x for x in suffixes if x.startswith(prefix)]
        if not mine:
            counts[t] = 0
        else:
            wanted[t] = mine
    flat = [(t, suffix) for t, mine in wanted.items() for suffix in mine]
    values = yield from pipeline_flow(
        [("GET", spaces[t].blob_prefix + s) for t, s in flat], tolerate=True
    )
    fetched: dict[str, dict[str, bytes | None]] = {}
    for (t, suffix), raw in zip(flat, values, strict=True):
        if isinstance(raw, Exception):
            counts[t] = _damaged(raw)
            continue
        fetched.setdefault(t, {})[suffix] = raw
    for t, mine in wanted.items():
        if isinstance(counts[t], Exception):
            continue
        raw = fetched[t][mine[0]]
        if raw is None:
            continue
        key = spaces[t].blob_prefix + mine[0]
        try:
            value = ctx.serde.loads_typed(unpack_value(raw, key, fetched[t]))
        except (RedisSaverError, RecursionError) as exc:  # nested too deeply counts too
            counts[t] = exc
            continue
        counts[t] = len(value) if isinstance(value, list) else 0
    return counts


def _recorded_length(raw_lengths: bytes | None, raw_cp: bytes, channel: str) -> int | None:
    """`channel`'s length from a record's `Field.LENGTHS`, or None to decode instead.

    Trusted only beside a checkpoint of this package's own serializer that is
    well-formed msgpack (checked without the serializer): a record edited by
    hand, or written by another serializer, is decoded and so reported.
    """
    if raw_lengths is None or not raw_cp.startswith(COUNTED_TYPE.encode() + b"\x00"):
        return None
    try:
        msgpack.unpackb(raw_cp[len(COUNTED_TYPE) + 2 :], strict_map_key=False)
        lengths = json.loads(raw_lengths)
    except (ValueError, RecursionError, msgpack.UnpackException):
        return None
    found = lengths.get(channel, 0) if isinstance(lengths, dict) else None
    return found if type(found) is int and found >= 0 else None


def scan_flow(pattern: str, count: int = 1000) -> Flow[None]:
    """Emit every key matching `pattern` (SCAN: administrative views only)."""
    scan = Scan(pattern, count)
    while keys := (yield scan):
        yield Emit(keys)


@dataclass(frozen=True)
class Counts:
    """How much a session holds, counted the one way ``lgrs`` counts everywhere."""

    checkpoints: int
    """Stored checkpoints in every namespace of the session (root and subgraphs)."""
    namespaces: list[str]
    """The session's namespaces, root (``""``) first."""


def counts_flow(ctx: Context, thread_ids: Sequence[str]) -> Flow[dict[str, Counts]]:
    """`Counts` of each session; two round trips for any number of sessions."""
    members = yield from pipeline_flow(
        [("SMEMBERS", ctx.keys.namespace(t, "").namespaces) for t in thread_ids], tolerate=True
    )
    spaces = {
        t: sorted({m.decode() for m in _ok(reply, set())} | {""})
        for t, reply in zip(thread_ids, members, strict=True)
    }
    pairs = [(t, ns) for t in thread_ids for ns in spaces[t]]
    cards = yield from pipeline_flow(
        [("ZCARD", ctx.keys.namespace(t, ns).timeline) for t, ns in pairs], tolerate=True
    )
    total = dict.fromkeys(thread_ids, 0)
    for (t, _), n in zip(pairs, cards, strict=True):
        total[t] += int(_ok(n, 0))
    return {t: Counts(checkpoints=total[t], namespaces=spaces[t]) for t in thread_ids}


@dataclass(frozen=True)
class Size:
    """What one session takes in Redis (`sizes_flow`)."""

    keys: int
    """Live keys the session's indexes name."""
    bytes: int | None
    """Their ``MEMORY USAGE`` sum; None when the user may not run ``MEMORY``."""
    checkpoints: int
    """Stored checkpoints in every namespace (the `Counts.checkpoints` definition)."""


def sizes_flow(ctx: Context, thread_ids: Sequence[str]) -> Flow[dict[str, Size | BaseException]]:
    """`Size` of each session; two round trips for any number of sessions.

    A session whose walk fails (a key of the wrong type) gets the error.

    The namespaces of each session, then one lua/sizes.lua call per session
    (pipelined) that walks its keys and sums ``MEMORY USAGE`` server-side:
    a listing sends two commands per session, not one per key.
    """
    members = yield from pipeline_flow(
        [("SMEMBERS", ctx.keys.namespace(t, "").namespaces) for t in thread_ids], tolerate=True
    )
    calls_: list[Command] = []
    for t, reply in zip(thread_ids, members, strict=True):
        spaces = sorted({m.decode() for m in _ok(reply, set())} | {""})
        nks = [ctx.keys.namespace(t, ns) for ns in spaces]
        calls_.append(calls.sizes(nks, namespaces_set=nks[0].namespaces))
    replies = yield from pipeline_flow(calls_, tolerate=True)
    sizes: dict[str, Size | BaseException] = {}
    for t, reply in zip(thread_ids, replies, strict=True):
        if isinstance(reply, BaseException):
            sizes[t] = reply  # one damaged session hides no other
            continue
        n, b, c = reply
        sizes[t] = Size(keys=int(n), bytes=None if b < 0 else int(b), checkpoints=int(c))
    return sizes


def _ok(reply: Any, default: Any) -> Any:
    return default if reply is None or isinstance(reply, Exception) else reply
