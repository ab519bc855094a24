"""Stored values and records <-> Python objects. Pure: no I/O, no flows.

How one serialized value is stored (`pack_typed`/`unpack_typed`), how a
checkpoint becomes the fields of its hash (`record_fields`), how a blob list
is split (`blob_list`), and how an entry as the Lua scripts return it
becomes a `CheckpointTuple` (`parse_entry`). Field names come from
`keys.Field`.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import msgpack

from ._lists import LINK, TYPE_TAG, rebuild
from .errors import (
    CheckpointCorruptedError,
    ConfigurationError,
    DecodeError,
    RedisSaverError,
    SchemaVersionError,
    SerializationError,
)
from .keys import Field, NamespaceKeys, blob_suffix

# LangGraph and langchain-core are imported where used: `lgrs sessions` loads
# neither (tests/cli/test_sessions_fast.py).
if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import (
        Checkpoint,
        CheckpointMetadata,
        CheckpointTuple,
        PendingWrite,
    )
    from langgraph.checkpoint.serde.base import SerializerProtocol

__all__ = [
    "COUNTED_TYPE",
    "MAX_BLOBS",
    "MAX_INFLATED",
    "RECORD_FORMAT",
    "blob_list",
    "check_record_format",
    "dump_metadata",
    "inflate_limit",
    "load_at",
    "make_config",
    "missing_value",
    "pack_link",
    "pack_typed",
    "parse_entry",
    "parse_writes",
    "record_fields",
    "run_member",
    "split_typed",
    "stray_entry",
    "stray_literal",
    "unpack_typed",
    "unpack_value",
]

STRAY_SHOWN = 60
"""Characters of a stray sessions index entry that messages quote."""
RECORD_FORMAT = b"1"
"""Layout version stored in every record's `v` field (see CONTRIBUTING.md)."""
RECORD_FORMAT_CHAINS = b"2"
"""Layout of a record whose blob list also names list-link bases (``_lists``)."""
RECORD_FORMATS = (RECORD_FORMAT, RECORD_FORMAT_CHAINS)
RAW, ZLIB = b"\x00", b"\x01"  # separator after the type name: how the bytes are stored
ZLINK = b"\x03"  # a list link (``_lists.LINK``, b"\x02"), zlib-compressed
MAX_INFLATED = 256 * 1024 * 1024  # refuse compressed blobs that inflate past this
INFLATE_FACTOR = 32  # ... or past this many times their stored size ...
INFLATE_FLOOR = 64 * 1024  # ... unless they inflate to at most this
_SEPARATOR = re.compile(rb"[\x00-\x03]")
MAX_BLOBS = 10_000
"""Blobs (channel values and list-link bases) one record may list: the read
script (lib.lua read_blobs) refuses a record listing more, so `put` refuses
to write one."""
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
COUNTED_TYPE = TYPE_TAG
"""The serializer type (``serde.TYPE_TAG``) whose records carry `Field.LENGTHS`:
an encrypting or foreign serializer's records do not, so the lengths of an
encrypted conversation are not stored in the clear."""


def make_config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


# -- values -------------------------------------------------------------------


def pack_typed(typed: tuple[str, bytes], compress_min: int = 0) -> bytes:
    """``<type><sep><bytes>``: the stored form of one serialized value.

    With `compress_min`, values at least that large are stored zlib-compressed
    (level 1: cheap, and text-heavy state shrinks several times) when that
    saves space and the reader accepts it (`inflate_limit`): a value that
    shrinks more than that is stored as it is, so anything written can be
    read back.
    """
    typ, data = typed
    packed = _compressed(data, compress_min)
    if packed is not None:
        return typ.encode() + ZLIB + packed
    return typ.encode() + RAW + data


def _compressed(data: bytes, compress_min: int) -> bytes | None:
    """`data` zlib-compressed, or None when it is too small, would not
    shrink, or would shrink more than the reader accepts (`inflate_limit`)."""
    if not compress_min or len(data) < compress_min:
        return None
    packed = zlib.compress(data, 1)
    if len(packed) < len(data) and len(data) <= inflate_limit(len(packed)):
        return packed
    return None


