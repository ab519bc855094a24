"""The web sessions list and ``lgrs sessions --json`` agree on the same data.

Both read `Browser.session_page`; these tests hold that on data with every
kind of trouble a listing meets: sessions that cannot be read, an encrypted
one, index entries that are not UTF-8 (in the global and a per-user index),
an indexed session that is gone, and filters by user and time.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from starlette.testclient import TestClient

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.browse import Browser, SkippedEntry
from langgraph_redis_saver.errors import SkippedSessionWarning
from langgraph_redis_saver.web import create_app
from support.ciphers import XorSerializer
from support.lgrs_sessions import Lgrs, interview

NOT_UTF8 = b"\xff\xfe-stray\x1b[31m"
"""An index entry another tool wrote: not UTF-8, with an ESC sequence in it."""
ALICE_STRAY = b"alice-\xc3("


class _Rows(HTMLParser):
    """The rows of the sessions table: status, id, problem and cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self._in_body = False
        self._part: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append({"status": a.get("class"), "id": "", "why": "", "cells": []})
        elif self._in_body and tag == "td":
            self.rows[-1]["cells"].append("")
        elif self._in_body and (tag == "a" or (tag == "code" and a.get("class") == "entry")):
            self._part = "id"
        elif self._in_body and tag == "div" and a.get("class") == "why":
            self._part = "why"

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag in ("a", "code", "div"):
            self._part = None

    def handle_data(self, data: str) -> None:
        if self._in_body and self.rows and self.rows[-1]["cells"]:
            self.rows[-1]["cells"][-1] += data
            if self._part:
                self.rows[-1][self._part] += data


def web_rows(client: TestClient, **params: str) -> tuple[int, list[dict[str, Any]]]:
    """``(the rows the page counts, its rows)`` of the sessions page."""
    page = client.get("/?" + urlencode({"per": "500", **params}))
    assert page.status_code == 200, page.text
    count = re.search(
        r'id="count">(\d+) sessions?(?:; (\d+) index entr(?:y|ies) skipped)?', page.text
    )
    assert count is not None
    parser = _Rows()
    parser.feed(page.text)
    return int(count[1]) + int(count[2] or 0), [r for r in parser.rows if r["status"]]


def cli_rows(lgrs: Lgrs, *args: str) -> list[dict[str, Any]]:
    """``lgrs sessions --json`` rows; its human footer counts them the same way."""
    rows: list[dict[str, Any]] = json.loads(
        lgrs("sessions", "--json", "--limit", "0", *args).stdout
    )
    footer = lgrs("sessions", "--limit", "0", *args).stdout.strip().splitlines()[-1]
    skipped = sum(r["sessionId"] is None for r in rows)
    n = len(rows) - skipped
    assert footer.startswith(f"{n} session{'' if n == 1 else 's'}"), footer
    entries = "entry" if skipped == 1 else "entries"
    assert (f"; {skipped} index {entries} skipped" in footer) == bool(skipped), footer
    return rows


def assert_agree(web: list[dict[str, Any]], cli: list[dict[str, Any]]) -> None:
    """Row by row: the same sessions in the same order, counts and problems."""
    assert len(web) == len(cli), ([w["id"] for w in web], [c["sessionId"] for c in cli])
    for w, c in zip(web, cli, strict=True):
        if c["sessionId"] is None:  # a skipped index entry: shown by its bytes literal
            assert w["status"] == "skipped" and w["id"] in c["error"], (w, c)
        else:
            assert w["id"] == c["sessionId"]
            expected = "encrypted" if c["encrypted"] else "unreadable" if c["error"] else "ok"
            assert w["status"] == expected, (w, c)
        assert w["why"] == (c["error"] or ""), (w, c)
        _, _, messages, checkpoints, _, _ = (cell.strip() for cell in w["cells"])
        assert messages == ("-" if c["messages"] is None else str(c["messages"])), (w, c)
        assert checkpoints == ("-" if c["checkpoints"] is None else str(c["checkpoints"])), (w, c)


