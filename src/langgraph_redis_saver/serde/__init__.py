"""`SafeMsgpackSerializer`: LangGraph's `SerializerProtocol` without code execution.

Drop-in and safe: it stores every value LangGraph's default serializer
stores, and stored data never runs code. Stored checkpoints may come from a
shared, restored or tampered Redis, so safety comes from how objects are
rebuilt, not from refusing them. A stored class is resolved, in order:

1. the built-in table (`serde._codecs`), by extension code;
2. classes registered by the application (`register`, `allowed=`,
   `with_allowlist`), by tag;
3. in the default mode only, a data class (pydantic model, dataclass, Enum,
   NamedTuple) that the application has already imported, found in
   `sys.modules` by plain `__dict__` lookups (`serde._classes`).

Objects are rebuilt as pickle rebuilds a plain object (allocate, set the
stored fields): no constructor, validator or other hook runs. Anything that
cannot be rebuilt exactly (class missing, not allowed, or changed since the
write) loads as the closest object or as plain data, with one
`StoredDataWarning` per class. Nothing is ever imported, evaluated or
unpickled.

Wire format: `dumps_typed` returns `("lgrs", payload)`; `payload[0]` is the
format version (`FORMAT_VERSION`), the rest is one msgpack object. Built-in
types use fixed msgpack extension codes (see `serde._codecs`); registered
classes use extension `USER_EXT` with the payload `[tag, value]`, other data
classes `OBJECT_EXT` with `[module, qualname, kind, fields]`.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable, Collection, Iterable
from typing import Any, Final, TypeVar

import msgpack
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_redis_saver.errors import (
    ConfigurationError,
    DecodeError,
    SchemaVersionError,
    SerializationError,
    StoredDataWarning,
    UnsafeTypeError,
)

from ._classes import (
    ENUM,
    KIND_NAMES,
    Evolution,
    class_kind,
    class_name,
    encode_fields,
    find_class,
    has_finalizer,
    rebuild,
    stored_class,
)
from ._codecs import (
    BY_TYPE,
    OBJECT_EXT,
    USER_EXT,
    Codec,
    PlainFields,
    UncompiledPattern,
    numpy_codec,
)
from ._notes import has_notes as _has_notes
from ._notes import note, take
from ._paths import unstorable_paths
from ._user import (
    default_tag,
    is_registrable,
    is_typeddict_type,
    user_codec,
)
from ._wire import MAX_DEPTH, object_parts, pack, unpack, unpack_plain

__all__ = [
    "FORMAT_VERSION",
    "MAX_DEPTH",
    "TYPE_TAG",
    "PlainFields",
    "SafeMsgpackSerializer",
    "StoredDataWarning",
    "UncompiledPattern",
    "serde_with_allowlist",
]

logger = logging.getLogger(__name__)

#: Type string returned by `dumps_typed`. Never contains "+", which
#: LangGraph's `EncryptedSerializer` uses to append the cipher name.
TYPE_TAG: Final = "lgrs"
#: First byte of every payload. A reader refuses versions it does not know.
FORMAT_VERSION: Final = 1

_HEADER: Final = bytes([FORMAT_VERSION])
_FOREIGN: Final = {
    "msgpack": "LangGraph's JsonPlusSerializer",
    "json": "LangGraph's JsonPlusSerializer (legacy JSON)",
    "pickle": "LangGraph's JsonPlusSerializer with pickle_fallback=True",
    "null": "LangGraph's JsonPlusSerializer",
    "bytes": "LangGraph's JsonPlusSerializer",
    "bytearray": "LangGraph's JsonPlusSerializer",
}

S = TypeVar("S", bound=SerializerProtocol)

#: Environment variable LangGraph uses to turn on strict msgpack decoding.
STRICT_ENV: Final = "LANGGRAPH_STRICT_MSGPACK"


def _strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class SafeMsgpackSerializer:
    """Serializer for LangGraph checkpoints that never executes stored data.

    Implements LangGraph's `SerializerProtocol` (`dumps_typed`/`loads_typed`).
    Writes store whatever LangGraph's default serializer stores: built-ins,
    LangChain and LangGraph types, pydantic (v2 and v1) models, dataclasses,
    Enums, NamedTuples, numpy arrays and scalars. Reads rebuild objects
    without running their code (see the module docstring); a class that is
    missing, not allowed or changed since the write loads as the closest
    object or as plain data, with a `StoredDataWarning` naming the fix.

    `register` changes this instance in place and returns it (so calls
    chain); `with_allowlist` returns a new instance and leaves this one as is.

    Args:
        allowed: Classes to register, each either a class (registered under
            its default tag `module.QualName`) or a `(tag, class)` pair.
        strict: Resolve stored classes only from the built-in table and the
            registered classes (LangGraph's strict msgpack mode). Defaults to
            true when the environment sets `LANGGRAPH_STRICT_MSGPACK=true`.

    Example:
        >>> from enum import Enum
        >>> class Color(Enum):
        ...     RED = "red"
        >>> serde = SafeMsgpackSerializer(allowed=[Color])
        >>> serde.loads_typed(serde.dumps_typed({"color": Color.RED, "n": (1, 2)}))
        {'color': <Color.RED: 'red'>, 'n': (1, 2)}
    """

    __slots__ = ("_by_name", "_by_tag", "_encoders", "_strict", "_warned")

    def __init__(
        self,
        *,
        allowed: Iterable[type[Any] | tuple[str, type[Any]]] = (),
        strict: bool | None = None,
    ) -> None:
        self._encoders: dict[type[Any], Codec] = dict(BY_TYPE)
        self._by_tag: dict[str, Codec] = {}
        # Registered codecs by the class's default tag, for values written by
        # a serializer that had not registered the class (`OBJECT_EXT`).
        self._by_name: dict[str, Codec] = {}
        self._strict = _strict_from_env() if strict is None else bool(strict)
        self._warned: set[tuple[str, str]] = set()
        for entry in allowed:
            if isinstance(entry, tuple):
                tag, cls = entry
                self.register(cls, tag=tag)
            else:
                self.register(entry)

    @property
    def strict(self) -> bool:
        """Whether only built-in and registered classes are rebuilt."""
        return self._strict

    def __repr__(self) -> str:
        strict = ", strict=True" if self._strict else ""
        return f"SafeMsgpackSerializer(allowed={sorted(self._by_tag)!r}{strict})"

    # --- registration ----------------------------------------------------------

    def register(
        self,
        cls: type[Any],
        *,
        tag: str | None = None,
        encode: Callable[[Any], Any] | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> SafeMsgpackSerializer:
        """Allow a class to be stored and loaded; changes this instance in place.

        The tag is written next to each value and looked up in a table on
        read: it is a name, never imported. Keep it stable once data exists;
        to rename a class, register it under its old tag too (every tag of a
        class is read; the last one registered is written).

        Built-in types are always allowed and TypedDicts are plain dicts, so
        registering either does nothing.

        Args:
            cls: A pydantic v2 model, dataclass, Enum or NamedTuple; any other
                class needs `encode` and `decode`.
            tag: Stable name to store; defaults to `module.QualName`.
            encode: `obj -> value`, where value is anything this serializer
                can store (may contain other allowed types).
            decode: `value -> obj`, the inverse of `encode`.

        Returns:
            This serializer, for chaining.

        Raises:
            ConfigurationError: The class cannot be registered as given, or
                the tag already belongs to another class.

        Example:
            >>> from dataclasses import dataclass
            >>> @dataclass
            ... class Order:
            ...     sku: str
            >>> serde = SafeMsgpackSerializer().register(Order, tag="shop.Order")
            >>> serde.loads_typed(serde.dumps_typed(Order("A1")))
            Order(sku='A1')
        """
        if not isinstance(cls, type):
            raise ConfigurationError(f"register() takes a class, got {cls!r}")
        if cls in BY_TYPE or (encode is None and is_typeddict_type(cls)):
            return self
        tag = default_tag(cls) if tag is None else tag
        current = self._by_tag.get(tag)
        if current is not None:
            owner = self._owner(tag)
            # Re-running a notebook cell or reloading a module defines a new
            # class object with the same name: the new one replaces the old.
            if owner is not None and owner is not cls and default_tag(owner) != default_tag(cls):
                raise ConfigurationError(
                    f"type tag {tag!r} is already registered for {default_tag(owner)!r};"
                    f" pick another: serde.register({cls.__name__}, tag='...')"
                )
        codec = user_codec(cls, tag, encode, decode, self._report)
        self._by_tag[tag] = codec
        self._by_name[default_tag(cls)] = codec
        self._encoders[cls] = codec
        return self

    def _owner(self, tag: str) -> type[Any] | None:
        for cls, codec in self._encoders.items():
            if codec.code == USER_EXT and codec.name == tag:
                return cls
        return None

    def with_allowlist(self, extra: Collection[tuple[str, ...]]) -> SafeMsgpackSerializer:
        """Return a serializer that also allows the classes LangGraph names.

        This is LangGraph's hook: in strict mode (`LANGGRAPH_STRICT_MSGPACK`)
        `StateGraph.compile` derives `(module, name)` pairs from the state
        schema and passes them down through the checkpointer. Each pair is
        resolved only among modules already imported by the application
        (`sys.modules`), by walking `__dict__`; nothing is imported. Pairs
        that are not loaded, not classes, or not registrable are skipped.

        Args:
            extra: `(module, qualname)` pairs; classes are accepted too.

        Returns:
            `self` when nothing new is allowed, else a new serializer.

        Example:
            >>> serde = SafeMsgpackSerializer()
            >>> serde.with_allowlist([("collections", "OrderedDict")]) is serde
            True
        """
        found: list[type[Any]] = []
        for entry in extra:
            cls = entry if isinstance(entry, type) else _resolve_loaded(entry)
            if cls is None or self._is_registered(cls) or is_typeddict_type(cls):
                continue
            if is_registrable(cls):
                found.append(cls)
            else:
                logger.debug("with_allowlist: %s is not a registrable class; skipped", entry)
        if not found:
            return self
        clone = self.copy()
        for cls in found:
            try:
                clone.register(cls)
            except ConfigurationError as exc:
                logger.debug("with_allowlist: %s skipped: %s", default_tag(cls), exc)
        return clone

    def _is_registered(self, cls: type[Any]) -> bool:
        codec = self._encoders.get(cls)
        return codec is not None and codec.code != OBJECT_EXT

    def copy(self) -> SafeMsgpackSerializer:
        """Return an independent copy: later registrations on either do not leak."""
        clone = SafeMsgpackSerializer(strict=self._strict)
        clone._encoders = dict(self._encoders)
        clone._by_tag = dict(self._by_tag)
        clone._by_name = dict(self._by_name)
        return clone

    @property
    def tags(self) -> frozenset[str]:
        """Tags of the registered application classes."""
        return frozenset(self._by_tag)

    # --- SerializerProtocol ------------------------------------------------------

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Serialize a value to `("lgrs", payload)`.

        Raises:
            UnsafeTypeError: The value contains objects with no data shape
                (a function, a socket, ...); the message names the path of
                every one of them and how to store them.
            SerializationError: The value cannot be stored for another reason
                (too deeply nested, circular, unsupported tzinfo, ...).

        Example:
            >>> SafeMsgpackSerializer().dumps_typed({"a": 1})
            ('lgrs', b'\\x01\\x81\\xa1a\\x01')
        """
        try:
            if type(obj) is bytearray:  # msgpack would write it as bytes
                obj = msgpack.ExtType(BY_TYPE[bytearray].code, bytes(obj))
            return TYPE_TAG, _HEADER + pack(obj, self._encoders, self._resolve, _fallback)
        except UnsafeTypeError as exc:
            raise UnsafeTypeError(self._unstorable_message(obj, exc)) from None
        except SerializationError:
            raise
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            why = str(exc)
            if "recursion limit" in why:  # msgpack's own nesting limit
                why = (
                    "lists, dicts or tuples nested too deeply, or circular (one that"
                    " contains itself): store a flatter value, or break the cycle"
                )
            raise SerializationError(
                f"Cannot serialize value of type {_type_name(obj)!r}: {why}"
            ) from exc

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Deserialize a value written by `dumps_typed`.

        Never fails because the application's code changed: a class that is
        missing, not allowed or changed comes back as the closest object or
        as plain data, with one `StoredDataWarning` per class.

        Raises:
            SchemaVersionError: The data was written by a newer format version.
            DecodeError: The data is malformed, truncated, oversized, too
                deeply nested, encrypted, or written by another serializer.

        Example:
            >>> serde = SafeMsgpackSerializer()
            >>> serde.loads_typed(serde.dumps_typed({1, 2}))
            {1, 2}
        """
        body = _body(data)
        try:
            value = unpack(body, self._by_tag, self._unknown_tag, self._load_object)
        except (SerializationError, SchemaVersionError):
            take()  # a failed decode reports its error, not its notes
            raise
        except Exception as exc:
            take()
            raise DecodeError(f"Cannot decode stored value: {_describe(exc)}") from exc
        if _has_notes():
            self._warn_noted()
        return value

    # --- resolution of application classes ------------------------------------------

    def _resolve(self, value: Any) -> Codec | None:
        """Codec for a value of a type outside the table: a data class or numpy."""
        cls = type(value)
        if cls is PlainFields:  # plain data read back: store it as it was stored
            return _PLAIN_CODECS[value.stored_as[0]]
        module = getattr(cls, "__module__", None)  # the writer's own class
        codec = numpy_codec(value) if type(module) is str and module.startswith("numpy") else None
        if codec is not None:
            return codec
        kind = class_kind(cls)
        if kind is None:
            return None
        codec = _object_codec(cls, kind)
        self._encoders[cls] = codec  # cache: the next value of this class skips the checks
        return codec

    def _load_object(self, payload: Any) -> Any:
        """Rebuild an unregistered data class written as `OBJECT_EXT`."""
        module, qualname, kind, fields, fields_set = object_parts(payload)
        name = f"{module}.{qualname}"
        codec = self._by_tag.get(name) or self._by_name.get(name)
        if codec is not None:
            return codec.decode(fields)
        value = self._find_object(module, qualname, kind, fields, fields_set)
        if type(value) is dict and all(type(key) is str for key in value):
            tail = [] if fields_set is None else [fields_set]
            return PlainFields(value, (OBJECT_EXT, [module, qualname, kind], tail))
        return value

    def _find_object(
        self, module: str, qualname: str, kind: int, fields: Any, fields_set: Any
    ) -> Any:
        name = f"{module}.{qualname}"
        short = qualname.rsplit(".", 1)[-1]
        if self._strict:
            return self._plain(
                f"class {name!r}",
                fields,
                "strict mode allows only registered classes",
                f"allow it: SafeMsgpackSerializer(strict=True, allowed=[{short}])",
            )
        cls = find_class(module, qualname)
        if cls is None:
            return self._plain(
                f"class {name!r}",
                fields,
                "the class is not imported (or no longer exists)",
                f"import {module} before reading, or register it under its old name:"
                f" serde.register({short}, tag={name!r})",
            )
        current = class_kind(cls)
        if current is None:
            return self._plain(
                f"class {name!r}",
                fields,
                "it is not a data class (pydantic, dataclass, Enum, NamedTuple)",
                f"register an encoder: serde.register({short}, encode=..., decode=...)",
            )
        if has_finalizer(cls):
            return self._plain(
                f"class {name!r}",
                fields,
                "the class defines __del__, which would run on stored values",
                f"register it if you trust the stored data: serde.register({short})",
            )
        if current != kind and ENUM in (current, kind):  # Enum <-> record: no mapping
            return self._plain(
                f"class {name!r}",
                fields,
                f"it was a {_kind(kind)} and is now a {_kind(current)}",
                "migrate the stored sessions",
            )
        return rebuild(cls, current, fields, fields_set, self._report)

    def _unknown_tag(self, tag: str, value: Any) -> Any:
        shown = tag if len(tag) <= 100 else tag[:97] + "..."
        short = shown.rsplit(".", 1)[-1] or "YourClass"
        self._plain(
            f"type tag {shown!r}",
            value,
            "the type tag is not registered with this serializer",
            f"register it: serde.register({short}, tag={shown!r})",
        )
        if type(value) is dict and all(type(key) is str for key in value):
            return PlainFields(value, (USER_EXT, [tag], []))
        return value

    def _plain(self, name: str, value: Any, why: str, fix: str) -> Any:
        kind = "raw value" if type(value) is not dict else "dict of fields"
        self._report(Evolution(name, f"loaded as plain data ({kind}): {why}", fix))
        return value

    @staticmethod
    def _report(event: Evolution) -> None:
        note(event)

    def _warn_noted(self) -> None:
        for event in take():
            key = (event.where, event.what)
            if key in self._warned:
                continue
            self._warned.add(key)
            warnings.warn(
                f"stored value of {event.where}: {event.what}. Fix: {event.fix}",
                StoredDataWarning,
                stacklevel=3,
            )

    def _unstorable_message(self, obj: Any, exc: UnsafeTypeError) -> str:
        found = unstorable_paths(obj, self._storable)
        if not found:
            return str(exc)
        shown = ", ".join(f"{path} ({type_name})" for path, type_name in found[:20])
        more = f" and {len(found) - 20} more" if len(found) > 20 else ""
        module, _, first = found[0][1].rpartition(".")
        advice = (
            f", or register an encoder: serde.register({first}, encode=lambda obj: ...,"
            f" decode=lambda data: {first}(...))"
            if module != "builtins"
            else ""
        )
        return (
            f"Cannot store {len(found)} value(s) with no data shape: {shown}{more}."
            f" Convert them to data (str, dict, a dataclass...) before they reach the state{advice}"
        )

    def _storable(self, value: Any) -> bool:
        cls = type(value)
        if cls in self._encoders or cls in _NATIVE or value is None:
            return True
        try:
            return self._resolve(value) is not None or _fallback(value) is not None
        except UnsafeTypeError:
            return False

    def decode_plain(self, data: tuple[str, bytes]) -> Any:
        """Decode any stored value into JSON-able data, without application classes.

        Used by the inspector. Objects become dicts with a `"__type__"` key
        (LangChain messages keep all their fields, such as `type`, `content`,
        `tool_calls`, `usage_metadata`); registered and unknown tags alike
        become `{"__type__": tag, **fields}`; tuples, sets and deques become
        lists; bytes become `{"__type__": "py.bytes", "base64": ...}`; dates
        and times ISO strings; UUID, Decimal and paths strings; timedelta
        seconds; dict keys that are not strings are JSON-encoded.

        Raises:
            SchemaVersionError: The data was written by a newer format version.
            DecodeError: Anything else that cannot be decoded.

        Example:
            >>> from datetime import date
            >>> serde = SafeMsgpackSerializer()
            >>> serde.decode_plain(serde.dumps_typed({"day": date(2025, 1, 2), 3: b"x"}))
            {'day': '2025-01-02', '3': {'__type__': 'py.bytes', 'base64': 'eA=='}}
        """
        body = _body(data)
        try:
            return unpack_plain(body)
        except (DecodeError, SchemaVersionError):
            raise
        except Exception as exc:
            raise DecodeError(f"Cannot decode stored value: {_describe(exc)}") from exc


# --- module helpers --------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    # Messages of pydantic or msgpack errors may quote the stored data at length.
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


def _body(data: Any) -> memoryview:
    try:
        typ, payload = data
        view = memoryview(payload).cast("B")
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"expected a (type, bytes) pair, got {_type_name(data)!r}") from exc
    if isinstance(typ, bytes):
        typ = typ.decode("utf-8", "replace")
    if typ != TYPE_TAG:
        raise _foreign(typ)
    if not view.nbytes:
        raise DecodeError("empty payload: no format version byte")
    version = view[0]
    if version != FORMAT_VERSION:
        if version > FORMAT_VERSION:
            raise SchemaVersionError(
                f"stored value uses format version {version}; this langgraph-redis-saver"
                f" reads version {FORMAT_VERSION}. Upgrade langgraph-redis-saver to read it."
            )
        raise DecodeError(f"unknown format version byte {version}")
    return view[1:]


def _foreign(typ: Any) -> DecodeError:
    if isinstance(typ, str) and "+" in typ:
        return DecodeError(
            f"stored value is encrypted (type {typ!r}); decode it through the"
            " EncryptedSerializer that wrote it, e.g."
            " EncryptedSerializer.from_pycryptodome_aes(SafeMsgpackSerializer(), key=...)"
        )
    writer = _FOREIGN.get(typ) if isinstance(typ, str) else None
    if writer is not None:
        return DecodeError(
            f"stored value was written by another serializer ({writer}, type {typ!r});"
            " SafeMsgpackSerializer refuses to decode it because that format can name"
            " code to import and call. Re-create the data with SafeMsgpackSerializer."
        )
    return DecodeError(f"unknown serialization type {typ!r}; expected {TYPE_TAG!r}")


def _type_name(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _fallback(value: Any) -> Any:
    # LangGraph writes a failed node's exception as a pending write and only
    # ever reads back its text; store its repr, as JsonPlusSerializer does.
    if isinstance(value, BaseException):
        return repr(value)
    # A str subclass that is only a str with helpers (langchain-core's
    # `message.text` returns one) is stored as its text. (str-valued Enums
    # are data classes and never reach this point.)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes(value)
    # Any other subclass of a built-in container or number (data classes,
    # Enums, NamedTuples and the table's OrderedDict, Counter... never get
    # here) is stored as its base, as JsonPlusSerializer stores list, dict and
    # int subclasses. Read through the base's own methods: the subclass's
    # overrides (__iter__, items...) are not data.
    for base, to_base in _BASES:
        if isinstance(value, base):
            return to_base(value)
    raise UnsafeTypeError(
        f"Cannot serialize a value of type {_type_name(value)!r}: it has no data shape."
    )


_BASES: Final[tuple[tuple[type[Any], Callable[[Any], Any]], ...]] = (
    (list, list.copy),
    (dict, lambda value: dict(dict.items(value))),
    (tuple, lambda value: tuple.__getitem__(value, slice(None))),
    (set, set.copy),
    (frozenset, frozenset.copy),
    (int, int.__int__),
    (float, float.__float__),
)


def _kind(kind: int) -> str:
    return KIND_NAMES[kind] if 0 <= kind < len(KIND_NAMES) else f"kind {kind}"


def _object_codec(cls: type[Any], kind: int) -> Codec:
    def encode(obj: Any) -> list[Any]:
        named = stored_class(obj, kind)
        fields, fields_set = encode_fields(obj, kind)
        head = [named.__module__, named.__qualname__, kind, fields]
        return head if fields_set is None else [*head, fields_set]

    name = class_name(cls)
    return Codec(OBJECT_EXT, name, encode, _unused, _unused)


def _unused(value: Any) -> Any:  # OBJECT_EXT is decoded by the serializer itself
    raise AssertionError("OBJECT_EXT payloads are decoded by SafeMsgpackSerializer")


# Plain data read back (`PlainFields`) is written as the extension it came from.
_PLAIN_CODECS: Final = {
    code: Codec(code, "PlainFields", PlainFields.payload, _unused, _unused)
    for code in (OBJECT_EXT, USER_EXT)
}


_NATIVE: Final = frozenset({dict, list, str, bytes, int, float, bool})


def _resolve_loaded(entry: Any) -> type[Any] | None:
    """Find an already imported class by `(module, qualname)`; never imports."""
    if not isinstance(entry, tuple) or len(entry) != 2:
        return None
    module, qualname = entry
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        # __dict__ rather than getattr: a module-level __getattr__ may import.
        namespace = getattr(obj, "__dict__", None)
        obj = namespace.get(part) if isinstance(namespace, dict) else None
        if obj is None:
            logger.debug("with_allowlist: %s.%s is not loaded; skipped", module, qualname)
            return None
    return obj if isinstance(obj, type) else None


# --- LangGraph integration ---------------------------------------------------------


def serde_with_allowlist(serde: S, extra: Collection[tuple[str, ...]]) -> S | SerializerProtocol:
    """Apply LangGraph's allowlist to a serializer, looking inside `EncryptedSerializer`.

    For a saver's `with_allowlist` override: handles `SafeMsgpackSerializer`,
    `EncryptedSerializer` wrapping one (re-wrapped with the same cipher), and
    LangGraph's `JsonPlusSerializer` (bare or wrapped). Returns `serde`
    itself when nothing changes.

    Example:
        >>> serde = SafeMsgpackSerializer()
        >>> serde_with_allowlist(serde, [("collections", "OrderedDict")]) is serde
        True
    """
    if isinstance(serde, SafeMsgpackSerializer):
        return serde.with_allowlist(extra)
    if isinstance(serde, JsonPlusSerializer):
        return serde.with_msgpack_allowlist(extra)
    if isinstance(serde, EncryptedSerializer):
        inner = serde.serde
        updated = serde_with_allowlist(inner, extra)
        return serde if updated is inner else EncryptedSerializer(serde.cipher, updated)
    return serde