def inflate_limit(stored: int) -> int:
    """Bytes a compressed value of `stored` bytes may inflate to.

    Decompression counts in the decode budget: zlib turns a few KB into
    hundreds of MB of cheap msgpack objects (1 byte -> an empty list), so
    what a value may inflate to is proportional to what Redis holds, with an
    absolute ceiling. The serializer's own budget then applies to the
    inflated bytes, so the whole decode stays proportional to the stored size.
    """
    return min(MAX_INFLATED, max(INFLATE_FLOOR, INFLATE_FACTOR * stored))


def pack_link(typ: str, link: bytes, compress_min: int = 0) -> bytes:
    """A list link as stored (``_lists``), zlib-compressed as `pack_typed` does."""
    packed = _compressed(link[len(typ) + 1 :], compress_min)
    return link if packed is None else typ.encode() + ZLINK + packed


def split_typed(raw: bytes, key: str) -> tuple[str, bytes, bytes]:
    """``(type, separator, rest)`` of a stored value; a compressed list link
    comes back inflated, as a `LINK`."""
    # Type names never contain bytes below 0x04, so the first one is the
    # separator: one scan that stops there, not one search per separator.
    found = _SEPARATOR.search(raw)
    if found is None:
        raise CheckpointCorruptedError(f"{key!r} holds a value with no type header")
    cut = found.start()
    typ, sep, rest = raw[:cut].decode(errors="replace"), raw[cut : cut + 1], raw[cut + 1 :]
    if sep == ZLINK:
        return typ, LINK, _inflate(rest, key, len(raw))
    return typ, sep, rest


def _inflate(data: bytes, key: str, stored: int) -> bytes:
    limit = inflate_limit(len(data))
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit)
    except zlib.error as exc:
        raise CheckpointCorruptedError(f"{key!r} holds a corrupted compressed value") from exc
    if inflater.unconsumed_tail or not inflater.eof:
        raise CheckpointCorruptedError(
            f"{key!r} holds a compressed value that is truncated or inflates past "
            f"{limit} bytes (the decode budget for {stored} stored bytes); the saver "
            f"never writes such a value, so it was changed outside the saver"
        )
    return out


def unpack_typed(raw: bytes, key: str) -> tuple[str, bytes]:
    """The ``(type, bytes)`` pair of a stored value; `key` names it in errors."""
    typ, sep, data = split_typed(raw, key)
    if sep == LINK:
        raise CheckpointCorruptedError(
            f"{key!r} holds a list link (a new version stored as its base plus new "
            f"items), which is only read with the checkpoint that lists its base"
        )
    if sep == ZLIB:
        data = _inflate(data, key, len(raw))
    return typ, data


def unpack_value(raw: bytes, key: str, blobs: Mapping[str, bytes | None]) -> tuple[str, bytes]:
    """A stored channel value; a list link is rebuilt from the bases in `blobs`."""
    typ, sep, rest = split_typed(raw, key)
    if sep == LINK:
        return rebuild(typ, rest, key, blobs, split_typed, unpack_typed)
    return unpack_typed(raw, key)


def blob_list(raw: bytes | str | None) -> list[str]:
    """The blob key suffixes a record's `blobs` field lists (twin of lib.lua's)."""
    if not raw:
        return []
    text = raw.decode() if isinstance(raw, bytes) else raw
    return [s for s in text.split("\n") if s]


# -- records ------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise ConfigurationError(
        f"checkpoint metadata must be JSON-like; got {type(value).__qualname__} "
        f"({value!r:.60}). Put plain str/int/float/bool/list/dict values in metadata."
    )


def dump_metadata(
    config: RunnableConfig, metadata: CheckpointMetadata
) -> tuple[Mapping[str, Any], bytes]:
    """The metadata LangGraph asks savers to store, and its JSON form."""
    from langgraph.checkpoint.base import get_serializable_checkpoint_metadata

    md = get_serializable_checkpoint_metadata(config, metadata)
    return md, _METADATA_JSON(md).encode()


_METADATA_JSON = json.JSONEncoder(
    default=_json_default, ensure_ascii=False, separators=(",", ":")
).encode


