"""Fenced code blocks of the Markdown docs, for the test that runs them.

A block is the text between a fence line (three or more backticks or tildes,
with a language word) and the closing fence of the same kind. What precedes
it matters: the last non-blank line before the fence may be a marker,

- ``<!-- fragment -->``: part of a larger program, not meant to run alone;
  the test does not run it;
- ``<!-- file: NAME -->``: the reader is asked to save the block as NAME;
  the test writes it into the page's working directory (later blocks of the
  same page run it) instead of running it alone.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RUNNABLE", "Block", "blocks_of"]

RUNNABLE = ("python", "bash")
"""Languages whose blocks the docs test runs."""

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_FILE = re.compile(r"^<!--\s*file:\s*(?P<name>[\w.\-/]+)\s*-->$")
_FRAGMENT = "<!-- fragment -->"


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its code and its marker."""

    page: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    fragment: bool
    file_name: str | None

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    """Every fenced block of `page`, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        language = (opening["info"].split() or [""])[0].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        before = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
        file_match = _FILE.match(before)
        found.append(
            Block(
                page=page,
                line=i + 1,
                language=language,
                code=textwrap.dedent("\n".join(body)) + "\n",
                fragment=before == _FRAGMENT,
                file_name=file_match["name"] if file_match else None,
            )
        )
        i = j + 1
    return found
