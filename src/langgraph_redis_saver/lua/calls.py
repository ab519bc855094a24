"""One typed builder per Lua script: the only code that makes a `Call`.

Each builder takes what its script needs in Python terms (a namespace's keys,
ids, lists) and hands it to `Script.call` by the slot names of the script's
header, so positions and counts are never written by hand twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph_redis_saver.keys import NamespaceKeys

from . import DELETE, DELTA, DROP, GET, LIST, PUT, PUT_WRITES, SIZES, Call

__all__ = ["delete", "delta", "drop", "get", "list_page", "put", "put_writes", "sizes"]


def _prefixes(ns: NamespaceKeys) -> dict[str, str]:
    return {
        "rec_prefix": ns.record_prefix,
        "writes_prefix": ns.writes_prefix,
        "blob_prefix": ns.blob_prefix,
    }


def put(
    ns: NamespaceKeys,
    *,
    checkpoint_id: str,
    checkpoint_ns: str,
    parent_id: str | None,
    ttl_ms: int,
    fields: Sequence[tuple[str, Any]],
    new_blobs: Sequence[tuple[str, bytes]],
    kept_blobs: Sequence[str],
    delta_channels: Sequence[str],
    index_commands: Sequence[Sequence[Any]] = (),
    base_blobs: Sequence[str] = (),
    inherit_bases: bool = True,
) -> Call:
    """lua/put.lua: store a checkpoint (`fields` of its record), its new blobs
    (key, value), refresh `kept_blobs` and the list-link `base_blobs` (which
    must exist); `index_commands` run inside the script. `inherit_bases`: a
    reused value may be a list link, whose bases are copied from the parent."""
    flat_index: list[Any] = []
    for cmd in index_commands:
        flat_index += [len(cmd), *cmd]
    keys = {
        "record": ns.record(checkpoint_id),
        "latest": ns.latest,
        "timeline": ns.timeline,
        "namespaces": ns.namespaces,
        "writes": ns.writes(checkpoint_id),
        "new_blobs": [k for k, _ in new_blobs],
        "kept_blobs": kept_blobs,
        "base_blobs": base_blobs,
    }
    args = {
        "ttl_ms": ttl_ms,
        "checkpoint_id": checkpoint_id,
        "checkpoint_ns": checkpoint_ns,
        "parent_id": parent_id or "",
        "n_fields": len(fields),
        "n_new": len(new_blobs),
        "n_kept": len(kept_blobs),
        "n_delta": len(delta_channels),
        "n_index": len(index_commands),
        "rec_prefix": ns.record_prefix,
        "writes_prefix": ns.writes_prefix,
        "blob_prefix": ns.blob_prefix,
        "n_base": len(base_blobs),
        "inherit": 1 if inherit_bases else 0,
        "fields": [x for pair in fields for x in pair],
        "new_values": [v for _, v in new_blobs],
        "delta_channels": delta_channels,
        "index_commands": flat_index,
    }
    return PUT.call(keys, args)


def put_writes(
    ns: NamespaceKeys, checkpoint_id: str, *, ttl_ms: int, entries: Sequence[tuple[Any, Any, str]]
) -> Call:
    """lua/put_writes.lua: (field, envelope, 'nx' | 'set') entries of one checkpoint."""
    keys = {
        "writes": ns.writes(checkpoint_id),
        "record": ns.record(checkpoint_id),
        "latest": ns.latest,
        "timeline": ns.timeline,
        "namespaces": ns.namespaces,
    }
    args = {
        "ttl_ms": ttl_ms,
        "blob_prefix": ns.blob_prefix,
        "n_writes": len(entries),
        "entries": [x for entry in entries for x in entry],
    }
    return PUT_WRITES.call(keys, args)


def get(ns: NamespaceKeys, checkpoint_id: str | None, *, refresh_ttl_ms: int) -> Call:
    """lua/get.lua: one checkpoint by id, or the newest (None)."""
    keys = {"latest": ns.latest, "timeline": ns.timeline}
    args = {"checkpoint_id": checkpoint_id or "", **_prefixes(ns), "refresh_ttl_ms": refresh_ttl_ms}
    return GET.call(keys, args)


def list_page(
    ns: NamespaceKeys,
    *,
    before_id: str | None,
    limit: int,
    filter_json: str,
    exact_id: str | None,
) -> Call:
    """lua/list.lua: a page of one namespace's checkpoints, newest first."""
    args = {
        **_prefixes(ns),
        "before_id": before_id or "",
        "limit": limit,
        "filter_json": filter_json,
        "exact_id": exact_id or "",
    }
    return LIST.call({"timeline": ns.timeline}, args)


def delete(
    namespaces: Sequence[NamespaceKeys], *, namespaces_set: str, index_keys: Sequence[str]
) -> Call:
    """lua/delete.lua: every key of the given namespaces of one session."""
    groups: list[str] = []
    for ns in namespaces:
        groups += [ns.record_prefix, ns.writes_prefix, ns.blob_prefix, ns.timeline]
    args = {"n_namespaces": len(namespaces), "groups": groups, "index_keys": index_keys}
    return DELETE.call({"namespaces": namespaces_set}, args)


def sizes(namespaces: Sequence[NamespaceKeys], *, namespaces_set: str) -> Call:
    """lua/sizes.lua: live keys, bytes and checkpoints of the given namespaces of one session."""
    groups: list[str] = []
    for ns in namespaces:
        groups += [ns.record_prefix, ns.writes_prefix, ns.blob_prefix, ns.timeline, ns.latest]
    return SIZES.call(
        {"namespaces": namespaces_set}, {"n_namespaces": len(namespaces), "groups": groups}
    )


def delta(ns: NamespaceKeys, checkpoint_id: str | None, channels: Sequence[str]) -> Call:
    """lua/delta.lua: writes and seeds of escaped `channels` along the parent chain."""
    args = {**_prefixes(ns), "checkpoint_id": checkpoint_id or "", "channels": channels}
    return DELTA.call({"latest": ns.latest}, args)


def drop(
    ns: NamespaceKeys, checkpoint_ns: str, mode: str, ids: Sequence[str] = (), count: int = 0
) -> Call:
    """lua/drop.lua: DeltaChannel-safe removal of checkpoints of one namespace."""
    keys = {"timeline": ns.timeline, "latest": ns.latest, "namespaces": ns.namespaces}
    args = {
        **_prefixes(ns),
        "mode": mode,
        "count": count,
        "checkpoint_ns": checkpoint_ns,
        "ids": ids,
    }
    return DROP.call(keys, args)
