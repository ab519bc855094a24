"""Read flows of the inspector, run by the saver's drivers (``_drive.run_flow``).

Like ``_core`` and ``_admin``, nothing here does I/O: each flow yields
`Batch` es and receives replies, so one listing costs a fixed number of
round trips whatever the number of sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple

from langgraph_redis_saver._core import Context, get_tuple_flow
from langgraph_redis_saver._drive import Batch, Command, Emit, Flow, Scan
from langgraph_redis_saver.errors import RedisSaverError

__all__ = [
    "Counts",
    "counts_flow",
    "found_or_none",
    "gather",
    "latest_flow",
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


def scan_flow(pattern: str, count: int = 1000) -> Flow[None]:
    """Emit every key matching `pattern` (SCAN: administrative views only)."""
    scan = Scan(pattern, count)
    while keys := (yield scan):
        yield Emit(keys)


def gather(flows: Sequence[Flow[Any]]) -> Flow[list[Any]]:
    """Run flows side by side: their batches of each round go out as one batch.

    The flows must yield only `Batch` steps. Round trips are those of the
    longest flow, not the sum. A flow that raises (a damaged or unreadable
    checkpoint) gives its exception as its result; the others go on.
    """
    results: list[Any] = [None] * len(flows)
    pending: dict[int, Batch] = {}
    for i in range(len(flows)):
        _advance(flows, i, None, pending, results, first=True)
    while pending:
        order = sorted(pending)
        merged: list[Command] = []
        spans = []
        for i in order:
            spans.append((i, len(merged), len(pending[i].commands)))
            merged += pending[i].commands
        replies = yield Batch(merged)
        pending.clear()
        for i, start, n in spans:
            _advance(flows, i, replies[start : start + n], pending, results, first=False)
    return results


def _advance(
    flows: Sequence[Flow[Any]],
    i: int,
    reply: Any,
    pending: dict[int, Batch],
    results: list[Any],
    *,
    first: bool,
) -> None:
    try:
        step = next(flows[i]) if first else flows[i].send(reply)
    except StopIteration as done:
        results[i] = done.value
        return
    except (RedisSaverError, ValueError, TypeError, KeyError) as exc:
        results[i] = exc
        return
    if not isinstance(step, Batch):
        raise TypeError(f"gather runs flows of batches only, got {type(step).__name__}")
    pending[i] = step


def latest_flow(ctx: Context, thread_ids: Sequence[str]) -> Flow[list[Any]]:
    """The newest root checkpoint of each session, in one round trip.

    Each result is a `CheckpointTuple`, None (gone), or the exception that
    reading it raised (damaged, or encrypted without a key).
    """
    configs: list[RunnableConfig] = [
        {"configurable": {"thread_id": t, "checkpoint_ns": ""}} for t in thread_ids
    ]
    results = yield from gather([get_tuple_flow(ctx, c) for c in configs])
    return results


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


def found_or_none(result: Any) -> CheckpointTuple | None:
    """A `latest_flow` result as a checkpoint, or None when it could not be read."""
    return result if isinstance(result, CheckpointTuple) else None
