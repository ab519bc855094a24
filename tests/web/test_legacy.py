"""Legacy pickled sessions in ``lgrs serve``: the pages say what ``lgrs`` says.

The legacy list holds the rows of ``lgrs sessions --legacy --json``, a legacy
session's page the turns and state of ``lgrs show --json``, its export the
document of ``lgrs export``: the same restricted reader behind each. Hostile
pickles run nothing, pickles too big to read say why, and stored text is
shown as text.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from starlette.testclient import TestClient

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.browse import Browser
from langgraph_redis_saver.keys import KeySchema
from langgraph_redis_saver.web import create_app
from langgraph_redis_saver.web._views import visible
from support.legacy_store import (
    GADGETS,
    MEMORY_BOMBS,
    hostile_session,
    write_legacy_session,
)
from support.lgrs_sessions import Lgrs, interview

from .test_agreement import _Rows, cli_rows, web_rows

BASE = "http://127.0.0.1:8765"
ODD_ID = "<b>bold</b> & \x1b[31mred \u202eevil"
"""A legacy session id with markup, an ESC sequence and a bidi override."""


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    """The file a hostile pickle's gadget would create: it must never appear."""
    path = tmp_path / "canary"
    yield path
    assert not path.exists(), "a pickle's gadget ran"


@pytest.fixture
def site(
    redis_url: str, prefix: str, client: redis.Redis, canary: Path
) -> Iterator[tuple[Lgrs, TestClient]]:
    """One checkpointed session and legacy ones: plain, hostile, odd id, ambiguous, broken."""
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "iv-1", ["an answer"])
        write_legacy_session(client, "cli_20251108_145739", prefix=prefix, turns=3)
        write_legacy_session(client, "cli_2", prefix=prefix, turns=1, ttl=None)
        for kind in GADGETS:
            payload = hostile_session(canary, kind)
            write_legacy_session(client, f"evil-{kind}", prefix=prefix, payload=payload)
        write_legacy_session(client, ODD_ID, prefix=prefix)
        write_legacy_session(client, "a:b", prefix=prefix)
        write_legacy_session(client, "broken", prefix=prefix, payload=b"\x80\x04garbage")
        browser = Browser.from_url(redis_url, prefix=prefix, cluster=False)
        app = create_app(browser, allow_delete=True, where="test")
        yield Lgrs(redis_url, prefix), TestClient(app, base_url=BASE, follow_redirects=False)
        browser.close()
        saver.clear_all()


def legacy_rows(client: TestClient, **params: str) -> tuple[str, list[dict[str, Any]]]:
    """``(the count line, the rows)`` of the legacy sessions page."""
    page = client.get("/", params={"legacy": "1", "per": "500", **params})
    assert page.status_code == 200, page.text
    count = re.search(r'id="count">([^<]*)<', page.text)
    assert count is not None
    parser = _Rows()
    parser.feed(page.text)
    return count[1], [r for r in parser.rows if r["status"]]


def bubbles(page: str) -> list[tuple[str, str]]:
    """``(role, text)`` of each chat bubble of a session page."""
    found = re.findall(
        r'<article class="bubble ([^"]*)" id="turn-\d+">.*?<div class="text">(.*?)</div>',
        page,
        re.DOTALL,
    )
    return [(html.unescape(role), html.unescape(text)) for role, text in found]


def state_fields(page: str) -> dict[str, str]:
    """The state table of a session page: field -> value as shown."""
    found = re.findall(r"<tr><th>(.*?)</th><td><pre>(.*?)</pre></td></tr>", page, re.DOTALL)
    return {html.unescape(k): html.unescape(v) for k, v in found}


def test_web_lists_legacy_sessions_as_lgrs_sessions_legacy_does(
    site: tuple[Lgrs, TestClient],
) -> None:
    lgrs, client = site
    cli = json.loads(lgrs("sessions", "--legacy", "--json", "--limit", "0").stdout)
    count, web = legacy_rows(client)
    assert count == f"{len(cli)} legacy pickled sessions" and len(cli) == 10
    assert len(web) == len(cli)
    for w, c in zip(web, cli, strict=True):
        badge, _, why = c["status"].partition(":")
        assert w["id"] == visible(c["sessionId"]), (w, c)
        assert w["status"] == f"legacy {badge}", (w, c)
        assert w["why"] == why.strip(), (w, c)
        _, _, messages, turns, _, _ = (cell.strip() for cell in w["cells"])
        assert messages == ("-" if c["messages"] is None else str(c["messages"])), (w, c)
        assert turns == ("-" if c["turnCount"] is None else str(c["turnCount"])), (w, c)
    by_id = {c["sessionId"]: c for c in cli}
    assert by_id["cli_20251108_145739"]["status"] == "legacy"
    assert by_id["evil-exec"]["status"] == "refused: builtins.exec"
    assert by_id["broken"]["status"].startswith("unreadable: ")
    assert by_id["a:b"]["status"].startswith("ambiguous: ")
    # The sessions index's own listing leaves them out, on the web as in lgrs.
    total, rows = web_rows(client)
    assert total == 1 and [r["id"] for r in rows] == [c["sessionId"] for c in cli_rows(lgrs)]


