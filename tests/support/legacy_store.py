"""A faithful re-creation of the pickled session store this saver replaces.

The WREN session guide (``seeds/001``) stores each session ``S`` as::

    langgraph:checkpoint:S:latest   -> pickle.dumps({"checkpoint": {messages, turn_count,
                                        is_complete, current_analysis, profile_data},
                                        "metadata": {"timestamp", "version"}, "config": {...}})
    langgraph:checkpoint:S:<id>     -> earlier states, pickled the same way

every key a plain string with a 24 h TTL, messages as LangChain message objects,
written with the default pickle protocol. Hostile pickles are written here too,
built the way an attacker would (``__reduce__`` gadgets, hand-written opcodes).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from examples.interview.graph import QUESTIONS
from langchain_core.messages import AIMessage, HumanMessage

DAY = 24 * 3600
PREFIX = "langgraph:checkpoint"


def legacy_state(turns: int, *, complete: bool = False) -> dict[str, Any]:
    """An interview state as the old store kept it: the question for turn `turns` is pending."""
    messages: list[Any] = []
    for i in range(turns):
        messages.append(AIMessage(QUESTIONS[i % len(QUESTIONS)]))
        messages.append(HumanMessage(f"answer {i}: I like building reliable systems"))
    if not complete:
        messages.append(AIMessage(QUESTIONS[turns % len(QUESTIONS)]))
    return {
        "messages": messages,
        "turn_count": turns,
        "is_complete": complete,
        "current_analysis": {
            "vocabulary_richness": 0.95,
            "response_brevity": 0.2,
            "engagement_index": 0.95,
        },
        "profile_data": {"traits": ["curious"], "scores": {"openness": 0.8}},
    }


def legacy_pickle(state: dict[str, Any], session: str) -> bytes:
    return pickle.dumps(
        {
            "checkpoint": state,
            "metadata": {"timestamp": "2025-11-08T15:03:24", "version": "1.0"},
            "config": {"configurable": {"thread_id": session}},
        }
    )


def write_legacy_session(
    client: Any,
    session: str,
    *,
    turns: int = 2,
    prefix: str = PREFIX,
    ttl: int | None = DAY,
    history: int = 1,
    payload: bytes | None = None,
) -> bytes:
    """Write one session the way the old store did; returns the `latest` pickle."""
    data = payload if payload is not None else legacy_pickle(legacy_state(turns), session)
    pipe = client.pipeline(transaction=False)
    for i in range(history):
        old = legacy_pickle(legacy_state(max(turns - 1 - i, 0)), session)
        pipe.set(f"{prefix}:{session}:checkpoint_id_{i}", old, ex=ttl)
    pipe.set(f"{prefix}:{session}:latest", data, ex=ttl)
    pipe.execute()
    return data


# -- hostile pickles ---------------------------------------------------------------------


class _Reduce:
    """Pickles as ``func(*args)``: what a gadget looks like on the wire."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args)


def hostile_session(canary: Path, kind: str) -> bytes:
    """A legacy-shaped session pickle whose state hides a gadget that writes `canary`."""
    state = legacy_state(1)
    state["profile_data"] = {"x": hostile_gadget(canary, kind)}
    return legacy_pickle(state, "hostile")


GADGETS = ["os.system", "subprocess", "eval", "exec", "chain"]
"""The kinds of `hostile_gadget`."""


def hostile_gadget(canary: Path, kind: str) -> Any:
    """An object whose unpickling writes `canary`: os.system, subprocess, eval, exec, chain."""
    import builtins
    import os
    import subprocess

    command = f"touch {canary}"
    gadgets: dict[str, Any] = {
        "os.system": _Reduce(os.system, command),
        "subprocess": _Reduce(subprocess.check_call, ["touch", str(canary)]),
        "eval": _Reduce(builtins.eval, f"open({str(canary)!r}, 'w').close()"),
        "exec": _Reduce(builtins.exec, f"open({str(canary)!r}, 'w').close()"),
        # nested: the outer call's argument is itself a call (a chain of __reduce__)
        "chain": _Reduce(
            builtins.exec, _Reduce(builtins.str, f"open({str(canary)!r}, 'w').close()")
        ),
    }
    return gadgets[kind]


def opcode_gadgets(canary: Path, module: str) -> dict[str, bytes]:
    """Hand-written pickles (protocol 0 text, and protocol 2+ opcodes) an attacker would send.

    `module` is the name of a module whose import writes `canary` (a side effect).
    """
    c = str(canary).encode()
    return {
        # getattr(__import__("os"), "system")("touch CANARY")
        "getattr-import": b"c__builtin__\ngetattr\n(c__builtin__\n__import__\n(S'os'\ntRS'system'\n"
        b"tR(S'touch " + c + b"'\ntR.",
        # importlib.import_module(<side-effect module>)
        "importlib": b"cimportlib\nimport_module\n(S'" + module.encode() + b"'\ntR.",
        # a global of the side-effect module itself: find_class would import it
        "module-global": b"c" + module.encode() + b"\nanything\n.",
        # INST: instantiate os.system with the command as argument
        "inst": b"(S'touch " + c + b"'\nios\nsystem\n.",
        # OBJ: the callable comes from the memo (put 0, get 0), then OBJ calls it
        "memo-obj": b"\x80\x02cos\nsystem\nq\x00(h\x00X"
        + len(b"touch " + c).to_bytes(4, "little")
        + b"touch "
        + c
        + b"o.",
        # NEWOBJ on subprocess.Popen with the command as argument
        "newobj": b"\x80\x02csubprocess\nPopen\n]q\x00(X\x05\x00\x00\x00touchX"
        + len(c).to_bytes(4, "little")
        + c
        + b"e\x85\x81.",
        # BUILD on a dict: would set attributes through __setstate__/__dict__
        "build-dict": b"\x80\x02}q\x00}X\x09\x00\x00\x00__class__cos\nsystem\nsb.",
        # a REDUCE whose callable is built by another REDUCE (exec(str(code)))
        "nested-reduce": b"c__builtin__\nexec\n(c__builtin__\nstr\n(S\"open('"
        + c
        + b"', 'w').close()\"\ntRtR.",
    }


def wrap_value(value_ops: bytes) -> bytes:
    """A protocol-4 session pickle whose state field ``blob`` is the opcodes `value_ops`.

    Nothing is memoized before `value_ops`, so its own memo indices start at 0.
    """
    return b"\x80\x04}(\x8c\ncheckpoint}(\x8c\x04blob" + value_ops + b"uu."


def huge_length_session() -> bytes:
    """66 bytes whose BYTEARRAY8 declares 1 GiB of data that is not there."""
    return wrap_value(b"\x96" + (1 << 30).to_bytes(8, "little") + b"ab")


def shared_string_session(times: int, size: int = 8 << 20) -> bytes:
    """A `size`-byte string memoized once and referenced `times` times (2 bytes each)."""
    string = b"X" + size.to_bytes(4, "little") + b"A" * size + b"\x94"
    return wrap_value(string + b"0(" + b"h\x00" * times + b"l")


# Pickles that would exhaust a reader's memory, and what the refusal says.
MEMORY_BOMBS = pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (huge_length_session(), "declares 1073741824 bytes of data where only"),
        (shared_string_session(100), "MiB once shared references expand"),
    ],
    ids=["bytearray8-1GiB", "shared-8MiB-string-x100"],
)
