"""The fixed table of types `SafeMsgpackSerializer` understands without registration.

Each entry is a `Codec`: an msgpack extension code (the wire tag; a code is
never reused for another type), a stable name (shown in errors and as
`"__type__"` in `decode_plain` output), and three functions:

- `encode(obj)` returns the payload: msgpack-native data, which may itself
  contain further extension types, or raw `bytes` when `raw` is set;
- `decode(payload)` rebuilds the object from the decoded payload;
- `plain(payload)` turns the payload into JSON-able data for the inspector,
  with no application class involved.

Decoding is a lookup in `BY_CODE`; nothing here imports a module or looks up
an attribute named by stored data. Codes 0-15 are left unused on purpose:
LangGraph's `JsonPlusSerializer` uses 0-7 for "import this module and call
this name", so such payloads fail here as unknown codes instead of being
misread.
"""

from __future__ import annotations

import collections
import ipaddress
import pathlib
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from langchain_core import agents as lc_agents
from langchain_core import messages as lc
from langchain_core import outputs as lc_outputs
from langchain_core import prompt_values as lc_prompts
from langchain_core.documents import Document
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.types import Command, Interrupt, Overwrite, Send, TimeoutPolicy
from pydantic import BaseModel, SecretBytes, SecretStr

from ._base import (
    Codec,
    PlainFields,
    _bad,
    _bytearray_plain,
    _items,
    _mapping,
    placeholder,
    plain_bytes,
)
from ._numpy import (
    _NP_DTYPE,
    _ndarray_decode,
    _ndarray_encode,
    _ndarray_plain,
    _npscalar_decode,
    _npscalar_plain,
    _numpy,
)
from ._times import (
    _date_decode,
    _datetime_decode,
    _datetime_encode,
    _datetime_plain,
    _time_decode,
    _time_encode,
    _time_plain,
    _timedelta_decode,
    _timezone_plain,
    _tz_from_spec,
    _tz_spec,
    _zone_decode,
    _zone_plain,
)

__all__ = [
    "BY_CODE",
    "BY_TYPE",
    "MAX_PATTERN_LEN",
    "OBJECT_EXT",
    "USER_EXT",
    "Codec",
    "PlainFields",
    "numpy_codec",
    "placeholder",
    "plain_bytes",
]

#: Extension code of user-registered types; the payload is `[tag, value]`.
USER_EXT: Final = 80
#: Extension code of unregistered data classes (pydantic, dataclass, Enum,
#: NamedTuple); the payload is `[module, qualname, kind, fields(, fields_set)]`.
OBJECT_EXT: Final = 81
#: Longest regular expression compiled on read. Compiling is the costly part
#: of a pattern (a hostile 68 KB one took 38 s); longer ones stay uncompiled.
MAX_PATTERN_LEN: Final = 2_000

# Python refuses to print ints above 4300 digits; bigger ones are shown as hex.
_MAX_PLAIN_INT_BITS: Final = 14_000

_new = object.__new__
_setattr = object.__setattr__


# --- numbers, bytes, containers ---------------------------------------------


def _int_encode(obj: int) -> bytes:
    # Only reached for ints outside msgpack's 64-bit range.
    return obj.to_bytes(obj.bit_length() // 8 + 1, "big", signed=True)


def _int_decode(data: bytes) -> int:
    return int.from_bytes(data, "big", signed=True)


def _int_plain(data: bytes) -> Any:
    value = _int_decode(data)
    if value.bit_length() > _MAX_PLAIN_INT_BITS:
        return {"__type__": "py.int", "hex": hex(value)}
    return value


def _deque_decode(value: Any) -> collections.deque[Any]:
    items, maxlen = _items(value, "py.deque", 2)
    return collections.deque(_items(items, "py.deque"), maxlen)


def _deque_plain(value: Any) -> list[Any]:
    return _items(_items(value, "py.deque", 2)[0], "py.deque")


def _complex_plain(value: Any) -> dict[str, Any]:
    z = _complex_decode(value)
    return {"__type__": "py.complex", "real": z.real, "imag": z.imag}


def _complex_decode(value: Any) -> complex:
    real, imag = _items(value, "py.complex", 2)
    if type(real) is not float or type(imag) is not float:
        raise _bad("py.complex", value)
    return complex(real, imag)


_PATH_KINDS: Final[tuple[type[pathlib.PurePath], ...]] = (
    pathlib.PurePosixPath,
    pathlib.PureWindowsPath,
    pathlib.PosixPath,
    pathlib.WindowsPath,
)


def _path_decode(value: Any) -> pathlib.PurePath:
    kind, text = _items(value, "py.Path", 2)
    if type(kind) is not int or not 0 <= kind < len(_PATH_KINDS) or type(text) is not str:
        raise _bad("py.Path", value)
    return _PATH_KINDS[kind](text)


_IP_KINDS: Final[tuple[type[Any], ...]] = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
)


