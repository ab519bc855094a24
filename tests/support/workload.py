"""Sessions written the way LangGraph writes them, for fault and concurrency tests.

A step is what one super-step of a graph does to the saver: ``put`` a new
checkpoint (child of the session's newest one) whose changed channels get new
versions, then ``put_writes`` for the next task. Unchanged channels keep their
version, so blobs are shared between checkpoints as in real runs.

The writer calls the saver through an `Api` (``tests/conftest.py``), so one
workload runs on the sync or the async API. Run as a script, it writes
sessions from a separate process::

    python -m support.workload URL PREFIX STEPS SESSION [SESSION ...]   (from tests/)

and prints one line per acknowledged checkpoint: ``<session> <checkpoint id>``.
With ``WORKLOAD_BARRIER="<key> <n>"`` in the environment it first waits until
`n` processes have reached the barrier (a counter in Redis), so that they
really write at the same time.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

from langgraph_redis_saver import RedisCheckpointSaver
from support.api import Api

__all__ = ["Api", "SessionWriter", "config"]


def config(thread_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """A run config for the root namespace of `thread_id`."""
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ""}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


class SessionWriter:
    """Writes steps of one session, each the child of the newest stored checkpoint.

    Args:
        api: The saver, called through the sync or the async API.
        thread_id: The session.
        user_id: Indexed metadata value (``list_sessions(filter=...)``).
        reread: Read the newest checkpoint from Redis before each step, as a
            new ``invoke`` does; otherwise continue from the last own write.
    """

    def __init__(
        self,
        api: Api,
        thread_id: str,
        *,
        user_id: str = "u1",
        reread: bool = False,
    ) -> None:
        self.api = api
        self.thread_id = thread_id
        self.user_id = user_id
        self.reread = reread
        self.run_id = str(uuid.uuid4())
        self.last: Checkpoint | None = None
        self.acknowledged: list[str] = []

    def next_checkpoint(self, parent: Checkpoint | None) -> tuple[Checkpoint, dict[str, Any]]:
        """The child of `parent`: ``messages`` and ``turn`` change, ``profile`` does not."""
        cp = empty_checkpoint()
        cp["id"] = str(uuid6(clock_seq=-1))
        turn = 0 if parent is None else parent["channel_values"]["turn"] + 1
        old = parent["channel_values"] if parent else {}
        versions = dict(parent["channel_versions"]) if parent else {}
        values: dict[str, Any] = {
            "messages": [
                *old.get("messages", [])[-6:],
                HumanMessage(f"answer {turn}", id=f"h{turn}"),
                AIMessage(f"question {turn + 1}", id=f"a{turn}"),
            ],
            "turn": turn,
            "profile": old.get("profile", {"name": self.thread_id, "tags": ["x"] * 20}),
        }
        changed = ["messages", "turn"] + ([] if parent else ["profile"])
        new_versions = {}
        for channel in changed:
            version = self.api.saver.get_next_version(versions.get(channel), None)
            versions[channel] = new_versions[channel] = version
        cp["channel_values"] = values
        cp["channel_versions"] = versions
        return cp, new_versions

    async def step(self) -> str:
        """Write one step; return the id of the acknowledged checkpoint."""
        parent = self.last
        if self.reread or parent is None:
            found = await self.api.get_tuple(config(self.thread_id))
            parent = found.checkpoint if found else None
        cp, new_versions = self.next_checkpoint(parent)
        metadata: Any = {
            "source": "loop", "step": cp["channel_values"]["turn"], "parents": {},
            "run_id": self.run_id, "user_id": self.user_id,
        }  # fmt: skip
        stored = await self.api.put(
            config(self.thread_id, parent["id"] if parent else None), cp, metadata, new_versions
        )
        self.last = cp
        self.acknowledged.append(cp["id"])
        task = str(uuid.uuid4())
        await self.api.put_writes(stored, [("messages", [HumanMessage("next")]), ("turn", 1)], task)
        return cp["id"]


def _barrier(saver: RedisCheckpointSaver, spec: str, timeout: float = 60.0) -> None:
    key, n = spec.split()
    client = saver._sync()
    client.incr(key)
    deadline = time.monotonic() + timeout
    while int(client.get(key)) < int(n):
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {client.get(key)} of {n} processes reached {key!r}")
        time.sleep(0.005)


async def _main() -> None:
    url, prefix, steps, *sessions = sys.argv[1:]
    with RedisCheckpointSaver.from_url(url, key_prefix=prefix, ttl=None) as saver:
        if barrier := os.environ.get("WORKLOAD_BARRIER"):
            _barrier(saver, barrier)
        writers = [SessionWriter(Api(saver, "sync"), s, reread=True) for s in sessions]
        for _ in range(int(steps)):
            for writer in writers:
                cid = await writer.step()
                print(writer.thread_id, cid, flush=True)


if __name__ == "__main__":
    asyncio.run(_main())
