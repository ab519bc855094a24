"""Habits from LangGraph's other savers: `from_conn_string`, `setup()`, the official
Redis saver's argument names (`redis_url`, `redis_client`, `connection_args`,
``ttl={"default_ttl": minutes, "refresh_on_read": bool}``)."""

from __future__ import annotations

from typing import Any

import pytest
import redis
import redis.asyncio
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.errors import ConfigurationError
from support.graphs import interview_graph


def _keys(url: str, prefix: str) -> list[bytes]:
    with redis.Redis.from_url(url) as client:
        return list(client.scan_iter(match=f"{prefix}:*", count=1000))


def _pttls(url: str, prefix: str) -> list[int]:
    with redis.Redis.from_url(url) as client:
        return [client.pttl(key) for key in _keys(url, prefix)]


async def _interview(saver: RedisCheckpointSaver, mode: str, thread: str) -> Any:
    """Start an interview (stops at its first interrupt()), answer once, read the state."""
    graph = interview_graph().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": thread}}
    if mode == "sync":
        graph.invoke({"messages": []}, config)
        graph.invoke(Command(resume="an answer"), config)
        return graph.get_state(config)
    await graph.ainvoke({"messages": []}, config)
    await graph.ainvoke(Command(resume="an answer"), config)
    return await graph.aget_state(config)


async def test_from_conn_string_is_a_sync_and_async_context_manager_with_setup(
    redis_url: str, prefix: str, mode: str
) -> None:
    if mode == "sync":
        with RedisCheckpointSaver.from_conn_string(redis_url, key_prefix=prefix) as saver:
            assert saver.setup() is None
            assert _keys(redis_url, prefix) == []  # setup() writes nothing
            state = await _interview(saver, mode, "t1")
    else:
        async with RedisCheckpointSaver.from_conn_string(redis_url, key_prefix=prefix) as saver:
            assert await saver.asetup() is None
            assert _keys(redis_url, prefix) == []
            state = await _interview(saver, mode, "t1")
    assert state.values["turn_count"] == 1
    assert state.interrupts  # waiting at the second question
    assert saver._owned  # it made its clients, so leaving the block closed them


async def test_from_conn_string_takes_the_official_saver_argument_names(
    redis_url: str, prefix: str, mode: str
) -> None:
    with RedisCheckpointSaver.from_conn_string(
        redis_url=redis_url, connection_args={"socket_timeout": 7}, key_prefix=prefix
    ) as saver:
        assert saver._client.connection_pool.connection_kwargs["socket_timeout"] == 7
    client: Any = (
        redis.Redis.from_url(redis_url)
        if mode == "sync"
        else redis.asyncio.Redis.from_url(redis_url)
    )
    with RedisCheckpointSaver.from_conn_string(redis_client=client, key_prefix=prefix) as saver:
        assert not saver._owned  # a client we were given is the caller's to close
        state = await _interview(saver, mode, "t2")
    assert state.values["turn_count"] == 1
    if mode == "sync":
        assert client.ping()  # still usable: not closed by the saver
        client.close()
    else:
        assert await client.ping()
        await client.aclose()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "neither"),
        ({"redis_url": "redis://x/0", "redis_client": redis.Redis()}, "both"),
        ({"redis_url": "redis://x/0", "checkpoint_prefix": "cp"}, "key_prefix="),
        (
            {"redis_client": redis.Redis(), "connection_args": {"socket_timeout": 1}},
            "configure the redis_client",
        ),
    ],
)
def test_from_conn_string_rejects_what_does_not_map_and_says_why(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisCheckpointSaver.from_conn_string(**kwargs)


async def test_official_ttl_dict_is_minutes_and_refresh_on_read(
    redis_url: str, prefix: str, mode: str
) -> None:
    ttl = {"default_ttl": 2, "refresh_on_read": True}
    async with RedisCheckpointSaver.from_conn_string(redis_url, ttl=ttl, key_prefix=prefix) as s:
        assert s.ttl_ms == 120_000
        assert s._ctx.refresh_on_read is True
        await _interview(s, mode, "t3")
    pttls = _pttls(redis_url, prefix)
    assert pttls
    assert all(60_000 < p <= 120_000 for p in pttls), pttls


async def test_official_ttl_dict_without_default_ttl_keeps_sessions(
    redis_url: str, prefix: str, mode: str
) -> None:
    ttl = {"default_ttl": None}
    async with RedisCheckpointSaver.from_url(redis_url, ttl=ttl, key_prefix=prefix) as s:
        assert s.ttl_ms == 0
        assert s._ctx.refresh_on_read is False
        await _interview(s, mode, "t4")
    pttls = _pttls(redis_url, prefix)
    assert pttls and all(p == -1 for p in pttls), pttls


@pytest.mark.parametrize(
    ("ttl", "extra", "message"),
    [
        ({"default_tll": 5}, {}, "unknown ttl key"),
        ({"default_ttl": "5"}, {}, "minutes"),
        ({"refresh_on_read": "yes"}, {}, "True or False"),
        ({"refresh_on_read": True}, {"refresh_on_read": False}, "contradicts"),
        ({"default_ttl": 0}, {}, "positive"),
    ],
)
def test_bad_ttl_dict_is_refused_with_the_fix(
    ttl: dict[str, Any], extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisCheckpointSaver(redis.Redis(), ttl=ttl, **extra)
