"""A restricted reader for legacy pickled sessions: the only module that imports `pickle`.

`read_pickle` loads a pickle with the pure-Python unpickler whose opcode
handlers that could reach code are replaced, so nothing named by the data is
ever imported or called:

- ``GLOBAL``, ``STACK_GLOBAL``, ``INST``: `find_class` never imports and never
  returns a real object; it returns a `_Global` record (module, name). Nothing
  pushed on the stack is callable.
- ``REDUCE``, ``NEWOBJ``, ``NEWOBJ_EX``, ``INST``, ``OBJ``: a call is only
  performed for the few builders in `_BUILDERS` (``set``, ``bytearray``,
  ``Decimal``, the datetime family, ...), each of which checks its arguments.
  Any other call, including every `__reduce__` callable outside the table,
  becomes a `_Pending` record of the class or function and its arguments.
- ``BUILD``: only records the state on a `_Pending` record; it never calls
  ``__setstate__`` nor sets attributes. ``BUILD`` on anything else is refused.
- ``EXT1/2/4`` (copyreg's extension registry): never consulted; the value
  becomes a placeholder.
- ``PERSID``, ``BINPERSID``: persistent ids become placeholders.

After loading, `_Finisher` turns records into values: LangChain messages and
documents and UUID are rebuilt from their pickled fields without running
their code (the same rebuild `SafeMsgpackSerializer` uses); classes the caller
passes are trusted and rebuilt from their fields as registered classes are
(pydantic models validated, dataclasses through ``__init__``; never their
``__setstate__`` or ``__reduce__``); everything else becomes a `LegacyObject`
placeholder carrying the type name and the fields or arguments the pickle held.
Size, nesting depth and expanded node count are bounded.
"""

from __future__ import annotations

import collections
import datetime as dt
import decimal
import io
import pickle
import struct
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

from langchain_core import messages as lc
from langchain_core.documents import Document
from pydantic import BaseModel

from langgraph_redis_saver.errors import DecodeError
from langgraph_redis_saver.serde._codecs import BY_TYPE
from langgraph_redis_saver.serde._times import _zone
from langgraph_redis_saver.serde._user import default_tag, user_codec

__all__ = ["MAX_BYTES", "LegacyObject", "LegacyRead", "read_pickle"]

#: Largest pickle read (bytes); the seed's sessions are 2-10 KB.
MAX_BYTES: Final = 16 * 1024 * 1024
#: Deepest nesting of containers and objects.
MAX_DEPTH: Final = 100
#: Most values after expanding shared references (memo "billion laughs").
MAX_NODES: Final = 2_000_000
#: Most bytes of strings and bytes after expanding shared references: a value
#: referenced N times counts N times, as it does once shown or stored.
MAX_EXPANDED_BYTES: Final = 64 * 1024 * 1024
#: Entries of `LegacyRead.refused` for what is not a global but cannot be rebuilt either.
PERSISTENT_ID: Final = "<persistent id>"
CYCLE: Final = "<reference cycle>"
UNHASHABLE: Final = "<dict key or set item that cannot be rebuilt>"
_MAX_DECIMAL_CHARS: Final = 1_000


class LegacyPickleError(DecodeError):
    """A legacy pickle is corrupted, truncated, too big or too deeply nested."""


@dataclass(frozen=True, eq=False)
class LegacyObject:
    """Stand-in for an object the restricted reader did not rebuild.

    ``type`` is the ``module.name`` the pickle named, ``args`` and ``fields``
    what it carried (constructor arguments; state or ``__dict__``). Nothing of
    the named type was imported or called.
    """

    type: str
    args: tuple[Any, ...] = ()
    fields: Any = None

    def to_plain(self) -> dict[str, Any]:
        """JSON-like form: ``{"__legacy_type__": ..., "args": [...], "fields": ...}``."""
        out: dict[str, Any] = {"__legacy_type__": self.type}
        if self.args:
            out["args"] = list(self.args)
        if self.fields is not None:
            out["fields"] = self.fields
        return out


@dataclass
class LegacyRead:
    """Result of `read_pickle`: the value, and the globals that were refused."""

    value: Any
    refused: list[str] = field(default_factory=list)
    """``module.name`` of every global not in the table (sorted, unique)."""