def record_fields(
    *,
    serde: SerializerProtocol,
    checkpoint: Checkpoint,
    metadata_json: bytes,
    blob_suffixes: Sequence[str],
    thread_id: str,
    checkpoint_ns: str,
    parent_id: str | None,
    run: str | None,
    indexed: Sequence[tuple[str, str]],
    chained: bool = False,
) -> list[tuple[str, Any]]:
    """The (field, value) pairs of a checkpoint's hash; `chained` when
    `blob_suffixes` also names list-link bases."""
    if len(blob_suffixes) > MAX_BLOBS:
        raise SerializationError(
            f"checkpoint {checkpoint['id']!r} needs {len(blob_suffixes)} stored channel"
            f" values; a checkpoint may hold at most {MAX_BLOBS}. Keep many values in fewer"
            " channels (one dict-valued channel instead of thousands of keys)."
        )
    record = {k: v for k, v in checkpoint.items() if k != "channel_values"}
    typed = serde.dumps_typed(record)
    fields: list[tuple[str, Any]] = [
        (Field.VERSION, RECORD_FORMAT_CHAINS if chained else RECORD_FORMAT),
        (Field.CHECKPOINT, pack_typed(typed)),
        (Field.METADATA, metadata_json),
        (Field.BLOBS, "\n".join(blob_suffixes)),
        (Field.THREAD_ID, thread_id),
        (Field.CHECKPOINT_NS, checkpoint_ns),
        (Field.CHECKPOINT_ID, checkpoint["id"]),
    ]
    if parent_id is not None:
        fields.append((Field.PARENT, parent_id))
    if run is not None:
        fields.append((Field.RUN, run))
    if indexed:
        fields.append((Field.INDEXED, _COMPACT_JSON([list(kv) for kv in indexed])))
    if typed[0] == COUNTED_TYPE:
        values = checkpoint.get("channel_values") or {}
        lengths = {ch: len(v) for ch, v in values.items() if isinstance(v, list)}
        fields.append((Field.LENGTHS, _COMPACT_JSON(lengths)))
    return fields


