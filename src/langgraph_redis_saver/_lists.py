"""Growing lists stored as "the previous version plus the new items".

LangGraph stores a channel's whole value at every version. For a chat's
``messages`` (``add_messages``), every turn would store the whole
conversation again, so a conversation's bytes in Redis would grow with the
square of its length. Instead, when a new list value starts with the exact
bytes of a list this process stored for the same channel just before, the
new version is stored as a *link*: the key suffix of a base version, the
number of items after it and their bytes. The base is chosen as in a Fenwick
tree: counting versions since the last full copy, version ``k`` links to
version ``k`` with its lowest set bit cleared (7 -> 6 -> 4 -> 0). A read so
follows at most `MAX_CHAIN` links (the set bits of ``k``), and each item is
stored about log2(versions)/2 times on average, so a conversation's bytes
grow about linearly, where full copies (or a full copy every N links) grow
with the square of its length. After `MAX_POSITION` links a full copy starts
over.

A checkpoint record lists the key suffix of every blob it needs: its
channel values first, then the bases their links lead to (the chain). So
the Lua scripts that read, refresh, copy and prune by that list keep a chain
complete exactly as long as a checkpoint needs it; ``lua/put.lua`` copies the
chain of an unchanged channel from the parent record.

Only values of `SafeMsgpackSerializer` (type tag ``lgrs``) whose payload is
one msgpack array are linked: a version byte, an array header, then the
items, each encoded on its own. The reader rebuilds the exact bytes the
serializer wrote for the whole list and decodes them once, so a linked value
decodes to what a full copy would. Whether the new list extends the base is
decided on bytes (a SHA-256 or BLAKE2b digest of the base's items), never on object
identity: after an edited, replaced or removed message, or a fork from an
older checkpoint, a link is written only if the base's items are still an
exact prefix of the new list, and a full copy otherwise.

Stored form of a link: ``<type>\\x02<base suffix>\\n<new item count>\\n<items>``,
or ``<type>\\x03<zlib of the part after \\x02>`` with ``compress_threshold``.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from .errors import CheckpointCorruptedError

__all__ = ["LINK", "MAX_CHAIN", "TYPE_TAG", "Encoded", "ListCache", "rebuild"]

TYPE_TAG = "lgrs"
"""``serde.TYPE_TAG``, spelled here so that reading records (``lgrs sessions``)
does not import the serializer; tests/cli/test_sessions_fast.py keeps them equal."""

LINK = b"\x02"
"""Separator after the type name that marks a link (see ``_core._pack_typed``)."""
MAX_POSITION = 4095
"""Versions stored as links before a full copy again (12 bits: at most 12 links)."""
MAX_CHAIN = MAX_POSITION.bit_length()
"""Links a read follows at most before reaching a full copy."""
READ_LIMIT = 256
"""Longest chain a reader accepts (stored data is untrusted: no endless walks)."""
CACHE_ENTRIES = 4096
"""Channels whose last stored list a saver remembers (least recently used go first)."""


@dataclass(frozen=True)
class _Node:
    """One stored version of a list: where it is and what its items hash to."""

    suffix: str  # blob key suffix
    pos: int  # versions since the full copy its chain ends at
    count: int  # items
    size: int  # bytes of the items
    digest: bytes  # of the items


@dataclass(frozen=True)
class _Stored:
    """What a saver remembers of the last list it stored for one channel."""

    typ: str
    head: bytes  # payload version byte
    nodes: tuple[_Node, ...]  # that version, then the versions its links lead to


@dataclass(frozen=True)
class Encoded:
    """One list value ready to store."""

    stored: bytes  # the blob: a link, or b"" for "store a full copy"
    chain: tuple[str, ...]  # blobs the link needs, nearest first (empty: full copy)
    remember: _Stored


def _fastest_hash() -> Callable[..., Any]:
    """SHA-256 where the CPU computes it in hardware (SHA extensions on x86
    and ARM: about twice BLAKE2b's speed), else BLAKE2b.

    Both are collision-resistant, and a digest never leaves the process (the
    cache holds it, Redis never sees it), so the choice is one of speed
    only: every put of a growing list hashes the whole list, so this is
    most of a long conversation's per-put cost after serialization.
    """
    sample = bytes(64 * 1024)
    best: tuple[float, Callable[..., Any]] | None = None
    for make in (hashlib.sha256, partial(hashlib.blake2b, digest_size=16)):
        spent = []
        for _ in range(3):
            start = time.perf_counter()
            make(sample).digest()
            spent.append(time.perf_counter() - start)
        if best is None or min(spent) < best[0]:
            best = (min(spent), make)
    assert best is not None
    return best[1]


_hash: Callable[..., Any] | None = None


def _hasher(data: bytes | memoryview) -> Any:
    """A running hash of `data` (``update``, ``digest``); see `_fastest_hash`."""
    global _hash
    if _hash is None:
        _hash = _fastest_hash()
    return _hash(data)


def _digest(data: bytes | memoryview) -> bytes:
    return _hasher(data).digest()  # type: ignore[no-any-return]


def _array(data: bytes, pos: int) -> tuple[int, int] | None:
    """``(count, offset of the first item)`` of a msgpack array at `pos`, or None."""
    if pos >= len(data):
        return None
    b = data[pos]
    if 0x90 <= b <= 0x9F:
        return b & 0x0F, pos + 1
    if b == 0xDC and pos + 3 <= len(data):
        return struct.unpack_from(">H", data, pos + 1)[0], pos + 3
    if b == 0xDD and pos + 5 <= len(data):
        return struct.unpack_from(">I", data, pos + 1)[0], pos + 5
    return None


def _array_header(count: int) -> bytes:
    if count <= 0x0F:
        return bytes([0x90 | count])
    if count <= 0xFFFF:
        return b"\xdc" + struct.pack(">H", count)
    return b"\xdd" + struct.pack(">I", count)


class ListCache:
    """The last list value stored per channel, to store the next one as a link.

    Shared by the threads of one saver (LangGraph saves on worker threads).
    An entry is recorded only after Redis confirmed the write.
    """

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        self._entries = entries
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple[str, str, str], _Stored] = OrderedDict()

    def encode(
        self, key: tuple[str, str, str], suffix: str, typ: str, data: bytes
    ) -> Encoded | None:
        """A link for `data` (the serialized new value of channel `key`), a
        full copy to remember (`Encoded.chain` empty, `stored` empty), or None
        when the value is not a list this module can link."""
        if typ != TYPE_TAG:
            return None
        found = _array(data, 1)
        if found is None:
            return None
        count, start = found
        items = memoryview(data)[start:]
        with self._lock:
            prev = self._data.get(key)
            if prev is not None:
                self._data.move_to_end(key)
        head = data[:1]

        def full() -> Encoded:
            node = _Node(suffix, 0, count, len(items), _digest(items))
            return Encoded(b"", (), _Stored(typ, head, (node,)))

        if prev is None or prev.typ != typ or prev.head != head:
            return full()
        pos = prev.nodes[0].pos + 1
        target = pos - (pos & -pos)  # the base: `pos` without its lowest set bit
        chain = tuple(n for n in prev.nodes if n.pos <= target)
        if (
            pos > MAX_POSITION
            or not chain
            or chain[0].pos != target
            or any(n.suffix == suffix for n in prev.nodes)  # a re-put of a stored version
        ):
            return full()
        base = chain[0]
        if count < base.count or len(items) < base.size:
            return full()
        # One pass over the bytes: the base's items, then the rest.
        hasher = _hasher(items[: base.size])
        if hasher.digest() != base.digest:
            return full()
        hasher.update(items[base.size :])
        digest = hasher.digest()
        link = b"%s%s%s\n%d\n" % (typ.encode(), LINK, base.suffix.encode(), count - base.count)
        node = _Node(suffix, pos, count, len(items), digest)
        return Encoded(
            link + items[base.size :],
            tuple(n.suffix for n in chain),
            _Stored(typ, head, (node, *chain)),
        )

    def remember(self, key: tuple[str, str, str], stored: _Stored) -> None:
        with self._lock:
            self._data[key] = stored
            self._data.move_to_end(key)
            while len(self._data) > self._entries:
                self._data.popitem(last=False)

    def forget(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._data.pop(key, None)


def rebuild(
    typ: str,
    link: bytes,
    name: str,
    blobs: Mapping[str, bytes | None],
    split: Callable[[bytes, str], tuple[str, bytes, bytes]],
    unpack_full: Callable[[bytes, str], tuple[str, bytes]],
) -> tuple[str, bytes]:
    """The serialized list a link stands for.

    Args:
        typ: The link's type name.
        link: The bytes after the link separator.
        name: The key of the link, for error messages.
        blobs: Every blob the checkpoint record lists, by key suffix.
        split: ``(raw, key) -> (type, separator, rest)`` of a stored value.
        unpack_full: ``(raw, key) -> (type, bytes)`` of a stored full value
            (it may be compressed).

    Raises:
        CheckpointCorruptedError: A base is missing, the chain loops or is
            longer than `READ_LIMIT`, or a part is malformed.
    """
    parts: list[bytes] = []
    added = 0  # items the links add
    seen: set[str] = set()
    while True:
        try:
            base, new_count, items = link.split(b"\n", 2)
            suffix = base.decode()
            added += int(new_count)
        except ValueError as exc:
            raise CheckpointCorruptedError(f"{name!r} holds a malformed list link") from exc
        parts.append(items)
        if suffix in seen or len(seen) >= READ_LIMIT:
            raise CheckpointCorruptedError(f"{name!r} is in a list chain that loops or is too long")
        seen.add(suffix)
        raw = blobs.get(suffix)
        if raw is None:
            raise CheckpointCorruptedError(
                f"{name!r} extends the list stored at {suffix!r}, which is missing from "
                f"Redis or not listed by its checkpoint: run `lgrs doctor`"
            )
        name = suffix
        base_typ, sep, link = split(raw, name)
        if base_typ != typ:
            raise CheckpointCorruptedError(f"{name!r} links values of different types")
        if sep != LINK:
            break
    _, data = unpack_full(raw, name)
    found = _array(data, 1)
    if found is None:
        raise CheckpointCorruptedError(f"{name!r} is not a list that a link can extend")
    count, start = found
    return typ, b"".join([data[:1], _array_header(count + added), data[start:], *reversed(parts)])
