"""SafeMsgpackSerializer: round trips, registration, errors, LangGraph integration.

Hostile inputs (crafted payloads, bombs, fuzzing) live in test_serde_hostile.py.
"""

from __future__ import annotations

import ast
import collections
import enum
import ipaddress
import json
import math
import operator
import pathlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Annotated, Any, NamedTuple, TypedDict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core import messages as lc
from langchain_core.documents import Document
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.serde.types import _DeltaSnapshot
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Interrupt, Overwrite, Send, TimeoutPolicy, interrupt
from pydantic import BaseModel, ConfigDict, Field, RootModel

from langgraph_redis_saver.errors import (
    ConfigurationError,
    DecodeError,
    SchemaVersionError,
    SerializationError,
    StoredDataWarning,
    UnsafeTypeError,
)
from langgraph_redis_saver.serde import (
    FORMAT_VERSION,
    MAX_DEPTH,
    TYPE_TAG,
    SafeMsgpackSerializer,
    serde_with_allowlist,
)
from support.ciphers import XorCipher

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "langgraph_redis_saver"


# --- application types used by the tests (module level: with_allowlist finds them) ---


class Mood(enum.Enum):
    CALM = "calm"
    TENSE = "tense"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Perm(enum.Flag):
    R = 1
    W = 2


class Answer(BaseModel):
    question: str
    text: str
    score: float = 0.0
    mood: Mood = Mood.CALM
    tags: tuple[str, ...] = ()


class Analysis(BaseModel):
    answers: list[Answer] = Field(default_factory=list)
    when: datetime | None = None
    extra_data: dict[str, Any] = Field(default_factory=dict)


class Aliased(BaseModel):
    user_id: str = Field(alias="userId")


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: int


class Scores(RootModel[list[int]]):
    pass


@dataclass
class Note:
    text: str
    tags: tuple[str, ...] = ()
    seen: set[int] = field(default_factory=set)
    counter: int = field(default=0, init=False)


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int


class Pair(NamedTuple):
    left: Any
    right: Any


class Shape(TypedDict):
    kind: str


class Money:
    """Plain class: registrable only with explicit encode/decode."""

    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents


class Profile(BaseModel):
    """Only reachable through a graph's state schema (with_allowlist tests)."""

    name: str
    level: Level = Level.LOW


def app_serde() -> SafeMsgpackSerializer:
    return SafeMsgpackSerializer(
        allowed=[Mood, Level, Perm, Answer, Analysis, Aliased, Loose, Scores, Note, Point, Pair]
    ).register(Money, encode=lambda m: m.cents, decode=Money)


def roundtrip(serde: SafeMsgpackSerializer, value: Any) -> Any:
    typ, payload = serde.dumps_typed(value)
    assert typ == TYPE_TAG
    return serde.loads_typed((typ, payload))


