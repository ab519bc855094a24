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


# -- parent cycles: bounded walks --------------------------------------------------


async def _delta_chain(api: Any, thread: str) -> list[dict[str, Any]]:
    """Three checkpoints: a `log` snapshot, then two that rebuild `log` from it."""
    cp1 = checkpoint({"log": ["a"]}, log="1")
    c1 = await api.put(config(thread), cp1, meta(0), {"log": "1"})
    cp2 = checkpoint({}, log="2")
    c2 = await api.put(c1, cp2, meta(1, counters_since_delta_snapshot={"log": 1}), {"log": "2"})
    cp3 = checkpoint({}, log="3")
    c3 = await api.put(c2, cp3, meta(2, counters_since_delta_snapshot={"log": 2}), {"log": "3"})
    return [c1, c2, c3]


def _snapshot(r: redis.Redis, pattern: str) -> dict[bytes, Any]:
    """Every key's type and content. Not DUMP: Valkey 8 may re-encode a hash
    it only read (listpack or field order), so equal data can DUMP differently."""
    read = {
        b"string": r.get,
        b"hash": r.hgetall,
        b"set": r.smembers,
        b"zset": lambda k: r.zrange(k, 0, -1, withscores=True),
        b"list": lambda k: r.lrange(k, 0, -1),
    }
    return {k: (t := r.type(k), read[t](k), r.pttl(k) > 0) for k in r.scan_iter(match=pattern)}


def _cid(cfg: dict[str, Any]) -> str:
    return str(cfg["configurable"]["checkpoint_id"])


@pytest.mark.parametrize("cycle", ["self", "two"])
@pytest.mark.parametrize("operation", ["put", "delta", "prune"])
async def test_parent_cycle_is_an_error_not_a_hang(
    guarded: RedisCheckpointSaver, mode: str, cycle: str, operation: str
) -> None:
    from langgraph_redis_saver import CheckpointCorruptedError
    from support.api import Api

    api = Api(guarded, mode)
    thread = f"cycle-{cycle}-{operation}"
    _, c2, c3 = await _delta_chain(api, thread)
    ns = guarded.keys.namespace(thread, "")
    r = redis.Redis.from_url(guarded._url or "")
    # An attacker with write access edits a record's parent field.
    r.hset(ns.record(_cid(c2)), "parent", _cid(c2) if cycle == "self" else _cid(c3))
    before = _snapshot(r, guarded.keys.session_pattern(thread))
    with pytest.raises(CheckpointCorruptedError, match="loops back"):
        if operation == "put":
            cp4 = checkpoint({}, log="4")
            await api.put(c3, cp4, meta(3, counters_since_delta_snapshot={"log": 3}), {"log": "4"})
        elif operation == "delta":
            await api.get_delta_channel_history(config=c3, channels=["log"])
        else:
            await api.prune([thread])
    # Nothing was written before the walk failed, and the server answers.
    after = _snapshot(r, guarded.keys.session_pattern(thread))
    assert after == before
    assert r.ping()
    r.close()


# -- prune/cap race: a put whose base was removed ----------------------------------------


