"""A short run of the decoder fuzzers (``make fuzz`` runs them for minutes).

Also pins what the fuzzers found, so each finding stays fixed.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from langgraph_redis_saver import CheckpointCorruptedError
from langgraph_redis_saver.errors import DecodeError

from . import fuzz_decoder
from .fuzz_decoder import CTX, SERDE, check_entry, encode_tree, seed_entries

HARNESS = Path(fuzz_decoder.__file__)

# Found by atheris: 250 bytes whose map keys are maps, nested ~50 deep.
# decode_plain JSON-encoded each key and every level escaped it again, so
# the text doubled per level (several GB before a MemoryError).
NESTED_KEYS = base64.b64decode(
    "AYKCgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgICAgICAgICAgICAgICA"
    "gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgYGBgY"
    "GBgYELjAGC/5L/jAGC//8BFAAAAP8A////1v8BeHRiAJL/xwMUbgAAAccDGpIl/xQAAAA="
)


def test_fuzz_short_hypothesis_run_finds_nothing() -> None:
    result = fuzz_decoder.run_hypothesis(examples=150)
    assert result.found == []
    assert result.iterations >= 400


def test_fuzz_short_atheris_run_finds_nothing(tmp_path: Path) -> None:
    why_not = fuzz_decoder.atheris_available()
    if why_not:
        pytest.skip(why_not)
    status, output = fuzz_decoder.run_atheris(4, tmp_path)
    assert status == 0, output
    assert fuzz_decoder._runs(output) > 1000, output


def test_fuzz_finding_nested_map_keys_fail_fast() -> None:
    deep: Any = ("v", "leaf")
    for _ in range(60):
        deep = ("map", [(deep, ("v", 1))])
    for payload in (NESTED_KEYS, b"\x01" + encode_tree(deep)):
        started = time.monotonic()
        with pytest.raises(DecodeError, match="map key"):
            SERDE.decode_plain(("lgrs", payload))
        assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    ("index", "value"),
    [
        (0, b"\xff\xfe"),  # checkpoint id that is not UTF-8
        (2, None),  # no checkpoint bytes at all
        (3, b"[1, 2]"),  # metadata that is JSON but not an object
        (4, b"\x80parent"),  # parent id that is not UTF-8
        (5, b"\xc3("),  # blob list that is not UTF-8
        (0, b"another-id"),  # record that holds another checkpoint
    ],
)
def test_fuzz_finding_damaged_records_raise_our_error(index: int, value: Any) -> None:
    reply = list(seed_entries()[2])
    reply[index] = value
    with pytest.raises(CheckpointCorruptedError):
        fuzz_decoder.parse_entry(CTX, "t", "", reply)


def test_fuzz_harness_reports_foreign_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness itself: an exception of another type is a finding."""

    def broken(*args: Any) -> None:
        raise KeyError("a decoder bug")

    monkeypatch.setattr(fuzz_decoder, "parse_entry", broken)
    with pytest.raises(KeyError):
        check_entry(seed_entries()[0])
    assert any("KeyError" in f for f in fuzz_decoder.run_hypothesis(examples=5).found)


def test_fuzz_command_line_prints_figures() -> None:
    done = subprocess.run(
        [sys.executable, str(HARNESS), "--engine", "hypothesis", "--seconds", "1",
         "--examples", "50"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 findings" in done.stdout and "iterations" in done.stdout
