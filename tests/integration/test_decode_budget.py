"""Decode amplification on a real server: a small stored value cannot exhaust the reader.

A hostile writer stores, zlib-compressed, tuples nested 127 deep around one
large bytes value (tens of KB in Redis). Every level rescans the bytes inside
it, so without the decode budget the reader needed gigabytes (5.2 GB for
41 KB stored). The reader runs in a child process with an address-space
limit, through the saver (`get_tuple`) and through the inspector's plain
decoder, and must fail with a clear error instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import msgpack
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_redis_saver import RedisCheckpointSaver

TESTS = Path(__file__).resolve().parents[1]


class BombWriter:
    """A serializer that writes whatever bytes the attacker chose."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return "lgrs", self.body

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        raise NotImplementedError


def nested_bomb(inner_size: int, depth: int = 127) -> bytes:
    value = msgpack.packb(b"\0" * inner_size)
    for _ in range(depth):
        value = msgpack.packb(msgpack.ExtType(16, b"\x91" + value))
    return b"\x01" + value


READER = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (MEMLIMIT, MEMLIMIT))
    from langgraph_redis_saver import RedisCheckpointSaver, RedisSaverError
    from langgraph_redis_saver.browse._plain import PlainReader

    url, prefix = sys.argv[1:3]
    cfg = {"configurable": {"thread_id": "bomb", "checkpoint_ns": ""}}
    for serde in (None, PlainReader()):
        options = {"key_prefix": prefix}
        if serde is not None:
            options["serde"] = serde
        with RedisCheckpointSaver.from_url(url, **options) as saver:
            try:
                saver.get_tuple(cfg)
            except RedisSaverError as exc:
                print(type(exc).__name__, "decode budget" in str(exc))
            except MemoryError:
                print("MemoryError")
            else:
                print("loaded")
    """
)


def test_decode_amplification_from_redis_fails_cleanly_in_a_memory_limited_reader(
    redis_url: str, prefix: str
) -> None:
    body = nested_bomb(24 << 20)
    assert len(zlib.compress(body, 1)) < 200_000  # what Redis holds: a few dozen KB
    with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, serde=BombWriter(body), compress_threshold=1024
    ) as writer:
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"v": "anything"}
        checkpoint["channel_versions"] = {"v": 1}
        cfg = {"configurable": {"thread_id": "bomb", "checkpoint_ns": ""}}
        writer.put(cfg, checkpoint, {}, {"v": 1})
    script = READER.replace("MEMLIMIT", str(2 << 30))  # 2 GB; unbounded it needs ~3 GB
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", script, redis_url, prefix],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    lines = out.stdout.split("\n")[:2]
    assert lines == ["DecodeError True", "DecodeError True"], (out.stdout, out.stderr[-2000:])
