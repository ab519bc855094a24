"""A damaged session hides no other, and listing never writes to Redis.

Each case damages one session the way someone with write access to the
database can (the threat model): a `latest` pointer that is not UTF-8, of
another type, missing while the checkpoints remain, or naming a checkpoint
that does not exist; a timeline or namespaces set replaced by a string.
`lgrs sessions`, `export --all` and `stats` must name that session, list
the others, exit 0, and change nothing in Redis.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.errors import SkippedSessionWarning
from langgraph_redis_saver.keys import KeySchema
from support.api import Api
from support.lgrs_sessions import Lgrs, interview

GOOD = ["good-1", "good-2"]


def _latest(c: redis.Redis, k: KeySchema, t: str) -> None:
    c.set(k.namespace(t, "").latest, b"xx\xff", keepttl=True)


def _latest_list(c: redis.Redis, k: KeySchema, t: str) -> None:
    c.delete(k.namespace(t, "").latest)
    c.rpush(k.namespace(t, "").latest, "x")


def _timeline(c: redis.Redis, k: KeySchema, t: str) -> None:
    c.delete(k.namespace(t, "").timeline)
    c.set(k.namespace(t, "").timeline, "a plain string")


def _namespaces(c: redis.Redis, k: KeySchema, t: str) -> None:
    c.delete(k.namespace(t, "").namespaces)
    c.set(k.namespace(t, "").namespaces, "a plain string")


def _no_latest(c: redis.Redis, k: KeySchema, t: str) -> None:
    c.delete(k.namespace(t, "").latest)


def _dangling(c: redis.Redis, k: KeySchema, t: str) -> None:
    c.set(k.namespace(t, "").latest, "1f0-no-such-checkpoint", keepttl=True)


# session id -> (damage, what its error must say); None: the session still reads.
DAMAGE: dict[str, tuple[Callable[[redis.Redis, KeySchema, str], None], str | None]] = {
    "bad-utf8": (_latest, "not UTF-8"),
    "bad-list": (_latest_list, "`latest` pointer key holds another type"),
    "bad-timeline": (_timeline, "root timeline key holds another type"),
    "bad-namespaces": (_namespaces, None),  # the root namespace is still read
    "no-latest": (_no_latest, "`latest` pointer is missing while 3 root checkpoints remain"),
    "dangling": (_dangling, "'1f0-no-such-checkpoint' does not exist"),
}
UNREADABLE = {t for t, (_, why) in DAMAGE.items() if why}


@pytest.fixture
def damaged(redis_url: str, prefix: str) -> Iterator[Lgrs]:
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, GOOD[0], ["an answer"])
        for thread in DAMAGE:
            interview(saver, thread, ["an answer"])
        interview(saver, GOOD[1], ["another answer"])
        client = redis.Redis.from_url(redis_url)
        for thread, (damage, _) in DAMAGE.items():
            damage(client, saver.keys, thread)
        # A session that is gone but still indexed: not listed, and not cleaned
        # by lgrs either (only the library's listing trims the index).
        client.zadd(saver.keys.sessions, {"gone": 1e15})
        yield Lgrs(redis_url, prefix)
        client.close()
        saver.clear_all()


def _snapshot(url: str, prefix: str) -> dict[bytes, Any]:
    """Every key under the prefix with its type and value: any write shows as a difference.

    (Not DUMP: a read may rehash a hash, which reorders DUMP's bytes.)
    """
    client = redis.Redis.from_url(url)
    read = {
        b"string": client.get,
        b"hash": client.hgetall,
        b"set": client.smembers,
        b"list": lambda k: client.lrange(k, 0, -1),
        b"zset": lambda k: client.zrange(k, 0, -1, withscores=True),
    }
    try:
        keys = sorted(client.scan_iter(match=KeySchema(prefix).prefix_pattern()))
        return {k: (t := client.type(k), read[t](k), client.ttl(k) > 0) for k in keys}
    finally:
        client.close()


def test_sessions_names_each_damaged_session_and_lists_the_rest(damaged: Lgrs) -> None:
    before = _snapshot(damaged.url, damaged.prefix)
    result = damaged("sessions", "--json")
    rows = {r["sessionId"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {*GOOD, *DAMAGE}
    for thread, (_, why) in DAMAGE.items():
        if why is None:
            assert rows[thread]["error"] is None and rows[thread]["messages"] == 4
            continue
        assert why in rows[thread]["error"], rows[thread]
        assert rows[thread]["messages"] is None and not rows[thread]["encrypted"]
        assert any(
            line.startswith("warning:") and f"'{thread}'" in line
            for line in result.stderr.splitlines()
        ), result.stderr
    for good in GOOD:
        assert rows[good]["error"] is None and rows[good]["messages"] == 4
    table = damaged("sessions")
    assert all(t in table.stdout for t in [*GOOD, *DAMAGE])
    assert f"{len(UNREADABLE)} cannot be read" in table.stdout
    assert "Traceback" not in table.output
    assert _snapshot(damaged.url, damaged.prefix) == before  # read-only: nothing cleaned


def test_export_all_and_stats_report_damaged_sessions(damaged: Lgrs, tmp_path: Path) -> None:
    before = _snapshot(damaged.url, damaged.prefix)
    result = damaged("export", "--all", "-o", str(tmp_path), "--json")
    summary = json.loads(result.stdout)
    exported = {f["sessionId"] for f in summary["files"]}
    # The dangling pointer's session still has readable checkpoints: export
    # reads them from the timeline, as `show` does.
    assert exported == {*GOOD, "bad-namespaces", "dangling"}
    failed = {e["sessionId"]: e["error"] for e in summary["errors"]}
    assert set(failed) == UNREADABLE - {"dangling"}
    assert "not UTF-8" in failed["bad-utf8"]
    assert all(f"'{t}'" in result.stderr for t in failed)
    stats = damaged("stats", "--json")
    doc = json.loads(stats.stdout)
    assert doc["sessions"] == len(GOOD) + len(DAMAGE)
    # The listing itself finds these; the dangling pointer needs the record read.
    listed = {e["sessionId"] for e in doc["errors"]}
    assert listed == UNREADABLE - {"dangling"}
    assert all(f"'{t}'" in stats.stderr for t in listed)
    dry = damaged("delete", "--all", "--dry-run")
    assert set(dry.stdout.split()) == {*GOOD, *DAMAGE}
    assert _snapshot(damaged.url, damaged.prefix) == before


async def test_list_sessions_skips_damaged_sessions_and_keeps_them_indexed(
    saver: RedisCheckpointSaver, api: Api, redis_url: str
) -> None:
    """The library's listing warns and skips; it drops only sessions that are gone."""
    for thread in [*GOOD, "no-latest", "bad-utf8", "gone"]:
        interview(saver, thread, ["an answer"])
    client = redis.Redis.from_url(redis_url)
    _no_latest(client, saver.keys, "no-latest")
    _latest(client, saver.keys, "bad-utf8")
    saver.delete_thread("gone")
    client.zadd(saver.keys.sessions, {"gone": 1e15})  # an index entry left behind
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        listed = {s.thread_id for s in await api.list_sessions()}
    assert listed == set(GOOD)
    named = {
        t
        for t in ("no-latest", "bad-utf8")
        for w in caught
        if issubclass(w.category, SkippedSessionWarning) and f"'{t}'" in str(w.message)
    }
    assert named == {"no-latest", "bad-utf8"}
    indexed = {m.decode() for m in client.zrange(saver.keys.sessions, 0, -1)}
    assert indexed == {*GOOD, "no-latest", "bad-utf8"}  # the gone one is cleaned lazily
    client.close()