def _ip_decode(value: Any) -> Any:
    kind, text = _items(value, "py.ipaddress", 2)
    if type(kind) is not int or not 0 <= kind < len(_IP_KINDS) or type(text) is not str:
        raise _bad("py.ipaddress", value)
    return _IP_KINDS[kind](text)


class UncompiledPattern(NamedTuple):
    """A stored regular expression too long to compile on read (`MAX_PATTERN_LEN`).

    Compile it yourself if you trust it: `re.compile(value.pattern, value.flags)`.
    """

    pattern: str | bytes
    flags: int


def _pattern_decode(value: Any) -> re.Pattern[Any] | UncompiledPattern:
    pattern, flags = _items(value, "py.Pattern", 2)
    if type(pattern) not in (str, bytes) or type(flags) is not int:
        raise _bad("py.Pattern", value)
    if len(pattern) > MAX_PATTERN_LEN:
        return UncompiledPattern(pattern, flags)
    return re.compile(pattern, flags)


def _pattern_plain(value: Any) -> dict[str, Any]:
    pattern, flags = _items(value, "py.Pattern", 2)
    if type(pattern) is dict:  # bytes pattern, already turned into a marker
        pattern = pattern.get("base64")
    return {"__type__": "py.Pattern", "pattern": pattern, "flags": flags}


def _counter_decode(value: Any) -> collections.Counter[Any]:
    counter: collections.Counter[Any] = collections.Counter()
    dict.update(counter, _mapping(value, "py.Counter"))
    return counter


# A defaultdict's factory is stored as an index in this table; any other
# factory is not stored (the dict comes back with default_factory None).
_FACTORIES: Final[tuple[type[Any], ...]] = (list, dict, set, int, float, str, tuple, bytes, bool)


def _defaultdict_encode(obj: collections.defaultdict[Any, Any]) -> list[Any]:
    factory = obj.default_factory
    index = next((i for i, f in enumerate(_FACTORIES) if f is factory), None)
    return [index, dict(obj)]


def _defaultdict_decode(value: Any) -> collections.defaultdict[Any, Any]:
    index, items = _items(value, "py.defaultdict", 2)
    if index is not None and (type(index) is not int or not 0 <= index < len(_FACTORIES)):
        raise _bad("py.defaultdict", value)
    out: collections.defaultdict[Any, Any] = collections.defaultdict(
        None if index is None else _FACTORIES[index]
    )
    dict.update(out, _mapping(items, "py.defaultdict"))
    return out


# --- numpy: _numpy.py; dates and times: _times.py ----------------------


def numpy_codec(value: Any) -> Codec | None:
    """The codec of a numpy array or scalar with a data dtype, else None."""
    np = _numpy()
    if np is None:
        return None
    if type(value) is np.ndarray:
        codec = BY_CODE[70]
    elif isinstance(value, np.generic):
        codec = BY_CODE[71]
    else:
        return None
    return codec if _NP_DTYPE.fullmatch(value.dtype.str) else None


# --- LangChain ---------------------------------------------------------------


def _lc_encode(obj: BaseModel) -> dict[str, Any]:
    extra = obj.__pydantic_extra__
    return {**obj.__dict__, **extra} if extra else obj.__dict__


