"""Throwaway `redis-server` processes for the test suite.

Tests never share a server they kill or restart: they start their own with
`RedisServer`, the package's `ThrowawayRedis` with a directory and port of its
own, so an append-only file and the URL survive a kill and a restart. The
session-wide server comes from the `redis_url` fixture.
"""

from __future__ import annotations

from pathlib import Path

from langgraph_redis_saver.devserver import (
    RedisServerNotFoundError,
    ThrowawayRedis,
    find_redis_server,
    free_port,
)

__all__ = ["RedisServer", "free_port", "redis_server_binary"]


def redis_server_binary() -> str | None:
    """The ``redis-server`` on PATH, or None."""
    try:
        return find_redis_server()
    except RedisServerNotFoundError:
        return None


class RedisServer(ThrowawayRedis):
    """A redis-server on a fixed free loopback port, with its files in `directory`."""

    def __init__(self, directory: Path, *extra: str, port: int | None = None) -> None:
        super().__init__(port=port or free_port(), extra_args=extra, directory=directory)
