"""Stored text made safe to show: inert on a terminal, not a formula in a spreadsheet.

Everything a session holds (message contents, tool names, session and
checkpoint ids, metadata) was written by whoever could reach the graph or the
database, so ``lgrs`` treats it as hostile wherever it leaves the program:

- `inert` for terminal output. Control characters (C0 except newline and tab,
  DEL, C1), bidirectional overrides and isolates (U+202A-U+202E,
  U+2066-U+2069) and invisible characters (zero-width spaces and joiners,
  direction marks, U+2028/U+2029 line separators, the BOM) are shown escaped
  as ``\\x1b`` or ``\\u202e``, so an ESC sequence cannot set the window title,
  clear the screen or write the clipboard (OSC 52), and a bidi override cannot
  make text read differently from what it is. Everything else is unchanged.
- `json_inert` for ``--json``: the same characters written as JSON ``\\uXXXX``
  escapes, so the document parses to exactly the stored values.
- `csv_cell` for CSV: a cell that a spreadsheet would run as a formula (it
  starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a
  leading ``'``, as OWASP's CSV injection guidance says.

Rich markup is a separate risk with a separate rule: stored text is printed
as `rich.text.Text`, never as a markup string (see `output`).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CSV_FORMULA_START", "csv_cell", "inert", "json_inert"]

_INVISIBLE = (
    "\u00ad"  # soft hyphen
    "\u061c"  # Arabic letter mark
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200f"  # zero-width space, non-joiner, joiner; LRM, RLM
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
    "\ud800-\udfff"  # lone surrogates: not text, and they cannot be encoded
)
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_UNSAFE_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_INVISIBLE}]")

CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP)."""


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(found: re.Match[str]) -> str:
    char = found[0]
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: object, *, one_line: bool = False) -> str:
    """`text` with every character that could act on a terminal shown escaped.

    Args:
        text: Stored text (anything else is converted with `str`).
        one_line: Escape newline and tab too: for ids, names and table cells,
            where a line break would forge a row.

    >>> inert("hi\\x1b]0;pwned\\x07 there")
    'hi\\\\x1b]0;pwned\\\\x07 there'
    >>> inert("invoice\\u202etxt.exe")
    'invoice\\\\u202etxt.exe'
    >>> inert("two\\nlines"), inert("two\\nlines", one_line=True)
    ('two\\nlines', 'two\\\\nlines')
    """
    text = text if isinstance(text, str) else str(text)
    return (_UNSAFE_ONE_LINE if one_line else _UNSAFE).sub(_escape, text)


def _json_escape(found: re.Match[str]) -> str:
    return f"\\u{ord(found[0]):04x}"


def json_inert(document: str) -> str:
    """A JSON document with the characters `inert` escapes written as ``\\uXXXX``.

    Valid only on JSON text (where such characters can only appear inside
    strings); the parsed values are unchanged. C0 controls are already
    escaped by every JSON encoder.

    >>> import json
    >>> text = json_inert(json.dumps({"a": "x\\u202ey\\x9b"}, ensure_ascii=False))
    >>> text, json.loads(text) == {"a": "x\\u202ey\\x9b"}
    ('{"a": "x\\\\u202ey\\\\u009b"}', True)
    """
    return _UNSAFE_IN_JSON.sub(_json_escape, document)


def csv_cell(value: Any) -> Any:
    """`value` as a CSV cell a spreadsheet shows as text, not as a formula.

    Strings starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
    get a leading ``'``; other values are returned unchanged.

    >>> csv_cell("=HYPERLINK(\\"http://evil.example\\")"), csv_cell("-5"), csv_cell(-5)
    ('\\'=HYPERLINK("http://evil.example")', "'-5", -5)
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value
