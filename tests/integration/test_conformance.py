"""LangGraph's own checkpointer conformance suite, against a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES
from langgraph.checkpoint.conformance.report import ProgressCallbacks

from langgraph_redis_saver import RedisCheckpointSaver


async def test_conformance_suite(redis_url: str) -> None:
    @checkpointer_test(name="RedisCheckpointSaver")
    async def factory() -> AsyncIterator[RedisCheckpointSaver]:
        prefix = f"conformance-{uuid.uuid4().hex[:8]}:checkpoint"
        async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
            yield saver

    report = await validate(factory, progress=ProgressCallbacks.quiet())
    failures = {
        cap: result.failures for cap, result in report.results.items() if result.passed is False
    }
    assert not failures, failures
    # Every capability, base and extended, is detected and passes: none skipped.
    for cap in ALL_CAPABILITIES:
        result = report.results[cap.value]
        assert result.detected and result.passed, (cap.value, result)
        assert result.tests_passed > 0 and result.tests_skipped == 0