@pytest.fixture
def mixed(redis_url: str, prefix: str) -> Iterator[tuple[Lgrs, TestClient]]:
    """Sessions of alice and bob, some unreadable, plus stray and gone index entries."""
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "alice-1", ["an answer"], user_id="alice")
        interview(saver, "bob-1", ["an answer", "another"], user_id="bob")
        interview(saver, "broken-ptr", ["an answer"], user_id="alice")
        interview(saver, "dangling", [], user_id="alice")
        with RedisCheckpointSaver.from_url(
            redis_url, key_prefix=prefix, serde=XorSerializer()
        ) as sealed:
            interview(sealed, "sealed-1", ["an answer"], user_id="bob")
        interview(saver, "alice-2", [], user_id="alice")
        interview(saver, "nobody-1", ["an answer"])
        client = redis.Redis.from_url(redis_url)
        keys = saver.keys
        client.set(keys.namespace("broken-ptr", "").latest, b"xx\xff", keepttl=True)
        client.set(keys.namespace("dangling", "").latest, "1f0-no-such", keepttl=True)
        middle = client.zscore(keys.sessions, "dangling")
        assert middle is not None
        client.zadd(keys.sessions, {NOT_UTF8: middle + 0.5, "gone": middle - 0.5})
        client.zadd(keys.sessions_by("user_id", "alice"), {ALICE_STRAY: middle + 0.5, "gone": 1})
        browser = Browser.from_url(redis_url, prefix=prefix, cluster=False)
        app = create_app(browser)
        yield Lgrs(redis_url, prefix), TestClient(app, base_url="http://127.0.0.1:8765")
        browser.close()
        client.close()
        saver.clear_all()


def test_web_list_and_lgrs_sessions_json_agree(mixed: tuple[Lgrs, TestClient]) -> None:
    lgrs, client = mixed
    cli = cli_rows(lgrs)
    total, web = web_rows(client)
    assert total == len(cli) == 8  # seven sessions and the stray entry; "gone" in neither
    assert_agree(web, cli)
    by_id = {c["sessionId"]: c for c in cli}
    assert "not UTF-8" in by_id["broken-ptr"]["error"]
    assert "'1f0-no-such' does not exist" in by_id["dangling"]["error"]
    assert by_id["sealed-1"]["encrypted"]
    skipped = by_id[None]
    assert skipped["checkpoints"] is None and skipped["messages"] is None
    assert "skipped: it is not UTF-8" in skipped["error"]
    assert "\\x1b" in skipped["error"] and "\x1b" not in skipped["error"]  # shown, not obeyed


def test_web_list_and_lgrs_sessions_agree_on_a_user_filter(
    mixed: tuple[Lgrs, TestClient],
) -> None:
    lgrs, client = mixed
    cli = cli_rows(lgrs, "--user", "alice")
    total, web = web_rows(client, user="alice")
    assert total == len(cli)
    assert_agree(web, cli)
    assert [c["sessionId"] for c in cli] == ["alice-2", None, "dangling", "broken-ptr", "alice-1"]
    assert "alice-\\xc3(" in cli[1]["error"]
    assert cli_rows(lgrs, "--user", "carol") == [] and web_rows(client, user="carol") == (0, [])


def test_web_list_and_lgrs_sessions_agree_on_since(mixed: tuple[Lgrs, TestClient]) -> None:
    lgrs, client = mixed
    since = next(c["updatedAt"] for c in cli_rows(lgrs) if c["sessionId"] == "dangling")
    cli = cli_rows(lgrs, "--since", since)
    total, web = web_rows(client, since=since)
    assert cli[-1]["sessionId"] == "dangling"  # at or after: the session written then is in
    assert total == len(cli) == 5
    assert_agree(web, cli)


def test_web_pages_are_slices_of_the_lgrs_listing(mixed: tuple[Lgrs, TestClient]) -> None:
    lgrs, client = mixed
    cli = cli_rows(lgrs)
    for page in (1, 2, 3):
        total, web = web_rows(client, per="3", page=str(page))
        assert total == len(cli)
        assert_agree(web, cli[(page - 1) * 3 : page * 3])
    assert [c["sessionId"] for c in cli_rows(lgrs, "--limit", "3")] == [
        c["sessionId"] for c in cli[:3]
    ]


def test_web_list_shows_a_skipped_entry_as_text(mixed: tuple[Lgrs, TestClient]) -> None:
    _, client = mixed
    page = client.get("/").text
    assert 'class="badge skipped"' in page
    assert "b&#39;\\xff\\xfe-stray\\x1b[31m&#39;" in page
    assert "\x1b" not in page and "\ufffd" not in page


def test_browser_sessions_warns_of_a_skipped_entry(
    mixed: tuple[Lgrs, TestClient], redis_url: str, prefix: str
) -> None:
    with Browser.from_url(redis_url, prefix=prefix) as b:
        with pytest.warns(SkippedSessionWarning, match=r"entry b'\\xff\\xfe-stray"):
            rows = b.sessions()
        page = b.session_page(count=True)
    assert len(rows) == 7 and page.total == 8
    assert sum(isinstance(r, SkippedEntry) for r in page.rows) == 1
    with Browser.from_url(redis_url, prefix=prefix) as b, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [i.thread_id for i in b.listing(user="bob")] == ["sealed-1", "bob-1"]
