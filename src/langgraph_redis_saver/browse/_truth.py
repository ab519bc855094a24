"""What runs next from a stored checkpoint, from the evidence it carries, or "unknown".

LangGraph computes a checkpoint's ``next`` and ``tasks`` from the graph: a
node runs when one of its trigger channels holds a value newer than the
version the node last saw, and each pending ``Send`` becomes a task. The
inspector has no graph, so it reads the same rules off what is stored and
answers only where the stored data settles the question:

- Trigger channels are recognised by the names LangGraph's `StateGraph` and
  functional API give them (``branch:to:<node>``, ``join:<a>+<b>:<node>``,
  ``__start__``). If any node has ever been triggered by a channel of another
  shape (an older LangGraph, a hand-built Pregel), the answer is unknown.
- A channel only triggers when it holds a value (a used ``branch:to:*``
  channel keeps its new version but has no value): presence in the stored
  channel values is availability.
- Pending ``Send`` packets in ``__pregel_tasks`` are tasks of the next step.
- Task ids are recomputed as LangGraph does; a task whose id matches a
  pending write's is confirmed. A pending write from a task the rules did
  not predict means they missed something: unknown.
- When the next checkpoint of the chain was written by that step
  (``source: loop``), the nodes whose ``versions_seen`` moved must be the
  ones predicted; otherwise unknown.

Nothing here guesses: every function returns None for "unknown".
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Mapping, Sequence
from hashlib import sha1
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langgraph.checkpoint.base import CheckpointTuple

__all__ = ["Evidence", "next_tasks", "start_node"]

START = "__start__"
TASKS = "__pregel_tasks"
PUSH = "__pregel_push"
PULL = "__pregel_pull"
RETURN = "__return__"
INTERRUPT = "__interrupt__"
RESUME = "__resume__"
ERROR = "__error__"
NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
CONTROL = frozenset({INTERRUPT, RESUME, ERROR, "__error_source_node__"})
BOOKKEEPING = frozenset({"__input__", INTERRUPT})
"""``versions_seen`` entries that are not nodes."""
_BRANCH = "branch:to:"
_SEND_TAG = "lg.Send"


class Evidence:
    """What the other checkpoints of a namespace say about the graph.

    Args:
        tuples: The namespace's stored checkpoints (decoded as plain data).
    """

    def __init__(self, tuples: Iterable[CheckpointTuple]) -> None:
        starters: set[str] = set()
        joins: dict[str, set[str]] = {}
        self.state_graph = False
        for t in tuples:
            cp = t.checkpoint
            for node, chans in (cp.get("versions_seen") or {}).items():
                if node not in BOOKKEEPING and isinstance(chans, Mapping) and START in chans:
                    starters.add(str(node))
            for chan in cp.get("channel_versions") or {}:
                if chan.startswith(_BRANCH):
                    self.state_graph = True
                parsed = _join(chan)
                if parsed:
                    joins.setdefault(parsed[1], set()).add(chan)
        self.starters = starters
        self.joins = joins

    def start(self) -> str | None:
        """The node the ``__start__`` channel triggers, when the stored data says."""
        if len(self.starters) == 1:
            return next(iter(self.starters))
        if not self.starters and self.state_graph:
            return START  # a StateGraph's input node
        return None


def start_node(evidence: Evidence) -> str | None:
    """The name of the node that reads the graph input (None: unknown)."""
    return evidence.start()


def _join(chan: str) -> tuple[list[str], str] | None:
    """``join:a+b:node`` as (["a", "b"], "node"); None when not one, or ambiguous."""
    if not chan.startswith("join:"):
        return None
    body = chan[len("join:") :]
    if body.count(":") != 1:
        return None
    starts, node = body.split(":")
    return starts.split("+"), node


def _task_id(checkpoint: Mapping[str, Any], *parts: str) -> str | None:
    """LangGraph's task id: XXH3-128 (format v2+) or UUID5-style SHA-1 of the parts."""
    try:
        ns = binascii.unhexlify(str(checkpoint["id"]).replace("-", ""))
    except (binascii.Error, ValueError):
        return None
    data = b"".join(p.encode() for p in parts)
    if int(checkpoint.get("v") or 1) > 1:
        from xxhash import xxh3_128_hexdigest

        hexd = xxh3_128_hexdigest(ns + data)
    else:
        hexd = sha1(ns + data, usedforsecurity=False).hexdigest()
    return f"{hexd[:8]}-{hexd[8:12]}-{hexd[12:16]}-{hexd[16:20]}-{hexd[20:32]}"


def _newer(version: Any, seen: Any) -> bool | None:
    if seen is None:
        return True
    if type(version) is not type(seen):
        return None
    try:
        return bool(version > seen)
    except TypeError:
        return None