def assert_same(a: Any, b: Any) -> None:
    """Equal value and identical types all the way down (NaN equals NaN)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    elif isinstance(a, (list, tuple, collections.deque)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    else:
        assert a == b
    if isinstance(a, datetime | time):
        assert a.tzinfo == b.tzinfo and type(a.tzinfo) is type(b.tzinfo)
        assert a.fold == b.fold


# --- built-ins ----------------------------------------------------------------------


def zone(key: str) -> ZoneInfo | None:
    """A ZoneInfo, or None on machines without a time zone database."""
    try:
        return ZoneInfo(key)
    except ZoneInfoNotFoundError:
        return None


PARIS = zone("Europe/Paris")
needs_tzdata = pytest.mark.skipif(PARIS is None, reason="no IANA time zone database here")
BUILTINS: dict[str, Any] = {
    "none": None,
    "true": True,
    "false": False,
    "zero": 0,
    "int64_min": -(2**63),
    "uint64_max": 2**64 - 1,
    "big_int": 2**200 + 7,
    "big_negative": -(2**64) - 1,
    "float": 1.25,
    "nan": math.nan,
    "inf": -math.inf,
    "str": "héllo ✓ 🦜",
    "lone_surrogate": "a\ud800b",
    "empty_str": "",
    "bytes": b"\x00\xffraw",
    "bytearray": bytearray(b"mutable"),
    "list": [1, "a", None],
    "tuple": (1, (2, (3,)), []),
    "empty_tuple": (),
    "dict_int_keys": {1: "a", -2: "b"},
    "dict_tuple_keys": {(1, "x"): [1], (): None},
    "dict_mixed_keys": {"s": 1, 2: 2, 3.5: 3, None: 4, True: 5, b"k": 6, frozenset({1}): 7},
    "set": {1, "a", (2, 3)},
    "frozenset": frozenset({"x", 1}),
    "datetime_naive": datetime(2025, 11, 8, 14, 57, 39, 123456),
    "datetime_utc": datetime(2025, 11, 8, 14, 57, 39, tzinfo=timezone.utc),
    "datetime_offset": datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
    "datetime_named_tz": datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=1), "CET")),
    "date": date(1999, 12, 31),
    "time": time(23, 59, 59, 999999),
    "time_tz": time(8, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    "timedelta": timedelta(days=-3, seconds=5, microseconds=7),
    "timezone": timezone(timedelta(hours=2), "EET"),
    "utc": timezone.utc,
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": Decimal("-1234.5678901234567890"),
    "decimal_nan": Decimal("sNaN"),
    "path": pathlib.Path("/tmp/a b/ü.txt"),
    "pure_posix": pathlib.PurePosixPath("rel/x"),
    "pure_windows": pathlib.PureWindowsPath(r"C:\Users\x"),
    "pattern": re.compile(r"^\w+@(\d+)$", re.IGNORECASE | re.MULTILINE),
    "bytes_pattern": re.compile(rb"\x00+"),
    "deque": collections.deque([1, (2,)], maxlen=5),
    "ordered_dict": collections.OrderedDict([("b", 1), ("a", 2)]),
    "complex": complex(1.5, -2),
    "ipv4": ipaddress.IPv4Address("10.1.2.3"),
    "ipv6_network": ipaddress.IPv6Network("2001:db8::/32"),
    "ipv4_interface": ipaddress.IPv4Interface("192.168.0.1/24"),
}
if PARIS is not None:
    BUILTINS |= {
        "datetime_zoneinfo": datetime(2025, 7, 1, 12, 0, tzinfo=PARIS),
        "datetime_fold": datetime(2025, 10, 26, 2, 30, tzinfo=PARIS, fold=1),
        "zoneinfo": zone("America/Argentina/Buenos_Aires"),
        "zoneinfo_utc": zone("UTC"),
    }


@pytest.mark.parametrize("value", list(BUILTINS.values()), ids=list(BUILTINS))
def test_serde_builtin_roundtrip_keeps_type_and_value(value: Any) -> None:
    serde = SafeMsgpackSerializer()
    result = roundtrip(serde, value)
    if isinstance(value, Decimal) and value.is_nan():
        assert result.is_snan() and type(result) is Decimal
    else:
        assert_same(value, result)


@pytest.mark.parametrize("value", list(BUILTINS.values()), ids=list(BUILTINS))
def test_serde_decode_plain_builtins_are_json_serializable(value: Any) -> None:
    serde = SafeMsgpackSerializer()
    json.dumps(serde.decode_plain(serde.dumps_typed(value)))


@needs_tzdata
def test_serde_decode_plain_readable_forms() -> None:
    serde = SafeMsgpackSerializer()
    value = {
        "when": BUILTINS["datetime_zoneinfo"],
        "day": date(2025, 1, 2),
        "id": BUILTINS["uuid"],
        "amount": Decimal("1.50"),
        "elapsed": timedelta(minutes=1, milliseconds=500),
        "items": (1, {2}),
        "blob": b"\x01\x02",
        (1, 2): "tuple key",
        7: "int key",
    }
    assert serde.decode_plain(serde.dumps_typed(value)) == {
        "when": "2025-07-01T12:00:00+02:00",
        "day": "2025-01-02",
        "id": "12345678-1234-5678-1234-567812345678",
        "amount": "1.50",
        "elapsed": 60.5,
        "items": [1, [2]],
        "blob": {"__type__": "py.bytes", "base64": "AQI="},
        "[1, 2]": "tuple key",
        "7": "int key",
    }


def test_serde_unknown_zone_key_loads_as_text_with_a_warning() -> None:
    fields = [2025, 1, 2, 3, 4, 5, 0, 0, "Mars/Olympus_Mons"]
    blob = (TYPE_TAG, b"\x01" + msgpack.packb(msgpack.ExtType(21, msgpack.packb(fields))))
    with pytest.warns(StoredDataWarning, match="pip install tzdata"):
        value = SafeMsgpackSerializer().loads_typed(blob)
    assert value == "2025-01-02T03:04:05[Mars/Olympus_Mons]"
    assert SafeMsgpackSerializer().decode_plain(blob) == "2025-01-02T03:04:05[Mars/Olympus_Mons]"


def test_serde_nested_bytearray_reads_back_as_bytes() -> None:
    # msgpack writes bytearray and bytes identically inside containers (as
    # LangGraph's own serializer does); only a top-level bytearray keeps its type.
    serde = SafeMsgpackSerializer()
    assert roundtrip(serde, {"b": bytearray(b"x")}) == {"b": b"x"}


hashable = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.binary(max_size=8)
    | st.floats(allow_nan=False),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**130), max_value=2**130)
    | st.floats()
    | st.text()
    | st.binary(max_size=64)
    | st.datetimes(
        timezones=st.none() | st.just(timezone.utc) | (st.timezones() if PARIS else st.nothing())
    )
    | st.dates()
    | st.times()
    | st.timedeltas()
    | st.uuids()
    | st.decimals(allow_nan=False)
)
nested = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(hashable, inner, max_size=4)
        | st.sets(hashable, max_size=4)
        | st.frozensets(hashable, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nested)
def test_serde_property_nested_builtins_roundtrip(value: Any) -> None:
    serde = SafeMsgpackSerializer()
    assert_same(value, roundtrip(serde, value))
    json.dumps(serde.decode_plain(serde.dumps_typed(value)))


# --- LangChain ----------------------------------------------------------------------

USAGE = {
    "input_tokens": 10,
    "output_tokens": 5,
    "total_tokens": 15,
    "input_token_details": {"cache_read": 2},
}
MESSAGES: dict[str, Any] = {
    "human_text": lc.HumanMessage("hi", id="h1", name="bob"),
    "human_blocks": lc.HumanMessage(
        [
            {"type": "text", "text": "look"},
            {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        ],
        additional_kwargs={"k": (1, 2)},
    ),
    "ai_tool_calls": lc.AIMessage(
        "",
        id="run-1",
        tool_calls=[{"name": "search", "args": {"q": "x", "k": 3}, "id": "call_1"}],
        invalid_tool_calls=[
            {
                "name": "bad",
                "args": "{oops",
                "id": "call_2",
                "error": "json",
                "type": "invalid_tool_call",
            }
        ],
        usage_metadata=USAGE,  # type: ignore[arg-type]
        response_metadata={"model_name": "gpt-4o", "finish_reason": "tool_calls"},
        additional_kwargs={"refusal": None},
    ),
    "ai_extra_field": lc.AIMessage("x", custom_field={"nested": [1]}),
    "ai_chunk": lc.AIMessageChunk(
        "par",
        tool_call_chunks=[{"name": "f", "args": '{"a": ', "id": "c1", "index": 0}],
        chunk_position="last",
        usage_metadata=USAGE,  # type: ignore[arg-type]
    ),
    "system": lc.SystemMessage("be brief"),
    "system_chunk": lc.SystemMessageChunk("be"),
    "tool": lc.ToolMessage(
        "42", tool_call_id="call_1", name="search", artifact={"raw": b"\x00", "rows": (1, 2)}
    ),
    "tool_error": lc.ToolMessage("boom", tool_call_id="call_2", status="error"),
    "tool_chunk": lc.ToolMessageChunk("4", tool_call_id="call_1"),
    "function": lc.FunctionMessage("{}", name="fn"),
    "function_chunk": lc.FunctionMessageChunk("{", name="fn"),
    "chat": lc.ChatMessage("hmm", role="critic"),
    "chat_chunk": lc.ChatMessageChunk("h", role="critic"),
    "human_chunk": lc.HumanMessageChunk("h"),
    "remove": lc.RemoveMessage(id="h1"),
    "document": Document(page_content="text", metadata={"source": "a.pdf", "page": 3}, id="d1"),
}


@pytest.mark.parametrize("message", list(MESSAGES.values()), ids=list(MESSAGES))
def test_serde_langchain_roundtrip(message: Any) -> None:
    serde = SafeMsgpackSerializer()
    result = roundtrip(serde, message)
    assert type(result) is type(message)
    assert result == message
    assert result.__dict__ == message.__dict__
    assert result.__pydantic_extra__ == message.__pydantic_extra__
    json.dumps(serde.decode_plain(serde.dumps_typed(message)))


def test_serde_ai_message_rebuilt_without_validation_behaves_like_validated() -> None:
    serde = SafeMsgpackSerializer()
    original = MESSAGES["ai_tool_calls"]
    loaded = roundtrip(serde, original)
    assert loaded.tool_calls == original.tool_calls
    assert loaded.usage_metadata == USAGE
    assert loaded.pretty_repr() == original.pretty_repr()
    assert loaded.content_blocks == original.content_blocks
    assert loaded.model_dump() == original.model_dump()
    # add_messages replaces by id and appends new ones
    merged = add_messages(
        [lc.HumanMessage("q", id="h0"), loaded], [lc.AIMessage("new", id="run-1")]
    )
    assert [m.content for m in merged] == ["q", "new"]
    assert roundtrip(serde, merged) == merged
    extra = roundtrip(serde, MESSAGES["ai_extra_field"])
    assert extra.custom_field == {"nested": [1]}


def test_serde_message_payload_from_other_langchain_version_is_validated() -> None:
    serde = SafeMsgpackSerializer()
    fields = {"content": "hi", "type": "human"}  # older writer: fewer fields
    blob = bytes([FORMAT_VERSION]) + msgpack.packb(msgpack.ExtType(40, msgpack.packb(fields)))
    loaded = serde.loads_typed((TYPE_TAG, blob))
    assert loaded == lc.HumanMessage("hi")
    bad = {**lc.HumanMessage("x").__dict__, "content": 12}
    blob = bytes([FORMAT_VERSION]) + msgpack.packb(msgpack.ExtType(40, msgpack.packb(bad)))
    with pytest.raises(DecodeError):
        serde.loads_typed((TYPE_TAG, blob))


def test_serde_messages_inside_nested_containers() -> None:
    serde = SafeMsgpackSerializer()
    msgs = list(MESSAGES.values())
    value = {
        "messages": msgs,
        "by_id": {m.id: m for m in msgs if getattr(m, "id", None)},
        "pairs": tuple((i, m) for i, m in enumerate(msgs[:3])),
        "deep": [[{"m": (msgs[2],)}]],
    }
    result = roundtrip(serde, value)
    assert result == value
    assert type(result["pairs"][0]) is tuple
    plain = serde.decode_plain(serde.dumps_typed(value))
    json.dumps(plain)
    ai = plain["messages"][2]
    assert ai["__type__"] == "lc.AIMessage" and ai["type"] == "ai"
    assert ai["tool_calls"][0]["args"] == {"q": "x", "k": 3}
    assert ai["usage_metadata"]["total_tokens"] == 15
    assert plain["messages"][7]["artifact"]["raw"] == {"__type__": "py.bytes", "base64": "AA=="}


# --- LangGraph types -------------------------------------------------------------------

LANGGRAPH: dict[str, Any] = {
    "send": Send("node", {"x": lc.HumanMessage("a")}),
    "send_timeout": Send("node", 1, timeout=timedelta(seconds=5)),
    "command_goto_send": Command(goto=[Send("a", 1), Send("b", (2,))], update={"k": "v"}),
    "command_resume_map": Command(resume={"interrupt-id": {"answer": "yes"}}),
    "command_parent": Command(graph=Command.PARENT, goto="other", update=[("k", 1)]),
    "interrupt": Interrupt(value={"question": "name?"}, id="abc"),
    "interrupt_schema": Interrupt(value="q", id="i2", response_schema={"type": "string"}),
    "delta_snapshot": _DeltaSnapshot([1, 2, lc.AIMessage("x")]),
    "overwrite": Overwrite(value=["b"]),
    "timeout_policy": TimeoutPolicy(run_timeout=1.5, idle_timeout=None, refresh_on="heartbeat"),
}


@pytest.mark.parametrize("value", list(LANGGRAPH.values()), ids=list(LANGGRAPH))
def test_serde_langgraph_types_roundtrip(value: Any) -> None:
    serde = SafeMsgpackSerializer()
    result = roundtrip(serde, value)
    assert type(result) is type(value)
    assert result == value
    json.dumps(serde.decode_plain(serde.dumps_typed(value)))


def test_serde_langgraph_fields_survive() -> None:
    serde = SafeMsgpackSerializer()
    cmd = roundtrip(serde, LANGGRAPH["command_goto_send"])
    assert isinstance(cmd.goto[0], Send) and cmd.goto[1].arg == (2,)
    intr = roundtrip(serde, LANGGRAPH["interrupt_schema"])
    assert (intr.value, intr.id, intr.response_schema) == ("q", "i2", {"type": "string"})
    assert roundtrip(serde, LANGGRAPH["send_timeout"]).timeout.run_timeout == 5.0
    plain = serde.decode_plain(serde.dumps_typed(LANGGRAPH["interrupt"]))
    assert plain == {"__type__": "lg.Interrupt", "value": {"question": "name?"}, "id": "abc"}


# --- application types -------------------------------------------------------------------

APP: dict[str, Any] = {
    "enum": Mood.TENSE,
    "int_enum": Level.HIGH,
    "flag": Perm.R | Perm.W,
    "pydantic": Answer(question="q", text="t", score=0.5, mood=Mood.TENSE, tags=("a",)),
    "pydantic_nested": Analysis(
        answers=[Answer(question="q", text="t")],
        when=datetime(2025, 1, 1, tzinfo=timezone.utc),
        extra_data={"m": lc.HumanMessage("x"), "k": {1, 2}},
    ),
    "pydantic_alias": Aliased(userId="u1"),
    "pydantic_extra": Loose(a=1, b=(2, 3)),
    "root_model": Scores([1, 2, 3]),
    "dataclass": Note("n", ("t",), {1}),
    "dataclass_frozen_slots": Point(1, 2),
    "namedtuple": Pair(Mood.CALM, [Point(0, 0)]),
    "custom": Money(1999),
    "enum_keys": {Mood.CALM: 1, Level.LOW: {Point(1, 1)}},
}


@pytest.mark.parametrize("value", list(APP.values()), ids=list(APP))
def test_serde_registered_types_roundtrip(value: Any) -> None:
    serde = app_serde()
    result = roundtrip(serde, value)
    assert type(result) is type(value)
    assert result == value


@pytest.mark.parametrize("value", list(APP.values()), ids=list(APP))
def test_serde_decode_plain_needs_no_application_class(value: Any) -> None:
    blob = app_serde().dumps_typed(value)
    plain = SafeMsgpackSerializer().decode_plain(blob)  # nothing registered
    json.dumps(plain)


def test_serde_decode_plain_placeholders_keep_tag_and_fields() -> None:
    blob = app_serde().dumps_typed({"a": APP["pydantic"], "m": Mood.CALM, "n": Pair(1, 2)})
    plain = SafeMsgpackSerializer().decode_plain(blob)
    assert plain == {
        "a": {
            "__type__": f"{__name__}.Answer",
            "question": "q",
            "text": "t",
            "score": 0.5,
            "mood": {"__type__": f"{__name__}.Mood", "value": "tense"},
            "tags": ["a"],
        },
        "m": {"__type__": f"{__name__}.Mood", "value": "calm"},
        "n": {"__type__": f"{__name__}.Pair", "left": 1, "right": 2},
    }


def test_serde_dataclass_init_false_field_restored() -> None:
    note = Note("n")
    note.counter = 7
    assert roundtrip(app_serde(), note).counter == 7


def test_serde_typeddict_registration_is_noop() -> None:
    serde = SafeMsgpackSerializer(allowed=[Shape])
    assert serde.tags == frozenset()
    assert roundtrip(serde, Shape(kind="x")) == {"kind": "x"}


def test_serde_register_custom_tag_and_rename() -> None:
    old = SafeMsgpackSerializer().register(Point, tag="geo.Point")
    blob = old.dumps_typed(Point(1, 2))
    assert b"geo.Point" in blob[1]
    renamed = SafeMsgpackSerializer(allowed=[("geo.Point", Point)]).register(Point, tag="v2.Point")
    assert renamed.loads_typed(blob) == Point(1, 2)  # old tag still read
    assert b"v2.Point" in renamed.dumps_typed(Point(1, 2))[1]  # new tag written
    assert SafeMsgpackSerializer().register(Point) is not None


def test_serde_register_rejects_tag_owned_by_another_class() -> None:
    serde = SafeMsgpackSerializer().register(Point, tag="shared")
    with pytest.raises(ConfigurationError, match="already registered"):
        serde.register(Note, tag="shared")


def test_serde_register_redefined_class_replaces_old_one() -> None:
    def define() -> type:
        @dataclass
        class Redefined:
            x: int

        return Redefined

    first, second = define(), define()
    serde = SafeMsgpackSerializer().register(first).register(second)
    assert type(roundtrip(serde, first(1))) is second


def test_serde_register_plain_class_needs_encoder() -> None:
    with pytest.raises(ConfigurationError, match=r"serde\.register\(Money, encode="):
        SafeMsgpackSerializer().register(Money)
    with pytest.raises(ConfigurationError, match="both"):
        SafeMsgpackSerializer().register(Money, encode=lambda m: m.cents)
    with pytest.raises(ConfigurationError, match="tag"):
        SafeMsgpackSerializer().register(Point, tag="")


def test_serde_register_builtin_is_noop() -> None:
    serde = SafeMsgpackSerializer(allowed=[lc.AIMessage, datetime, tuple])
    assert serde.tags == frozenset()


def test_serde_registered_pydantic_is_rebuilt_without_validation() -> None:
    writer = SafeMsgpackSerializer().register(Point, tag="x")
    reader = SafeMsgpackSerializer().register(Answer, tag="x")
    with pytest.warns(StoredDataWarning, match="no longer defined|required fields"):
        value = reader.loads_typed(writer.dumps_typed(Point(1, 2)))
    assert type(value) is Answer


# --- errors ------------------------------------------------------------------------------


def test_serde_unregistered_data_class_roundtrips_in_default_mode() -> None:
    value = {"a": [APP["pydantic"]]}
    assert roundtrip(SafeMsgpackSerializer(), value) == value


def test_serde_unregistered_plain_class_error_suggests_encoder() -> None:
    with pytest.raises(UnsafeTypeError, match=r"register\(Money, encode="):
        SafeMsgpackSerializer().dumps_typed(Money(1))


@pytest.mark.parametrize(
    "value",
    [collections.defaultdict(list), collections.Counter("ab")],
    ids=["defaultdict", "counter"],
)
def test_serde_builtin_subclasses_keep_their_type(value: Any) -> None:
    back = roundtrip(SafeMsgpackSerializer(), value)
    assert type(back) is type(value) and back == value


def test_serde_unsupported_tzinfo_is_refused() -> None:
    class Fixed(tzinfo):
        def utcoffset(self, dt: Any) -> timedelta:
            return timedelta(0)

    with pytest.raises(UnsafeTypeError, match="tzinfo"):
        SafeMsgpackSerializer().dumps_typed(datetime(2025, 1, 1, tzinfo=Fixed()))


def test_serde_exceptions_are_stored_as_repr_like_jsonplus() -> None:
    serde = SafeMsgpackSerializer()
    assert roundtrip(serde, ValueError("boom")) == "ValueError('boom')"
    assert JsonPlusSerializer().loads_typed(
        JsonPlusSerializer().dumps_typed(ValueError("boom"))
    ) == ("ValueError('boom')")


def nest_tuples(depth: int) -> Any:
    value: Any = None
    for _ in range(depth):
        value = (value,)
    return value


def test_serde_depth_limit_is_symmetric() -> None:
    serde = SafeMsgpackSerializer()
    deepest = nest_tuples(MAX_DEPTH)
    assert roundtrip(serde, deepest) == deepest
    with pytest.raises(SerializationError, match="nested deeper"):
        serde.dumps_typed(nest_tuples(MAX_DEPTH + 1))


def test_serde_circular_reference_is_a_serialization_error_that_says_so() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(SerializationError, match="circular"):
        SafeMsgpackSerializer().dumps_typed(loop)
    cycle: list[Any] = []
    cycle.append((cycle,))
    with pytest.raises(SerializationError, match="circular"):
        SafeMsgpackSerializer().dumps_typed(cycle)
    itself: dict[str, Any] = {}
    itself["me"] = itself
    with pytest.raises(SerializationError, match="circular"):
        SafeMsgpackSerializer().dumps_typed({"state": itself})


# --- wire format -------------------------------------------------------------------------


def test_serde_wire_format_is_stable() -> None:
    serde = SafeMsgpackSerializer()
    assert serde.dumps_typed(None) == ("lgrs", b"\x01\xc0")
    assert serde.dumps_typed((1,)) == ("lgrs", b"\x01\xd5\x10\x91\x01")
    assert serde.dumps_typed(b"ab") == ("lgrs", b"\x01\xc4\x02ab")
    assert serde.dumps_typed(bytearray(b"ab")) == ("lgrs", b"\x01\xd5\x13ab")
    typ, payload = SafeMsgpackSerializer(allowed=[Mood]).dumps_typed(Mood.CALM)
    assert payload == b"\x01" + msgpack.packb(
        msgpack.ExtType(80, msgpack.packb([f"{__name__}.Mood", "calm"]))
    )
    assert "+" not in typ and typ not in ("msgpack", "json", "pickle")


def test_serde_newer_format_version_raises_schema_version_error() -> None:
    serde = SafeMsgpackSerializer()
    with pytest.raises(SchemaVersionError, match="format version 2"):
        serde.loads_typed((TYPE_TAG, b"\x02\xc0"))
    with pytest.raises(SchemaVersionError):
        serde.decode_plain((TYPE_TAG, b"\x07\xc0"))
    with pytest.raises(DecodeError):
        serde.loads_typed((TYPE_TAG, b"\x00\xc0"))
    with pytest.raises(DecodeError):
        serde.loads_typed((TYPE_TAG, b""))


@pytest.mark.parametrize("typ", ["msgpack", "json", "pickle", "null", "bytes", "bytearray"])
def test_serde_refuses_data_of_other_serializers(typ: str) -> None:
    written = JsonPlusSerializer(pickle_fallback=True).dumps_typed({"a": 1})
    with pytest.raises(DecodeError, match="another serializer"):
        SafeMsgpackSerializer().loads_typed((typ, written[1]))
    with pytest.raises(DecodeError, match="another serializer"):
        SafeMsgpackSerializer().decode_plain((typ, written[1]))


# --- encryption and allowlists -------------------------------------------------------------


def test_serde_encrypted_roundtrip() -> None:
    serde = EncryptedSerializer(XorCipher(), app_serde())
    value = {"messages": list(MESSAGES.values()), "analysis": APP["pydantic_nested"]}
    typ, payload = serde.dumps_typed(value)
    assert typ == "lgrs+xor"
    assert b"search" not in payload
    assert serde.loads_typed((typ, payload)) == value
    with pytest.raises(DecodeError, match="encrypted"):
        SafeMsgpackSerializer().loads_typed((typ, payload))
    with pytest.raises(DecodeError, match="encrypted"):
        SafeMsgpackSerializer().decode_plain((typ, payload))


def test_serde_with_allowlist_resolves_loaded_classes_only() -> None:
    base = SafeMsgpackSerializer(strict=True)
    with pytest.warns(StoredDataWarning, match="strict"):
        assert isinstance(roundtrip(base, Profile(name="x")), dict)
    allowed = base.with_allowlist(
        [
            (__name__, "Profile"),
            (__name__, "Level"),
            ("lgrs_never_imported_module", "Thing"),  # not loaded: skipped, not imported
            (__name__, "nest_tuples"),  # not a class
            (__name__, "Missing"),
            ("langchain_core.messages.ai", "AIMessage"),  # built in already
        ]
    )
    assert allowed is not base and base.tags == frozenset()
    assert allowed.tags == {f"{__name__}.Profile", f"{__name__}.Level"}
    assert roundtrip(allowed, Profile(name="x", level=Level.HIGH)) == Profile(
        name="x", level=Level.HIGH
    )
    import sys

    assert "lgrs_never_imported_module" not in sys.modules
    assert allowed.with_allowlist([(__name__, "Profile")]) is allowed
    assert base.with_allowlist([("langchain_core.messages.ai", "AIMessage")]) is base


def test_saver_with_allowlist_through_encrypted_serializer() -> None:
    import redis

    from langgraph_redis_saver import RedisCheckpointSaver

    inner = SafeMsgpackSerializer()
    wrapped = EncryptedSerializer(XorCipher(), inner)
    saver = RedisCheckpointSaver(redis.Redis(), serde=wrapped)  # connects lazily: no I/O here
    assert saver.with_allowlist([("collections", "OrderedDict")]) is saver
    updated = saver.with_allowlist([(__name__, "Profile"), (__name__, "Level")]).serde
    assert isinstance(updated, EncryptedSerializer) and updated is not wrapped
    assert updated.cipher is wrapped.cipher
    assert updated.loads_typed(updated.dumps_typed(Profile(name="p"))) == Profile(name="p")
    assert inner.tags == frozenset()


class AllowlistingSaver(InMemorySaver):
    """What a saver's with_allowlist override does: pass LangGraph's list to the serde."""

    def with_allowlist(self, extra_allowlist: Any) -> AllowlistingSaver:
        serde = serde_with_allowlist(self.serde, extra_allowlist)
        if serde is self.serde:
            return self
        clone = AllowlistingSaver(serde=serde)
        clone.storage, clone.writes, clone.blobs = self.storage, self.writes, self.blobs
        return clone


def test_serde_langgraph_strict_mode_allowlist_reaches_serializer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from langgraph._internal import _serde as lg_serde

    class State(TypedDict):
        profile: Profile

    def node(state: State) -> dict[str, Any]:
        return {"profile": Profile(name=state["profile"].name.upper(), level=Level.HIGH)}

    builder = StateGraph(State)
    builder.add_node("n", node)
    builder.add_edge(START, "n")
    builder.add_edge("n", END)
    saver = AllowlistingSaver(
        serde=EncryptedSerializer(XorCipher(), SafeMsgpackSerializer(strict=True))
    )
    cfg = {"configurable": {"thread_id": "strict"}}

    builder.compile(checkpointer=saver).invoke({"profile": Profile(name="a")}, cfg)
    with pytest.warns(StoredDataWarning, match="Profile|Level"):
        plain = builder.compile(checkpointer=saver).get_state(cfg).values["profile"]
    assert plain == {"name": "A", "level": "high"} or isinstance(plain, dict)

    monkeypatch.setattr(lg_serde, "STRICT_MSGPACK_ENABLED", True)
    graph = builder.compile(checkpointer=saver)
    cfg = {"configurable": {"thread_id": "strict2"}}
    assert graph.invoke({"profile": Profile(name="a")}, cfg) == {
        "profile": Profile(name="A", level=Level.HIGH)
    }
    assert graph.get_state(cfg).values["profile"].level is Level.HIGH


# --- real graphs on InMemorySaver ------------------------------------------------------------


class GraphState(TypedDict, total=False):
    messages: Annotated[list[lc.AnyMessage], add_messages]
    turn_count: int
    is_complete: bool
    jokes: Annotated[list[str], operator.add]
    log: Annotated[
        list[str],
        DeltaChannel(lambda s, ws: [*(s or []), *[x for w in ws for x in w]], snapshot_frequency=2),
    ]
    total: Annotated[int, operator.add]
    analysis: Analysis


def build_interview_graph() -> StateGraph:
    def ask(state: GraphState) -> dict[str, Any]:
        answer = interrupt({"question": "What is your name?", "turn": state.get("turn_count", 0)})
        return {"messages": [lc.HumanMessage(answer)], "turn_count": state.get("turn_count", 0) + 1}

    def agent(state: GraphState) -> dict[str, Any]:
        return {
            "messages": [
                lc.AIMessage(
                    "",
                    tool_calls=[
                        {
                            "name": "lookup",
                            "args": {"name": state["messages"][-1].content},
                            "id": "c1",
                        }
                    ],
                    usage_metadata=USAGE,  # type: ignore[typeddict-item]
                )
            ],
            "log": ["agent"],
        }

    def tool(state: GraphState) -> dict[str, Any]:
        return {
            "messages": [
                lc.ToolMessage("found", tool_call_id="c1", artifact={"id": uuid.UUID(int=1)})
            ]
        }

    def fan_out(state: GraphState) -> list[Send]:
        return [Send("joke", {"subject": s}) for s in ("cats", "dogs")]

    def joke(state: dict[str, Any]) -> dict[str, Any]:
        return {"jokes": [f"joke about {state['subject']}"], "total": 1, "log": ["joke"]}

    def finish(state: GraphState) -> Command[Any]:
        return Command(
            update={
                "is_complete": True,
                "total": Overwrite(10),
                "analysis": Analysis(answers=[Answer(question="name", text="Ann", tags=("x",))]),
            },
            goto=END,
        )

    sub = StateGraph(GraphState)
    sub.add_node("agent", agent)
    sub.add_edge(START, "agent")
    builder = StateGraph(GraphState)
    builder.add_node("ask", ask)
    builder.add_node("sub", sub.compile())
    builder.add_node("tool", tool)
    builder.add_node("joke", joke)
    builder.add_node("finish", finish)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "sub")
    builder.add_edge("sub", "tool")
    builder.add_conditional_edges("tool", fan_out, ["joke"])
    builder.add_edge("joke", "finish")
    return builder


def stored_blobs(saver: InMemorySaver) -> list[tuple[str, bytes]]:
    blobs = [v for v in saver.blobs.values() if v[0] != "empty"]
    for writes in saver.writes.values():
        blobs += [w[2] for w in writes.values()]
    for per_ns in saver.storage.values():
        for checkpoints in per_ns.values():
            for checkpoint, metadata, _parent in checkpoints.values():
                blobs += [checkpoint, metadata]
    return blobs


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_serde_real_graph_interrupt_subgraph_send_history(durability: Any) -> None:
    serde = SafeMsgpackSerializer(allowed=[Analysis, Answer, Mood])
    saver = InMemorySaver(serde=serde)
    graph = build_interview_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": f"interview-{durability}"}}

    first = graph.invoke({"messages": [("user", "hi")]}, cfg, durability=durability)
    assert first["__interrupt__"][0].value["question"] == "What is your name?"
    snapshot = graph.get_state(cfg)
    assert snapshot.next == ("ask",) and snapshot.tasks[0].interrupts

    final = graph.invoke(Command(resume="Ann"), cfg, durability=durability)
    assert final["is_complete"] is True and final["total"] == 10
    assert sorted(final["jokes"]) == ["joke about cats", "joke about dogs"]
    assert final["messages"][2].tool_calls[0]["args"] == {"name": "Ann"}
    assert final["analysis"].answers[0].tags == ("x",)
    assert final["log"][:1] == ["agent"]

    history = list(graph.get_state_history(cfg))
    assert history and all(s.values is not None for s in history)
    graph.update_state(cfg, {"messages": [lc.AIMessage("edited", id="e1")]}, as_node="finish")
    assert graph.get_state(cfg).values["messages"][-1].content == "edited"
    if durability != "exit":  # fork from the checkpoint before the tool ran and replay
        before_tool = next(s for s in history if s.next == ("tool",))
        forked = graph.invoke(None, before_tool.config)
        assert forked["is_complete"] is True

    for blob in stored_blobs(saver):
        json.dumps(SafeMsgpackSerializer().decode_plain(blob))


async def test_serde_real_graph_async_and_failing_node() -> None:
    calls = {"n": 0}

    class State(TypedDict, total=False):
        messages: Annotated[list[lc.AnyMessage], add_messages]
        steps: Annotated[list[str], operator.add]

    def flaky(state: State) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("transient failure")
        return {"steps": ["flaky"], "messages": [lc.AIMessage("ok")]}

    builder = StateGraph(State)
    builder.add_node("flaky", flaky)
    builder.add_edge(START, "flaky")
    saver = InMemorySaver(serde=SafeMsgpackSerializer())
    graph = builder.compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "flaky"}}
    with pytest.raises(ValueError, match="transient"):
        await graph.ainvoke({"messages": [("user", "go")]}, cfg)
    assert "transient failure" in str((await graph.aget_state(cfg)).tasks[0].error)
    result = await graph.ainvoke(None, cfg)
    assert result["steps"] == ["flaky"]
    async for _ in graph.astream(None, cfg):
        pass


def test_serde_real_functional_api_tasks_and_interrupt() -> None:
    @task
    def double(x: int) -> tuple[int, Point]:
        return x * 2, Point(x, x)

    @entrypoint(checkpointer=InMemorySaver(serde=SafeMsgpackSerializer(allowed=[Point])))
    def workflow(n: int) -> dict[str, Any]:
        values = [double(i).result() for i in range(n)]
        approved = interrupt({"values": values})
        return {"values": values, "approved": approved}

    cfg: Any = {"configurable": {"thread_id": "func"}}
    assert "__interrupt__" in workflow.invoke(3, cfg)
    result = workflow.invoke(Command(resume=True), cfg)
    assert result == {
        "values": [(0, Point(0, 0)), (2, Point(1, 1)), (4, Point(2, 2))],
        "approved": True,
    }


# --- source guard -----------------------------------------------------------------------------

BANNED_MODULES = {
    "pickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
    "importlib",
    "importlib.util",
}
# The one module allowed to import pickle: the restricted reader of legacy sessions.
LEGACY_READER = SRC / "legacy" / "_unpickle.py"
BANNED_CALLS = {"eval", "exec", "__import__", "import_module", "compile"}


def test_serde_source_has_no_pickle_import_or_eval() -> None:
    """No module of the package may unpickle, import by name, or evaluate code.

    Reading packaged files with `importlib.resources` is allowed: the name is
    a constant in the code, not something stored data can choose.
    """
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if path == LEGACY_READER and name == "pickle":
                    continue  # the restricted legacy reader (tests/unit/test_legacy_unpickle.py)
                if (
                    name in BANNED_MODULES
                    or name.split(".")[0] in {"pickle", "marshal", "dill"}
                    or (name.startswith("importlib") and not name.startswith("importlib.resources"))
                ):
                    offenders.append(f"{path.name}:{node.lineno} imports {name}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in BANNED_CALLS:
                    offenders.append(f"{path.name}:{node.lineno} calls {node.func.id}()")
            if isinstance(node, ast.Attribute) and node.attr in {"import_module", "loads"}:
                base = node.value
                if isinstance(base, ast.Name) and base.id in {"importlib", "pickle", "marshal"}:
                    offenders.append(f"{path.name}:{node.lineno} uses {base.id}.{node.attr}")
        text = path.read_text(encoding="utf-8")
        for pattern in (
            r"^\s*import pickle" if path != LEGACY_READER else r"^\s*import pickle\w",
            r"^\s*from pickle",
            r"(?<![\w.])eval\(",
            r"(?<![\w.])exec\(",
        ):
            for match in re.finditer(pattern, text, re.MULTILINE):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.name}:{line} matches {pattern!r}")
    assert offenders == []


def test_str_subclasses_are_stored_as_their_text() -> None:
    from langchain_core.messages import AIMessage

    serde = SafeMsgpackSerializer()
    text = AIMessage("hello there").text  # a str subclass in langchain-core 1.x
    assert type(text) is not str
    back = serde.loads_typed(serde.dumps_typed({"answer": text}))
    assert back == {"answer": "hello there"} and type(back["answer"]) is str


class Color(str, enum.Enum):
    RED = "red"


def test_unregistered_str_enum_keeps_its_type() -> None:
    assert roundtrip(SafeMsgpackSerializer(), Color.RED) is Color.RED


class SubList(list):
    def __iter__(self) -> Any:  # the stored items are the list's own, not these
        raise AssertionError("not called")


class SubDict(dict):
    def items(self) -> Any:
        raise AssertionError("not called")


class SubInt(int):
    pass


class SubFloat(float):
    pass


class SubSet(set):
    pass


class SubFrozenset(frozenset):
    pass


class SubTuple(tuple):
    pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SubList([1, "a"]), [1, "a"]),
        (SubDict(a=1, b=[2]), {"a": 1, "b": [2]}),
        (SubInt(250), 250),
        (SubFloat(0.5), 0.5),
        (SubSet({1, 2}), {1, 2}),
        (SubFrozenset({"x"}), frozenset({"x"})),
        (SubTuple((1, 2)), (1, 2)),
    ],
    ids=["list", "dict", "int", "float", "set", "frozenset", "tuple"],
)
def test_builtin_subclasses_are_stored_as_their_base_type(value: Any, expected: Any) -> None:
    """A subclass of a container or number that is not a data class has a data shape:
    it is stored as its built-in base, as JsonPlusSerializer stores list, dict and int
    subclasses, instead of being refused."""
    back = roundtrip(SafeMsgpackSerializer(), {"v": value})["v"]
    assert type(back) is type(expected) and back == expected
