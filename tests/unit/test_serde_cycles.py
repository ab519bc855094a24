"""Encoding and decoding leave no reference cycles for the cyclic GC."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

from langgraph_redis_saver import SafeMsgpackSerializer
from langgraph_redis_saver.errors import UnsafeTypeError
from langgraph_redis_saver.serde import _wire
from support.garbage import cyclic_garbage


class Profile(BaseModel):
    name: str
    tags: list[str]


@dataclass
class Note:
    text: str
    at: dt.datetime


def state() -> dict[str, Any]:
    return {
        "messages": [
            HumanMessage("hi", id="1"),
            AIMessage("hello", id="2", tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c"}]),
            ToolMessage("done", tool_call_id="c", id="3"),
        ],
        "profile": Profile(name="ada", tags=["a", "b"]),
        "notes": [Note("n", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))] * 3,
        "matrix": np.arange(6).reshape(2, 3),
        "rows": [[i, str(i)] for i in range(2000)],  # over the object-count floor: counted on write
    }


def test_dumps_and_loads_leave_no_cyclic_garbage() -> None:
    serde = SafeMsgpackSerializer()
    typed = serde.dumps_typed(state())
    serde.loads_typed(typed)  # warm up: class lookups, caches
    with cyclic_garbage() as found:
        for _ in range(3):
            serde.loads_typed(serde.dumps_typed(state()))
    assert not found, found


def test_counting_objects_leaves_no_cyclic_garbage() -> None:
    packed = SafeMsgpackSerializer().dumps_typed(state())[1][1:]
    with cyclic_garbage() as found:
        assert _wire.count_objects(packed) > 2000
    assert not found, found


def test_refused_value_leaves_no_cyclic_garbage() -> None:
    """The error that names every unstorable path walks the value without a cycle."""
    serde = SafeMsgpackSerializer()
    value = {"plan": {"steps": [1, {"callback": print}]}, "state": state()}
    with pytest.raises(UnsafeTypeError, match=r"value\['plan'\]\['steps'\]\[1\]\['callback'\]"):
        serde.dumps_typed(value)  # warm up
    with cyclic_garbage() as found:
        for _ in range(3):
            with pytest.raises(UnsafeTypeError):
                serde.dumps_typed(value)
    assert not found, found