def test_web_legacy_list_searches_pages_and_links(site: tuple[Lgrs, TestClient]) -> None:
    _, client = site
    count, rows = legacy_rows(client, q="EVIL-")
    assert count == "5 legacy pickled sessions"
    assert [r["id"] for r in rows] == sorted(f"evil-{k}" for k in GADGETS)
    count, rows = legacy_rows(client, per="3", page="4")
    assert count == "10 legacy pickled sessions, page 4 of 4" and len(rows) == 1
    page = client.get("/?legacy=1").text
    assert 'href="/session?id=cli_2"' in page
    assert "lgrs migrate --from-pickle --dry-run" in page
    assert 'id="ambiguous"' in page and "1 ambiguous legacy key " in page
    assert 'href="/?legacy=1" id="legacy-link"' in client.get("/").text


def test_web_legacy_session_page_shows_what_lgrs_show_shows(
    site: tuple[Lgrs, TestClient],
) -> None:
    lgrs, client = site
    doc = json.loads(lgrs("show", "cli_20251108_145739", "--json").stdout)
    page = client.get("/session", params={"id": "cli_20251108_145739"})
    assert page.status_code == 200, page.text
    assert bubbles(page.text) == [(t["role"], t["content"]) for t in doc["turns"]]
    assert len(doc["turns"]) == 7
    fields = state_fields(page.text)
    assert sorted(fields) == sorted(doc["state"])
    assert json.loads(fields["current_analysis"]) == doc["state"]["current_analysis"]
    assert "LEGACY pickled session, read-only (restricted unpickler)" in page.text
    assert 'id="refused"' not in page.text and doc["metadata"]["refused"] == []
    commands = "lgrs migrate --from-pickle --session cli_20251108_145739 --dry-run"
    assert commands in page.text
    assert 'id="timeline-link"' not in page.text  # it has no timeline
    assert "data-live-url" not in page.text  # nothing to poll: the saver never writes it


@pytest.mark.parametrize("kind", GADGETS)
def test_web_hostile_legacy_session_runs_nothing_and_says_what_it_refused(
    site: tuple[Lgrs, TestClient], canary: Path, kind: str
) -> None:
    lgrs, client = site
    session = f"evil-{kind}"
    doc = json.loads(lgrs("show", session, "--json").stdout)
    page = client.get("/session", params={"id": session})
    assert page.status_code == 200, page.text
    refused = re.search(r'id="refused">(.*?)</p>', page.text, re.DOTALL)
    assert refused is not None
    shown = html.unescape(re.sub(r"<[^>]+>", "", refused[1]))
    assert shown == "not rebuilt (shown as placeholders): " + ", ".join(doc["metadata"]["refused"])
    placeholder = json.loads(state_fields(page.text)["profile_data"])
    assert placeholder == doc["state"]["profile_data"]
    assert placeholder["x"]["__legacy_type__"] == doc["metadata"]["refused"][0]
    assert bubbles(page.text) == [(t["role"], t["content"]) for t in doc["turns"]]
    exported = client.get("/export", params={"id": session})
    assert exported.status_code == 200 and json.loads(exported.text)["refused"]
    assert client.get("/timeline", params={"id": session}).status_code == 404
    assert not canary.exists()


