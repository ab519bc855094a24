"""The Lua scripts, read once from ``lua/`` (shipped in the wheel) and called by SHA.

Each script is ``lib.lua`` followed by its own file: Redis has no includes,
and plain EVAL scripts (rather than Redis 7 functions) keep Redis 6.2,
Valkey and managed services that disable ``FUNCTION`` working.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DELETE", "DELTA", "DROP", "GET", "LIST", "PUT", "PUT_WRITES", "Script"]


@dataclass(frozen=True)
class Script:
    """A Lua script with its SHA1, as used by EVALSHA and SCRIPT LOAD."""

    name: str
    source: str
    sha: str


def _load(name: str) -> Script:
    lua = Path(__file__).parent
    source = (lua / "lib.lua").read_text("utf-8") + "\n" + (lua / name).read_text("utf-8")
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest())


PUT = _load("put.lua")
PUT_WRITES = _load("put_writes.lua")
GET = _load("get.lua")
LIST = _load("list.lua")
DELETE = _load("delete.lua")
DELTA = _load("delta.lua")
DROP = _load("drop.lua")
