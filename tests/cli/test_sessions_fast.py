"""``lgrs sessions`` at scale: message counts from the record, no decoding, no LangGraph."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import redis

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver._records import COUNTED_TYPE
from langgraph_redis_saver.browse import Browser
from langgraph_redis_saver.keys import Field, KeySchema
from langgraph_redis_saver.serde import TYPE_TAG
from support.ciphers import XorSerializer
from support.lgrs_sessions import CHAT, SUBGRAPH, Lgrs, interview, write_sessions


@pytest.fixture
def two(redis_url: str, prefix: str) -> Iterator[Lgrs]:
    """A plain session and an encrypted one, each with 4 messages."""
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "plain", ["an answer"])
        with RedisCheckpointSaver.from_url(
            redis_url, key_prefix=prefix, serde=XorSerializer()
        ) as encrypted:
            interview(encrypted, "secret", ["an answer"])
        yield Lgrs(redis_url, prefix)
        saver.clear_all()


def _latest_record(lgrs: Lgrs, thread: str) -> tuple[redis.Redis, str]:
    with RedisCheckpointSaver.from_url(lgrs.url, key_prefix=lgrs.prefix) as saver:
        ns = saver.keys.namespace(thread, "")
    client = redis.Redis.from_url(lgrs.url)
    return client, ns.record(client.get(ns.latest).decode())


def test_counted_type_is_the_serializers_tag() -> None:
    from langgraph_redis_saver import _lists

    assert COUNTED_TYPE == _lists.TYPE_TAG == TYPE_TAG


def test_put_records_list_lengths_but_not_for_an_encrypting_serializer(two: Lgrs) -> None:
    client, plain = _latest_record(two, "plain")
    assert json.loads(client.hget(plain, Field.LENGTHS)) == {"messages": 4}
    client, secret = _latest_record(two, "secret")
    assert client.hget(secret, Field.LENGTHS) is None


def test_sessions_counts_from_the_record_and_decodes_older_records(two: Lgrs) -> None:
    rows = {r["sessionId"]: r for r in json.loads(two("sessions", "--json").stdout)}
    assert rows["plain"]["messages"] == 4 and rows["secret"]["messages"] is None
    client, plain = _latest_record(two, "plain")
    client.hset(plain, Field.LENGTHS, json.dumps({"messages": 7}))
    rows = {r["sessionId"]: r for r in json.loads(two("sessions", "--json").stdout)}
    assert rows["plain"]["messages"] == 7  # read from the record, nothing decoded
    client.hdel(plain, Field.LENGTHS)  # as written before the field existed
    rows = {r["sessionId"]: r for r in json.loads(two("sessions", "--json").stdout)}
    assert rows["plain"]["messages"] == 4


@pytest.mark.parametrize("bad", [b"[]", b'{"messages": -1}', b'{"messages": "4"}', b"{"])
def test_sessions_decodes_when_lengths_is_not_a_count(two: Lgrs, bad: bytes) -> None:
    client, plain = _latest_record(two, "plain")
    client.hset(plain, Field.LENGTHS, bad)
    rows = {r["sessionId"]: r for r in json.loads(two("sessions", "--json").stdout)}
    assert rows["plain"]["messages"] == 4


def test_sessions_imports_neither_langgraph_nor_langchain(two: Lgrs) -> None:
    """Listing sessions whose records carry their lengths loads no LangGraph."""
    with RedisCheckpointSaver.from_url(two.url, key_prefix=two.prefix) as saver:
        saver.delete_thread("secret")  # an encrypted session is decoded to be counted
    code = (
        "import sys\n"
        "from langgraph_redis_saver.cli import main\n"
        f"sys.argv = ['lgrs', '--url', {two.url!r}, '--prefix', {two.prefix!r}, 'sessions']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('langgraph', 'langchain_core', 'langsmith', 'pydantic')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


# -- sizes: one lua/sizes.lua call per session ------------------------------------------


@pytest.fixture
def stored_all(redis_url: str, prefix: str) -> Iterator[Lgrs]:
    """Sessions of every shape the CLI tests use, subgraph namespaces included."""
    write_sessions(redis_url, prefix)
    yield Lgrs(redis_url, prefix)
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        saver.clear_all()


def test_sessions_sizes_agree_with_the_key_by_key_walk(stored_all: Lgrs) -> None:
    with Browser.from_url(stored_all.url, prefix=stored_all.prefix) as b:
        ids = b.session_ids()
        # Reads move Redis's incremental rehash of a hash along, which changes its
        # MEMORY USAGE: read until the key-by-key walk stops changing, then compare.
        walked: dict[str, tuple[int, int]] = {}
        for _ in range(50):
            b.sessions()
            previous, walked = walked, b.session_sizes(ids, keys=b.session_keys(ids))
            if walked == previous:
                break
        counts = {t: len(b.namespaces(t)) for t in ids}
        rows = {r.session_id: r for r in b.sessions()}
        checkpoints = b._walk(ids).checkpoints
    assert SUBGRAPH in rows and counts[SUBGRAPH] > 1
    for t in ids:
        assert (rows[t].keys, rows[t].bytes) == walked[t], t
        assert rows[t].checkpoints == checkpoints[t], t
        assert rows[t].keys > 0 and rows[t].bytes


def test_sessions_without_memory_permission_count_keys_but_not_bytes(stored_all: Lgrs) -> None:
    admin = redis.Redis.from_url(stored_all.url)
    user = f"nomem-{uuid.uuid4().hex[:8]}"
    admin.execute_command("ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all", "-memory")
    try:
        host = stored_all.url.split("//", 1)[1]
        url = f"redis://{user}:pw@{host}"
        with Browser.from_url(stored_all.url, prefix=stored_all.prefix) as b:
            full = {r.session_id: r for r in b.sessions()}
        with Browser.from_url(url, prefix=stored_all.prefix) as b:
            rows = {r.session_id: r for r in b.sessions()}
    finally:
        admin.execute_command("ACL", "DELUSER", user)
        admin.close()
    assert set(rows) == set(full)
    for t, row in rows.items():
        assert (
            row.bytes is None
            and row.keys == full[t].keys
            and row.checkpoints == full[t].checkpoints
        )


def test_a_session_whose_sizes_fail_hides_no_other(stored_all: Lgrs) -> None:
    client = redis.Redis.from_url(stored_all.url)
    ks = KeySchema(stored_all.prefix)
    timeline = ks.namespace(CHAT, "").timeline
    ids = client.zrange(timeline, 0, -1)
    record = ks.namespace(CHAT, "").record(ids[0].decode())
    saved = client.dump(record)
    client.delete(record)
    client.set(record, b"not a hash")  # HGET in the script fails with WRONGTYPE
    try:
        with Browser.from_url(stored_all.url, prefix=stored_all.prefix) as b:
            rows = {r.session_id: r for r in b.sessions()}
    finally:
        client.delete(record)
        client.restore(record, 0, saved)
        client.close()
    assert rows[CHAT].checkpoints == len(ids) and rows[CHAT].bytes is None
    assert all(r.bytes for t, r in rows.items() if t != CHAT)