def _lc_decoder(cls: type[BaseModel]) -> Callable[[Any], Any]:
    fields = frozenset(cls.model_fields)
    kind = cls.model_fields["type"].default
    extra_allowed = cls.model_config.get("extra") == "allow"
    # Document keeps its text in page_content; messages in content.
    content = "page_content" if "page_content" in fields else "content"
    content_types = (str,) if content == "page_content" else (str, list)

    def decode(value: Any) -> Any:
        # Trusted shape (exactly the fields this class has, the right `type`,
        # str or list content): rebuild it the way `model_construct` does,
        # skipping validation, which dominates the cost of loading messages.
        # Anything else (extra keys, fields from another langchain-core
        # version, wrong shapes) goes through full pydantic validation.
        if (
            type(value) is dict
            and value.keys() == fields
            and value["type"] == kind
            and type(value.get(content)) in content_types
        ):
            obj = _new(cls)
            _setattr(obj, "__dict__", value)
            _setattr(obj, "__pydantic_fields_set__", set(value))
            _setattr(obj, "__pydantic_extra__", {} if extra_allowed else None)
            _setattr(obj, "__pydantic_private__", None)
            return obj
        return cls.model_validate(_mapping(value, cls.__name__))

    return decode


_LC_TYPES: Final[tuple[tuple[int, type[BaseModel]], ...]] = (
    (40, lc.HumanMessage),
    (41, lc.HumanMessageChunk),
    (42, lc.AIMessage),
    (43, lc.AIMessageChunk),
    (44, lc.SystemMessage),
    (45, lc.SystemMessageChunk),
    (46, lc.ToolMessage),
    (47, lc.ToolMessageChunk),
    (48, lc.FunctionMessage),
    (49, lc.FunctionMessageChunk),
    (50, lc.ChatMessage),
    (51, lc.ChatMessageChunk),
    (52, lc.RemoveMessage),
    (53, Document),
)


# Other LangChain models seen in agent state, rebuilt without validation (like
# application classes: allocate, set the stored fields).
_LC_MODELS: Final[tuple[tuple[int, type[BaseModel]], ...]] = (
    (54, lc_agents.AgentAction),
    (55, lc_agents.AgentActionMessageLog),
    (56, lc_agents.AgentStep),
    (57, lc_agents.AgentFinish),
    (58, lc_outputs.Generation),
    (59, lc_outputs.GenerationChunk),
    (60, lc_outputs.ChatGeneration),
    (61, lc_outputs.ChatGenerationChunk),
    (62, lc_prompts.StringPromptValue),
    (63, lc_prompts.ChatPromptValue),
    (82, lc_prompts.ChatPromptValueConcrete),
    (83, lc_outputs.LLMResult),
    (84, lc_outputs.ChatResult),
    (85, lc_prompts.ImagePromptValue),
)


def _lc_model(cls: type[BaseModel]) -> Callable[[Any], Any]:
    from ._classes import PYDANTIC, rebuild

    def decode(value: Any) -> Any:
        return rebuild(cls, PYDANTIC, _mapping(value, cls.__name__), None, _ignore)

    return decode


def _ignore(_: Any) -> None:
    return None


# --- LangGraph ---------------------------------------------------------------


def _send_encode(obj: Send) -> list[Any]:
    if obj.timeout is None:
        return [obj.node, obj.arg]
    return [obj.node, obj.arg, obj.timeout]


def _send_decode(value: Any) -> Send:
    items = _items(value, "lg.Send")
    if len(items) == 2:
        return Send(items[0], items[1])
    node, arg, timeout = _items(items, "lg.Send", 3)
    return Send(node, arg, timeout=timeout)


def _send_plain(value: Any) -> dict[str, Any]:
    items = _items(value, "lg.Send")
    out = {"__type__": "lg.Send", "node": items[0], "arg": items[1]}
    return {**out, "timeout": items[2]} if len(items) > 2 else out


def _command_decode(value: Any) -> Command[Any]:
    graph, update, resume, goto = _items(value, "lg.Command", 4)
    return Command(graph=graph, update=update, resume=resume, goto=goto)


def _command_plain(value: Any) -> dict[str, Any]:
    graph, update, resume, goto = _items(value, "lg.Command", 4)
    return {
        "__type__": "lg.Command",
        "graph": graph,
        "update": update,
        "resume": resume,
        "goto": goto,
    }


def _interrupt_encode(obj: Interrupt[Any]) -> list[Any]:
    if obj.response_schema is None:
        return [obj.value, obj.id]
    return [obj.value, obj.id, obj.response_schema]


def _interrupt_decode(value: Any) -> Interrupt[Any]:
    items = _items(value, "lg.Interrupt")
    if len(items) == 2:
        return Interrupt(value=items[0], id=items[1])
    val, id_, schema = _items(items, "lg.Interrupt", 3)
    return Interrupt(value=val, id=id_, response_schema=schema)


