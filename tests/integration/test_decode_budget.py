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
import redis
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_redis_saver import RedisCheckpointSaver, SafeMsgpackSerializer

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


def cheap_objects_bomb(count: int) -> bytes:
    """zlib of one msgpack array of `count` empty lists: a 1-byte element
    becomes a ~64-byte Python object, and zlib shrinks the bytes ~1000x."""
    deflater = zlib.compressobj(9)
    out = [deflater.compress(b"\x01\xdd" + count.to_bytes(4, "big"))]
    chunk = b"\x90" * (1 << 20)
    for _ in range(count >> 20):
        out.append(deflater.compress(chunk))
    out.append(deflater.compress(b"\x90" * (count & ((1 << 20) - 1))))
    out.append(deflater.flush())
    return b"".join(out)


def test_decompression_counts_in_the_decode_budget(redis_url: str, prefix: str) -> None:
    """200 KB stored inflate to 200 MB (under the 256 MiB ceiling) of empty
    lists: gigabytes of objects. The inflation limit follows the stored size."""
    bomb = cheap_objects_bomb(200_000_000)
    assert len(bomb) < 300_000
    cfg = {"configurable": {"thread_id": "bomb", "checkpoint_ns": ""}}
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as writer:
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"v": "anything"}
        checkpoint["channel_versions"] = {"v": 1}
        writer.put(cfg, checkpoint, {}, {"v": 1})
        client = redis.Redis.from_url(redis_url)
        (blob,) = client.scan_iter(match=writer.keys.namespace("bomb", "").blob_prefix + "*")
        client.set(blob, b"lgrs\x01" + bomb, keepttl=True)
        client.close()
    script = READER.replace("MEMLIMIT", str(2 << 30))
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
    assert lines == ["CheckpointCorruptedError True"] * 2, (out.stdout, out.stderr[-2000:])


def test_values_that_shrink_too_much_are_stored_raw_and_load(redis_url: str, prefix: str) -> None:
    """The writer refuses to compress what the reader would refuse to inflate."""
    cfg = {"configurable": {"thread_id": "zeros", "checkpoint_ns": ""}}
    with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, compress_threshold=1024
    ) as saver:
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {
            "zeros": b"\0" * (8 << 20),
            "numbers": " ".join(str(i) for i in range(100_000)),
            "small": "a b c d " * 4000,
        }
        versions = {"zeros": 1, "numbers": 1, "small": 1}
        checkpoint["channel_versions"] = versions
        saver.put(cfg, checkpoint, {}, versions)
        client = redis.Redis.from_url(redis_url)
        ns = saver.keys.namespace("zeros", "")
        stored = {
            key.decode().split(":")[-2]: client.get(key)
            for key in client.scan_iter(match=ns.blob_prefix + "*")
        }
        client.close()
        assert stored["zeros"].startswith(b"lgrs\x00")  # 8 MB of zeros: ~1000x, kept raw
        assert stored["numbers"].startswith(b"lgrs\x01")  # a few times: compressed
        assert stored["small"].startswith(b"lgrs\x01")  # ~100x but under the floor
        loaded = saver.get_tuple(cfg)
        assert loaded is not None
        assert loaded.checkpoint["channel_values"] == checkpoint["channel_values"]


def test_honest_64mb_state_written_compressed_loads(redis_url: str, prefix: str) -> None:
    import random

    from langchain_core.messages import AIMessage, HumanMessage

    rng = random.Random(7)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(5000)
    ]
    messages = [
        (HumanMessage if i % 2 else AIMessage)(" ".join(rng.choices(words, k=700)), id=str(i))
        for i in range(16_000)
    ]
    cfg = {"configurable": {"thread_id": "big", "checkpoint_ns": ""}}
    with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, compress_threshold=1024
    ) as saver:
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": messages}
        checkpoint["channel_versions"] = {"messages": 1}
        saver.put(cfg, checkpoint, {}, {"messages": 1})
        client = redis.Redis.from_url(redis_url)
        (key,) = client.scan_iter(match=saver.keys.namespace("big", "").blob_prefix + "*")
        assert client.getrange(key, 0, 4) == b"lgrs\x01"  # stored compressed ...
        assert 0 < client.strlen(key) < 40_000_000
        client.close()
        loaded = saver.get_tuple(cfg)
        assert loaded is not None
        assert loaded.checkpoint["channel_values"]["messages"] == messages  # ... and loads
        del loaded
        assert len(SafeMsgpackSerializer().dumps_typed(messages)[1]) > 64_000_000