def _pull_nodes(cp: Mapping[str, Any], start: str | None) -> list[tuple[str, list[str]]] | None:
    """Nodes a stored checkpoint triggers, with the channels that do; None: unknown."""
    values = cp.get("channel_values") or {}
    versions = cp.get("channel_versions") or {}
    seen_all = cp.get("versions_seen") or {}
    if not versions:
        return []
    null = type(next(iter(versions.values())))()
    triggered: dict[str, list[str]] = {}
    for chan, value in values.items():
        if chan == START:
            if start is None:
                return None
            node = start
        elif chan.startswith(_BRANCH):
            if value is not None:  # a deferred node's barrier, or a format we do not know
                return None
            node = chan[len(_BRANCH) :]
        elif chan.startswith("join:"):
            parsed = _join(chan)
            if parsed is None or not isinstance(value, list):
                return None
            if sorted(map(str, value)) != sorted(parsed[0]):
                continue  # the barrier still waits for some of its nodes
            node = parsed[1]
        else:
            continue
        seen = seen_all.get(node)
        newer = _newer(versions.get(chan, null), None if seen is None else seen.get(chan, null))
        if newer is None:
            return None
        if newer:
            triggered.setdefault(node, []).append(chan)
    return sorted(triggered.items())


def _known_scheme(cp: Mapping[str, Any]) -> bool:
    """Whether every node was triggered only by channels of the shapes we understand."""
    for node, chans in (cp.get("versions_seen") or {}).items():
        if node in BOOKKEEPING:
            continue
        if not isinstance(chans, Mapping):
            return False
        for chan in chans:
            parsed = _join(chan)
            if chan == START or chan == f"{_BRANCH}{node}" or (parsed and parsed[1] == node):
                continue
            return False
    return True


def _moved(child: Mapping[str, Any], parent: Mapping[str, Any]) -> set[str]:
    new = child.get("versions_seen") or {}
    old = parent.get("versions_seen") or {}
    return {n for n, v in new.items() if n not in BOOKKEEPING and v != old.get(n) and v}


def next_tasks(
    found: CheckpointTuple,
    evidence: Evidence,
    *,
    child: CheckpointTuple | None = None,
) -> list[dict[str, Any]] | None:
    """The tasks LangGraph prepares from `found` (its ``next``), or None when unknown.

    Each task is ``{id, name, kind}``: `kind` is ``"send"`` for a pending
    ``Send``, ``"node"`` for a node triggered by an edge; `id` is LangGraph's
    task id when a pending write confirms it, else None.

    Args:
        found: The checkpoint, decoded as plain data, with its pending writes.
        evidence: What the namespace's other checkpoints say (`Evidence`).
        child: The checkpoint written by the step that ran from `found`, if stored.
    """
    cp = found.checkpoint
    if not _known_scheme(cp):
        return None
    ns = str(found.config["configurable"].get("checkpoint_ns") or "")
    step = str(int((found.metadata or {}).get("step", -1)) + 1)

    def task_ns(name: str) -> str:
        return f"{ns}|{name}" if ns else name

    tasks: list[dict[str, Any]] = []
    sends = (cp.get("channel_values") or {}).get(TASKS) or []
    if not isinstance(sends, list):
        return None
    for idx, packet in enumerate(sends):
        if not (isinstance(packet, Mapping) and packet.get("__type__") == _SEND_TAG):
            return None
        name = str(packet.get("node"))
        tid = _task_id(cp, task_ns(name), step, name, PUSH, str(idx))
        tasks.append({"id": tid, "name": name, "kind": "send"})
    pulls = _pull_nodes(cp, evidence.start())
    if pulls is None:
        return None
    for name, _chans in pulls:
        if name == evidence.start():
            triggers = [START]
        else:  # a StateGraph node: its branch channel, plus the joins that end at it
            triggers = sorted({f"{_BRANCH}{name}", *evidence.joins.get(name, ())})
        tid = _task_id(cp, task_ns(name), step, name, PULL, *triggers)
        tasks.append({"id": tid, "name": name, "kind": "node"})
    if not _writes_agree(found, tasks):
        return None
    if child is not None and not _child_agrees(found, child, tasks):
        return None
    return tasks


def _writes_agree(found: CheckpointTuple, tasks: list[dict[str, Any]]) -> bool:
    """Pending writes come from predicted tasks (or from functional ``@task`` calls).

    Ids no write confirms become None: the task is certain, its id is not.
    """
    by_task: dict[str, set[str]] = {}
    for task_id, channel, _ in found.pending_writes or []:
        by_task.setdefault(str(task_id), set()).add(str(channel))
    predicted = {t["id"] for t in tasks}
    for task_id, channels in by_task.items():
        if task_id == NULL_TASK_ID or task_id in predicted:
            continue
        if RETURN in channels:  # a functional-API task called from a running task
            continue
        return False
    for t in tasks:
        if t["id"] not in by_task and t["kind"] == "node":
            t["id"] = None
    return True


def _child_agrees(found: CheckpointTuple, child: CheckpointTuple, tasks: Sequence[Any]) -> bool:
    """The step that ran from `found` moved exactly the predicted nodes' ``versions_seen``."""
    md = child.metadata or {}
    parent_step = (found.metadata or {}).get("step")
    if md.get("source") != "loop" or not isinstance(parent_step, int):
        return True  # not written by that step: no evidence either way
    if md.get("step") != parent_step + 1:
        return True
    pulled = {t["name"] for t in tasks if t["kind"] == "node"}
    return _moved(child.checkpoint, found.checkpoint) == pulled