@pytest.mark.parametrize("remover", ["prune", "cap", "delta_prune"])
async def test_put_after_its_parent_was_pruned_leaves_a_readable_session(
    redis_url: str, prefix: str, mode: str, remover: str
) -> None:
    from langgraph_redis_saver import CheckpointConflictError
    from support.api import Api

    cap = {"max_checkpoints_per_session": 1} if remover == "cap" else {}
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix, **cap) as saver:
        api = Api(saver, mode)
        thread = f"race-{remover}"
        if remover == "delta_prune":
            # The run read c3, whose `log` is rebuilt from c1; meanwhile another
            # writer moved on and prune() removed c1..c3.
            _, _, held = await _delta_chain(api, thread)
            other = checkpoint({"log": ["b"]}, log="9")
            await api.put(held, other, meta(3), {"log": "9"})
            await api.prune([thread])
            late = checkpoint({}, log="4")
            late_meta = meta(3, counters_since_delta_snapshot={"log": 3})
            new_versions = {"log": "4"}
        else:
            # The run read c1 (its `profile` blob is reused by what it writes);
            # meanwhile two more turns changed `profile` and the cap or prune()
            # removed c1 with that blob.
            c1 = await api.put(config(thread), checkpoint({"profile": "v1"}, profile="1"),
                               meta(0), {"profile": "1"})  # fmt: skip
            held = c1
            cfg = c1
            for step in (2, 3):
                cp = checkpoint({"profile": f"v{step}"}, profile=str(step))
                cfg = await api.put(cfg, cp, meta(step - 1), {"profile": str(step)})
            if remover == "prune":
                await api.prune([thread])
            assert await api.get_tuple(c1) is None
            late = checkpoint({"profile": "v1", "turn": 1}, profile="1", turn="1")
            late_meta = meta(1)
            new_versions = {"turn": "1"}
        newest = await api.get_tuple(config(thread))
        with pytest.raises(CheckpointConflictError, match="removed"):
            await api.put(held, late, late_meta, new_versions)
        # Refused before writing: the session reads as before, latest included.
        after = await api.get_tuple(config(thread))
        assert after is not None and after.checkpoint["id"] == newest.checkpoint["id"]
        assert after.checkpoint["channel_values"] == newest.checkpoint["channel_values"]
        assert [t.checkpoint["id"] for t in await api.list(config(thread))]
        assert await api.get_tuple(config(thread, late["id"])) is None


# -- index values are opaque strings ----------------------------------------------------


@pytest.mark.parametrize("user", [1234567890123456, 2**60 + 1, 0.1, "007"])
async def test_numeric_user_id_leaves_the_user_index_on_delete(
    api: Any, saver: RedisCheckpointSaver, redis_url: str, user: Any
) -> None:
    thread = "numeric-user"
    cfg = {"configurable": {"thread_id": thread, "checkpoint_ns": "", "user_id": user}}
    cp = checkpoint({"a": 1})
    await api.put(cfg, cp, meta(0), cp["channel_versions"])
    index = saver.keys.sessions_by("user_id", user)
    r = redis.Redis.from_url(redis_url)
    assert r.zrange(index, 0, -1) == [thread.encode()]
    await api.delete_thread(thread)
    # Nothing of the session stays in the per-user index: another user who
    # later reuses the id is not listed under this user.
    assert not r.exists(index)
    assert await api.list_sessions(filter={"user_id": user}) == []
    r.close()


# -- a damaged shared index key ------------------------------------------------------------


@pytest.mark.parametrize("cluster", [False, True], ids=["standalone", "cluster-keys"])
async def test_wrong_type_sessions_index_does_not_fail_put(
    redis_url: str, prefix: str, mode: str, cluster: bool
) -> None:
    from langgraph_redis_saver import IndexWarning
    from support.api import Api

    # cluster=True on a standalone server: hash-tagged keys, index commands
    # pipelined after the script, as on a cluster.
    sync, aclient = redis.Redis.from_url(redis_url), redis.asyncio.Redis.from_url(redis_url)
    saver = RedisCheckpointSaver(sync, aclient=aclient, key_prefix=prefix, cluster=cluster)
    api = Api(saver, mode)
    sync.set(saver.keys.sessions, "not a sorted set")
    cp = checkpoint({"a": 1})
    with pytest.warns(IndexWarning, match="delete it"):
        stored = await api.put(config("wrongtype"), cp, meta(0), cp["channel_versions"])
    assert stored == config("wrongtype", cp["id"])
    got = await api.get_tuple(config("wrongtype"))
    assert got is not None and got.checkpoint["channel_values"] == {"a": 1}
    sync.close()
    await aclient.aclose()


# -- one damaged session among many -----------------------------------------------------------


