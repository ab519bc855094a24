"""Read flows of the inspector, run by the saver's drivers (``_drive.run_flow``).

Like ``_core`` and ``_admin``, nothing here does I/O: each flow yields
`Batch` es and receives replies, so one listing costs a fixed number of
round trips whatever the number of sessions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph_redis_saver._core import Context
from langgraph_redis_saver._drive import Batch, Command, Emit, Flow, Scan
from langgraph_redis_saver._records import unpack_typed, unpack_value
from langgraph_redis_saver.errors import RedisSaverError
from langgraph_redis_saver.keys import escape

__all__ = [
    "Counts",
    "counts_flow",
    "message_counts_flow",
    "pipeline_flow",
    "scan_flow",
]

PIPELINE_CHUNK = 2000
"""Commands per pipeline in bulk reads: bounds memory on both ends."""


def pipeline_flow(commands: Sequence[Command]) -> Flow[list[Any]]:
    """Run read commands in batches of `PIPELINE_CHUNK` (one round trip per batch)."""
    replies: list[Any] = []
    for start in range(0, len(commands), PIPELINE_CHUNK):
        replies += yield Batch(list(commands[start : start + PIPELINE_CHUNK]))
    return replies


def message_counts_flow(
    ctx: Context, latest: Mapping[str, str | None], channel: str
) -> Flow[dict[str, int | BaseException | None]]:
    """Messages in each session's newest root checkpoint, reading only what that needs.

    Two round trips for any number of sessions: each newest checkpoint
    (decoded, so a damaged or unreadable one is caught) with its blob list,
    then the one value of `channel` each (with its bases if it is a list
    link). A session without the channel has 0 messages; one that cannot be
    read gets the exception (an `EncryptedSessionError` when it is encrypted
    and there is no key), and one whose checkpoint is gone gets None.
    """
    ids = [t for t, cid in latest.items() if cid]
    spaces = {t: ctx.keys.namespace(t, "") for t in ids}
    records = yield from pipeline_flow(
        [("HMGET", spaces[t].record(str(latest[t])), "checkpoint", "blobs") for t in ids]
    )
    prefix = escape(channel) + ":"
    wanted: dict[str, list[str]] = {}
    counts: dict[str, int | BaseException | None] = dict.fromkeys(latest, None)
    for t, (raw_cp, raw_blobs) in zip(ids, records, strict=True):
        if raw_cp is None:
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
    values = yield from pipeline_flow([("GET", spaces[t].blob_prefix + s) for t, s in flat])
    fetched: dict[str, dict[str, bytes | None]] = {}
    for (t, suffix), raw in zip(flat, values, strict=True):
        fetched.setdefault(t, {})[suffix] = raw
    for t, mine in wanted.items():
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
        [("SMEMBERS", ctx.keys.namespace(t, "").namespaces) for t in thread_ids]
    )
    spaces = {
        t: sorted({m.decode() for m in _ok(reply, set())} | {""})
        for t, reply in zip(thread_ids, members, strict=True)
    }
    pairs = [(t, ns) for t in thread_ids for ns in spaces[t]]
    cards = yield from pipeline_flow(
        [("ZCARD", ctx.keys.namespace(t, ns).timeline) for t, ns in pairs]
    )
    total = dict.fromkeys(thread_ids, 0)
    for (t, _), n in zip(pairs, cards, strict=True):
        total[t] += int(_ok(n, 0))
    return {t: Counts(checkpoints=total[t], namespaces=spaces[t]) for t in thread_ids}


def _ok(reply: Any, default: Any) -> Any:
    return default if reply is None or isinstance(reply, Exception) else reply
