"""The restricted reader of legacy pickles: rebuilds the table's types, runs and imports nothing."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import decimal
import pickle
import struct
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from langgraph_redis_saver.legacy import LegacyObject, LegacyPickleError, read_pickle
from support.legacy_store import (
    hostile_gadget,
    hostile_session,
    legacy_pickle,
    legacy_state,
    opcode_gadgets,
)

ROOT = Path(__file__).resolve().parents[2]
# Gadgets that do write the canary when given to pickle.loads (checked below).
LIVE_OPCODE_GADGETS = ["getattr-import", "importlib", "inst", "memo-obj", "nested-reduce"]
HOSTILE_KINDS = ["os.system", "subprocess", "eval", "exec", "chain"]


class Profile(BaseModel):
    name: str
    score: float = 0.0


def _value() -> dict[str, Any]:
    return {
        "messages": [
            SystemMessage("be brief"),
            HumanMessage("hi", id="h1"),
            AIMessage("yo", tool_calls=[{"name": "f", "args": {"a": 1}, "id": "1"}]),
            ToolMessage("r", tool_call_id="1"),
        ],
        "doc": Document(page_content="text", metadata={"k": 1}),
        "scalars": [1, 2.5, None, True, "s", b"\x00\xff", bytearray(b"x"), 1 + 2j, 10**30],
        "sets": ({1, 2}, frozenset({"a"})),
        "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "decimal": decimal.Decimal("1.25"),
        "when": [
            dt.datetime(2025, 11, 8, 15, 3, 24, tzinfo=dt.timezone.utc),
            dt.datetime(2025, 11, 8, 15, 3, 24, tzinfo=ZoneInfo("Europe/Paris")),
            dt.date(2025, 11, 8),
            dt.time(15, 3),
            dt.timedelta(hours=3),
        ],
        "ordered": collections.OrderedDict(a=1, b=2),
    }


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_read_pickle_rebuilds_the_class_table_in_every_protocol(protocol: int) -> None:
    value = _value()
    read = read_pickle(pickle.dumps(value, protocol=protocol))
    assert read.refused == []
    assert read.value == value
    assert [type(m) for m in read.value["messages"]] == [type(m) for m in value["messages"]]


def test_read_pickle_reads_the_seed_session_format() -> None:
    state = legacy_state(3)
    read = read_pickle(legacy_pickle(state, "cli_20251108_145739"))
    assert read.refused == []
    assert read.value["checkpoint"] == state
    assert read.value["metadata"] == {"timestamp": "2025-11-08T15:03:24", "version": "1.0"}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_read_pickle_keeps_container_types_the_serializer_stores(protocol: int) -> None:
    value = {
        "d": collections.defaultdict(list, {"x": [1]}),
        "none": collections.defaultdict(None, {"y": 2}),
        "q": collections.deque([1, 2], maxlen=5),
        "b": bytearray(b"xy"),
        "o": collections.OrderedDict(b=1, a=2),
        "c": collections.Counter(a=2),
    }
    read = read_pickle(pickle.dumps(value, protocol=protocol))
    assert read.refused == []
    assert read.value == value
    assert {k: type(v) for k, v in read.value.items()} == {k: type(v) for k, v in value.items()}
    assert read.value["d"].default_factory is list and read.value["none"].default_factory is None
    assert read.value["q"].maxlen == 5 and list(read.value["o"]) == ["b", "a"]


def test_read_pickle_reports_a_defaultdict_factory_it_cannot_keep() -> None:
    read = read_pickle(pickle.dumps(collections.defaultdict(collections.Counter, {"k": 1})))
    assert read.value == {"k": 1}
    assert read.refused == ["collections.defaultdict factory collections.Counter"]


def test_read_pickle_unknown_classes_become_placeholders_with_their_fields() -> None:
    read = read_pickle(pickle.dumps({"p": Profile(name="ada", score=1.0)}))
    placeholder = read.value["p"]
    assert type(placeholder) is LegacyObject
    assert placeholder.type == f"{__name__}.Profile"
    assert placeholder.fields == {"name": "ada", "score": 1.0}
    assert read.refused == [f"{__name__}.Profile"]
    assert placeholder.to_plain()["__legacy_type__"] == f"{__name__}.Profile"


def test_read_pickle_allowed_classes_are_rebuilt_from_their_fields() -> None:
    read = read_pickle(pickle.dumps({"p": Profile(name="ada", score=1.0)}), allowed=[Profile])
    assert read.refused == []
    assert read.value["p"] == Profile(name="ada", score=1.0)


SETSTATE_CALLS: list[Any] = []


@dataclasses.dataclass
class Note:
    text: str

    def __setstate__(self, state: Any) -> None:
        SETSTATE_CALLS.append(state)
        self.__dict__.update(state)


def test_read_pickle_never_calls_setstate_of_allowed_classes() -> None:
    data = pickle.dumps({"n": Note("hi")})
    pickle.loads(data)
    assert SETSTATE_CALLS  # plain pickle does call it
    SETSTATE_CALLS.clear()
    read = read_pickle(data, allowed=[Note])
    assert read.value == {"n": Note("hi")} and read.refused == []
    assert SETSTATE_CALLS == []


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_read_pickle_hostile_reduce_gadgets_run_nothing(kind: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    data = hostile_session(canary, kind)
    read = read_pickle(data)
    assert not canary.exists()
    assert read.refused  # reported, not run
    assert read.value["checkpoint"]["turn_count"] == 1  # the rest of the state is readable
    gadget = read.value["checkpoint"]["profile_data"]["x"]
    assert type(gadget) is LegacyObject


def _side_effect_module(tmp_path: Path) -> tuple[str, Path]:
    name = f"lgrs_canary_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\n")
    return name, tmp_path / "imported"


def _plain_pickle_loads(data: bytes, tmp_path: Path) -> None:
    """`pickle.loads(data)` in a child process that can import from `tmp_path`."""
    (tmp_path / "payload.pickle").write_bytes(data)
    code = (
        "import pickle, sys; sys.path.insert(0, sys.argv[2]); "
        "pickle.loads(open(sys.argv[1], 'rb').read())"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "payload.pickle"), str(tmp_path)],
        check=False, capture_output=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(opcode_gadgets(Path("x"), "m")))
def test_read_pickle_opcode_gadgets_import_and_run_nothing(name: str, tmp_path: Path) -> None:
    module, imported = _side_effect_module(tmp_path)
    canary = tmp_path / "canary"
    data = opcode_gadgets(canary, module)[name]
    sys.path.insert(0, str(tmp_path))
    try:
        try:
            read_pickle(data)
        except LegacyPickleError:
            pass  # refusing the whole pickle is fine too; running any of it is not
    finally:
        sys.path.remove(str(tmp_path))
    assert not canary.exists() and not imported.exists()
    assert module not in sys.modules


@pytest.mark.parametrize("name", LIVE_OPCODE_GADGETS)
def test_opcode_gadgets_are_live_under_plain_pickle(name: str, tmp_path: Path) -> None:
    """The gadgets above are real: plain `pickle.loads` runs them (in a child process)."""
    module, imported = _side_effect_module(tmp_path)
    canary = tmp_path / "canary"
    _plain_pickle_loads(opcode_gadgets(canary, module)[name], tmp_path)
    assert canary.exists() or imported.exists()


@pytest.mark.parametrize("kind", HOSTILE_KINDS)
def test_hostile_gadgets_are_live_under_plain_pickle(kind: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    _plain_pickle_loads(pickle.dumps(hostile_gadget(canary, kind)), tmp_path)
    assert canary.exists()


def test_read_pickle_refuses_extension_and_reports_persistent_ids() -> None:
    with pytest.raises(LegacyPickleError, match="EXT"):
        read_pickle(b"\x80\x02\x82\x01.")
    read = read_pickle(b"\x80\x02X\x03\x00\x00\x00pidQ.")  # BINPERSID
    assert type(read.value) is LegacyObject and read.value.args == ("pid",)
    assert read.refused == ["<persistent id>"]
    read = read_pickle(b"Pabc\n.")  # PERSID
    assert type(read.value) is LegacyObject and read.refused == ["<persistent id>"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x04",
        b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94",  # truncated frame
        b"\x80\x02]q\x00h\x09.",  # memo get of a missing index
        b"\x80\x02\xff.",  # unknown opcode
        b"\x80\x02a.",  # APPEND on an empty stack
        b"not a pickle at all",
        pickle.dumps({"a": 1})[:-5],
    ],
)
def test_read_pickle_corrupted_input_is_one_clear_error(data: bytes) -> None:
    with pytest.raises(LegacyPickleError):
        read_pickle(data)


def test_read_pickle_bounds_size_depth_and_shared_reference_expansion() -> None:
    with pytest.raises(LegacyPickleError, match="limit"):
        read_pickle(pickle.dumps("x" * 100), max_bytes=50)
    deep = b"\x80\x02" + b"]" * 500 + b"a" * 499 + b"."  # 500 nested lists
    with pytest.raises(LegacyPickleError, match="deep"):
        read_pickle(deep)
    # "billion laughs": 60 levels of [x, x] is 2**60 values once expanded
    laughs: Any = ["lol"]
    for _ in range(60):
        laughs = [laughs, laughs]
    with pytest.raises(LegacyPickleError, match="expand"):
        read_pickle(pickle.dumps(laughs))


def test_read_pickle_cycles_become_placeholders_and_are_reported() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    read = read_pickle(pickle.dumps(loop))
    assert read.value[0] == 1 and type(read.value[1]) is LegacyObject
    assert read.value[1].type == "<cycle>" and read.refused == ["<reference cycle>"]


@pytest.mark.parametrize(
    ("opcode", "fmt"),
    [
        (pickle.BYTEARRAY8, "<Q"),
        (pickle.BINBYTES8, "<Q"),
        (pickle.BINUNICODE8, "<Q"),
        (pickle.BINBYTES, "<I"),
        (pickle.BINUNICODE, "<I"),
        (pickle.BINSTRING, "<i"),
        (pickle.LONG4, "<i"),
        (pickle.FRAME, "<Q"),
    ],
)
def test_read_pickle_refuses_a_length_longer_than_the_input(opcode: bytes, fmt: str) -> None:
    data = b"\x80\x05" + opcode + struct.pack(fmt, (1 << 30) - 1) + b"ab."
    with pytest.raises(LegacyPickleError, match=r"declares 1073741823 bytes .* only 3 remain"):
        read_pickle(data)
    # inside a frame too
    body = opcode + struct.pack(fmt, (1 << 30) - 1) + b"ab."
    framed = b"\x80\x05\x95" + struct.pack("<Q", len(body)) + body
    if opcode != pickle.FRAME:
        with pytest.raises(LegacyPickleError, match="declares"):
            read_pickle(framed)


def test_legacy_reader_is_not_imported_by_the_saver() -> None:
    code = """
        import sys
        import langgraph_redis_saver
        from langgraph_redis_saver import RedisCheckpointSaver, SafeMsgpackSerializer
        import langgraph_redis_saver.saver, langgraph_redis_saver.browse
        assert not any(m.startswith("langgraph_redis_saver.legacy") for m in sys.modules), [
            m for m in sys.modules if "legacy" in m]
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.decode()


class Slotted:
    __slots__ = ("v",)

    def __init__(self, v: int) -> None:
        self.v = v


@pytest.mark.parametrize("protocol", [2, 5])
def test_read_pickle_keeps_each_objects_own_fields(protocol: int) -> None:
    """Every object's state is its own: states unwrapped while reading are never
    mistaken for one another (the memo of converted values is keyed by identity)."""
    value = {
        "models": [Profile(name=f"p{i}", score=i) for i in range(300)],
        "slotted": [Slotted(i) for i in range(300)],
    }
    read = read_pickle(pickle.dumps(value, protocol), allowed=[Profile])
    assert read.value["models"] == value["models"]
    assert [o.fields for o in read.value["slotted"]] == [{"v": i} for i in range(300)]
