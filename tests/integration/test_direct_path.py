"""Batches go straight to a pooled connection (`_drive._send`, `_drive._asend`)
only where redis-py would hand the replies back unchanged; the replies and the
connection's state are the same as through redis-py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
import redis.asyncio
from langchain_core.messages import AIMessage, HumanMessage
from redis.exceptions import ResponseError
from test_saver import checkpoint, config, meta

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver._drive import Batch, _direct, aexecute, execute
from support.api import Api

ODD_ID = "s:*{x} ?[y] é"


def _client(redis_url: str, mode: str, **kwargs: Any) -> Any:
    cls = redis.Redis if mode == "sync" else redis.asyncio.Redis
    return cls.from_url(redis_url, **kwargs)


async def _close(client: Any) -> None:
    if isinstance(client, redis.asyncio.Redis):
        await client.aclose()
    else:
        client.close()


async def _run(client: Any, batch: Batch) -> list[Any]:
    if isinstance(client, redis.asyncio.Redis):
        return await aexecute(client, batch)
    return execute(client, batch)


@pytest.mark.parametrize(
    ("kwargs", "direct"),
    [
        ({}, True),
        ({"single_connection_client": True}, False),
        ({"protocol": 2}, True),
        ({"encoding": "latin-1"}, False),
        ({"encoding_errors": "replace"}, False),
    ],
    ids=["plain", "single-connection", "resp2", "latin-1", "lenient"],
)
async def test_direct_path_only_where_replies_match_and_savers_work_on_every_client(
    redis_url: str, prefix: str, mode: str, kwargs: dict[str, Any], direct: bool
) -> None:
    client = _client(redis_url, mode, **kwargs)
    try:
        assert (_direct(client) is not None) is direct
        saver = RedisCheckpointSaver(client, key_prefix=prefix)
        api = Api(saver, mode)
        cp = checkpoint({"messages": [HumanMessage("héllo", id="1"), AIMessage("ok", id="2")]})
        await api.put(config(ODD_ID), cp, meta(), cp["channel_versions"])
        await api.put_writes(config(ODD_ID, cp["id"]), [("messages", ["w"])], "task-1")
        found = await api.get_tuple(config(ODD_ID))
        assert found is not None and found.checkpoint["id"] == cp["id"]
        assert [m.content for m in found.checkpoint["channel_values"]["messages"]] == [
            "héllo",
            "ok",
        ]
        assert found.pending_writes == [("task-1", "messages", ["w"])]
        assert [t.checkpoint["id"] for t in await api.list(config(ODD_ID))] == [cp["id"]]
    finally:
        await _close(client)


async def test_direct_path_error_reply_stays_in_its_place_and_the_link_stays_in_step(
    redis_url: str, prefix: str, mode: str
) -> None:
    client = _client(redis_url, mode)
    text = f"{prefix}:text"
    try:
        assert _direct(client) is not None
        await _run(client, Batch([("APPEND", text, "x")]))
        batch = Batch([("ECHO", "a"), ("INCR", text), ("ECHO", "b")], tolerate=frozenset({1}))
        first, bad, last = await _run(client, batch)
        assert (first, last) == (b"a", b"b")
        assert isinstance(bad, ResponseError) and "not an integer" in str(bad)
        # The next batch on the (same, pooled) connection reads its own reply.
        assert await _run(client, Batch([("ECHO", "c")])) == [b"c"]
    finally:
        await _run(client, Batch([("UNLINK", text)]))
        await _close(client)


async def test_direct_path_leaves_commands_with_reply_callbacks_to_redis_py(
    redis_url: str, mode: str
) -> None:
    client = _client(redis_url, mode)
    try:
        # redis-py's callback turns the server's PONG into True
        assert await _run(client, Batch([("PING",)])) == [True]
        assert await _run(client, Batch([("ECHO", "x"), ("PING",)])) == [b"x", True]
    finally:
        await _close(client)


async def test_calls_sharing_a_pipeline_each_resume_when_their_own_replies_are_read(
    redis_url: str, prefix: str
) -> None:
    # A small reply and a 64 MB one in one pipeline (one tick): the caller
    # of the first goes on while the second is still being read.
    client = redis.asyncio.Redis.from_url(redis_url)
    big = f"{prefix}:big"
    loop = asyncio.get_running_loop()

    async def timed(batch: Batch) -> float:
        await aexecute(client, batch)
        return loop.time() - start

    try:
        await aexecute(client, Batch([("SET", big, b"x" * (64 << 20))]))
        start = loop.time()
        small, large = await asyncio.gather(
            timed(Batch([("ECHO", "small")])), timed(Batch([("GET", big)]))
        )
        assert small < large * 0.6, (small, large)
    finally:
        await aexecute(client, Batch([("UNLINK", big)]))
        await client.aclose()
