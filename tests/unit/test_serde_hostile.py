"""Hostile input for SafeMsgpackSerializer: nothing runs, nothing is imported.

Every payload here names something dangerous (`os.system`, `builtins.eval`,
`subprocess.Popen`, `os.mkdir`, a module whose import has a side effect) in
every place a type could be named. Marker files and `sys.modules` prove that
nothing ran; "control" tests show that the same gadgets do fire in
serializers that import or unpickle, so the markers would catch it.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import msgpack
import ormsgpack
import pytest
from langchain_core import messages as lc
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Interrupt, Send

from langgraph_redis_saver.errors import (
    DecodeError,
    SchemaVersionError,
    SerializationError,
    StoredDataWarning,
    UnsafeTypeError,
)
from langgraph_redis_saver.serde import MAX_DEPTH, TYPE_TAG, PlainFields, SafeMsgpackSerializer
from langgraph_redis_saver.serde._codecs import BY_TYPE

CANARY_MODULE = "lgrs_canary_side_effect"
LOADS_ERRORS = (DecodeError, UnsafeTypeError, SchemaVersionError)
PLAIN_ERRORS = (DecodeError, SchemaVersionError)
# Everything a decode may produce: msgpack's native types plus the built-in table.
# PlainFields: the dict of stored fields of a class that could not be rebuilt.
ALLOWED_TYPES = {type(None), bool, int, float, str, bytes, list, dict, PlainFields, *BY_TYPE}


class Sandbox:
    """Marker paths and gadget payloads pointing at them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.shell_marker = root / "shell-ran"
        self.mkdir_marker = root / "mkdir-ran"
        self.eval_marker = root / "eval-ran"
        self.popen_marker = root / "popen-ran"
        self.pickle_marker = root / "pickle-ran"
        self.canary = root / "canary-imported"
        self.modules = root / "modules"

    def markers(self) -> list[Path]:
        return [
            self.shell_marker,
            self.mkdir_marker,
            self.eval_marker,
            self.popen_marker,
            self.pickle_marker,
            self.canary,
        ]

    def assert_nothing_ran(self) -> None:
        assert [m.name for m in self.markers() if m.exists()] == []
        assert CANARY_MODULE not in sys.modules

    def gadgets(self) -> list[tuple[str, str, Any]]:
        """(module, name, argument) triples that would have an effect if called."""
        return [
            ("os", "system", f"touch {self.shell_marker}"),
            ("os", "mkdir", str(self.mkdir_marker)),
            ("builtins", "eval", f"open({str(self.eval_marker)!r}, 'w')"),
            ("builtins", "exec", f"open({str(self.eval_marker)!r}, 'w')"),
            ("subprocess", "Popen", [["touch", str(self.popen_marker)]]),
            ("subprocess", "check_call", ["touch", str(self.popen_marker)]),
            (CANARY_MODULE, "anything", None),
            ("importlib", "import_module", CANARY_MODULE),
        ]


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path)
    box.modules.mkdir()
    (box.modules / f"{CANARY_MODULE}.py").write_text(
        f"open({str(box.canary)!r}, 'w').close()\nanything = print\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(box.modules))
    sys.modules.pop(CANARY_MODULE, None)
    yield box
    sys.modules.pop(CANARY_MODULE, None)


def assert_inert(value: Any, depth: int = 0) -> None:
    """Decoded hostile data may only contain allowlisted types, never callables or modules."""
    assert depth < 5000
    assert type(value) in ALLOWED_TYPES, type(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            assert_inert(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_inert(key, depth + 1)
            assert_inert(item, depth + 1)
    elif type(value).__module__.startswith(("langgraph.", "langchain_core.")):
        for name in getattr(value, "__slots__", None) or vars(value):
            assert_inert(getattr(value, name), depth + 1)


def try_both(blob: tuple[str, bytes]) -> None:
    """Run both decoders: only our errors may escape, results must be inert."""
    serde = SafeMsgpackSerializer()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StoredDataWarning)
            assert_inert(serde.loads_typed(blob))
    except LOADS_ERRORS:
        pass
    try:
        json.dumps(serde.decode_plain(blob))
    except PLAIN_ERRORS:
        pass


def ours(obj: Any) -> tuple[str, bytes]:
    return TYPE_TAG, b"\x01" + msgpack.packb(obj, use_bin_type=True)


def ext_bytes(code: int, data: bytes) -> bytes:
    """An msgpack ext header by hand: msgpack.ExtType refuses negative codes."""
    size, tag = len(data), bytes([code & 0xFF])
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
    if size in fixed:
        return bytes([fixed[size]]) + tag + data
    if size < 1 << 8:
        return b"\xc7" + bytes([size]) + tag + data
    if size < 1 << 16:
        return b"\xc8" + size.to_bytes(2, "big") + tag + data
    return b"\xc9" + size.to_bytes(4, "big") + tag + data


# --- controls: the gadgets are live ------------------------------------------------------


def test_hostile_control_jsonplus_default_executes_gadget(sandbox: Sandbox) -> None:
    # LangGraph's serializer, outside strict mode, imports and calls what the data names.
    payload = ormsgpack.packb(
        ormsgpack.Ext(0, ormsgpack.packb(("os", "mkdir", str(sandbox.mkdir_marker))))
    )
    JsonPlusSerializer(allowed_msgpack_modules=True).loads_typed(("msgpack", payload))
    assert sandbox.mkdir_marker.exists()


def test_hostile_control_canary_module_and_pickle_fire(sandbox: Sandbox) -> None:
    env = {**os.environ, "PYTHONPATH": str(sandbox.modules)}
    subprocess.run([sys.executable, "-c", f"import {CANARY_MODULE}"], env=env, check=True)
    assert sandbox.canary.exists()
    pickle.loads(pickle_gadget(sandbox.pickle_marker))
    assert sandbox.pickle_marker.exists()


class _Touch:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (Path.touch, (self.path,))


def pickle_gadget(path: Path) -> bytes:
    return pickle.dumps(_Touch(path))


# --- every extension code --------------------------------------------------------------------


def payload_variants(box: Sandbox) -> list[bytes]:
    variants: list[bytes] = [b"", b"\x00", b"os.system", b"\xc0", b"\x91\xc0"]
    for module, name, arg in box.gadgets():
        variants += [
            msgpack.packb([module, name, arg]),  # LangGraph's (module, name, arg)
            msgpack.packb([module, name, arg, "model_validate_json"]),
            msgpack.packb([f"{module}.{name}", arg]),  # our [tag, value]
            msgpack.packb({"lc": 2, "type": "constructor", "id": [module, name], "args": [arg]}),
            ormsgpack.packb((module, name, {"x": arg})),
        ]
    return variants


def test_hostile_every_ext_code_refused_or_inert(sandbox: Sandbox) -> None:
    variants = payload_variants(sandbox)
    for code in range(-128, 128):
        for data in variants:
            ext = ext_bytes(code, data)
            try_both((TYPE_TAG, b"\x01" + ext))
            try_both((TYPE_TAG, b"\x01\x92\x01\x81\xa1k" + ext))  # [1, {"k": ext}]
            try_both((TYPE_TAG, b"\x01" + ext_bytes(80, b"\x92\xa1x" + ext)))  # ["x", ext]
            try_both((TYPE_TAG, b"\x01" + ext_bytes(16, b"\x91" + ext)))  # (ext,)
    sandbox.assert_nothing_ran()


@pytest.mark.parametrize(
    "tag", ["os.system", "builtins.eval", "subprocess.Popen", CANARY_MODULE + ".anything"]
)
def test_hostile_user_tag_naming_callable_loads_as_plain_data(sandbox: Sandbox, tag: str) -> None:
    blob = ours(msgpack.ExtType(80, msgpack.packb([tag, f"touch {sandbox.shell_marker}"])))
    with pytest.warns(StoredDataWarning, match="serde.register") as info:
        value = SafeMsgpackSerializer().loads_typed(blob)
    assert value == f"touch {sandbox.shell_marker}"
    assert repr(tag) in str(info[0].message)
    plain = SafeMsgpackSerializer().decode_plain(blob)
    assert plain == {"__type__": tag, "value": f"touch {sandbox.shell_marker}"}
    sandbox.assert_nothing_ran()


def test_hostile_allowlist_naming_unloaded_module_does_not_import(sandbox: Sandbox) -> None:
    serde = SafeMsgpackSerializer()
    assert serde.with_allowlist([(CANARY_MODULE, "anything"), ("os", "system")]) is serde
    sandbox.assert_nothing_ran()


# --- payloads of other serializers ---------------------------------------------------------


def jsonplus_payloads(box: Sandbox) -> Iterator[tuple[str, bytes]]:
    for module, name, arg in box.gadgets():
        for code in range(8):
            yield (
                "msgpack",
                ormsgpack.packb(ormsgpack.Ext(code, ormsgpack.packb((module, name, arg)))),
            )
        constructor = {
            "lc": 2,
            "type": "constructor",
            "id": [*module.split("."), name],
            "args": [arg],
        }
        yield "json", json.dumps(constructor).encode()
        yield (
            "json",
            json.dumps(
                {"lc": 1, "type": "constructor", "id": [module, name], "kwargs": {}}
            ).encode(),
        )
    yield "pickle", pickle_gadget(box.pickle_marker)


def test_hostile_jsonplus_and_pickle_payloads_refused(sandbox: Sandbox) -> None:
    for typ, payload in jsonplus_payloads(sandbox):
        for tag in (typ, TYPE_TAG, f"{typ}+aes", f"{TYPE_TAG}+aes"):
            with pytest.raises(LOADS_ERRORS):
                SafeMsgpackSerializer().loads_typed((tag, payload))
            with pytest.raises(PLAIN_ERRORS):
                SafeMsgpackSerializer().decode_plain((tag, payload))
    with pytest.raises(DecodeError, match="another serializer"):
        SafeMsgpackSerializer().loads_typed(("pickle", pickle_gadget(sandbox.pickle_marker)))
    sandbox.assert_nothing_ran()


def test_hostile_zoneinfo_keys_cannot_reach_files_or_modules(sandbox: Sandbox) -> None:
    for key in [
        "../../etc/passwd",
        "/etc/localtime",
        "tzdata.zoneinfo",
        f"{CANARY_MODULE}/x",
        "a" * 500,
        "",
    ]:
        spec = [2025, 1, 1, 0, 0, 0, 0, 0, key]
        for blob in (
            ours(msgpack.ExtType(21, msgpack.packb(spec))),
            ours(msgpack.ExtType(26, msgpack.packb(key))),
        ):
            try:
                with warnings.catch_warnings(record=True):
                    warnings.simplefilter("always")
                    value = SafeMsgpackSerializer().loads_typed(blob)
            except LOADS_ERRORS:
                continue
            assert type(value) is str  # an unknown key loads as text, never as a ZoneInfo
    sandbox.assert_nothing_ran()


# --- damaged real payloads ---------------------------------------------------------------------


def real_payload() -> bytes:
    state = {
        "messages": [
            lc.HumanMessage("hello", id="1"),
            lc.AIMessage(
                "",
                tool_calls=[{"name": "f", "args": {"x": (1, 2)}, "id": "c"}],
                usage_metadata={"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
            ),
            lc.ToolMessage("r", tool_call_id="c"),
        ],
        "when": datetime(2025, 1, 1, tzinfo=timezone.utc),
        "ids": {UUID(int=5), 2**70},
        "send": Send("n", {"a": b"\x00" * 10}),
        "interrupt": Interrupt(value="q?", id="i"),
    }
    return SafeMsgpackSerializer().dumps_typed(state)[1]


def test_hostile_every_truncation_is_a_decode_error() -> None:
    payload = real_payload()
    serde = SafeMsgpackSerializer()
    for end in range(len(payload)):
        with pytest.raises(LOADS_ERRORS):
            serde.loads_typed((TYPE_TAG, payload[:end]))
        with pytest.raises(PLAIN_ERRORS):
            serde.decode_plain((TYPE_TAG, payload[:end]))


def test_hostile_bit_flips_only_raise_our_errors(sandbox: Sandbox) -> None:
    payload = real_payload()
    rng = random.Random(20251108)
    for position in range(len(payload)):
        for _ in range(3):
            damaged = bytearray(payload)
            damaged[position] ^= 1 << rng.randrange(8)
            try_both((TYPE_TAG, bytes(damaged)))
    sandbox.assert_nothing_ran()


def test_hostile_random_bytes_fuzz(sandbox: Sandbox) -> None:
    rng = random.Random(1234)
    payload = real_payload()
    for i in range(3000):
        if i % 2:
            blob = b"\x01" + rng.randbytes(rng.randrange(0, 48))
        else:  # splice random bytes into a real payload
            start = rng.randrange(1, len(payload))
            blob = payload[:start] + rng.randbytes(rng.randrange(1, 8)) + payload[start + 4 :]
        try_both((TYPE_TAG, blob))
    sandbox.assert_nothing_ran()


@pytest.mark.parametrize(
    "data",
    [
        None,
        (),
        ("lgrs",),
        ("lgrs", b"\x01", b""),
        ("lgrs", "\x01\xc0"),
        (1, b"\x01\xc0"),
        ("lgrs", 5),
        "lgrs",
    ],
)
def test_hostile_wrong_argument_shapes(data: Any) -> None:
    with pytest.raises(DecodeError):
        SafeMsgpackSerializer().loads_typed(data)
    with pytest.raises(DecodeError):
        SafeMsgpackSerializer().decode_plain(data)


# --- bombs -------------------------------------------------------------------------------------

BOMBS = {
    "array32": b"\xdd\xff\xff\xff\xff",
    "map32": b"\xdf\xff\xff\xff\xff",
    "str32": b"\xdb\xff\xff\xff\xff" + b"a" * 64,
    "bin32": b"\xc6\xff\xff\xff\xff" + b"a" * 64,
    "ext32": b"\xc9\xff\xff\xff\xff\x10" + b"a" * 64,
    "array16_short": b"\xdc\xff\xff" + b"\xc0" * 3,
    "array32_with_1mb_of_nils": b"\xdd\xff\xff\xff\xff" + b"\xc0" * (1 << 20),
    "inside_ext": msgpack.packb(msgpack.ExtType(16, b"\xdd\xff\xff\xff\xff")),
    "inside_message": msgpack.packb(msgpack.ExtType(42, b"\xdf\xff\xff\xff\xff")),
    "bigint_ext": msgpack.packb(msgpack.ExtType(20, b"\xff" * 64)) + b"\xdd\xff\xff\xff\xff",
}


@pytest.mark.parametrize("body", list(BOMBS.values()), ids=list(BOMBS))
def test_hostile_length_bombs_fail_fast_without_allocating(body: bytes) -> None:
    serde = SafeMsgpackSerializer()
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(DecodeError):
            serde.loads_typed((TYPE_TAG, b"\x01" + body))
        with pytest.raises(DecodeError):
            serde.decode_plain((TYPE_TAG, b"\x01" + body))
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 8 * len(body) + (1 << 20)  # nothing near 2**32 elements


def nested_ext(code: int, depth: int) -> bytes:
    """`depth` extensions of `code`, each a 1-element array holding the next."""
    inner = b"\xc0"
    for _ in range(depth):
        inner = msgpack.packb(msgpack.ExtType(code, b"\x91" + inner))
    return inner


@pytest.mark.parametrize("code", [16, 17, 64, 67])
def test_hostile_deep_extension_nesting_is_refused(code: int) -> None:
    serde = SafeMsgpackSerializer()
    body = b"\x01" + nested_ext(code, 5000)
    with pytest.raises(DecodeError):
        serde.loads_typed((TYPE_TAG, body))
    with pytest.raises(DecodeError):
        serde.decode_plain((TYPE_TAG, body))


def test_hostile_depth_limit_matches_writer() -> None:
    serde = SafeMsgpackSerializer()
    assert serde.loads_typed((TYPE_TAG, b"\x01" + nested_ext(16, MAX_DEPTH))) is not None
    with pytest.raises(DecodeError, match="nested deeper"):
        serde.loads_typed((TYPE_TAG, b"\x01" + nested_ext(16, MAX_DEPTH + 1)))


@pytest.mark.parametrize("opener", [b"\x91", b"\x81\xc0"])
def test_hostile_deep_container_nesting_is_refused(opener: bytes) -> None:
    serde = SafeMsgpackSerializer()
    body = b"\x01" + opener * 200_000 + b"\xc0"
    with pytest.raises(DecodeError):
        serde.loads_typed((TYPE_TAG, body))
    with pytest.raises(DecodeError):
        serde.decode_plain((TYPE_TAG, body))


def test_hostile_deep_nesting_on_write_is_a_serialization_error() -> None:
    value: Any = None
    for _ in range(100_000):
        value = [value]
    with pytest.raises(SerializationError):
        SafeMsgpackSerializer().dumps_typed(value)


def test_hostile_unhashable_keys_and_bad_payload_shapes() -> None:
    cases = [
        msgpack.packb({(1,): 1}),  # array as a map key: unhashable list
        msgpack.packb(msgpack.ExtType(17, msgpack.packb([[1]]))),  # set of lists
        msgpack.packb(msgpack.ExtType(21, msgpack.packb([2025, 13, 1, 0, 0, 0, 0, 0, None]))),
        msgpack.packb(msgpack.ExtType(24, msgpack.packb([10**12, 0, 0]))),  # timedelta overflow
        msgpack.packb(msgpack.ExtType(27, b"short")),  # UUID needs 16 bytes
        msgpack.packb(msgpack.ExtType(28, msgpack.packb("not a number"))),
        msgpack.packb(msgpack.ExtType(29, msgpack.packb([9, "/x"]))),
        msgpack.packb(msgpack.ExtType(30, msgpack.packb(["(", 0]))),  # bad regex
        msgpack.packb(msgpack.ExtType(42, msgpack.packb("not a dict"))),
        msgpack.packb(msgpack.ExtType(64, msgpack.packb([]))),
        msgpack.packb(msgpack.ExtType(65, msgpack.packb([1, 2]))),
        msgpack.packb(msgpack.ExtType(80, msgpack.packb([1, 2]))),  # tag not a str
        msgpack.packb(msgpack.ExtType(80, msgpack.packb("x"))),
        b"\xa3\xff\xfe\xfd",  # invalid UTF-8
    ]
    for body in cases:
        with pytest.raises(DecodeError):
            SafeMsgpackSerializer().loads_typed((TYPE_TAG, b"\x01" + body))
