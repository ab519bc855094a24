"""The saver's calls leave no reference cycles for Python's cyclic GC.

A call that leaves cycles makes the GC run every few calls, and each run
costs more than the call (LangGraph's own objects are scanned too); decoded
buffers caught in a cycle stay alive until it runs.
"""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage
from test_saver import checkpoint, config, meta

from support.api import Api
from support.garbage import cyclic_garbage


async def test_put_get_list_and_writes_leave_no_cyclic_garbage(api: Api) -> None:
    messages = [HumanMessage("hi", id="1"), AIMessage("hello", id="2")]

    async def calls(step: int, parent: dict[str, object]) -> dict[str, object]:
        cp = checkpoint(
            {"messages": messages * (step + 1), "n": step}, messages=step + 1, n=step + 1
        )
        stored = await api.put(parent, cp, meta(step), {"messages": step + 1, "n": step + 1})
        await api.put_writes(stored, [("messages", messages[-1]), ("n", step)], f"task-{step}")
        assert (await api.get_tuple(config("gc"))) is not None
        assert len(await api.list(config("gc"), limit=3)) >= 1
        return stored

    parent = await calls(0, config("gc"))  # warm up: connections, scripts, caches
    with cyclic_garbage() as found:
        for step in range(1, 4):
            parent = await calls(step, parent)
    assert not found, found