def run_member(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> bytes:
    """A member of a run's index set: which checkpoint the run wrote."""
    return cast(bytes, msgpack.packb((thread_id, checkpoint_ns, checkpoint_id)))


def check_record_format(version: bytes | None, key: str) -> None:
    """Refuse records written by a newer, incompatible layout."""
    if version is not None and version not in RECORD_FORMATS:
        raise SchemaVersionError(
            f"{key!r} uses record format {version.decode(errors='replace')!r}; this "
            f"version of langgraph-redis-saver reads formats "
            f"{', '.join(repr(f.decode()) for f in RECORD_FORMATS)}. "
            f"Upgrade: pip install -U langgraph-redis-saver"
        )


# -- entries as the scripts return them ---------------------------------------------


def parse_writes(serde: SerializerProtocol, raw: Iterable[bytes], key: str) -> list[PendingWrite]:
    """Pending writes from their stored envelopes, in LangGraph's order."""
    from langgraph.checkpoint.base import writes_sort_key

    rows = []
    for envelope in raw:
        try:
            task_id, channel, typ, data, task_path, idx = msgpack.unpackb(envelope, raw=False)
        except Exception as exc:
            raise CheckpointCorruptedError(f"{key!r} holds a malformed pending write") from exc
        rows.append((writes_sort_key(task_path, task_id, idx), task_id, channel, typ, data))
    rows.sort(key=lambda r: r[0])
    return [
        (task_id, channel, load_at(serde, (typ, data), key))
        for _, task_id, channel, typ, data in rows
    ]


def load_at(serde: SerializerProtocol, typed: tuple[str, bytes], key: str) -> Any:
    """``serde.loads_typed(typed)``; a `DecodeError` names `key`, where the bytes are."""
    try:
        return serde.loads_typed(typed)
    except DecodeError as exc:
        raise type(exc)(f"{key!r}: {exc}") from exc


def missing_value(checkpoint_id: str, thread_id: str, key: str) -> CheckpointCorruptedError:
    """The error for a channel value that a record lists and Redis no longer holds."""
    return CheckpointCorruptedError(
        f"checkpoint {checkpoint_id!r} of session {thread_id!r} lists the channel value "
        f"{key!r}, which is missing from Redis. It was deleted by hand or evicted: run "
        f"`lgrs doctor`, and set maxmemory-policy to 'noeviction' (every saver key has a "
        f"TTL, so 'volatile-*' policies evict them too)."
    )


def metadata_damage(metadata: Any) -> str | None:
    """What is wrong with stored metadata that LangGraph reads by type, or None.

    LangGraph computes with `step`, `source` and `parents`: a wrong type there
    would fail later as a bare TypeError inside the graph.
    """
    if type(metadata) is not dict:
        return "not a JSON object"
    step = metadata.get("step", 0)
    if type(step) is not int:
        return f"'step' is {type(step).__name__}, not an integer"
    source = metadata.get("source", "")
    if type(source) is not str:
        return f"'source' is {type(source).__name__}, not a string"
    parents = metadata.get("parents", {})
    if type(parents) is not dict or not all(type(v) is str for v in parents.values()):
        return "'parents' is not a map of namespaces to checkpoint ids"
    return None


def parse_entry(
    serde: SerializerProtocol,
    ns: NamespaceKeys,
    thread_id: str,
    checkpoint_ns: str,
    reply: Sequence[Any],
) -> CheckpointTuple:
    """Turn one checkpoint as returned by the Lua scripts into a `CheckpointTuple`.

    Raises:
        CheckpointCorruptedError: The stored data is damaged (bytes changed by
            hand or by another tool): never another exception type.
        SerializationError: A stored value does not decode (see the serializer).
    """
    try:
        found = _parse_entry(serde, ns, thread_id, checkpoint_ns, reply)
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
    serde: SerializerProtocol,
    ns: NamespaceKeys,
    thread_id: str,
    checkpoint_ns: str,
    reply: Sequence[Any],
) -> CheckpointTuple:
    raw_id, fmt, raw_checkpoint, raw_metadata, raw_parent, raw_blobs, blob_values, raw_writes = (
        reply
    )
    cid = raw_id.decode()
    rkey = ns.record(cid)
    check_record_format(fmt, rkey)
    checkpoint = cast("Checkpoint", load_at(serde, unpack_typed(raw_checkpoint, rkey), rkey))
    try:
        metadata = json.loads(raw_metadata) if raw_metadata else {}
    except (ValueError, RecursionError) as exc:
        raise CheckpointCorruptedError(f"{rkey!r} has metadata that is not JSON") from exc
    damage = metadata_damage(metadata)
    if damage:
        raise CheckpointCorruptedError(f"{rkey!r} has damaged metadata: {damage}")

    channel_values: dict[str, Any] = {}
    suffixes = blob_list(raw_blobs)
    if suffixes:
        by_suffix = {blob_suffix(ch, ver): ch for ch, ver in checkpoint["channel_versions"].items()}
        listed = dict(zip(suffixes, blob_values, strict=False))
        channels = {s.split(":", 1)[0] for s in by_suffix}
        for suffix, value in listed.items():
            channel = by_suffix.get(suffix)
            if channel is None and fmt == RECORD_FORMAT_CHAINS:
                # A base of a list link: read through its link, checked there.
                if suffix.split(":", 1)[0] in channels:
                    continue
            if value is None:
                raise missing_value(cid, thread_id, ns.blob_prefix + suffix)
            if channel is None:
                raise CheckpointCorruptedError(f"{rkey!r} lists an unknown blob {suffix!r}")
            key = ns.blob_prefix + suffix
            channel_values[channel] = load_at(serde, unpack_value(value, key, listed), key)
    checkpoint["channel_values"] = channel_values

    from langgraph.checkpoint.base import CheckpointTuple

    return CheckpointTuple(
        config=make_config(thread_id, checkpoint_ns, cid),
        checkpoint=checkpoint,
        metadata=cast("CheckpointMetadata", metadata),
        parent_config=(
            make_config(thread_id, checkpoint_ns, raw_parent.decode()) if raw_parent else None
        ),
        pending_writes=parse_writes(serde, raw_writes, ns.writes(cid)),
    )


def stray_literal(entry: bytes) -> str:
    """A sessions index entry as a short Python bytes literal: ASCII, safe to print.

    >>> stray_literal(b"id-1"), len(stray_literal(bytes(200)))
    ("b'id-1'", 60)
    """
    text = repr(entry)
    return text if len(text) <= STRAY_SHOWN else text[: STRAY_SHOWN - 3] + "..."


def stray_entry(entry: bytes) -> str:
    """Why a sessions index entry that is not UTF-8 is skipped, and what to do.

    The saver's thread ids are text, so such an entry was written by another
    tool or by hand; every listing reports it with this message.
    """
    return (
        f"sessions index entry {stray_literal(entry)} skipped: it is not UTF-8 text, so "
        "not a session id the saver wrote; remove it from the index (ZREM) if no tool needs it"
    )
