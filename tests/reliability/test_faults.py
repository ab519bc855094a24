"""Faults: Redis killed, hung or restarted under a running session.

The server runs with ``appendfsync always``, so every acknowledged write is on
disk before the reply: after SIGKILL and a restart nothing acknowledged may be
missing, and the same saver object must carry on (its connections are stale
and the restarted server has forgotten the Lua scripts: NOSCRIPT).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
from redis.exceptions import ConnectionError, TimeoutError

from langgraph_redis_saver import ConfigurationError, RedisCheckpointSaver
from langgraph_redis_saver import lua as scripts
from support.audit import audit, check_session
from support.servers import RedisServer
from support.workload import Api, SessionWriter, config

ROOT = Path(__file__).parents[2]
DOWN_BOUND = 3.0  # seconds a call may take to fail while Redis is down (timeout 0.5, 2 retries)


def saver_for(server: RedisServer, **options: object) -> RedisCheckpointSaver:
    prefix = f"faults-{uuid.uuid4().hex[:8]}:checkpoint"
    options = {"timeout": 0.5, "retries": 2, **options}
    return RedisCheckpointSaver.from_url(server.url, key_prefix=prefix, ttl=None, **options)


def scripts_cached(server: RedisServer) -> list[bool]:
    with redis.Redis(port=server.port) as r:
        return [bool(x) for x in r.script_exists(scripts.PUT.sha, scripts.GET.sha)]


async def test_sigkill_mid_session_loses_no_acknowledged_checkpoint(
    aof: RedisServer, mode: str
) -> None:
    async with saver_for(aof) as saver:
        api = Api(saver, mode)
        writers = [SessionWriter(api, f"s{i}") for i in range(3)]
        for _ in range(5):
            for w in writers:
                await w.step()
        aof.kill()
        started = time.monotonic()
        with pytest.raises(ConnectionError):
            await writers[0].step()
        assert time.monotonic() - started < DOWN_BOUND
        aof.start()
        if scripts_cached(aof) != [False, False]:
            # 7.x forgets scripts on a restart; 6.2 replays SCRIPT LOAD from its AOF.
            # Forget them here too, so the NOSCRIPT reload below runs on every version.
            with redis.Redis(port=aof.port) as r:
                assert r.info("server")["redis_version"] < "7"
                r.script_flush()
        assert scripts_cached(aof) == [False, False]
        for w in writers:
            w.last = None  # re-read the newest checkpoint, as a resumed run does
            await w.step()
        assert scripts_cached(aof) == [True, True]  # NOSCRIPT made the driver reload them
        for w in writers:
            assert check_session(saver, w.thread_id, w.acknowledged) == []
            newest = await api.get_tuple(config(w.thread_id))
            assert newest is not None and newest.checkpoint["id"] == w.acknowledged[-1]
            assert len(newest.pending_writes) == 2
        with redis.Redis(port=aof.port) as r:
            assert audit(r, saver.keys).problems() == []


async def test_hung_server_fails_with_a_timeout_then_recovers(aof: RedisServer, mode: str) -> None:
    async with saver_for(aof, retries=1) as saver:
        writer = SessionWriter(Api(saver, mode), "hung")
        await writer.step()
        assert aof.pid is not None
        os.kill(aof.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await writer.step()
            assert time.monotonic() - started < DOWN_BOUND
        finally:
            os.kill(aof.pid, signal.SIGCONT)
        writer.last = None
        await writer.step()
        assert check_session(saver, "hung", writer.acknowledged) == []


@pytest.mark.parametrize("retries", [0, 30])
async def test_retries_ride_out_a_restart(aof: RedisServer, mode: str, retries: int) -> None:
    """With retries, a call made while Redis restarts succeeds; without, it fails."""
    async with saver_for(aof, retries=retries) as saver:
        writer = SessionWriter(Api(saver, mode), "restart")
        await writer.step()
        aof.kill()
        restart = threading.Timer(0.3, aof.start)
        restart.start()
        try:
            if retries:
                await writer.step()
                assert check_session(saver, "restart", writer.acknowledged) == []
            else:
                with pytest.raises(ConnectionError):
                    await writer.step()
        finally:
            restart.join()


def test_timeout_and_retries_are_validated() -> None:
    for bad in ({"timeout": 0}, {"timeout": "5"}, {"retries": -1}, {"retries": 1.5}):
        with pytest.raises(ConfigurationError):
            RedisCheckpointSaver.from_url("redis://127.0.0.1:1/0", cluster=False, **bad)


def test_explicit_client_kwargs_win_over_timeout() -> None:
    saver = RedisCheckpointSaver.from_url(
        "redis://127.0.0.1:1/0", cluster=False, timeout=3, client_kwargs={"socket_timeout": 7}
    )
    kwargs = saver._client.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (7, 3)
    saver.close()


def test_kill_loop_keeps_every_invariant() -> None:
    """A few rounds of the long kill loop (``make kill-loop`` runs many)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "kill_loop.py"), "--kills", "4"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "kills survived: 4" in done.stdout
