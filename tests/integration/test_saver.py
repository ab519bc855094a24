"""Saver behaviour on a real Redis, each test in sync and async mode."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
import redis
import redis.asyncio
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.base import Checkpoint, CheckpointMetadata, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6

from langgraph_redis_saver import (
    CheckpointCorruptedError,
    ConfigurationError,
    RedisCheckpointSaver,
    UnsafeTypeError,
)
from langgraph_redis_saver.keys import escape

HOSTILE_IDS = [
    "a:b",
    "a",
    "a:b:c",
    "*",
    "a*",
    "{tag}",
    "}{",
    "with space",
    "line\nbreak",
    "tab\there",
    "日本語のセッション",
    "emoji-🦜",
    "latest",
    "%3A",
    "[x]?",
    "back\\slash",
    "",
]


def checkpoint(values: dict[str, Any] | None = None, **versions: Any) -> Checkpoint:
    cp = empty_checkpoint()
    cp["id"] = str(uuid6(clock_seq=-1))
    cp["channel_values"] = dict(values or {})
    cp["channel_versions"] = dict(versions) or {k: 1 for k in cp["channel_values"]}
    return cp


def config(thread_id: str, checkpoint_id: str | None = None, ns: str = "") -> dict[str, Any]:
    c: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id:
        c["checkpoint_id"] = checkpoint_id
    return {"configurable": c}


def meta(step: int = 0, source: str = "loop", **extra: Any) -> CheckpointMetadata:
    return {"source": source, "step": step, "parents": {}, **extra}  # type: ignore[typeddict-item]


async def put_chain(api: Any, thread_id: str, n: int, ns: str = "") -> list[str]:
    """Put `n` checkpoints, each the child of the previous; return their ids."""
    ids: list[str] = []
    parent: str | None = None
    for step in range(n):
        cp = checkpoint({"step": step}, step=f"{step + 1:032}.0")
        await api.put(
            config(thread_id, parent, ns), cp, meta(step), {"step": cp["channel_versions"]["step"]}
        )
        ids.append(cp["id"])
        parent = cp["id"]
    return ids


async def test_put_get_round_trip_uses_the_documented_keys(redis_url: str, mode: str) -> None:
    thread = f"cli_{uuid.uuid4().hex[:8]}"
    async with RedisCheckpointSaver.from_url(redis_url) as saver:
        from support.api import Api

        api = Api(saver, mode)
        cp = checkpoint({"messages": ["hi"], "turn_count": 1})
        stored = await api.put(config(thread), cp, meta(-1, "input"), cp["channel_versions"])
        assert stored == config(thread, cp["id"])

        r = redis.Redis.from_url(redis_url)
        record = f"langgraph:checkpoint:{thread}:{cp['id']}"
        latest = f"langgraph:checkpoint:{thread}:latest"
        assert r.type(record) == b"hash"
        assert r.get(latest) == cp["id"].encode()
        assert 86_000 < r.ttl(record) <= 86_400
        assert 86_000 < r.ttl(latest) <= 86_400
        assert r.hget(record, "thread_id") == thread.encode()

        got = await api.get_tuple(config(thread))
        assert got is not None
        assert got.checkpoint["id"] == cp["id"]
        assert got.checkpoint["channel_values"] == {"messages": ["hi"], "turn_count": 1}
        assert got.metadata == {"source": "input", "step": -1, "parents": {}}
        assert got.parent_config is None
        assert got.pending_writes == []
        await api.delete_thread(thread)
        assert not r.exists(record, latest)
        r.close()


async def test_unchanged_channels_are_not_stored_again(
    api: Any, saver: RedisCheckpointSaver, redis_url: str
) -> None:
    thread = "blobs"
    cp1 = checkpoint({"big": "x" * 1000, "small": 1}, big="1", small="1")
    c1 = await api.put(config(thread), cp1, meta(0), {"big": "1", "small": "1"})
    cp2 = checkpoint({"big": "x" * 1000, "small": 2}, big="1", small="2")
    await api.put(c1, cp2, meta(1), {"small": "2"})
    r = redis.Redis.from_url(redis_url)
    blobs = list(r.scan_iter(match=saver.keys.session_pattern(thread).replace("*", "blob:*")))
    assert len(blobs) == 3  # big@1, small@1, small@2
    r.close()
    latest = await api.get_tuple(config(thread))
    assert latest.checkpoint["channel_values"] == {"big": "x" * 1000, "small": 2}
    first = await api.get_tuple(c1)
    assert first.checkpoint["channel_values"] == {"big": "x" * 1000, "small": 1}


async def test_sliding_ttl_keeps_the_newest_checkpoint_complete(
    redis_url: str, prefix: str, mode: str
) -> None:
    from support.api import Api

    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix, ttl=1.0) as saver:
        api = Api(saver, mode)
        thread = "sliding"
        cp = checkpoint({"profile": "written once", "turn": 0}, profile="1", turn="0")
        cfg = await api.put(config(thread), cp, meta(0), {"profile": "1", "turn": "0"})
        first = cfg
        # 8 turns over ~2.4 s, three times the TTL; `profile` is never rewritten.
        for turn in range(1, 9):
            await asyncio.sleep(0.3)
            cp = checkpoint({"profile": "written once", "turn": turn}, profile="1", turn=str(turn))
            cfg = await api.put(cfg, cp, meta(turn), {"turn": str(turn)})
        latest = await api.get_tuple(config(thread))
        assert latest.checkpoint["channel_values"] == {"profile": "written once", "turn": 8}
        # The first checkpoint was written > TTL ago and nothing kept it alive.
        assert await api.get_tuple(first) is None
        listed = await api.list(config(thread))
        assert listed and all(t.checkpoint["channel_values"]["profile"] for t in listed)
        assert first["configurable"]["checkpoint_id"] not in [t.checkpoint["id"] for t in listed]
        # When the session is idle for longer than the TTL, everything goes.
        await asyncio.sleep(1.2)
        assert await api.get_tuple(config(thread)) is None
        r = redis.Redis.from_url(redis_url)
        assert list(r.scan_iter(match=saver.keys.session_pattern(thread))) == []
        r.close()


async def test_ttl_none_keeps_keys_forever(redis_url: str, prefix: str) -> None:
    saver = RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix, ttl=None)
    cp = checkpoint({"a": 1})
    saver.put(config("forever"), cp, meta(), cp["channel_versions"])
    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter(match=saver.keys.session_pattern("forever")))
    assert keys and all(r.ttl(k) == -1 for k in keys)
    r.close()
    saver.close()


async def test_refresh_on_read_extends_ttl(redis_url: str, prefix: str) -> None:
    saver = RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, ttl=60, refresh_on_read=True
    )
    cp = checkpoint({"a": 1})
    saver.put(config("reader"), cp, meta(), cp["channel_versions"])
    r = redis.Redis.from_url(redis_url)
    record = saver.keys.namespace("reader", "").record(cp["id"])
    r.pexpire(record, 5000)
    assert saver.get_tuple(config("reader")) is not None
    assert r.pttl(record) > 50_000
    r.close()
    saver.close()


@pytest.mark.parametrize("thread", HOSTILE_IDS, ids=repr)
async def test_hostile_session_ids_stay_isolated(
    api: Any, saver: RedisCheckpointSaver, thread: str
) -> None:
    others = [t for t in HOSTILE_IDS if t != thread]
    for t in HOSTILE_IDS:
        cp = checkpoint({"owner": t})
        await api.put(config(t), cp, meta(), cp["channel_versions"])
    await api.put_writes(
        config(thread, (await api.get_tuple(config(thread))).checkpoint["id"]), [("ch", 1)], "task"
    )
    await api.delete_thread(thread)
    assert await api.get_tuple(config(thread)) is None
    for t in others:
        got = await api.get_tuple(config(t))
        assert got is not None, f"deleting {thread!r} removed {t!r}"
        assert got.checkpoint["channel_values"] == {"owner": t}
        assert got.pending_writes == []


def test_escape_is_injective_and_separator_free() -> None:
    escaped = [escape(t) for t in HOSTILE_IDS]
    assert len(set(escaped)) == len(HOSTILE_IDS)
    for e in escaped:
        assert ":" not in e and "{" not in e and "*" not in e and " " not in e and "\n" not in e


async def test_lua_escape_matches_python(redis_url: str) -> None:
    from langgraph_redis_saver.lua import _load

    lib = _load("get.lua").source.split("\n-- One checkpoint")[0]
    r = redis.Redis.from_url(redis_url)
    script = r.register_script(lib + "\nreturn esc(ARGV[1])")
    samples = [*HOSTILE_IDS, "".join(chr(i) for i in range(256)), "%%", "lateST", "latest2"]
    samples += [chr(i) for i in range(256)]
    for s in samples:
        assert script(args=[s]).decode() == escape(s), repr(s)
    r.close()


async def test_list_filters_before_limit_and_namespaces(api: Any) -> None:
    thread = "lister"
    ids = await put_chain(api, thread, 5)
    child = checkpoint({"sub": 1})
    await api.put(
        config(thread, ns="child:1"),
        child,
        meta(7, "input", user_id="u1"),
        child["channel_versions"],
    )

    every = await api.list({"configurable": {"thread_id": thread}})
    assert [t.checkpoint["id"] for t in every] == sorted([*ids, child["id"]], reverse=True)

    root = await api.list(config(thread))
    assert [t.checkpoint["id"] for t in root] == ids[::-1]
    assert [t.checkpoint["id"] for t in await api.list(config(thread), limit=2)] == ids[:2:-1][:2]
    older = await api.list(config(thread), before=config(thread, ids[3]), limit=2)
    assert [t.checkpoint["id"] for t in older] == [ids[2], ids[1]]
    assert [t.metadata["step"] for t in await api.list(config(thread), filter={"step": 3})] == [3]
    assert await api.list(config(thread), filter={"step": 3, "source": "input"}) == []
    by_user = await api.list({"configurable": {"thread_id": thread}}, filter={"user_id": "u1"})
    assert [t.checkpoint["id"] for t in by_user] == [child["id"]]
    assert by_user[0].config["configurable"]["checkpoint_ns"] == "child:1"
    exact = await api.list(config(thread, ids[1]))
    assert [t.checkpoint["id"] for t in exact] == [ids[1]]
    assert await api.list(config(thread), limit=0) == []


async def test_list_without_config_spans_sessions(api: Any) -> None:
    await put_chain(api, "s1", 2)
    await put_chain(api, "s2", 3)
    all_ = await api.list(None)
    assert sorted(t.config["configurable"]["thread_id"] for t in all_) == ["s1"] * 2 + ["s2"] * 3
    assert len(await api.list(None, limit=4)) == 4
    assert {
        t.config["configurable"]["thread_id"] for t in await api.list(None, filter={"step": 2})
    } == {"s2"}


async def test_list_pages_through_long_histories(api: Any) -> None:
    ids = await put_chain(api, "long", 230)
    listed = await api.list(config("long"))
    assert [t.checkpoint["id"] for t in listed] == ids[::-1]


async def test_put_writes_is_idempotent_and_ordered(api: Any) -> None:
    (cid,) = await put_chain(api, "w", 1)
    cfg = config("w", cid)
    await api.put_writes(cfg, [("b", 2), ("a", 1)], "task-2", "~1")
    await api.put_writes(cfg, [("b", 20), ("a", 10)], "task-2", "~1")  # ignored: same idx
    await api.put_writes(cfg, [("c", 3)], "task-1", "~0")
    await api.put_writes(cfg, [("__error__", "boom")], "task-1", "~0")
    await api.put_writes(cfg, [("__error__", "boom again")], "task-1", "~0")  # replaced
    got = await api.get_tuple(cfg)
    assert got.pending_writes == [
        ("task-1", "__error__", "boom again"),
        ("task-1", "c", 3),
        ("task-2", "b", 2),
        ("task-2", "a", 1),
    ]


async def test_next_version_is_ordered_and_fork_unique(saver: RedisCheckpointSaver) -> None:
    v1 = saver.get_next_version(None, None)
    v2 = saver.get_next_version(v1, None)
    assert v1 < v2
    assert v2.split(".")[0] == f"{2:032}"
    assert saver.get_next_version(v1, None) != v2  # a fork from v1 gets another version
    assert saver.get_next_version(7, None).startswith(f"{8:032}.")  # type: ignore[arg-type]


# -- round trips ------------------------------------------------------------------


class Counter:
    round_trips = 0


class CountingConnection(redis.Connection):
    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        Counter.round_trips += 1
        super().send_packed_command(command, check_health)


class ACountingConnection(redis.asyncio.Connection):
    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        Counter.round_trips += 1
        await super().send_packed_command(command, check_health)


async def test_round_trips_per_operation(redis_url: str, prefix: str, mode: str) -> None:
    from support.api import Api

    conn = CountingConnection if mode == "sync" else ACountingConnection
    saver = RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, cluster=False, client_kwargs={"connection_class": conn}
    )
    api = Api(saver, mode)
    await put_chain(api, "warm", 2)  # connect and load scripts first
    await api.get_tuple(config("warm"))
    await api.list(config("warm"), limit=1)
    await api.put_writes(
        config("warm", (await api.get_tuple(config("warm"))).checkpoint["id"]), [("x", 1)], "t"
    )

    async def count(op: Any) -> int:
        Counter.round_trips = 0
        await op
        return Counter.round_trips

    ids = await put_chain(api, "rt", 12)
    cp = checkpoint({"a": 1, "b": 2})
    assert await count(api.put(config("rt", ids[-1]), cp, meta(13), cp["channel_versions"])) == 1
    assert await count(api.put_writes(config("rt", cp["id"]), [("a", 1), ("b", 2)], "t")) == 1
    assert await count(api.get_tuple(config("rt"))) == 1
    assert await count(api.get_tuple(config("rt", ids[3]))) == 1
    assert await count(api.list(config("rt"), limit=10)) == 1
    assert await count(api.list({"configurable": {"thread_id": "rt"}}, limit=10)) == 2
    assert await count(api.delete_thread("rt")) == 2
    if mode == "async":
        await saver.aclose()
    saver.close()


# -- bad input ---------------------------------------------------------------------


async def test_missing_thread_id_is_a_clear_error(api: Any) -> None:
    with pytest.raises(ConfigurationError, match="thread_id"):
        await api.get_tuple({"configurable": {}})
    cp = checkpoint({"a": 1})
    with pytest.raises(ConfigurationError, match="thread_id"):
        await api.put({"configurable": {"checkpoint_ns": ""}}, cp, meta(), {})


async def test_unknown_type_fails_before_anything_is_written(
    api: Any, saver: RedisCheckpointSaver, redis_url: str
) -> None:
    class Unregistered:
        pass

    cp = checkpoint({"ok": 1, "bad": Unregistered()})
    with pytest.raises(UnsafeTypeError, match="Unregistered"):
        await api.put(config("half"), cp, meta(), cp["channel_versions"])
    r = redis.Redis.from_url(redis_url)
    assert list(r.scan_iter(match=saver.keys.prefix_pattern())) == []
    r.close()


def test_decode_responses_client_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="decode_responses"):
        RedisCheckpointSaver(redis.Redis(decode_responses=True))


@pytest.mark.parametrize("url", ["localhost:6379", "http://x", 42])
def test_malformed_url_is_a_clear_error(url: Any) -> None:
    with pytest.raises(ConfigurationError, match="Redis URL"):
        RedisCheckpointSaver.from_url(url)


@pytest.mark.parametrize("ttl", [0, -5, "1h", float("nan")])
def test_bad_ttl_is_a_clear_error(ttl: Any) -> None:
    with pytest.raises(ConfigurationError, match="ttl"):
        RedisCheckpointSaver(redis.Redis(), ttl=ttl)


@pytest.mark.parametrize("prefix", ["", "trailing:", "{tag}"])
def test_bad_prefix_is_a_clear_error(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="key_prefix"):
        RedisCheckpointSaver(redis.Redis(), key_prefix=prefix)


def test_unreachable_server_raises_redis_connection_error() -> None:
    from support.redis_server import free_port

    with pytest.raises(redis.ConnectionError, match=r"127\.0\.0\.1:\d+"):
        RedisCheckpointSaver.from_url(
            f"redis://:s3cret@127.0.0.1:{free_port()}/0",
            client_kwargs={"socket_connect_timeout": 0.5},
        )


def test_password_never_appears_in_repr_or_errors() -> None:
    saver = RedisCheckpointSaver.from_url("redis://:s3cret@127.0.0.1:1/0", cluster=False)
    assert "s3cret" not in repr(saver)
    with pytest.raises(redis.ConnectionError) as info:
        saver.get_tuple(config("x"))
    assert "s3cret" not in str(info.value)
    saver.close()


def test_wrong_mode_points_to_the_fix(redis_url: str) -> None:
    saver = RedisCheckpointSaver(redis.asyncio.Redis.from_url(redis_url))
    with pytest.raises(ConfigurationError, match="async API"):
        saver.get_tuple(config("x"))

    sync_only = RedisCheckpointSaver(redis.Redis.from_url(redis_url))

    async def call() -> None:
        await sync_only.aget_tuple(config("x"))

    with pytest.raises(ConfigurationError, match="sync API"):
        asyncio.run(call())


async def test_corrupted_records_raise_our_errors(
    api: Any, saver: RedisCheckpointSaver, redis_url: str
) -> None:
    from langgraph_redis_saver import RedisSaverError

    (cid,) = await put_chain(api, "corrupt", 1)
    ns = saver.keys.namespace("corrupt", "")
    r = redis.Redis.from_url(redis_url)
    r.hset(ns.record(cid), "checkpoint", b"\x00garbage")
    with pytest.raises(RedisSaverError):
        await api.get_tuple(config("corrupt"))
    r.hset(ns.record(cid), "checkpoint", b"no header at all")
    with pytest.raises(CheckpointCorruptedError, match="type header"):
        await api.get_tuple(config("corrupt"))

    (cid2,) = await put_chain(api, "evicted", 1)
    ns2 = saver.keys.namespace("evicted", "")
    for key in r.scan_iter(match=saver.keys.session_pattern("evicted").replace("*", "blob:*")):
        r.delete(key)
    with pytest.raises(CheckpointCorruptedError, match="missing from Redis"):
        await api.get_tuple(config("evicted", cid2))
    r.hset(ns2.record(cid2), "v", b"99")
    from langgraph_redis_saver import SchemaVersionError

    with pytest.raises(SchemaVersionError, match="Upgrade"):
        await api.get_tuple(config("evicted", cid2))
    r.close()


async def test_truncated_values_raise_decode_errors_naming_their_key(
    api: Any, saver: RedisCheckpointSaver, redis_url: str
) -> None:
    from langgraph_redis_saver import DecodeError

    cp = checkpoint({"messages": [HumanMessage("hi", id="1")] * 5})
    stored = await api.put(config("cut"), cp, meta(), cp["channel_versions"])
    await api.put_writes(stored, [("messages", "more")], "task-1")
    ns = saver.keys.namespace("cut", "")
    r = redis.Redis.from_url(redis_url)
    try:
        blob = ns.blob("messages", cp["channel_versions"]["messages"])
        r.set(blob, r.get(blob)[:-3])
        with pytest.raises(DecodeError, match=re.escape(repr(blob))):
            await api.get_tuple(config("cut"))
        record = ns.record(cp["id"])
        r.hset(record, "checkpoint", r.hget(record, "checkpoint")[:-3])
        with pytest.raises(DecodeError, match=re.escape(repr(record))):
            await api.get_tuple(config("cut"))
    finally:
        r.close()


async def test_dangling_latest_falls_back_to_newest_complete_record(
    api: Any, saver: RedisCheckpointSaver, redis_url: str
) -> None:
    ids = await put_chain(api, "dangle", 3)
    ns = saver.keys.namespace("dangle", "")
    r = redis.Redis.from_url(redis_url)
    r.delete(ns.record(ids[-1]))
    got = await api.get_tuple(config("dangle"))
    assert got.checkpoint["id"] == ids[-2]
    assert r.get(ns.latest) == ids[-2].encode()
    r.close()


def test_from_url_saver_survives_several_event_loops(redis_url: str, prefix: str) -> None:
    saver = RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix)
    cp = checkpoint({"a": 1})

    async def write() -> None:
        await saver.aput(config("loops"), cp, meta(), cp["channel_versions"])
        await saver.aclose()  # closes this loop's client

    async def read() -> Any:
        try:
            return await saver.aget_tuple(config("loops"))
        finally:
            await saver.aclose()

    asyncio.run(write())
    assert asyncio.run(read()).checkpoint["channel_values"] == {"a": 1}
    saver.close()


async def test_compressed_blobs_round_trip_and_mix_with_raw_ones(
    redis_url: str, prefix: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langgraph_redis_saver import _records
    from support.api import Api

    big = "the same sentence again " * 400
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as plain_saver:
        cp = checkpoint({"text": big})
        c1 = await Api(plain_saver, mode).put(config("z"), cp, meta(0), {"text": "1"})
    async with RedisCheckpointSaver.from_url(
        redis_url, key_prefix=prefix, compress_threshold=1024
    ) as saver:
        api = Api(saver, mode)
        cp2 = checkpoint({"text": big + "!", "small": 1}, text="2", small="1")
        await api.put(c1, cp2, meta(1), {"text": "2", "small": "1"})
        r = redis.Redis.from_url(redis_url)
        ns = saver.keys.namespace("z", "")
        stored = r.get(ns.blob("text", "2"))
        assert stored.startswith(b"lgrs\x01") and len(stored) < len(big) // 10
        assert r.get(ns.blob("small", "1")).startswith(b"lgrs\x00")
        assert (await api.get_tuple(config("z"))).checkpoint["channel_values"]["text"] == big + "!"
        assert (await api.get_tuple(c1)).checkpoint["channel_values"]["text"] == big

        r.set(ns.blob("text", "2"), stored[:-10])
        with pytest.raises(CheckpointCorruptedError, match="truncated"):
            await api.get_tuple(config("z"))
        monkeypatch.setattr(_records, "MAX_INFLATED", 1000)
        r.set(ns.blob("text", "2"), stored)
        with pytest.raises(CheckpointCorruptedError, match="inflates past"):
            await api.get_tuple(config("z"))
        r.close()


def test_bad_compress_threshold_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="compress_threshold"):
        RedisCheckpointSaver(redis.Redis(), compress_threshold=0)