@dataclass(frozen=True, eq=False)
class _Global:
    module: str
    name: str

    def __eq__(self, other: object) -> bool:
        return type(other) is _Global and (self.module, self.name) == (other.module, other.name)

    def __hash__(self) -> int:
        return hash((self.module, self.name))

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class _Pending:
    """A call or allocation the reader recorded instead of performing."""

    target: Any
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    state: Any = None


# -- builders: the only calls ever made, each checks its arguments -------------------


def _check(ok: bool, what: str, args: tuple[Any, ...]) -> None:
    if not ok:
        raise LegacyPickleError(f"refused arguments for {what}: {_short(args)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _items(args: tuple[Any, ...], what: str) -> list[Any]:
    if not args:
        return []
    _check(len(args) == 1 and type(args[0]) in (list, tuple, set, frozenset), what, args)
    return list(args[0])


def _bytes(args: tuple[Any, ...]) -> bytes:
    if not args:
        return b""
    if len(args) == 1 and type(args[0]) in (bytes, bytearray):
        return bytes(args[0])
    if len(args) == 1 and type(args[0]) is list and all(type(b) is int for b in args[0]):
        return bytes(args[0])
    _check(
        len(args) == 2
        and type(args[0]) is str
        and type(args[1]) is str
        and args[1].lower().replace("-", "") == "latin1",
        "bytes",
        args,
    )
    return str(args[0]).encode("latin-1")


def _decimal(args: tuple[Any, ...]) -> decimal.Decimal:
    _check(
        len(args) == 1 and type(args[0]) is str and len(args[0]) <= _MAX_DECIMAL_CHARS,
        "decimal.Decimal",
        args,
    )
    return decimal.Decimal(args[0])


_DT_ARG_TYPES = (int, float, str, bytes, dt.timedelta, dt.timezone, ZoneInfo, type(None))


def _datetime_family(cls: Callable[..., Any], what: str) -> Callable[[tuple[Any, ...]], Any]:
    def build(args: tuple[Any, ...]) -> Any:
        _check(len(args) <= 8 and all(isinstance(a, _DT_ARG_TYPES) for a in args), what, args)
        try:
            return cls(*args)
        except (TypeError, ValueError, OverflowError) as exc:
            raise LegacyPickleError(f"malformed {what}: {exc}") from None

    return build


def _zone_unpickle(args: tuple[Any, ...]) -> ZoneInfo:
    _check(len(args) == 2, "zoneinfo.ZoneInfo", args)
    try:
        return _zone(args[0])  # the serializer's check of IANA-like keys
    except (DecodeError, LookupError, ValueError) as exc:
        raise LegacyPickleError(f"refused time zone {_short(args[0])}") from exc


def _complex(args: tuple[Any, ...]) -> complex:
    _check(len(args) <= 2 and all(type(a) in (int, float) for a in args), "complex", args)
    return complex(*args)


def _ordered_dict(args: tuple[Any, ...]) -> dict[Any, Any]:
    items = _items(args, "collections.OrderedDict")
    _check(all(type(p) in (list, tuple) and len(p) == 2 for p in items), "OrderedDict", args)
    return collections.OrderedDict(items)


#: defaultdict factories kept (the ones `SafeMsgpackSerializer` stores); the
#: factory is a global named by the data, matched by name and never looked up.
_FACTORIES: Final[dict[tuple[str, str], type[Any]]] = {
    ("builtins", f.__name__): f for f in (list, dict, set, int, float, str, tuple, bytes, bool)
}


def _defaultdict(args: tuple[Any, ...]) -> collections.defaultdict[Any, Any]:
    factory = args[0] if args else None
    if factory is None:
        return collections.defaultdict()
    key = (
        (_MODULE_ALIASES.get(factory.module, factory.module), factory.name)
        if type(factory) is _Global
        else None
    )
    _check(len(args) == 1 and key in _FACTORIES, "collections.defaultdict", args)
    assert key is not None
    return collections.defaultdict(_FACTORIES[key])


def _deque(args: tuple[Any, ...]) -> collections.deque[Any]:
    maxlen = args[1] if len(args) == 2 else None
    _check(
        len(args) <= 2 and (maxlen is None or (type(maxlen) is int and maxlen >= 0)),
        "collections.deque",
        args,
    )
    return collections.deque(_items(args[:1], "collections.deque"), maxlen)


def _counter(args: tuple[Any, ...]) -> collections.Counter[Any]:
    _check(len(args) <= 1 and (not args or type(args[0]) is dict), "collections.Counter", args)
    out: collections.Counter[Any] = collections.Counter()
    if args:
        dict.update(out, args[0])
    return out


_BUILDERS: Final[dict[tuple[str, str], Callable[[tuple[Any, ...]], Any]]] = {
    ("builtins", "set"): lambda a: set(_items(a, "set")),
    ("builtins", "frozenset"): lambda a: frozenset(_items(a, "frozenset")),
    ("builtins", "list"): lambda a: _items(a, "list"),
    ("builtins", "tuple"): lambda a: tuple(_items(a, "tuple")),
    ("builtins", "dict"): lambda a: dict(_ordered_dict(a)),
    ("builtins", "bytes"): _bytes,
    ("builtins", "bytearray"): lambda a: bytearray(_bytes(a)),
    ("builtins", "complex"): _complex,
    ("_codecs", "encode"): _bytes,
    ("collections", "OrderedDict"): _ordered_dict,
    ("collections", "defaultdict"): _defaultdict,
    ("collections", "deque"): _deque,
    ("collections", "Counter"): _counter,
    ("decimal", "Decimal"): _decimal,
    ("datetime", "datetime"): _datetime_family(dt.datetime, "datetime.datetime"),
    ("datetime", "date"): _datetime_family(dt.date, "datetime.date"),
    ("datetime", "time"): _datetime_family(dt.time, "datetime.time"),
    ("datetime", "timedelta"): _datetime_family(dt.timedelta, "datetime.timedelta"),
    ("datetime", "timezone"): _datetime_family(dt.timezone, "datetime.timezone"),
    ("uuid", "SafeUUID"): lambda a: None,
    ("zoneinfo", "ZoneInfo._unpickle"): _zone_unpickle,
}

# Python 2 spellings that protocols 0-2 write.
_MODULE_ALIASES: Final[dict[str, str]] = {
    "__builtin__": "builtins",
    "copy_reg": "copyreg",
    "_pydecimal": "decimal",
}

_ZONEINFO: Final = _Global("zoneinfo", "ZoneInfo")

# copyreg helpers that allocate a class: their first argument is the class.
_ALLOCATORS: Final = frozenset(
    {("copyreg", "_reconstructor"), ("copyreg", "__newobj__"), ("copyreg", "__newobj_ex__")}
)

_LC_CLASSES: Final[tuple[type[BaseModel], ...]] = (
    lc.HumanMessage,
    lc.HumanMessageChunk,
    lc.AIMessage,
    lc.AIMessageChunk,
    lc.SystemMessage,
    lc.SystemMessageChunk,
    lc.ToolMessage,
    lc.ToolMessageChunk,
    lc.FunctionMessage,
    lc.FunctionMessageChunk,
    lc.ChatMessage,
    lc.ChatMessageChunk,
    lc.RemoveMessage,
    Document,
)


def _lc_table() -> dict[tuple[str, str], Callable[[dict[str, Any]], Any]]:
    table: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {}
    for cls in _LC_CLASSES:
        decode = BY_TYPE[cls].decode
        # The defining module, the package that re-exports it, and the
        # pre-langchain-core spelling older sessions were pickled with.
        for module in (
            cls.__module__,
            cls.__module__.rsplit(".", 1)[0],
            "langchain.schema",
            "langchain.schema.messages",
            "langchain.schema.document",
        ):
            table[(module, cls.__qualname__)] = decode
    return table


_LC_TABLE: Final = _lc_table()


# -- the unpickler -------------------------------------------------------------------


def _bounded(fmt: str, handler: Callable[[Any], None]) -> Callable[[Any], None]:
    def checked(self: _RestrictedUnpickler) -> None:
        self._check_length(fmt)
        handler(self)

    return checked


class _RestrictedUnpickler(pickle._Unpickler):
    """`pickle._Unpickler` whose code-reaching opcodes only build records."""

    # The pure-Python unpickler, because its opcode table can be replaced.
    dispatch: ClassVar[dict[int, Callable[[Any], None]]] = dict(pickle._Unpickler.dispatch)
    stack: list[Any]
    append: Callable[[Any], None]

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)
        super().__init__(self._source, fix_imports=False)
        self.globals_seen: list[_Global] = []
        self.lost: set[str] = set()
        """What was loaded but not kept (a defaultdict's unknown factory)."""

    def _check_length(self, fmt: str) -> None:
        """Refuse a declared length longer than the input left, before anything is allocated.

        Peeks at the length field of the opcode being dispatched (in the
        current frame, or the input when there is none) without consuming it.
        """
        size = struct.calcsize(fmt)
        frame = self._unframer.current_frame  # type: ignore[attr-defined]
        src = frame if frame is not None and frame.tell() < len(frame.getbuffer()) else None
        src = src or self._source
        pos = src.tell()
        raw = src.read(size)
        src.seek(pos)
        if len(raw) != size:
            return  # truncated: the opcode's own read reports it
        (length,) = struct.unpack(fmt, raw)
        left = len(self._source.getbuffer()) - self._source.tell()
        if src is not self._source:
            left += len(src.getbuffer()) - pos
        left -= size
        if length > left:
            raise LegacyPickleError(
                f"corrupted or truncated pickle: an opcode declares {length} bytes of data "
                f"where only {max(left, 0)} remain"
            )

    def find_class(self, module: str, name: str) -> _Global:
        glob = _Global(module, name)
        self.globals_seen.append(glob)
        return glob

    def persistent_load(self, pid: Any) -> Any:
        return LegacyObject(PERSISTENT_ID, (pid,))

    def _call(self, target: Any, args: Any, kwargs: Any) -> Any:
        if type(args) is not tuple:
            args = tuple(args) if type(args) is list else (args,)
        if type(kwargs) is not dict:
            kwargs = {}
        if type(target) is _Global:
            key = (_MODULE_ALIASES.get(target.module, target.module), target.name)
            if key == ("builtins", "getattr"):
                # Bound classmethods pickle as getattr(cls, name): only
                # ZoneInfo._unpickle is followed, as a name, never a lookup.
                if len(args) == 2 and args[0] == _ZONEINFO and args[1] == "_unpickle":
                    return _Global("zoneinfo", "ZoneInfo._unpickle")
                return _Pending(target, args)
            if key == ("collections", "defaultdict") and not kwargs and len(args) == 1:
                try:
                    return _defaultdict(args)
                except LegacyPickleError:  # the items still follow (SETITEMS)
                    factory = args[0]
                    name = factory.qualname if type(factory) is _Global else _short(factory)
                    self.lost.add(f"collections.defaultdict factory {name}")
                    return collections.defaultdict()
            builder = _BUILDERS.get(key)
            if builder is not None and not kwargs:
                try:
                    return builder(args)
                except LegacyPickleError:  # arguments not of the expected shape
                    return _Pending(target, args)
            if key in _ALLOCATORS and args and type(args[0]) is _Global:
                return _Pending(args[0], tuple(args[1:2]) if key[1] == "__newobj_ex__" else ())
        return _Pending(target, args, kwargs)

    def _instantiate(self, klass: Any, args: Any) -> None:  # INST and OBJ
        self.append(self._call(klass, tuple(args), {}))

    def load_reduce(self) -> None:
        stack = self.stack
        args = stack.pop()
        stack[-1] = self._call(stack[-1], args, {})

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._call(cls, args, {}))

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._call(cls, args, kwargs))

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is not _Pending:
            raise LegacyPickleError(
                f"refused BUILD on a {type(inst).__name__}: only recorded objects take state"
            )
        inst.state = state

    def _extension(self) -> None:
        raise LegacyPickleError("refused an EXT opcode: copyreg's extension registry is not used")

    def _ext1(self) -> None:
        self._extension()

    # Length-prefixed opcodes: the length is checked against the input left
    # before the stock handler runs (BYTEARRAY8 allocates the length first).
    for _op, _fmt in (
        (pickle.BINBYTES, "<I"),
        (pickle.SHORT_BINBYTES, "<B"),
        (pickle.BINBYTES8, "<Q"),
        (pickle.BINUNICODE, "<I"),
        (pickle.SHORT_BINUNICODE, "<B"),
        (pickle.BINUNICODE8, "<Q"),
        (pickle.BYTEARRAY8, "<Q"),
        (pickle.BINSTRING, "<i"),
        (pickle.SHORT_BINSTRING, "<B"),
        (pickle.LONG1, "<B"),
        (pickle.LONG4, "<i"),
        (pickle.FRAME, "<Q"),
    ):
        dispatch[_op[0]] = _bounded(_fmt, dispatch[_op[0]])
    del _op, _fmt

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build
    dispatch[pickle.EXT1[0]] = _ext1
    dispatch[pickle.EXT2[0]] = _ext1
    dispatch[pickle.EXT4[0]] = _ext1


