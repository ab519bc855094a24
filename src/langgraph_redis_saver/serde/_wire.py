"""msgpack plumbing of `SafeMsgpackSerializer`: pack, unpack, unpack to plain data.

Kept apart from the public class so the rules that make decoding safe sit in
one short file:

- every extension is looked up in a dict (`BY_CODE`, or the serializer's
  tag table for registered classes); an unknown code or tag is an error;
- nesting of extensions is capped at `MAX_DEPTH`, the same on write and read;
- every string, binary, array, map and extension length is capped by the
  size of the buffer that holds it, so lying headers fail before allocating;
- the decode budget: an extension's payload is copied and scanned once per
  level it is nested in, so the bytes scanned across all levels are capped
  (`scan_budget`): a deep chain of objects around one large value cannot turn
  a small stored value into gigabytes. The writer checks the same budget, so
  anything written can be read back;
- the object budget: every array, map and extension rebuilt counts against
  a budget proportional to the value's size (`object_budget`), so a value
  made of empty containers (one byte each, ~64 bytes of memory each) or of
  tiny objects (one nested decode each) fails instead of filling memory or
  burning CPU. The writer checks the same budget.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, Final

import msgpack

from langgraph_redis_saver.errors import DecodeError, SerializationError

from ._codecs import BY_CODE, OBJECT_EXT, USER_EXT, Codec, placeholder, plain_bytes

__all__ = [
    "MAX_DEPTH",
    "count_objects",
    "object_budget",
    "pack",
    "scan_budget",
    "unpack",
    "unpack_plain",
]

#: Maximum nesting of extension types (objects inside objects). Enforced the
#: same way on write and read, so anything written can be read back.
MAX_DEPTH: Final = 128

#: Longest non-string map key `unpack_plain` writes as JSON text.
MAX_PLAIN_KEY: Final = 512

#: Decode budget: the bytes scanned across all nesting levels may be at most
#: this many times the size of the value (honest state nests large data a few
#: levels deep; the amplification attack nests it 127 deep) ...
SCAN_FACTOR: Final = 16
#: ... but always at least this many (small values nest freely) ...
SCAN_FLOOR: Final = 1 << 20
#: ... and never more than this, whatever the size.
SCAN_CEILING: Final = 2 << 30


#: Object budget: arrays and maps rebuilt count 1, extensions that decode a
#: nested payload count `EXT_COST` (a nested decode costs far more CPU than
#: a container), other extensions 1. The total may be at most `OBJECT_UNITS`
#: per `OBJECT_SPAN` bytes of the value (4 per 5: an empty list is ~56 bytes
#: of memory, so at most ~45x the value's size). Arrays of bare empty
#: containers or empty tuples build one unit per byte and are refused; honest
#: dense data stays under: one-column rows ``[(1,), (2,), ...]`` (a
#: ``fetchall()``) build 3 units per 4 bytes, small-int pairs 3 per 6 ...
OBJECT_UNITS: Final = 4
OBJECT_SPAN: Final = 5
EXT_COST: Final = 2
#: ... but always at least this many (about 8 MB of empty containers) ...
#: Every unit takes at least one byte of the value (an empty array is one
#: byte; the smallest extension three, including a one-byte payload), so a
#: value of at most this many bytes cannot exceed the budget and is decoded
#: without counting (no per-container hook: the common case pays nothing).
OBJECT_FLOOR: Final = 1 << 17
#: ... and never more than this, whatever the size (about 2 GB).
OBJECT_CEILING: Final = 1 << 25


def object_budget(size: int) -> int:
    """Objects (arrays, maps, extensions) that decoding `size` bytes may build."""
    return min(OBJECT_CEILING, max(OBJECT_FLOOR, size * OBJECT_UNITS // OBJECT_SPAN))


def _too_many_objects(size: int) -> DecodeError:
    return DecodeError(
        f"value exceeds the decode budget: it builds more than {object_budget(size)}"
        f" arrays, maps and objects for {size} stored bytes (decode amplification)"
    )


def scan_budget(size: int) -> int:
    """Bytes that decoding a value of `size` bytes may scan, nesting included."""
    return min(SCAN_CEILING, max(SCAN_FLOOR, SCAN_FACTOR * size))


def _over_budget(size: int) -> DecodeError:
    return DecodeError(
        f"value exceeds the decode budget: nested objects would rescan more than"
        f" {scan_budget(size)} bytes for {size} stored bytes (decode amplification)"
    )


_unpackb = msgpack.unpackb
# ExtType's own __new__ re-validates code and data in Python; ours are always
# an int in range and bytes, so build the namedtuple directly.
_ext: Callable[[tuple[int, bytes]], Any] = partial(tuple.__new__, msgpack.ExtType)


def _new_packer(default: Callable[[Any], Any]) -> Any:
    # strict_types: subclasses of built-ins (tuple, str-Enums, OrderedDict...)
    # reach `default` instead of silently losing their type.
    return msgpack.Packer(default=default, strict_types=True, unicode_errors="surrogatepass")


def pack(
    obj: Any,
    encoders: dict[type[Any], Codec],
    resolve: Callable[[Any], Codec | None],
    fallback: Callable[[Any], Any],
) -> bytes:
    """Pack `obj`; types found in `encoders` or by `resolve` become extensions.

    Anything else goes to `fallback`, which returns a storable stand-in or
    raises.
    """
    # One Packer per nesting level, reused by siblings: a list of 100
    # messages builds two Packers, not 101. Local to the call, so concurrent
    # calls never share one.
    packers: list[Any] = []
    me: list[Callable[[Any], Any]] = []  # `default`, for the Packers it makes
    depth = 0
    scanned = 0

    def default(value: Any) -> Any:
        nonlocal depth, scanned
        codec = encoders.get(type(value))
        if codec is None:
            codec = resolve(value)
            if codec is None:
                # A stand-in msgpack packs natively, or a built-in of the
                # table (a tuple or set subclass stored as its base).
                value = fallback(value)
                codec = encoders.get(type(value))
                if codec is None:
                    return value
        payload = codec.encode(value)
        if codec.raw:
            return _ext((codec.code, payload))
        if depth >= MAX_DEPTH:
            raise SerializationError(f"value nested deeper than {MAX_DEPTH} objects (or circular)")
        if depth == len(packers):
            packers.append(_new_packer(me[0]))
        depth += 1
        try:
            data = packers[depth - 1].pack(payload)
        finally:
            depth -= 1
        scanned += len(data)
        return _ext((codec.code, data))

    me.append(default)
    try:
        packed: bytes = _new_packer(default).pack(obj)
    finally:
        # `default` reaches itself through `me` and through the Packers it
        # made: break both, or every call leaves a reference cycle for the
        # cyclic GC, which then runs every few saver calls and costs more
        # than the packing (tests/unit/test_serde_cycles.py).
        me.clear()
        packers.clear()
    # Values of up to OBJECT_FLOOR bytes cannot exceed the object budget:
    # most writes skip the count.
    if len(packed) > OBJECT_FLOOR:
        built = count_objects(packed)
        if built > object_budget(len(packed)):
            raise SerializationError(
                f"value of {len(packed)} bytes builds {built} arrays, maps and objects when"
                f" read, over the decode budget ({object_budget(len(packed))}: {OBJECT_UNITS} per"
                f" {OBJECT_SPAN} bytes); store large collections of tiny items as fewer,"
                " larger values (a string, bytes, or a list of numbers)"
            )
    if scanned > scan_budget(len(packed)):
        raise SerializationError(
            f"value nests {len(packed)} bytes of data so deeply that reading it would scan"
            f" {scanned} bytes, over the decode budget ({scan_budget(len(packed))});"
            " flatten the nesting of objects around large values"
        )
    return packed


def count_objects(packed: bytes | memoryview) -> int:
    """Units of the object budget that decoding `packed` spends (see `object_budget`).

    Used by the writer on its own output: strings stay raw bytes (no UTF-8
    decoding) and no length caps apply, so counting costs less than reading.
    """
    built = 0

    def container(value: Any) -> Any:
        nonlocal built
        built += 1
        return None

    hooks: dict[str, Any] = {}

    def ext_hook(code: int, data: bytes) -> Any:
        nonlocal built
        codec = BY_CODE.get(code)
        if codec is not None and codec.raw:
            built += 1
        else:
            built += EXT_COST
            _unpackb(data, **hooks)
        return None

    hooks.update(
        ext_hook=ext_hook,
        list_hook=container,
        object_hook=container,
        raw=True,
        strict_map_key=False,
        timestamp=0,
    )
    try:
        _unpackb(packed, **hooks)
    finally:
        hooks.clear()  # `ext_hook` reaches itself through `hooks`: no cycle for the GC (see `pack`)
    return built


def _unpackb_limited(
    data: bytes | memoryview, ext_hook: Callable[[int, bytes], Any], **hooks: Any
) -> Any:
    # No container or string can be longer than the bytes that hold it, so a
    # header claiming 2**32 elements fails before anything is allocated.
    # timestamp=3: msgpack's own timestamp extension (-1), which msgpack
    # handles before `ext_hook`, comes back as an aware UTC datetime.
    size = len(data)
    return _unpackb(
        data,
        ext_hook=ext_hook,
        strict_map_key=False,
        unicode_errors="surrogatepass",
        timestamp=3,
        max_str_len=size,
        max_bin_len=size,
        max_array_len=size,
        max_map_len=size // 2,
        max_ext_len=size,
        **hooks,
    )


def unpack(
    body: bytes | memoryview,
    by_tag: dict[str, Codec],
    unknown_tag: Callable[[str, Any], Any],
    load_object: Callable[[Any], Any],
) -> Any:
    """Unpack `body`, rebuilding built-in types and the classes in `by_tag`.

    A registered-type tag missing from `by_tag` goes to `unknown_tag(tag,
    value)`; an unregistered data class (`OBJECT_EXT`) to `load_object`.
    """
    depth = 0
    size = len(body)
    left = SCAN_FACTOR * size  # scan_budget(size), inlined: this runs on every read
    if left < SCAN_FLOOR or left > SCAN_CEILING:
        left = scan_budget(size)
    objects = object_budget(size)
    # Small values cannot exceed the object budget (see OBJECT_FLOOR): count
    # only in large ones.
    counting = size > OBJECT_FLOOR

    def container(value: Any) -> Any:
        nonlocal objects
        objects -= 1
        if objects < 0:
            raise _too_many_objects(size)
        return value

    def ext_hook(code: int, data: bytes) -> Any:
        nonlocal depth, left, objects
        codec = BY_CODE.get(code)
        if codec is not None and codec.raw:
            if counting:
                objects -= 1
                if objects < 0:
                    raise _too_many_objects(size)
            return codec.decode(data)
        if codec is None and code != USER_EXT and code != OBJECT_EXT:
            raise unknown_code(code)
        if depth >= MAX_DEPTH:
            raise DecodeError(f"value nested deeper than {MAX_DEPTH} objects")
        left -= len(data)
        if left < 0:
            raise _over_budget(len(body))
        if counting:
            objects -= EXT_COST
            if objects < 0:
                raise _too_many_objects(size)
        depth += 1
        try:
            value = _unpackb_limited(data, **hooks)
        finally:
            depth -= 1
        if codec is None:
            if code == OBJECT_EXT:
                return load_object(value)
            tag, value = tagged(value)
            codec = by_tag.get(tag)
            if codec is None:
                return unknown_tag(tag, value)
        return codec.decode(value)

    hooks: dict[str, Any] = {"ext_hook": ext_hook}
    if counting:
        hooks.update(list_hook=container, object_hook=container)
    try:
        return _unpackb_limited(body, **hooks)
    finally:
        # `ext_hook` reaches itself through `hooks`: no cycle left for the GC,
        # which would also keep `body` alive until it runs (see `pack`).
        hooks.clear()


def tagged(value: Any) -> tuple[str, Any]:
    """Split a registered-type payload into `(tag, value)`."""
    if type(value) is not list or len(value) != 2 or type(value[0]) is not str:
        raise DecodeError("malformed registered-type payload: expected [tag, value]")
    return value[0], value[1]


def unknown_code(code: int) -> DecodeError:
    return DecodeError(
        f"unknown msgpack extension code {code}: the value is corrupt or was written"
        " by a newer langgraph-redis-saver"
    )


# --- plain decoding --------------------------------------------------------------


def plain_leaf(value: Any) -> Any:
    """Replace the two native msgpack values JSON cannot hold: bytes and timestamps."""
    kind = type(value)
    if kind is bytes:
        return plain_bytes(value)
    if kind is datetime:  # msgpack's own timestamp extension (-1)
        return value.isoformat()
    return value


def _plain_key(key: Any) -> str:
    if type(key) is str:
        return key
    text = json.dumps(plain_leaf(key), sort_keys=True, ensure_ascii=False)
    if len(text) > MAX_PLAIN_KEY:
        # A key holding a map is JSON-encoded, and each enclosing level escapes
        # it again: unbounded, a few hundred hostile bytes would grow to
        # gigabytes (2x per level).
        raise DecodeError(f"a map key is longer than {MAX_PLAIN_KEY} characters as JSON")
    return text


def _plain_pairs(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    return {_plain_key(k): plain_leaf(v) for k, v in pairs}


def _plain_list(items: list[Any]) -> list[Any]:
    return [plain_leaf(item) for item in items]


def object_parts(value: Any) -> tuple[str, str, int, Any, Any]:
    """Split an `OBJECT_EXT` payload into module, qualname, kind, fields, fields set."""
    if (
        type(value) is not list
        or not 4 <= len(value) <= 5
        or type(value[0]) is not str
        or type(value[1]) is not str
        or type(value[2]) is not int
    ):
        raise DecodeError("malformed data-class payload: expected [module, qualname, kind, fields]")
    return value[0], value[1], value[2], value[3], value[4] if len(value) == 5 else None


def unpack_plain(body: bytes | memoryview, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Unpack `body` into JSON-able data; registered classes become placeholders."""
    size = len(body)
    if budget is None:
        budget = [scan_budget(size), object_budget(size)]

    def spend(units: int) -> None:
        budget[1] -= units
        if budget[1] < 0:
            raise _too_many_objects(size)

    def pairs_hook(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
        spend(1)
        return _plain_pairs(pairs)

    def list_hook(items: list[Any]) -> list[Any]:
        spend(1)
        return _plain_list(items)

    def ext_hook(code: int, data: bytes) -> Any:
        codec = BY_CODE.get(code)
        if codec is not None and codec.raw:
            spend(1)
            return codec.plain(data)
        if codec is None and code != USER_EXT and code != OBJECT_EXT:
            raise unknown_code(code)
        if depth >= MAX_DEPTH:
            raise DecodeError(f"value nested deeper than {MAX_DEPTH} objects")
        budget[0] -= len(data)
        if budget[0] < 0:
            raise _over_budget(len(body))
        spend(EXT_COST)
        value = unpack_plain(data, depth + 1, budget)
        if code == OBJECT_EXT:
            module, qualname, _, fields, _ = object_parts(value)
            return placeholder(f"{module}.{qualname}", fields)
        if codec is None:
            return placeholder(*tagged(value))
        return codec.plain(value)

    return plain_leaf(
        _unpackb_limited(body, ext_hook, object_pairs_hook=pairs_hook, list_hook=list_hook)
    )
