"""What every codec module shares: the `Codec` record, payload checks, and the
plain stand-ins the inspector shows for values it cannot rebuild."""

from __future__ import annotations

import base64
import reprlib
from collections.abc import Callable
from typing import Any, NamedTuple

from langgraph_redis_saver.errors import DecodeError

__all__ = ["Codec", "PlainFields", "placeholder", "plain_bytes"]


class Codec(NamedTuple):
    """How one type is written to and read from an msgpack extension."""

    code: int
    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    plain: Callable[[Any], Any]
    raw: bool = False


def _bad(name: str, value: Any) -> DecodeError:
    # reprlib bounds the work as well as the length: the value may be huge.
    return DecodeError(f"malformed {name} payload: {reprlib.repr(value)}")


def _items(value: Any, name: str, size: int | None = None) -> list[Any]:
    if type(value) is not list or (size is not None and len(value) != size):
        raise _bad(name, value)
    return value


def _mapping(value: Any, name: str) -> dict[Any, Any]:
    if type(value) is not dict:
        raise _bad(name, value)
    return value


def plain_bytes(data: bytes | bytearray, name: str = "py.bytes") -> dict[str, str]:
    """Return the JSON-able stand-in for binary data: a base64 marker dict."""
    return {"__type__": name, "base64": base64.b64encode(data).decode("ascii")}


def _bytearray_plain(data: bytes) -> dict[str, str]:
    return plain_bytes(data, "py.bytearray")


class PlainFields(dict[str, Any]):
    """The stored fields of an object whose class could not be rebuilt.

    A plain `dict` (equal to one, `isinstance(x, dict)`) that also hashes, so
    an object that sat in a set or was a dict key loads as plain data instead
    of failing the whole read. It hashes by its items, or by identity when a
    value is unhashable. It remembers how it was stored (`stored_as`), so
    writing it back stores the original object again: once the class is
    back (imported or registered), the next read rebuilds it.
    """

    __slots__ = ("stored_as",)

    def __init__(self, fields: dict[str, Any], stored_as: tuple[int, list[Any], list[Any]]) -> None:
        super().__init__(fields)
        #: (extension code, head, tail): the payload is `[*head, fields, *tail]`.
        self.stored_as = stored_as

    def payload(self) -> list[Any]:
        """The extension payload this value was read from (with its current items)."""
        _, head, tail = self.stored_as
        return [*head, dict(self), *tail]

    def __hash__(self) -> int:  # type: ignore[override]
        try:
            return hash(frozenset(self.items()))
        except TypeError:
            return object.__hash__(self)

    def __reduce__(self) -> Any:
        return (PlainFields, (dict(self), self.stored_as))


def placeholder(name: str, value: Any) -> dict[str, Any]:
    """Return `{"__type__": name, **fields}`, or `{"__type__": name, "value": value}`."""
    if type(value) is dict and all(type(k) is str for k in value):
        return {"__type__": name, **value}
    return {"__type__": name, "value": value}
