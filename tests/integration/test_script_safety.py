"""Attacks on stored data and races, reproduced on a real redis-server.

Someone who can write to the database edits a record; a run writes after
prune() removed what it builds on; a numeric user id; a damaged shared index
key; one damaged session among many. Each must end in a clear error or a
warning, never a hang, an unreadable session or a leak.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from test_saver import checkpoint, config, meta

from langgraph_redis_saver import RedisCheckpointSaver, lua
from support.redis_server import RedisServer, redis_server_binary

LUA_DIR = Path(lua.__file__).parent


def _busy_option() -> list[str]:
    """A short busy-script threshold, so a looping script shows within 0.1 s."""
    out = subprocess.run(
        [redis_server_binary() or "redis-server", "--version"], capture_output=True, text=True
    ).stdout
    major = int(re.search(r"v=(\d+)", out).group(1))  # type: ignore[union-attr]
    return ["--busy-reply-threshold" if major >= 7 else "--lua-time-limit", "100"]


@pytest.fixture(scope="module")
def busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A dedicated server: a regression that loops makes requests time out
    after 5 s here instead of hanging the suite's shared server."""
    server = RedisServer(tmp_path_factory.mktemp("busy"), *_busy_option()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def guarded(busy_server: RedisServer, prefix: str) -> Any:
    kwargs = {"socket_timeout": 5}
    async with RedisCheckpointSaver.from_url(
        busy_server.url, key_prefix=prefix, client_kwargs=kwargs
    ) as saver:
        yield saver


def _line_of(path: Path, located: str) -> str:
    line = int(located.rsplit(":", 1)[1])
    return path.read_text().splitlines()[line - 1]


async def test_script_errors_name_the_file_and_line(
    api: Any, saver: RedisCheckpointSaver, mode: str
) -> None:
    from langgraph_redis_saver._drive import Batch, aexecute, execute

    stored = await api.put(config("lines"), checkpoint({"a": 1}), meta(), {"a": 1})
    ns = saver.keys.namespace("lines", "")

    async def send(call: Any) -> None:
        if mode == "sync":
            execute(saver._sync(), Batch([call]))
        else:
            await aexecute(saver._async(), Batch([call]))

    # A body line: list.lua compares `limit`, here not a number.
    bad_limit = lua.LIST.call(
        {"timeline": ns.timeline},
        {"rec_prefix": ns.record_prefix, "writes_prefix": ns.writes_prefix,
         "blob_prefix": ns.blob_prefix, "before_id": "", "limit": "x", "filter_json": "",
         "exact_id": ""},
    )  # fmt: skip
    with pytest.raises(redis.ResponseError) as body_error:
        await send(bad_limit)
    located = re.search(r"\((list\.lua:\d+)\)", str(body_error.value))
    assert located, str(body_error.value)
    assert "limit > 0" in _line_of(LUA_DIR / "list.lua", located.group(1))
    # A lib.lua line: load_checkpoint compares the TTL it is given.
    cid = stored["configurable"]["checkpoint_id"]
    bad_ttl = lua.calls.get(ns, cid, refresh_ttl_ms="x")  # type: ignore[arg-type]
    with pytest.raises(redis.ResponseError) as lib_error:
        await send(bad_ttl)
    located = re.search(r"\((lib\.lua:\d+)\)", str(lib_error.value))
    assert located, str(lib_error.value)
    assert "ttl > 0" in _line_of(LUA_DIR / "lib.lua", located.group(1))
