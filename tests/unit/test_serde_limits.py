"""The codec table is pinned, and decoding stays within its budget.

A changed or reused extension code would make stored sessions unreadable (or
read as another type): `EXPECTED_CODES` must only ever grow. The decode budget
bounds amplification (issue: 41 KB stored took 5.2 GB), time-zone keys never
reach an importing code path, and regular expressions have a bounded cost.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import msgpack
import pytest

from langgraph_redis_saver.errors import (
    DecodeError,
    SerializationError,
    StoredDataWarning,
    UnsafeTypeError,
)
from langgraph_redis_saver.serde import TYPE_TAG, SafeMsgpackSerializer, UncompiledPattern
from langgraph_redis_saver.serde._codecs import BY_CODE, MAX_PATTERN_LEN, OBJECT_EXT, USER_EXT

# Never change or reuse a code: stored data names types by these numbers.
EXPECTED_CODES = {
    16: "py.tuple", 17: "py.set", 18: "py.frozenset", 19: "py.bytearray", 20: "py.int",
    21: "py.datetime", 22: "py.date", 23: "py.time", 24: "py.timedelta", 25: "py.timezone",
    26: "py.ZoneInfo", 27: "py.UUID", 28: "py.Decimal", 29: "py.Path", 30: "py.Pattern",
    31: "py.deque", 32: "py.OrderedDict", 33: "py.complex", 34: "py.ipaddress",
    35: "py.Counter", 36: "py.defaultdict",
    40: "lc.HumanMessage", 41: "lc.HumanMessageChunk", 42: "lc.AIMessage",
    43: "lc.AIMessageChunk", 44: "lc.SystemMessage", 45: "lc.SystemMessageChunk",
    46: "lc.ToolMessage", 47: "lc.ToolMessageChunk", 48: "lc.FunctionMessage",
    49: "lc.FunctionMessageChunk", 50: "lc.ChatMessage", 51: "lc.ChatMessageChunk",
    52: "lc.RemoveMessage", 53: "lc.Document", 54: "lc.AgentAction",
    55: "lc.AgentActionMessageLog", 56: "lc.AgentStep", 57: "lc.AgentFinish",
    58: "lc.Generation", 59: "lc.GenerationChunk", 60: "lc.ChatGeneration",
    61: "lc.ChatGenerationChunk", 62: "lc.StringPromptValue", 63: "lc.ChatPromptValue",
    64: "lg.Send", 65: "lg.Command", 66: "lg.Interrupt", 67: "lg.DeltaSnapshot",
    68: "lg.Overwrite", 69: "lg.TimeoutPolicy", 70: "np.ndarray", 71: "np.generic",
    72: "pydantic.SecretStr", 73: "pydantic.SecretBytes",
    82: "lc.ChatPromptValueConcrete", 83: "lc.LLMResult", 84: "lc.ChatResult",
    85: "lc.ImagePromptValue",
}  # fmt: skip


def test_codec_table_is_pinned() -> None:
    assert {code: codec.name for code, codec in BY_CODE.items()} == EXPECTED_CODES
    assert (USER_EXT, OBJECT_EXT) == (80, 81)
    # 0-15 stay unused: LangGraph's JsonPlusSerializer uses 0-7 for "import and call".
    assert not set(BY_CODE) & set(range(16)) and not {USER_EXT, OBJECT_EXT} & set(BY_CODE)


def test_codec_table_raw_payload_codes_are_pinned() -> None:
    raw = sorted(code for code, codec in BY_CODE.items() if codec.raw)
    assert raw == [19, 20, 27]


# --- decode budget ------------------------------------------------------------------------------


def nested_bomb(inner_size: int, depth: int = 127) -> bytes:
    """Tuples nested `depth` deep around one large bytes value: each level rescans it."""
    value = msgpack.packb(b"\0" * inner_size)
    for _ in range(depth):
        value = msgpack.packb(msgpack.ExtType(16, b"\x91" + value))
    return b"\x01" + value


READER = textwrap.dedent(
    """
    import resource, sys, zlib
    resource.setrlimit(resource.RLIMIT_AS, (MEMLIMIT, MEMLIMIT))
    from langgraph_redis_saver.errors import DecodeError
    from langgraph_redis_saver.serde import SafeMsgpackSerializer
    body = zlib.decompress(open(sys.argv[1], "rb").read())
    serde = SafeMsgpackSerializer()
    for read in (serde.loads_typed, serde.decode_plain):
        try:
            read(("lgrs", body))
        except DecodeError as exc:
            print("DecodeError", "budget" in str(exc))
        except MemoryError:
            print("MemoryError")
        else:
            print("loaded")
    """
)


def test_serde_decode_amplification_is_bounded_in_a_memory_limited_reader(tmp_path: Path) -> None:
    stored = zlib.compress(nested_bomb(24 << 20), 9)
    assert len(stored) < 100_000  # a few dozen KB stored ...
    path = tmp_path / "bomb"
    path.write_bytes(stored)
    limit = 2 << 30  # ... would need 127 x 24 MB = 3 GB without the budget
    script = READER.replace("MEMLIMIT", str(limit))
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.split("\n")[:2] == ["DecodeError True", "DecodeError True"], out.stderr[
        -2000:
    ]


def test_serde_decode_budget_refused_on_write_too() -> None:
    value: object = b"\0" * (2 << 20)
    for _ in range(40):
        value = (value,)
    with pytest.raises(SerializationError, match="decode budget"):
        SafeMsgpackSerializer().dumps_typed(value)


def test_serde_decode_budget_lets_honest_64mb_state_load() -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    text = "x" * 4000
    messages = [
        (HumanMessage if i % 2 else AIMessage)(text + str(i), id=str(i)) for i in range(16_000)
    ]
    state = {"messages": messages, "meta": {"blob": b"\1" * (1 << 20)}}
    serde = SafeMsgpackSerializer()
    blob = serde.dumps_typed(state)
    assert len(blob[1]) > 64_000_000
    assert serde.loads_typed(blob) == state


def empty_lists_bomb(count: int) -> bytes:
    """One array of `count` empty arrays: a byte each, ~64 bytes of memory each."""
    return b"\x01\xdd" + count.to_bytes(4, "big") + b"\x90" * count


def tiny_tuples_bomb(count: int) -> bytes:
    """One array of `count` empty tuples: three bytes each, one nested decode each."""
    return b"\x01\xdd" + count.to_bytes(4, "big") + b"\xd4\x10\x90" * count


def test_serde_cheap_objects_are_bounded_in_a_memory_limited_reader(tmp_path: Path) -> None:
    # 30 MB of empty lists would need ~2 GB of list objects: the object
    # budget stops at one per 4 bytes (~0.5 GB) with a DecodeError.
    path = tmp_path / "bomb"
    path.write_bytes(zlib.compress(empty_lists_bomb(30_000_000), 9))
    script = READER.replace("MEMLIMIT", str(2 << 30))
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.split("\n")[:2] == ["DecodeError True", "DecodeError True"], out.stderr[
        -2000:
    ]


def test_serde_tiny_objects_cpu_is_bounded(tmp_path: Path) -> None:
    # 3M empty tuples (9 MB) each cost a nested decode: unbounded, tens of
    # seconds of CPU; the object budget stops after a fraction of them.
    path = tmp_path / "bomb"
    path.write_bytes(zlib.compress(tiny_tuples_bomb(3_000_000), 9))
    script = READER.replace("MEMLIMIT", str(2 << 30))
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.split("\n")[:2] == ["DecodeError True", "DecodeError True"], out.stderr[
        -2000:
    ]


@pytest.mark.parametrize(
    "value",
    [[[] for _ in range(200_000)], [{} for _ in range(200_000)], [() for _ in range(100_000)]],
    ids=["lists", "dicts", "tuples"],
)
def test_serde_object_budget_refused_on_write_too(value: object) -> None:
    with pytest.raises(SerializationError, match="decode budget"):
        SafeMsgpackSerializer().dumps_typed(value)


def test_serde_object_budget_reads_what_it_writes_at_the_boundary() -> None:
    from langgraph_redis_saver.serde._wire import count_objects, object_budget

    serde = SafeMsgpackSerializer()
    # 40,000 pairs (under the floor) and 200,000 small records (under one
    # object per 4 bytes) load back.
    value = {
        "pairs": [(i, i + 1) for i in range(40_000)],
        "rows": [{"n": i, "name": f"item-{i:06d}"} for i in range(200_000)],
    }
    _, body = serde.dumps_typed(value)
    assert count_objects(body[1:]) <= object_budget(len(body) - 1)
    assert serde.loads_typed((TYPE_TAG, body)) == value
    assert serde.decode_plain((TYPE_TAG, body))["rows"] == value["rows"]


# --- time zones -------------------------------------------------------------------------------


def test_serde_unknown_zone_key_never_imports_tzdata(tmp_path: Path) -> None:
    # A look-alike tzdata package on the path would run code if zoneinfo
    # fell back to importlib.resources for the stored key.
    pkg = tmp_path / "tzdata" / "zoneinfo" / "Canada"
    pkg.mkdir(parents=True)
    for folder in (tmp_path / "tzdata", tmp_path / "tzdata" / "zoneinfo", pkg):
        (folder / "__init__.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').write('x')\n")
    script = textwrap.dedent(
        f"""
        import sys, warnings
        sys.path.insert(0, {str(tmp_path)!r})
        import msgpack
        from langgraph_redis_saver.serde import SafeMsgpackSerializer
        warnings.simplefilter("ignore")
        spec = [2025, 1, 1, 0, 0, 0, 0, 0, "Canada/Evil"]
        blob = ("lgrs", b"\\x01" + msgpack.packb(msgpack.ExtType(21, msgpack.packb(spec))))
        print(SafeMsgpackSerializer().loads_typed(blob))
        print(SafeMsgpackSerializer().decode_plain(blob))
        print("tzdata" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.split("\n")[:3] == [
        "2025-01-01T00:00:00[Canada/Evil]",
        "2025-01-01T00:00:00[Canada/Evil]",
        "False",
    ], out.stderr[-2000:]
    assert not (tmp_path / "ran").exists()


def test_serde_unknown_zone_warning_advice() -> None:
    blob = (TYPE_TAG, b"\x01" + msgpack.packb(msgpack.ExtType(26, msgpack.packb("Canada/Evil"))))
    with pytest.warns(StoredDataWarning, match="pip install tzdata"):
        assert SafeMsgpackSerializer().loads_typed(blob) == "Canada/Evil"


# --- regular expressions ------------------------------------------------------------------------


def test_serde_long_pattern_stays_uncompiled_and_cheap() -> None:
    bomb = "(?:" * 2000 + "a*" + ")*" * 2000 + "b" + "[a-z]{1,1000}" * 2000
    assert len(bomb) > MAX_PATTERN_LEN
    blob = (TYPE_TAG, b"\x01" + msgpack.packb(msgpack.ExtType(30, msgpack.packb([bomb, 0]))))
    start = time.process_time()
    value = SafeMsgpackSerializer().loads_typed(blob)
    assert time.process_time() - start < 1.0
    assert value == UncompiledPattern(bomb, 0)
    assert SafeMsgpackSerializer().decode_plain(blob)["pattern"] == bomb


def test_serde_short_pattern_roundtrips_compiled() -> None:
    serde = SafeMsgpackSerializer()
    pattern = re.compile(r"\d+-\w+", re.I)
    assert serde.loads_typed(serde.dumps_typed(pattern)) == pattern


def test_serde_malformed_pattern_is_a_decode_error() -> None:
    blob = (TYPE_TAG, b"\x01" + msgpack.packb(msgpack.ExtType(30, msgpack.packb(["(", 0]))))
    with pytest.raises(DecodeError):
        SafeMsgpackSerializer().loads_typed(blob)


def test_serde_numpy_object_dtype_is_refused_and_data_dtypes_roundtrip() -> None:
    import numpy as np

    serde = SafeMsgpackSerializer()
    with pytest.raises(UnsafeTypeError, match=r"value\['a'\] \(numpy.ndarray\)"):
        serde.dumps_typed({"a": np.array([object()], dtype=object)})
    value = np.array([["2025-01-01"]], dtype="datetime64[s]")
    back = serde.loads_typed(serde.dumps_typed(value))
    assert back.dtype == value.dtype and (back == value).all() and back.flags.writeable


def test_serde_numpy_hostile_dtype_is_a_decode_error() -> None:
    for dtype in ["|O8", "<V8", "O", "[('a', '<i4')]"]:
        payload = msgpack.packb([dtype, [1], b"\0" * 8])
        blob = (TYPE_TAG, b"\x01" + msgpack.packb(msgpack.ExtType(70, payload)))
        with pytest.raises(DecodeError):
            SafeMsgpackSerializer().loads_typed(blob)


def test_serde_object_budget_keeps_dense_honest_collections() -> None:
    """Pairs of small ints build 3 units per 6 bytes: right at the budget, and stored."""
    serde = SafeMsgpackSerializer()
    for value in (
        [(i % 100, i % 7) for i in range(200_000)],
        [[i % 100, 1] for i in range(200_000)],
    ):
        assert serde.loads_typed(serde.dumps_typed(value)) == value


def test_serde_object_budget_keeps_one_column_rows_and_refuses_bare_empties() -> None:
    serde = SafeMsgpackSerializer()
    rows = [(i % 100,) for i in range(300_000)]  # a fetchall() of one column
    sets = [{i % 50} for i in range(200_000)]
    for value in (rows, sets):
        assert serde.loads_typed(serde.dumps_typed(value)) == value
    for bomb in ([[] for _ in range(200_000)], [() for _ in range(150_000)]):
        with pytest.raises(SerializationError, match="decode budget"):
            serde.dumps_typed(bomb)
