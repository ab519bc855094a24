"""Shared fixtures: one real Redis for the session, savers in sync and async mode.

`redis_url` is ``REDIS_URL`` when set, else a throwaway ``redis-server`` on a
free loopback port, else a testcontainers Redis when Docker works, else the
run fails with a message saying what to install. Every saver gets its own key
prefix, so tests never see each other's data even on a shared server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from langgraph_redis_saver import RedisCheckpointSaver
from support.api import Api
from support.redis_server import RedisServer, redis_server_binary


def _testcontainers_url() -> Iterator[str] | None:
    try:
        from testcontainers.redis import RedisContainer  # type: ignore[import-not-found]
    except ImportError:
        return None

    def gen() -> Iterator[str]:
        with RedisContainer() as container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"

    return gen()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    if redis_server_binary() is not None:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
        try:
            yield server.url
        finally:
            server.stop()
        return
    containers = _testcontainers_url()
    if containers is not None:
        try:
            url = next(containers)
        except Exception as exc:  # Docker missing or not running
            pytest.fail(f"no redis-server binary and testcontainers failed: {exc}")
        yield url
        containers.close()
        return
    pytest.fail(
        "no Redis for the tests: run `make test` (installs redis-server), or "
        "`apt-get install redis-server`, or set REDIS_URL=redis://host:port/db"
    )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private server for tests that stop, kill or reconfigure Redis."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}:checkpoint"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def saver(redis_url: str, prefix: str) -> AsyncIterator[RedisCheckpointSaver]:
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as s:
        yield s


@pytest.fixture
def api(saver: RedisCheckpointSaver, mode: str) -> Api:
    return Api(saver, mode)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain sync client on the test server, for writing and checking raw keys."""
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()
