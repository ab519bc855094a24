"""The Lua scripts, read once from ``lua/`` (shipped in the wheel) and called by SHA.

Each script file starts with a header that names every ``KEYS`` and ``ARGV``
entry in order (``-- KEYS[1]  record  ...``; ``[..]`` and a ``*`` mark a
variadic group). `Script.call` builds an EVALSHA from values given *by
those names*, so Python never counts positions; the typed builders in
`lua.calls` are the only callers, and ``tests/unit/test_lua_contract.py``
holds headers, bindings and record fields together.

Redis has no includes, and plain EVAL scripts (rather than Redis 7
functions) keep Redis 6.2, Valkey and managed services that disable
``FUNCTION`` working. So ``lib.lua`` is appended to every script: the
helper names are declared as locals on the script's first line, the body
follows on that same line (its first line is a comment) and is wrapped in
a function that runs after the helpers are defined. Line N of a Redis error
is therefore line N of the script file; errors past the body are mapped to
``lib.lua`` by `Script.locate`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langgraph_redis_saver.errors import (
    CheckpointConflictError,
    CheckpointCorruptedError,
    LegacySessionError,
    RedisSaverError,
)

__all__ = [
    "DELETE",
    "DELTA",
    "DROP",
    "GET",
    "LIB_FUNCTIONS",
    "LIST",
    "PUT",
    "PUT_WRITES",
    "SCRIPTS",
    "SIZES",
    "Call",
    "Script",
    "Slot",
    "parse_header",
    "script_error",
]

HERE = Path(__file__).parent
_SLOT = re.compile(r"^-- (KEYS|ARGV)\[(\d+|\.\.)\]\s+(\w+)(\*?)(?:\s|$)")
_LIB_FUNCTION = re.compile(r"^function (\w+)\(", re.MULTILINE)
_LINE = re.compile(r"user_script:(\d+):")
ERROR_CODES: dict[str, type[RedisSaverError]] = {
    "LGRS_CORRUPT": CheckpointCorruptedError,
    "LGRS_CONFLICT": CheckpointConflictError,
    "LGRS_LEGACY": LegacySessionError,
}
"""Error replies of our scripts (``redis.error_reply('LGRS_... text')``) and
the exception each becomes."""


@dataclass(frozen=True)
class Slot:
    """One named ``KEYS`` or ``ARGV`` entry of a script header."""

    name: str
    variadic: bool = False


def parse_header(source: str) -> tuple[tuple[Slot, ...], tuple[Slot, ...]]:
    """The ``KEYS`` and ``ARGV`` slots a script's header names, in order.

    Raises:
        ValueError: A fixed slot is numbered out of order or follows a
            variadic one.
    """
    found: dict[str, list[Slot]] = {"KEYS": [], "ARGV": []}
    for line in source.splitlines():
        if not line.startswith("--"):
            break
        m = _SLOT.match(line)
        if m is None:
            continue
        kind, pos, name, star = m.groups()
        slots = found[kind]
        if pos == "..":
            if not star:
                raise ValueError(f"{kind}[..] {name}: a variadic slot is marked with '*'")
            slots.append(Slot(name, variadic=True))
        elif int(pos) != len(slots) + 1 or any(s.variadic for s in slots):
            raise ValueError(f"{kind}[{pos}] {name}: fixed slots come first, numbered 1, 2, ...")
        else:
            slots.append(Slot(name))
    return tuple(found["KEYS"]), tuple(found["ARGV"])


LIB_SOURCE = (HERE / "lib.lua").read_text("utf-8")
LIB_FUNCTIONS = tuple(_LIB_FUNCTION.findall(LIB_SOURCE))
"""Helpers defined in lib.lua, declared as locals at the top of every script."""


@dataclass(frozen=True)
class Script:
    """A Lua script with its SHA1 (EVALSHA, SCRIPT LOAD) and its named slots."""

    name: str
    source: str
    sha: str
    keys: tuple[Slot, ...]
    argv: tuple[Slot, ...]
    body_lines: int

    def call(self, keys: Mapping[str, Any], args: Mapping[str, Any]) -> Call:
        """An EVALSHA of this script with `keys` and `args` given by slot name.

        A variadic slot takes a sequence, spliced in place.

        Raises:
            TypeError: A name is missing or unknown (a header and its builder
                disagree: a bug, caught by the contract test).
        """
        return Call(
            self, _layout(self, "KEYS", self.keys, keys), _layout(self, "ARGV", self.argv, args)
        )

    def locate(self, line: int) -> str:
        """``file:line`` of a line number in a Redis error about this script."""
        if line <= self.body_lines:
            return f"{self.name}:{line}"
        return f"lib.lua:{line - self.body_lines - 1}"


def _layout(
    script: Script, kind: str, slots: Sequence[Slot], given: Mapping[str, Any]
) -> list[Any]:
    # Same size and every slot name present: exactly the header's names.
    out: list[Any] = []
    try:
        if len(given) != len(slots):
            raise KeyError
        for slot in slots:
            if slot.variadic:
                out.extend(given[slot.name])
            else:
                out.append(given[slot.name])
    except KeyError:
        raise TypeError(
            f"{script.name} {kind}: expected {sorted(s.name for s in slots)}, got {sorted(given)}"
        ) from None
    return out


@dataclass(frozen=True)
class Call:
    """One EVALSHA of a `Script`: build it with `Script.call` (or `lua.calls`)."""

    script: Script
    keys: Sequence[str]
    args: Sequence[Any]


_OWN_CODE = re.compile(r"\b(LGRS_[A-Z]+) (.*)", re.DOTALL)


def script_error(script: Script, error: Exception) -> Exception:
    """The exception to raise for an error reply to `script`.

    Our own error replies (``LGRS_CORRUPT ...``) become the library's
    exception; a Redis error that names a line says which file and line.
    ``WRONGTYPE`` means a key the script reads holds a value of another type,
    which the saver never writes: `CheckpointCorruptedError`, so that callers
    that skip damaged sessions skip it too. Other errors keep their type.
    """
    text = str(error)
    own = _OWN_CODE.search(text)
    if own is not None and own.group(1) in ERROR_CODES:
        # An error raised inside a helper comes wrapped: Redis 6.2 puts
        # "Error running script (...): @user_script:<line>: " before it, 7.x
        # " script: <sha>, on @user_script:<line>." after it. Our message is
        # complete without either.
        rest = own.group(2).split(" script: ", 1)[0]
        return ERROR_CODES[own.group(1)](f"{rest} ({script.name})")
    located = _LINE.sub(
        lambda m: f"user_script:{m.group(1)} ({script.locate(int(m.group(1)))}):", text
    )
    if "WRONGTYPE" in text:
        return CheckpointCorruptedError(
            f"a key of this session holds a value of another type, so it was changed "
            f"outside the saver ({located[:200]}); delete the session or the key"
        )
    if located == text:
        return error
    return type(error)(located)


def _load(name: str) -> Script:
    body = (HERE / name).read_text("utf-8").rstrip("\n")
    if not body.startswith("--"):
        raise ValueError(f"{name} must start with its header comment")
    keys, argv = parse_header(body)
    head = f"local {', '.join(LIB_FUNCTIONS)}; local function main() "
    source = f"{head}{body}\nend\n{LIB_SOURCE}\nreturn main()\n"
    return Script(
        name=name,
        source=source,
        sha=hashlib.sha1(source.encode()).hexdigest(),
        keys=keys,
        argv=argv,
        body_lines=body.count("\n") + 1,
    )


PUT = _load("put.lua")
PUT_WRITES = _load("put_writes.lua")
GET = _load("get.lua")
LIST = _load("list.lua")
DELETE = _load("delete.lua")
DELTA = _load("delta.lua")
DROP = _load("drop.lua")
SIZES = _load("sizes.lua")
SCRIPTS = (PUT, PUT_WRITES, GET, LIST, DELETE, DELTA, DROP, SIZES)
