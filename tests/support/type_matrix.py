"""Values of every kind that graph state holds, for the type matrix test.

Each case is a factory, so a fresh process builds the expected value itself;
the classes live at module level so both processes import them the same way
an application would. `same` compares type and value (numpy arrays and NaN
included).
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import ipaddress
import math
import pathlib
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import pydantic
import pydantic.v1
from langchain_core import agents, documents, messages, outputs, prompt_values
from langgraph.types import Command, Interrupt, Send

T = TypeVar("T")


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mood(enum.StrEnum):
    CALM = "calm"


class Perm(enum.Flag):
    R = 1
    W = 2
    X = 4


class Bits(enum.IntFlag):
    A = 1
    B = 2


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@dataclasses.dataclass(frozen=True)
class Frozen:
    name: str


@dataclasses.dataclass(slots=True)
class Slotted:
    a: int
    b: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Computed:
    a: int
    total: int = dataclasses.field(init=False, default=0)

    def __post_init__(self) -> None:
        self.total = self.a * 2


@dataclasses.dataclass
class Route:
    start: Point
    stops: list[Point]


class Pair(NamedTuple):
    left: int
    right: str = "r"


Classic = collections.namedtuple("Classic", ["a", "b"])


class Address(pydantic.BaseModel):
    city: str
    zip: str = "00000"


class Customer(pydantic.BaseModel):
    name: str
    address: Address
    color: Color = Color.RED
    tags: list[str] = []
    seen: datetime | None = None


class Secretive(pydantic.BaseModel):
    token: pydantic.SecretStr


class Box(pydantic.BaseModel, Generic[T]):
    item: T


class Scores(pydantic.RootModel[list[int]]):
    pass


class Loose(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="allow")
    a: int


class FrozenModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)
    a: int


class Aliased(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(populate_by_name=True)
    user_name: str = pydantic.Field(alias="userName")


class Validated(pydantic.BaseModel):
    email: str

    @pydantic.field_validator("email")
    @classmethod
    def lower(cls, value: str) -> str:
        return value.lower()


class OldStyle(pydantic.v1.BaseModel):
    a: int
    b: str = "b"


class OldNested(pydantic.v1.BaseModel):
    inner: OldStyle


class AppError(Exception):
    pass


def _ai() -> messages.AIMessage:
    return messages.AIMessage(
        "",
        id="ai-1",
        tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1", "type": "tool_call"}],
        usage_metadata={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
        response_metadata={"model_name": "m"},
    )


CASES: dict[str, Callable[[], Any]] = {
    # msgpack natives and built-ins
    "none": lambda: None,
    "true": lambda: True,
    "int": lambda: 42,
    "int_negative": lambda: -(2**40),
    "int_big": lambda: 2**100,
    "float": lambda: 3.25,
    "float_nan": lambda: math.nan,
    "float_inf": lambda: -math.inf,
    "str": lambda: "hello",
    "str_unicode": lambda: "héllo 🌍",
    "str_empty": lambda: "",
    "bytes": lambda: b"\x00\xff",
    "bytearray": lambda: bytearray(b"ab"),
    "list": lambda: [1, "a", None],
    "list_nested": lambda: [[1, [2, [3]]]],
    "dict": lambda: {"a": 1, "b": [2]},
    "dict_int_keys": lambda: {1: "a", 2: "b"},
    "dict_tuple_keys": lambda: {(1, 2): "pair"},
    "tuple": lambda: (1, "a"),
    "tuple_nested": lambda: ((1, 2), (3,)),
    "tuple_empty": lambda: (),
    "set": lambda: {1, 2, 3},
    "frozenset": lambda: frozenset({"a"}),
    "complex": lambda: 1 + 2j,
    "empty_containers": lambda: {"l": [], "d": {}, "s": set()},
    "str_long": lambda: "x" * 100_000,
    # collections
    "deque": lambda: collections.deque([1, 2]),
    "deque_maxlen": lambda: collections.deque([1, 2], maxlen=3),
    "ordereddict": lambda: collections.OrderedDict([("b", 1), ("a", 2)]),
    "defaultdict": lambda: collections.defaultdict(list, {"a": [1]}),
    "counter": lambda: collections.Counter("hello"),
    "namedtuple_classic": lambda: Classic(1, "b"),
    # dates and times
    "datetime_naive": lambda: datetime(2025, 1, 2, 3, 4, 5, 6),
    "datetime_utc": lambda: datetime(2025, 1, 2, tzinfo=timezone.utc),
    "datetime_offset": lambda: datetime(2025, 1, 2, tzinfo=timezone(timedelta(hours=-5))),
    "datetime_zoneinfo": lambda: datetime(2025, 6, 1, 12, tzinfo=ZoneInfo("Europe/Paris")),
    "datetime_fold": lambda: datetime(2025, 10, 26, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
    "date": lambda: date(2025, 1, 2),
    "time": lambda: time(3, 4, 5),
    "time_aware": lambda: time(3, 4, tzinfo=timezone.utc),
    "timedelta": lambda: timedelta(days=1, seconds=2, microseconds=3),
    "timezone": lambda: timezone(timedelta(hours=2), "X"),
    "zoneinfo": lambda: ZoneInfo("America/New_York"),
    # other stdlib
    "uuid": lambda: uuid.UUID(int=12345),
    "decimal": lambda: Decimal("1.10"),
    "path": lambda: pathlib.Path("/tmp/x"),
    "pure_posix_path": lambda: pathlib.PurePosixPath("a/b"),
    "pattern": lambda: re.compile(r"\d+", re.I),
    "ipv4": lambda: ipaddress.IPv4Address("10.0.0.1"),
    "ipv6_network": lambda: ipaddress.IPv6Network("2001:db8::/32"),
    "ipv4_interface": lambda: ipaddress.IPv4Interface("10.0.0.1/24"),
    # enums
    "enum": lambda: Color.BLUE,
    "int_enum": lambda: Level.HIGH,
    "str_enum": lambda: Mood.CALM,
    "flag": lambda: Perm.R,
    "flag_composite": lambda: Perm.R | Perm.W,
    "int_flag": lambda: Bits.A | Bits.B,
    "enum_in_dict": lambda: {"c": Color.RED, "l": [Level.LOW]},
    # dataclasses and NamedTuples
    "dataclass": lambda: Point(1, 2),
    "dataclass_frozen": lambda: Frozen("f"),
    "dataclass_slots": lambda: Slotted(1, [2]),
    "dataclass_init_false": lambda: Computed(3),
    "dataclass_nested": lambda: Route(Point(0), [Point(1, 1), Point(2, 2)]),
    "namedtuple": lambda: Pair(1, "x"),
    "namedtuple_default": lambda: Pair(2),
    "namedtuple_list": lambda: [Pair(1), Pair(2)],
    # pydantic v2
    "pydantic": lambda: Address(city="Paris"),
    "pydantic_nested": lambda: Customer(name="Ada", address=Address(city="Paris"), tags=["a"]),
    "pydantic_datetime_field": lambda: Customer(
        name="B", address=Address(city="X"), seen=datetime(2025, 1, 1)
    ),
    "pydantic_secret": lambda: Secretive(token=pydantic.SecretStr("s3cret")),
    "pydantic_generic": lambda: Box[int](item=3),
    "pydantic_root": lambda: Scores([1, 2]),
    "pydantic_extra": lambda: Loose(a=1, b=2),
    "pydantic_frozen": lambda: FrozenModel(a=1),
    "pydantic_alias": lambda: Aliased(userName="ada"),
    "pydantic_validated": lambda: Validated(email="A@B.C"),
    "pydantic_list": lambda: [Address(city="a"), Address(city="b")],
    "secret_str": lambda: pydantic.SecretStr("x"),
    # pydantic v1
    "pydantic_v1": lambda: OldStyle(a=1),
    "pydantic_v1_nested": lambda: OldNested(inner=OldStyle(a=2, b="c")),
    # numpy
    "np_float_array": lambda: np.array([1.5, 2.5]),
    "np_int_2d": lambda: np.arange(6, dtype=np.int32).reshape(2, 3),
    "np_bool_array": lambda: np.array([True, False]),
    "np_datetime64": lambda: np.array(["2025-01-01", "2025-01-02"], dtype="datetime64[D]"),
    "np_float64": lambda: np.float64(1.5),
    "np_int32": lambda: np.int32(7),
    "np_bool": lambda: np.bool_(True),
    "np_in_dict": lambda: {"emb": np.zeros(4, dtype=np.float32)},
    # LangChain
    "human_message": lambda: messages.HumanMessage("hi", id="h1"),
    "ai_message_tool_calls": _ai,
    "tool_message": lambda: messages.ToolMessage("result", tool_call_id="c1", id="t1"),
    "system_message": lambda: messages.SystemMessage("be nice", id="s1"),
    "ai_message_chunk": lambda: messages.AIMessageChunk("part", id="k1"),
    "remove_message": lambda: messages.RemoveMessage(id="h1"),
    "message_list": lambda: [messages.HumanMessage("q", id="1"), _ai()],
    "document": lambda: documents.Document("text", metadata={"src": "a"}),
    "agent_action": lambda: agents.AgentAction("search", {"q": "x"}, "log"),
    "agent_finish": lambda: agents.AgentFinish({"output": "done"}, "log"),
    "generation": lambda: outputs.Generation(text="g"),
    "chat_generation": lambda: outputs.ChatGeneration(message=messages.AIMessage("a")),
    "string_prompt_value": lambda: prompt_values.StringPromptValue(text="p"),
    "chat_prompt_value": lambda: prompt_values.ChatPromptValue(
        messages=[messages.HumanMessage("x")]
    ),
    # LangGraph
    "send": lambda: Send("node", {"x": 1}),
    "send_list": lambda: [Send("a", 1), Send("b", 2)],
    "command": lambda: Command(goto="next", update={"a": 1}),
    "interrupt": lambda: Interrupt(value="question?", id="i1"),
    # errors and state shapes
    "exception": lambda: ValueError("boom"),
    "exception_custom": lambda: AppError("bad"),
    "typed_dict_state": lambda: {"messages": [messages.HumanMessage("x", id="1")], "turn": 1},
    "state_with_models": lambda: {
        "customer": Customer(name="Z", address=Address(city="Y")),
        "route": Route(Point(1), []),
        "color": Color.RED,
    },
}


def same(a: Any, b: Any) -> bool:
    """Same type and value, recursively; numpy arrays and NaN compare by content.

    One documented exception: a str subclass that is not an Enum (langchain's
    `TextAccessor`, which `message.text` returns) is stored as its text.
    """
    if isinstance(a, str) and not isinstance(a, enum.Enum) and type(b) is str:
        return str(a) == b
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, BaseException):
        return repr(a) == repr(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and not hasattr(a, "_fields"):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, pydantic.SecretStr):
        return a.get_secret_value() == b.get_secret_value()
    if isinstance(a, pydantic.BaseModel):
        return same(dict(a), dict(b)) and a.model_extra == b.model_extra
    if isinstance(a, dict | collections.deque) or dataclasses.is_dataclass(a):
        return bool(a == b)
    try:
        return bool(a == b)
    except Exception:
        return False
