"""Concurrent async calls on one event loop share round trips (`_drive._AutoPipeline`)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio
from langchain_core.messages import HumanMessage
from redis.exceptions import ResponseError
from test_saver import ACountingConnection, Counter, checkpoint, config, meta

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver._drive import Batch, aexecute


async def test_auto_pipeline_concurrent_calls_share_round_trips(
    redis_url: str, prefix: str
) -> None:
    async with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, cluster=False,
        client_kwargs={"connection_class": ACountingConnection},
    ) as saver:  # fmt: skip
        for i in range(20):
            cp = checkpoint({"messages": [HumanMessage(f"m{i}", id=str(i))]})
            await saver.aput(config(f"t{i}"), cp, meta(), cp["channel_versions"])
        await saver.aget_tuple(config("t0"))  # loads the script
        Counter.round_trips = 0
        found = await asyncio.gather(*(saver.aget_tuple(config(f"t{i}")) for i in range(20)))
        assert Counter.round_trips <= 3  # 20 calls, 1 when nothing else runs
        assert [t.checkpoint["channel_values"]["messages"][0].content for t in found] == [
            f"m{i}" for i in range(20)
        ]
        # A call alone still costs one round trip.
        Counter.round_trips = 0
        await saver.aget_tuple(config("t3"))
        assert Counter.round_trips == 1


async def test_auto_pipeline_an_error_reaches_only_its_caller(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        await client.set("auto-pipeline:text", "x")
        good, bad, missing = await asyncio.gather(
            aexecute(client, Batch([("GET", "auto-pipeline:text")])),
            aexecute(client, Batch([("INCR", "auto-pipeline:text")])),
            aexecute(client, Batch([("GET", "auto-pipeline:none"), ("PING",)])),
            return_exceptions=True,
        )
        assert good == [b"x"]
        assert isinstance(bad, ResponseError) and "not an integer" in str(bad)
        assert missing == [None, True]
    finally:
        await client.delete("auto-pipeline:text")
        await client.aclose()


async def test_auto_pipeline_connection_failure_reaches_every_caller() -> None:
    client = redis.asyncio.Redis(port=1, socket_connect_timeout=0.5)  # nothing listens
    try:
        results = await asyncio.gather(
            *(aexecute(client, Batch([("GET", f"k{i}")])) for i in range(5)),
            return_exceptions=True,
        )
        assert all(isinstance(r, redis.exceptions.ConnectionError) for r in results)
    finally:
        await client.aclose()


@pytest.mark.parametrize("n", [1, 40])
async def test_auto_pipeline_put_and_read_back_under_concurrency(
    redis_url: str, prefix: str, n: int
) -> None:
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:

        async def session(i: int) -> None:
            parent = config(f"s{i}")
            for step in range(5):
                msgs = [HumanMessage(f"{i}-{k}", id=f"{i}-{k}") for k in range(step + 1)]
                cp = checkpoint({"messages": msgs}, messages=f"{step + 1:032}.{i}")
                parent = await saver.aput(parent, cp, meta(step), cp["channel_versions"])
                await saver.aput_writes(parent, [("messages", msgs[-1])], f"task{step}")

        await asyncio.gather(*(session(i) for i in range(n)))
        for i in range(n):
            found = await saver.aget_tuple(config(f"s{i}"))
            assert [m.content for m in found.checkpoint["channel_values"]["messages"]] == [
                f"{i}-{k}" for k in range(5)
            ]
            assert len(found.pending_writes) == 1
