"""Fixtures for the ``lgrs`` tests.

`stored` fills one key prefix once per test session (the read-only tests
share it); `fresh` gives a test its own prefix for commands that delete.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from langgraph_redis_saver import RedisCheckpointSaver
from support.lgrs_sessions import Lgrs, interview, write_sessions


@pytest.fixture(scope="session")
def stored(redis_url: str) -> Iterator[Lgrs]:
    prefix = f"test-cli-{uuid.uuid4().hex[:8]}:checkpoint"
    write_sessions(redis_url, prefix)
    yield Lgrs(redis_url, prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        saver.clear_all()


@pytest.fixture
def fresh(redis_url: str, prefix: str) -> Iterator[tuple[Lgrs, Callable[..., None]]]:
    """An empty prefix and a function that writes interview sessions into it."""
    saver = RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix)

    def write(thread: str, answers: list[str] | None = None) -> None:
        interview(saver, thread, answers or [])

    yield Lgrs(redis_url, prefix), write
    saver.clear_all()
    saver.close()


@pytest.fixture
def lgrs(redis_url: str, prefix: str) -> Lgrs:
    """``lgrs`` on this test's own (empty) prefix."""
    return Lgrs(redis_url, prefix)