# -- turning records into values ------------------------------------------------------


def _unwrap_state(state: Any) -> Any:
    """Field dict of a plain object or pydantic model state, else the state as is."""
    if type(state) is tuple and len(state) == 2 and type(state[1]) is dict:
        base = state[0] if type(state[0]) is dict else {}
        return {**base, **state[1]}  # (dict state, slot state)
    if type(state) is dict and type(state.get("__dict__")) is dict:
        fields = dict(state["__dict__"])
        extra = state.get("__pydantic_extra__")
        if type(extra) is dict:
            fields.update(extra)
        return fields
    return state


#: What `_Finisher.walk` returns with a value: values and bytes once shared references expand.
_Cost = tuple[int, int]


def _size_of(value: Any) -> int:
    return len(value) if type(value) in (str, bytes, bytearray) else 8


class _Finisher:
    def __init__(self, classes: dict[tuple[str, str], Callable[[Any], Any]]) -> None:
        self.classes = classes
        self.done: dict[int, tuple[Any, _Cost]] = {}
        self.active: set[int] = set()
        self.refused: set[str] = set()
        # Values made here (unwrapped states) stay referenced until the run
        # ends: `done` is keyed by id(), which a freed value would hand on.
        self.made: list[Any] = []

    def run(self, value: Any) -> Any:
        return self.walk(value, 0)[0]

    def walk(self, value: Any, depth: int) -> tuple[Any, _Cost]:
        kind = type(value)
        if kind in (str, int, float, bool, bytes, type(None), decimal.Decimal) or isinstance(
            value, (dt.date, dt.time, dt.timedelta, dt.tzinfo, complex)
        ):
            return value, (1, _size_of(value))
        if depth > MAX_DEPTH:
            raise LegacyPickleError(f"nested deeper than {MAX_DEPTH} levels")
        key = id(value)
        if key in self.done:
            return self.done[key]  # the caller counts a shared value each time it is referenced
        if key in self.active:
            self.refused.add(CYCLE)
            return LegacyObject("<cycle>"), (1, 8)
        self.active.add(key)
        try:
            result, cost = self._convert(value, depth + 1)
        finally:
            self.active.discard(key)
        _check_cost(cost)
        self.done[key] = (result, cost)
        return result, cost

    def _many(self, values: Iterable[Any], depth: int) -> tuple[list[Any], _Cost]:
        out: list[Any] = []
        nodes, size = 1, 8
        for item in values:
            converted, (n, b) = self.walk(item, depth)
            out.append(converted)
            nodes += n
            size += b
            _check_cost((nodes, size))
        return out, (nodes, size)

    def _convert(self, value: Any, depth: int) -> tuple[Any, _Cost]:
        kind = type(value)
        if kind is list:
            return self._many(value, depth)
        if kind is tuple:
            items, cost = self._many(value, depth)
            return tuple(items), cost
        if kind in (dict, collections.OrderedDict, collections.defaultdict, collections.Counter):
            keys, (kn, kb) = self._many(value.keys(), depth)
            vals, (vn, vb) = self._many(value.values(), depth)
            pairs = list(zip(keys, vals, strict=True))
            cost = (kn + vn, kb + vb)
            try:
                if kind is collections.defaultdict:
                    out: Any = collections.defaultdict(value.default_factory)
                else:
                    out = kind()
                for k, v in pairs:
                    out[k] = v
            except TypeError:  # a key became unhashable: the mapping cannot be rebuilt
                self.refused.add(UNHASHABLE)
                return [list(p) for p in pairs], cost
            return out, cost
        if kind is collections.deque:
            items, cost = self._many(value, depth)
            return collections.deque(items, value.maxlen), cost
        if kind in (set, frozenset):
            items, cost = self._many(value, depth)
            try:
                return kind(items), cost
            except TypeError:
                self.refused.add(UNHASHABLE)
                return items, cost
        if kind is bytearray:
            return value, (1, len(value))
        if kind is _Global:
            self.refused.add(value.qualname)
            return LegacyObject(value.qualname), (1, 8)
        if kind is LegacyObject:  # a persistent id
            self.refused.add(value.type)
            args, cost = self._many(value.args, depth)
            return LegacyObject(value.type, tuple(args)), cost
        if kind is _Pending:
            return self._pending(value, depth)
        self.refused.add(f"<{kind.__name__}>")
        return LegacyObject(f"<{kind.__name__}>"), (1, 8)

    def _pending(self, rec: _Pending, depth: int) -> tuple[Any, _Cost]:
        args, (an, ab) = self._many(rec.args, depth)
        unwrapped = _unwrap_state(rec.state)
        self.made.append(unwrapped)
        state, (sn, sb) = self.walk(unwrapped, depth)
        nodes, size = an + sn, ab + sb
        target = rec.target
        if type(target) is not _Global:
            self.refused.add("<call of a non-global>")
            return LegacyObject("<call>", tuple(args), state), (nodes, size)
        build = self.classes.get((target.module, target.name))
        if build is not None:
            fields: Any = state
            if fields is None and rec.kwargs:
                fields, (kn, kb) = self.walk(rec.kwargs, depth)
                nodes, size = nodes + kn, size + kb
            if fields is None and len(args) == 1:
                fields = args[0]  # Enum members: cls(value)
            try:
                return build(fields), (nodes, size)
            except Exception as exc:  # a validation error of the table's own code
                self.refused.add(f"{target.qualname} ({type(exc).__name__})")
                return LegacyObject(target.qualname, tuple(args), state), (nodes, size)
        if (target.module, target.name) == ("uuid", "UUID"):
            number = state.get("int") if type(state) is dict else None
            if type(number) is int and 0 <= number < 1 << 128:
                return uuid.UUID(int=number), (nodes, size)
        self.refused.add(target.qualname)
        return LegacyObject(target.qualname, tuple(args), state), (nodes, size)


