"""One bad session never hides the others, and export files are handled safely.

Sessions are written by real graphs, then damaged the way the threat model
allows (someone who can write to the database): a record edited by hand, a
session written through an encrypting serializer, one written by LangGraph's
own serializer, a non-UTF-8 member in the sessions index, a value nested
1000 deep.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.cli.files import HASH_CHARS, SLUG_CHARS, export_filename
from langgraph_redis_saver.keys import KeySchema
from support.ciphers import XorSerializer
from support.lgrs_sessions import Lgrs, interview

GOOD = ["good-1", "good-2"]
BAD = ["damaged", "encrypted", "foreign"]


def _latest_record(client: redis.Redis, keys: KeySchema, thread: str) -> str:
    ns = keys.namespace(thread, "")
    return ns.record(client.get(ns.latest).decode())


@pytest.fixture
def bad(redis_url: str, prefix: str) -> Iterator[Lgrs]:
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "good-1", ["an answer"])
        interview(saver, "damaged", ["an answer"])
        with RedisCheckpointSaver.from_url(
            redis_url, key_prefix=prefix, serde=XorSerializer()
        ) as encrypted:
            interview(encrypted, "encrypted", ["an answer"])
        with RedisCheckpointSaver.from_url(
            redis_url, key_prefix=prefix, serde=JsonPlusSerializer()
        ) as foreign:
            interview(foreign, "foreign", ["an answer"])
        interview(saver, "good-2", ["another answer"])
        client = redis.Redis.from_url(redis_url)
        damaged = _latest_record(client, saver.keys, "damaged")
        client.hset(damaged, "checkpoint", b"lgrs\x00\x01\xc1")  # not msgpack
        client.zadd(saver.keys.sessions, {b"\xff\xfenot-utf8": time.time() * 1000})
        yield Lgrs(redis_url, prefix)
        client.close()
        saver.clear_all()


def _warned(stderr: str) -> set[str]:
    return {s for s in BAD if any(s in line and "warning" in line for line in stderr.splitlines())}


def test_sessions_lists_good_sessions_and_names_bad_ones(bad: Lgrs) -> None:
    result = bad("sessions", "--json")
    rows = {r["sessionId"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {*GOOD, *BAD, None}  # None: the index entry that is not UTF-8
    for good in GOOD:
        assert rows[good]["messages"] == 4 and rows[good]["error"] is None
    for name in BAD:
        assert rows[name]["messages"] is None and rows[name]["error"]
        assert rows[name]["checkpoints"] == 3  # what the index knows is still shown
    assert "encrypted" in rows["encrypted"]["error"]
    assert "another serializer" in rows["foreign"]["error"]
    assert _warned(result.stderr) == set(BAD)
    assert "entry b'\\xff\\xfenot-utf8' skipped: it is not UTF-8" in rows[None]["error"]
    table = bad("sessions")
    assert all(s in table.stdout for s in GOOD)
    assert "5 sessions; 3 cannot be read" in table.stdout
    assert "1 index entry skipped" in table.stdout
    assert "Traceback" not in table.output


def test_export_all_exports_the_rest_and_reports_failures(bad: Lgrs, tmp_path: Path) -> None:
    result = bad("export", "--all", "-o", str(tmp_path), "--json")
    summary = json.loads(result.stdout)
    assert {f["sessionId"] for f in summary["files"]} == set(GOOD)
    assert {e["sessionId"] for e in summary["errors"]} == set(BAD)
    assert _warned(result.stderr) == set(BAD)
    assert len(list(tmp_path.iterdir())) == len(GOOD)
    text = bad("export", "--all", "-o", str(tmp_path / "again"))
    assert "exported 2 sessions" in text.stderr and "3 failed" in text.stderr


def test_stats_and_delete_dry_run_count_every_session(bad: Lgrs) -> None:
    stats = json.loads(bad("stats", "--json").stdout)
    assert stats["sessions"] == len(GOOD) + len(BAD)
    listed = bad("delete", "--all", "--dry-run").stdout.split()
    assert set(listed) == {*GOOD, *BAD}


def test_a_value_nested_1000_deep_fails_in_one_line(bad: Lgrs) -> None:
    client = redis.Redis.from_url(bad.url)
    keys = KeySchema(bad.prefix)
    deep = b"lgrs\x00\x01" + b"\x91" * 1000 + b"\xc0"  # a list in a list ... 1000 deep
    for key in client.scan_iter(match=keys.namespace("good-1", "").blob_prefix + "*"):
        if b":turn_count:" in key:
            client.set(key, deep, keepttl=True)
    client.close()
    for args in (("show", "good-1"), ("show", "good-1", "--json")):
        result = bad(*args, code=1)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("Error: ")
    # The other sessions still list.
    assert {r["sessionId"] for r in json.loads(bad("sessions", "--json").stdout)} >= set(GOOD)


# -- export file names and files ---------------------------------------------------------


TRICKY = ["victim", ".victim", "..victim", ".", "..", "a/b", "a:b", "a-b", "ü", "x" * 300]


@pytest.fixture
def tricky(redis_url: str, prefix: str) -> Iterator[Lgrs]:
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        for thread in TRICKY:
            interview(saver, thread, [f"answer of {thread[:20]}"])
        yield Lgrs(redis_url, prefix)
        saver.clear_all()


def test_filename_is_injective_bounded_and_plain() -> None:
    ids = [*TRICKY, "", "-", "victim-", "VICTIM", "a" * 10_000, "é" * 200, "\x00", "/etc/passwd"]
    names = [export_filename(i, "json") for i in ids]
    assert len(set(names)) == len(ids)
    for name in names:
        assert len(name.encode()) <= SLUG_CHARS + HASH_CHARS + 6 < 255
        assert "/" not in name and not name.startswith((".", "-")) and name.isascii()


def test_export_all_writes_one_file_per_tricky_id(tricky: Lgrs, tmp_path: Path) -> None:
    summary = json.loads(tricky("export", "--all", "-o", str(tmp_path), "--json").stdout)
    assert summary["errors"] == []
    assert {f["sessionId"] for f in summary["files"]} == set(TRICKY)
    assert len(list(tmp_path.iterdir())) == len(TRICKY)
    for item in summary["files"]:
        path = Path(item["file"])
        assert path.parent == tmp_path
        assert json.loads(path.read_text("utf-8"))["sessionId"] == item["sessionId"]


def test_export_all_never_writes_through_a_planted_symlink(tricky: Lgrs, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", "utf-8")
    out = tmp_path / "out"
    out.mkdir()
    planted = out / export_filename("victim", "json")
    planted.symlink_to(victim)
    dangling = out / export_filename("a/b", "json")
    dangling.symlink_to(tmp_path / "created-by-attacker")
    result = tricky("export", "--all", "-o", str(out), "--json")
    summary = json.loads(result.stdout)
    assert victim.read_text("utf-8") == "precious"
    assert not (tmp_path / "created-by-attacker").exists()
    assert planted.is_symlink() and dangling.is_symlink()
    failed = {e["sessionId"]: e["error"] for e in summary["errors"]}
    assert set(failed) == {"victim", "a/b"}
    assert "symlink" in failed["victim"]
    assert len(summary["files"]) == len(TRICKY) - 2
    # --overwrite replaces earlier export files, never a symlink.
    again = json.loads(tricky("export", "--all", "-o", str(out), "--overwrite", "--json").stdout)
    assert {e["sessionId"] for e in again["errors"]} == {"victim", "a/b"}
    assert victim.read_text("utf-8") == "precious"
    rerun = json.loads(tricky("export", "--all", "-o", str(out), "--json").stdout)
    assert len(rerun["errors"]) == len(TRICKY) and "--overwrite" in rerun["errors"][0]["error"]
    assert os.path.islink(planted)


def test_maps_nested_deep_are_skipped_and_named(bad: Lgrs, tmp_path: Path) -> None:
    """A messages value nested 1000 deep (Python recursion) or 3000 deep (msgpack's stack)."""
    with RedisCheckpointSaver.from_url(bad.url, key_prefix=bad.prefix) as saver:
        client = redis.Redis.from_url(bad.url)
        for thread, depth in (("deep-1000", 1000), ("deep-3000", 3000)):
            interview(saver, thread, ["an answer"])
            blobs = saver.keys.namespace(thread, "").blob_prefix
            for key in client.scan_iter(match=blobs + "*"):
                if b":messages:" in key:
                    value = b"lgrs\x00\x01\x91" + b"\x81\xa1a" * depth + b"\xc0"
                    client.set(key, value, keepttl=True)
        client.close()
    summary = json.loads(bad("export", "--all", "-o", str(tmp_path), "--json").stdout)
    assert {f["sessionId"] for f in summary["files"]} == set(GOOD)
    failed = {e["sessionId"]: e["error"] for e in summary["errors"]}
    assert set(failed) == {*BAD, "deep-1000", "deep-3000"}
    assert "nested too deeply" in failed["deep-1000"]
    assert len(list(tmp_path.iterdir())) == len(GOOD)  # no half-written file left
    result = bad("sessions", "--json")
    rows = {r["sessionId"]: r for r in json.loads(result.stdout)}
    assert rows["good-1"]["messages"] == 4
    # The listing counts from the record (`lengths`) and decodes no value, so
    # the damaged one is listed; `show` and `export` are where it is named.
    assert rows["deep-3000"]["messages"] == 4 and rows["deep-3000"]["error"] is None
    result = bad("show", "deep-1000", code=1)
    expected = "Error: a stored value is nested too deeply to show"
    assert result.stderr.strip().splitlines() == [expected]


# -- a key of another type ----------------------------------------------------------------


def test_a_key_of_another_type_fails_only_its_own_session(redis_url: str, prefix: str) -> None:
    """A hash planted at one session's `latest`, timeline or record: every
    listing command still lists the others, names the culprit, and exits 0."""
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        for thread in ("good-1", "bad-latest", "bad-timeline", "bad-record", "good-2"):
            interview(saver, thread, ["an answer"])
        client = redis.Redis.from_url(redis_url)
        for thread, key in [
            ("bad-latest", saver.keys.namespace("bad-latest", "").latest),
            ("bad-timeline", saver.keys.namespace("bad-timeline", "").timeline),
            ("bad-record", _latest_record(client, saver.keys, "bad-record")),
        ]:
            client.delete(key)
            if thread == "bad-record":
                client.set(key, "planted by hand")
            else:
                client.hset(key, "planted", "by hand")
        lgrs = Lgrs(redis_url, prefix)
        named = {"bad-latest", "bad-timeline", "bad-record"}
        result = lgrs("sessions", "--json")
        rows = {r["sessionId"]: r for r in json.loads(result.stdout)}
        assert set(rows) == {*GOOD, *named}
        for thread in named:
            assert "another type" in rows[thread]["error"], rows[thread]
            assert rows[thread]["messages"] is None
        assert "`latest` pointer" in rows["bad-latest"]["error"]
        assert "timeline" in rows["bad-timeline"]["error"]
        assert all(rows[g]["error"] is None and rows[g]["messages"] == 4 for g in GOOD)
        warned = {t for t in named if f"'{t}'" in result.stderr}
        assert warned == named, result.stderr
        assert "Traceback" not in lgrs("sessions").output
        stats = lgrs("stats", "--json")
        assert json.loads(stats.stdout)["sessions"] == 5
        assert {e["sessionId"] for e in json.loads(stats.stdout)["errors"]} == named - {
            "bad-record"  # its index entries are sound; only its record is not
        }
        dry = lgrs("delete", "--all", "--dry-run")
        assert set(dry.stdout.split()) == {*GOOD, *named}
        client.close()
        saver.clear_all()
