"""`Api`: one test body drives a saver in sync or async mode."""

from __future__ import annotations

from typing import Any

from langgraph_redis_saver import RedisCheckpointSaver

__all__ = ["Api"]


class Api:
    """Calls a saver method in the mode under test: ``await api.put(...)``."""

    def __init__(self, saver: RedisCheckpointSaver, mode: str) -> None:
        self.saver = saver
        self.mode = mode

    def __getattr__(self, name: str) -> Any:
        if self.mode == "sync":
            method = getattr(self.saver, name)

            async def call_sync(*args: Any, **kwargs: Any) -> Any:
                result = method(*args, **kwargs)
                return list(result) if name == "list" else result

            return call_sync
        amethod = getattr(self.saver, "a" + name)

        async def call_async(*args: Any, **kwargs: Any) -> Any:
            if name == "list":
                return [item async for item in amethod(*args, **kwargs)]
            return await amethod(*args, **kwargs)

        return call_async