def test_web_legacy_session_with_markup_in_its_id_shows_it_as_text(
    site: tuple[Lgrs, TestClient],
) -> None:
    _, client = site
    for page in (client.get("/?legacy=1").text, client.get("/session", params={"id": ODD_ID}).text):
        assert "<b>bold" not in page
        # Form fields carry the id as stored (escaped for HTML), to export or delete it.
        shown = re.sub(r' value="[^"]*"', "", page)
        assert "\x1b" not in shown and "\u202e" not in shown
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; \\x1b[31mred \\u202eevil" in shown
    page = client.get("/session", params={"id": ODD_ID}).text
    command = "--session '<b>bold</b> & \\x1b[31mred \\u202eevil' --dry-run"  # shlex-quoted
    assert command in html.unescape(page)


@MEMORY_BOMBS
def test_web_legacy_pickle_too_big_to_read_says_what_lgrs_says(
    site: tuple[Lgrs, TestClient], client: redis.Redis, prefix: str, payload: bytes, reason: str
) -> None:
    lgrs, web = site
    write_legacy_session(client, "big", prefix=prefix, payload=payload)
    said = lgrs("show", "big", code=1).stderr
    assert reason in said and "legacy pickled session 'big' cannot be shown" in said
    page = web.get("/session", params={"id": "big"})
    assert page.status_code == 422
    message = re.search(r'id="error">(.*?)</p>', page.text, re.DOTALL)
    assert message is not None
    assert said.strip().removeprefix("Error: ") in html.unescape(message[1])
    (row,) = [r for r in legacy_rows(web)[1] if r["id"] == "big"]
    listed = json.loads(lgrs("sessions", "--legacy", "--json").stdout)
    (cli,) = [r for r in listed if r["sessionId"] == "big"]
    assert row["status"] == "legacy unreadable" and reason in row["why"]
    assert cli["status"] == f"unreadable: {row['why']}"
    exported = web.get("/export", params={"id": "big"})
    assert exported.status_code == 422
    assert "legacy pickled session &#39;big&#39; cannot be exported" in exported.text


def test_web_and_lgrs_never_fetch_an_oversized_legacy_pickle_whole(
    site: tuple[Lgrs, TestClient], client: redis.Redis, prefix: str
) -> None:
    lgrs, web = site
    size = 48 << 20  # three times the reader's 16 MiB limit
    write_legacy_session(client, "huge", prefix=prefix, payload=b"\x80\x04" + b"x" * size)
    for read in (
        lambda: lgrs("sessions", "--legacy", "--json").stdout,
        lambda: web.get("/?legacy=1").text,
        lambda: web.get("/session", params={"id": "huge"}).text,
    ):
        before = int(client.info("stats")["total_net_output_bytes"])
        text = read()
        sent = int(client.info("stats")["total_net_output_bytes"]) - before
        assert f"pickle of {size + 2} bytes is over the" in text
        assert sent < 20 << 20, f"{sent} bytes sent for a {size} byte value"


def test_web_legacy_timeline_says_what_lgrs_history_says(
    site: tuple[Lgrs, TestClient],
) -> None:
    lgrs, client = site
    said = json.loads(lgrs("history", "cli_2", "--json", code=1).stdout)
    page = client.get("/timeline", params={"id": "cli_2"})
    assert page.status_code == 404
    error = re.search(r'id="error">(.*?)</p>', page.text, re.DOTALL)
    assert error is not None and html.unescape(error[1]) == said["error"]
    for command in [said["show"], *said["migrate"]]:
        assert html.escape(command, quote=False) in page.text
    assert 'href="/session?id=cli_2" id="show-link"' in page.text
    assert client.get("/timeline", params={"id": "nope"}).status_code == 404


def test_web_legacy_export_is_the_lgrs_export_document(site: tuple[Lgrs, TestClient]) -> None:
    lgrs, client = site
    for options in ([], ["--redact", "--no-metadata"]):
        doc = json.loads(lgrs("export", "cli_2", *options).stdout)
        params = {
            "id": "cli_2",
            "redact": "1" if options else "",
            "metadata": "off" if options else "",
        }
        response = client.get("/export", params=params)
        assert response.status_code == 200
        assert json.loads(response.text) == doc and doc["legacy"] is True
    table = client.get("/export", params={"id": "cli_2", "format": "csv"}).text
    cells = list(csv.reader(io.StringIO(lgrs("export", "cli_2", "--format", "csv").stdout)))
    assert list(csv.reader(io.StringIO(table))) == cells and len(cells) == 4


def test_web_delete_removes_a_legacy_sessions_pickles_as_lgrs_delete_does(
    site: tuple[Lgrs, TestClient], client: redis.Redis, prefix: str
) -> None:
    lgrs, web = site
    planned = json.loads(lgrs("delete", "cli_2", "--dry-run", "--json").stdout)
    assert planned["sessions"] == [{"sessionId": "cli_2", "keys": 2, "legacy": True}]
    client.set(f"{prefix}:cli_2:notes", "an application's own key")
    page = web.get("/session", params={"id": "cli_2"}).text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    done = web.post("/delete", data={"id": "cli_2", "confirm": "cli_2", "csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/?deleted=cli_2"
    assert not client.exists(f"{prefix}:cli_2:latest", f"{prefix}:cli_2:checkpoint_id_0")
    assert client.get(f"{prefix}:cli_2:notes") == b"an application's own key"
    assert web.get("/session", params={"id": "cli_2"}).status_code == 404
    assert client.exists(f"{prefix}:cli_20251108_145739:latest")  # no other session


def test_web_doctor_counts_legacy_sessions_as_lgrs_doctor_does(
    site: tuple[Lgrs, TestClient],
) -> None:
    lgrs, client = site
    findings = json.loads(lgrs("doctor", "--json").stdout)["findings"]
    (legacy,) = [f for f in findings if f["check"] == "legacy sessions"]
    assert "10 legacy pickled session(s)" in legacy["message"]
    assert legacy["message"] in html.unescape(client.get("/doctor").text)


def test_web_head_of_a_legacy_or_damaged_session_says_so_instead_of_failing(
    site: tuple[Lgrs, TestClient], client: redis.Redis, prefix: str
) -> None:
    _, web = site
    keys = KeySchema(prefix)
    assert web.get("/api/head", params={"id": "cli_2"}).json() == {
        "checkpointId": None,
        "legacy": True,
    }
    client.set(keys.root_latest("bad"), b"\xff\xfe not text")
    answer = web.get("/api/head", params={"id": "bad"})
    assert answer.status_code == 422
    assert answer.json()["checkpointId"] is None
    assert "lgrs doctor" in answer.json()["error"]
    head = web.get("/api/head", params={"id": "iv-1"}).json()
    assert head == {"checkpointId": client.get(keys.root_latest("iv-1")).decode()}