def _interrupt_plain(value: Any) -> dict[str, Any]:
    items = _items(value, "lg.Interrupt")
    out = {"__type__": "lg.Interrupt", "value": items[0], "id": items[1]}
    return {**out, "response_schema": items[2]} if len(items) > 2 else out


def _timeout_decode(value: Any) -> TimeoutPolicy:
    run, idle, refresh_on = _items(value, "lg.TimeoutPolicy", 3)
    return TimeoutPolicy(run_timeout=run, idle_timeout=idle, refresh_on=refresh_on)


def _timeout_plain(value: Any) -> dict[str, Any]:
    run, idle, refresh_on = _items(value, "lg.TimeoutPolicy", 3)
    return {
        "__type__": "lg.TimeoutPolicy",
        "run_timeout": run,
        "idle_timeout": idle,
        "refresh_on": refresh_on,
    }


# --- the table ---------------------------------------------------------------


def _same(value: Any) -> Any:
    return value


def _table() -> tuple[list[tuple[type[Any], Codec]], list[Codec]]:
    def c(
        code: int,
        name: str,
        encode: Callable[[Any], Any],
        decode: Callable[[Any], Any],
        plain: Callable[[Any], Any] = _same,
        raw: bool = False,
    ) -> Codec:
        return Codec(code, name, encode, decode, plain, raw)

    def listed(name: str, build: Callable[[list[Any]], Any]) -> Callable[[Any], Any]:
        return lambda value: build(_items(value, name))

    def as_list(name: str) -> Callable[[Any], Any]:
        return lambda value: _items(value, name)

    tuple_ = c(16, "py.tuple", list, listed("py.tuple", tuple), as_list("py.tuple"))
    set_ = c(17, "py.set", list, listed("py.set", set), as_list("py.set"))
    frozenset_ = c(
        18, "py.frozenset", list, listed("py.frozenset", frozenset), as_list("py.frozenset")
    )
    bytearray_ = c(19, "py.bytearray", bytes, bytearray, _bytearray_plain, raw=True)
    int_ = c(20, "py.int", _int_encode, _int_decode, _int_plain, raw=True)
    datetime_ = c(21, "py.datetime", _datetime_encode, _datetime_decode, _datetime_plain)
    date_ = c(
        22,
        "py.date",
        lambda d: [d.year, d.month, d.day],
        _date_decode,
        lambda v: _date_decode(v).isoformat(),
    )
    time_ = c(23, "py.time", _time_encode, _time_decode, _time_plain)
    timedelta_ = c(
        24,
        "py.timedelta",
        lambda t: [t.days, t.seconds, t.microseconds],
        _timedelta_decode,
        lambda v: _timedelta_decode(v).total_seconds(),
    )
    timezone_ = c(
        25,
        "py.timezone",
        _tz_spec,
        lambda v: _tz_from_spec(_items(v, "py.timezone", 3)),
        _timezone_plain,
    )
    zoneinfo_ = c(26, "py.ZoneInfo", _tz_spec, _zone_decode, _zone_plain)
    uuid_ = c(
        27,
        "py.UUID",
        lambda u: u.bytes,
        lambda b: uuid.UUID(bytes=b),
        lambda b: str(uuid.UUID(bytes=b)),
        raw=True,
    )
    decimal_ = c(
        28,
        "py.Decimal",
        str,
        lambda s: Decimal(_str(s, "py.Decimal")),
        lambda s: _str(s, "py.Decimal"),
    )
    path_ = c(
        29,
        "py.Path",
        lambda p: [_PATH_KINDS.index(type(p)), str(p)],
        _path_decode,
        lambda v: str(_path_decode(v)),
    )
    pattern_ = c(30, "py.Pattern", lambda p: [p.pattern, p.flags], _pattern_decode, _pattern_plain)
    deque_ = c(31, "py.deque", lambda d: [list(d), d.maxlen], _deque_decode, _deque_plain)
    odict_ = c(
        32,
        "py.OrderedDict",
        dict,
        lambda v: collections.OrderedDict(_mapping(v, "py.OrderedDict")),
    )
    complex_ = c(33, "py.complex", lambda z: [z.real, z.imag], _complex_decode, _complex_plain)
    ip_ = c(
        34,
        "py.ipaddress",
        lambda a: [_IP_KINDS.index(type(a)), str(a)],
        _ip_decode,
        lambda v: str(_ip_decode(v)),
    )

    counter_ = c(35, "py.Counter", dict, _counter_decode, lambda v: _mapping(v, "py.Counter"))
    defaultdict_ = c(
        36,
        "py.defaultdict",
        _defaultdict_encode,
        _defaultdict_decode,
        lambda v: _mapping(_items(v, "py.defaultdict", 2)[1], "py.defaultdict"),
    )
    rows: list[tuple[type[Any], Codec]] = [
        (collections.Counter, counter_),
        (collections.defaultdict, defaultdict_),
        (tuple, tuple_),
        (set, set_),
        (frozenset, frozenset_),
        (bytearray, bytearray_),
        (int, int_),
        (datetime, datetime_),
        (date, date_),
        (time, time_),
        (timedelta, timedelta_),
        (timezone, timezone_),
        (ZoneInfo, zoneinfo_),
        (uuid.UUID, uuid_),
        (Decimal, decimal_),
        *((kind, path_) for kind in _PATH_KINDS),
        (re.Pattern, pattern_),
        (collections.deque, deque_),
        (collections.OrderedDict, odict_),
        (complex, complex_),
        *((kind, ip_) for kind in _IP_KINDS),
    ]
    for code, cls in _LC_TYPES:
        name = f"lc.{cls.__name__}"
        rows.append((cls, c(code, name, _lc_encode, _lc_decoder(cls), _named_placeholder(name))))
    for code, cls in _LC_MODELS:
        name = f"lc.{cls.__name__}"
        rows.append((cls, c(code, name, _lc_encode, _lc_model(cls), _named_placeholder(name))))
    rows += [
        (Send, c(64, "lg.Send", _send_encode, _send_decode, _send_plain)),
        (
            Command,
            c(
                65,
                "lg.Command",
                lambda o: [o.graph, o.update, o.resume, o.goto],
                _command_decode,
                _command_plain,
            ),
        ),
        (Interrupt, c(66, "lg.Interrupt", _interrupt_encode, _interrupt_decode, _interrupt_plain)),
        (
            _DeltaSnapshot,
            c(
                67,
                "lg.DeltaSnapshot",
                lambda o: o.value,
                _DeltaSnapshot,
                _named_placeholder("lg.DeltaSnapshot", "value"),
            ),
        ),
        (
            Overwrite,
            c(
                68,
                "lg.Overwrite",
                lambda o: o.value,
                lambda v: Overwrite(value=v),
                _named_placeholder("lg.Overwrite", "value"),
            ),
        ),
        (
            TimeoutPolicy,
            c(
                69,
                "lg.TimeoutPolicy",
                lambda o: [o.run_timeout, o.idle_timeout, o.refresh_on],
                _timeout_decode,
                _timeout_plain,
            ),
        ),
    ]
    rows += [
        (
            SecretStr,
            c(72, "pydantic.SecretStr", SecretStr.get_secret_value, _secret(SecretStr, str)),
        ),
        (
            SecretBytes,
            c(
                73,
                "pydantic.SecretBytes",
                SecretBytes.get_secret_value,
                _secret(SecretBytes, bytes),
            ),
        ),
    ]
    # numpy types are matched by `numpy_codec`, not by type: numpy may be absent.
    np_rows = [
        c(70, "np.ndarray", _ndarray_encode, _ndarray_decode, _ndarray_plain),
        c(
            71,
            "np.generic",
            lambda o: [o.dtype.str, o.tobytes()],
            _npscalar_decode,
            _npscalar_plain,
        ),
    ]
    return rows, np_rows


def _secret(cls: type[Any], kind: type[Any]) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        if type(value) is not kind:
            raise _bad(cls.__name__, value)
        return cls(value)

    return decode


def _str(value: Any, name: str) -> str:
    if type(value) is not str:
        raise _bad(name, value)
    return value


def _named_placeholder(name: str, field: str | None = None) -> Callable[[Any], Any]:
    if field is not None:
        return lambda value: {"__type__": name, field: value}
    return lambda value: placeholder(name, _mapping(value, name))


_ROWS, _BY_VALUE = _table()
#: Encoder lookup by exact type (subclasses are not matched on purpose).
BY_TYPE: Final[dict[type[Any], Codec]] = dict(_ROWS)
#: Decoder lookup by extension code.
BY_CODE: Final[dict[int, Codec]] = {
    codec.code: codec for codec in [*(codec for _, codec in _ROWS), *_BY_VALUE]
}