@pytest.mark.parametrize("damage", ["record", "wrongtype", "non-utf8"])
async def test_list_all_sessions_skips_a_damaged_one(
    api: Any, saver: RedisCheckpointSaver, redis_url: str, damage: str
) -> None:
    from langgraph_redis_saver import SkippedSessionWarning

    ids = {}
    for thread in ("good-1", "bad", "good-2"):
        cp = checkpoint({"a": thread})
        await api.put(config(thread), cp, meta(0), cp["channel_versions"])
        ids[thread] = cp["id"]
    r = redis.Redis.from_url(redis_url)
    ns = saver.keys.namespace("bad", "")
    if damage == "record":
        r.hset(ns.record(ids["bad"]), "checkpoint", b"garbage without a header")
        culprit = "'bad'"
    elif damage == "wrongtype":
        r.delete(ns.timeline)
        r.set(ns.timeline, "x")
        culprit = "'bad'"
    else:
        r.zadd(saver.keys.sessions, {b"\xff\xfe-not-utf8": 1})
        culprit = "xff"
    with pytest.warns(SkippedSessionWarning, match=culprit):
        listed = await api.list(None)
    got = {t.config["configurable"]["thread_id"] for t in listed}
    assert {"good-1", "good-2"} <= got
    assert ("bad" in got) == (damage == "non-utf8")
    r.close()


async def test_list_sessions_names_an_index_entry_that_is_not_utf8(
    api: Any, saver: RedisCheckpointSaver, redis_url: str
) -> None:
    import time

    from langgraph_redis_saver import SkippedSessionWarning

    for thread in ("good-1", "good-2"):
        cp = checkpoint({"a": thread})
        await api.put(config(thread), cp, meta(0), cp["channel_versions"])
    r = redis.Redis.from_url(redis_url)
    r.zadd(saver.keys.sessions, {b"\xff\xfe-not-utf8\x1b]0;x": time.time() * 1000})
    with pytest.warns(SkippedSessionWarning, match=r"entry b'\\xff\\xfe-not-utf8\\x1b") as caught:
        listed = await api.list_sessions()
    assert {i.thread_id for i in listed} == {"good-1", "good-2"}
    assert all("\x1b" not in str(w.message) for w in caught)  # quoted as an ASCII literal
    assert r.zscore(saver.keys.sessions, b"\xff\xfe-not-utf8\x1b]0;x")  # reported, not removed
    r.close()


@pytest.mark.parametrize("key", ["latest", "timeline", "record"])
async def test_a_key_of_another_type_hides_only_its_own_session(
    api: Any, saver: RedisCheckpointSaver, redis_url: str, key: str
) -> None:
    from langgraph_redis_saver import CheckpointCorruptedError, SkippedSessionWarning

    ids = {}
    for thread in ("good-1", "bad", "good-2"):
        cp = checkpoint({"a": thread})
        await api.put(config(thread), cp, meta(0), cp["channel_versions"])
        ids[thread] = cp["id"]
    r = redis.Redis.from_url(redis_url)
    ns = saver.keys.namespace("bad", "")
    target = ns.record(ids["bad"]) if key == "record" else getattr(ns, key)
    r.delete(target)
    if key == "record":  # a string where the saver keeps a hash, a hash elsewhere
        r.set(target, "planted by hand")
    else:
        r.hset(target, "planted", "by hand")
    if key == "record":  # `latest` and the timeline still look fine: only reading fails
        with pytest.raises(CheckpointCorruptedError, match="another type"):
            await api.get_tuple(config("bad"))
        listed = {i.thread_id for i in await api.list_sessions()}
        assert listed == {"good-1", "bad", "good-2"}
    else:
        with pytest.warns(SkippedSessionWarning, match="'bad'"):
            listed = {i.thread_id for i in await api.list_sessions()}
        assert listed == {"good-1", "good-2"}
    if key != "latest":  # list(None) does not read `latest`
        with pytest.warns(SkippedSessionWarning, match="'bad'"):
            found = await api.list(None)
        assert {t.config["configurable"]["thread_id"] for t in found} == {"good-1", "good-2"}
    # What the warning advises works: the session can be removed. (Keys that
    # only the planted one led to stay until their TTL or clear_all().)
    await api.delete_thread("bad")
    assert r.exists(target, ns.latest, ns.timeline) == 0
    assert await api.get_tuple(config("bad")) is None
    assert {i.thread_id for i in await api.list_sessions()} == {"good-1", "good-2"}
    r.close()