def _check_cost(cost: _Cost) -> None:
    nodes, size = cost
    if nodes > MAX_NODES:
        raise LegacyPickleError(f"more than {MAX_NODES} values once shared references expand")
    if size > MAX_EXPANDED_BYTES:
        raise LegacyPickleError(
            f"more than {MAX_EXPANDED_BYTES // (1024 * 1024)} MiB once shared references "
            "expand (one value referenced many times); refused so that showing or "
            "migrating it cannot exhaust memory"
        )


def _user_table(allowed: Iterable[type[Any]]) -> dict[tuple[str, str], Callable[[Any], Any]]:
    table: dict[tuple[str, str], Callable[[Any], Any]] = {}
    for cls in allowed:
        codec = user_codec(cls, default_tag(cls))
        table[(cls.__module__, cls.__qualname__)] = codec.decode
    return table


def read_pickle(
    data: bytes, *, allowed: Iterable[type[Any]] = (), max_bytes: int = MAX_BYTES
) -> LegacyRead:
    """Load a legacy pickle without importing or calling anything it names.

    Args:
        data: The pickle bytes (any protocol).
        allowed: Extra classes to rebuild (pydantic models, dataclasses,
            Enums, NamedTuples), matched by module and qualified name and
            rebuilt from their pickled fields as registered classes are
            (trusted: pydantic validation and dataclass ``__init__`` run).
        max_bytes: Refuse bigger pickles.

    Returns:
        The value, with refused objects as `LegacyObject` placeholders, and
        the names of the refused globals.

    Raises:
        LegacyPickleError: the pickle is corrupted, truncated, too big or too
            deeply nested.

    >>> read_pickle(b"\\x80\\x04K\\x01.").value
    1
    """
    if not isinstance(data, (bytes, bytearray)):
        raise LegacyPickleError(f"expected pickle bytes, got {type(data).__name__}")
    if len(data) > max_bytes:
        raise LegacyPickleError(f"pickle of {len(data)} bytes is over the {max_bytes} byte limit")
    unpickler = _RestrictedUnpickler(bytes(data))
    try:
        raw = unpickler.load()
    except LegacyPickleError:
        raise
    except RecursionError:
        raise LegacyPickleError("pickle nested too deeply") from None
    except Exception as exc:
        # Truncated or corrupted input: UnpicklingError, EOFError, KeyError
        # (unknown opcode or memo), IndexError (empty stack), ValueError, ...
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise LegacyPickleError(f"corrupted or truncated pickle ({reason[:200]})") from None
    finisher = _Finisher({**_LC_TABLE, **_user_table(allowed)})
    try:
        value = finisher.run(raw)
    except RecursionError:
        raise LegacyPickleError("pickle nested too deeply") from None
    return LegacyRead(value, sorted(finisher.refused | unpickler.lost))