@pytest.mark.parametrize(
    "metadata",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"step": "x", "source": 5}',
        '{"step": 1, "source": "loop", "parents": []}',
        '{"step": true, "source": "loop"}',
    ],
    ids=["deep", "wrong_types", "parents_not_a_map", "step_bool"],
)
async def test_edited_metadata_is_a_corrupt_record_naming_the_key(
    api: Any, saver: RedisCheckpointSaver, redis_url: str, metadata: str
) -> None:
    from langgraph_redis_saver import CheckpointCorruptedError

    cp = checkpoint({"a": 1})
    await api.put(config("meta"), cp, meta(0), cp["channel_versions"])
    r = redis.Redis.from_url(redis_url)
    key = saver.keys.namespace("meta", "").record(cp["id"])
    r.hset(key, "metadata", metadata)
    r.close()
    with pytest.raises(CheckpointCorruptedError, match=re.escape(repr(key))):
        await api.get_tuple(config("meta"))
    with pytest.raises(CheckpointCorruptedError, match=re.escape(repr(key))):
        await api.list(config("meta"))


def _edit_blobs(r: redis.Redis, saver: RedisCheckpointSaver, cid: str, field: bytes) -> str:
    key = saver.keys.namespace("blobs", "").record(cid)
    r.hset(key, "blobs", field)
    return key


@pytest.mark.parametrize(
    "edit",
    ["repeated", "too_many", "not_a_suffix"],
)
async def test_edited_blob_list_is_a_corrupt_record(
    api: Any, saver: RedisCheckpointSaver, redis_url: str, edit: str
) -> None:
    from langgraph_redis_saver import CheckpointCorruptedError

    cp = checkpoint({"a": "x"})
    await api.put(config("blobs"), cp, meta(0), cp["channel_versions"])
    r = redis.Redis.from_url(redis_url)
    ns = saver.keys.namespace("blobs", "")
    suffix = r.hget(ns.record(cp["id"]), "blobs")
    field, match = {
        "repeated": (b"\n".join([suffix] * 3000), "twice"),
        # 300,000 entries once gave Lua's "too many results to unpack"
        "too_many": (b"\n".join(b"c%d:1" % i for i in range(300_000)), "more than the 10000"),
        "not_a_suffix": (suffix + b"\nno-colon", "not <channel>:<version>"),
    }[edit]
    key = _edit_blobs(r, saver, cp["id"], field)
    r.close()
    with pytest.raises(CheckpointCorruptedError, match=match) as info:
        await api.get_tuple(config("blobs"))
    assert key in str(info.value) and "script:" not in str(info.value)


def test_repeated_blob_never_makes_redis_build_a_huge_reply(tmp_path: Path) -> None:
    """3,000 copies of one 200 KB blob's suffix: MGET built a 600 MB reply."""
    from langgraph_redis_saver import CheckpointCorruptedError

    server = RedisServer(tmp_path).start()
    try:
        r = redis.Redis.from_url(server.url)
        with RedisCheckpointSaver.from_url(server.url, key_prefix="mem") as saver:
            cp = checkpoint({"a": "x" * 200_000})
            saver.put(config("blobs"), cp, meta(0), cp["channel_versions"])
            suffix = r.hget(saver.keys.namespace("blobs", "").record(cp["id"]), "blobs")
            assert suffix is not None
            _edit_blobs(r, saver, cp["id"], b"\n".join([suffix] * 3000))
            before = int(r.info("memory")["used_memory_peak"])
            with pytest.raises(CheckpointCorruptedError):
                saver.get_tuple(config("blobs"))
            peak = int(r.info("memory")["used_memory_peak"])
        assert peak - before < 50 << 20, (before, peak)
        r.close()
    finally:
        server.stop()


async def test_put_refuses_more_channel_values_than_a_read_accepts(api: Any) -> None:
    from langgraph_redis_saver import SerializationError
    from langgraph_redis_saver._records import MAX_BLOBS

    cp = checkpoint({f"c{i}": i for i in range(MAX_BLOBS + 1)})
    with pytest.raises(SerializationError, match="at most 10000"):
        await api.put(config("wide"), cp, meta(0), cp["channel_versions"])
    assert await api.get_tuple(config("wide")) is None
