"""``lgrs serve`` in a real headless Chromium: click through, export, hostile text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from support.graphs import interview_graph
from support.lgrs_sessions import CHAT, INTERVIEW, PII, SUBGRAPH, interview

from .conftest import (
    ENCRYPTED,
    HOSTILE,
    HOSTILE_ID,
    LEGACY,
    LEGACY_HOSTILE_ID,
    Watched,
    start_serve,
    stop_serve,
)


def _clean(web: Watched) -> None:
    assert web.dialogs == []
    assert web.errors == []
    assert web.foreign_requests() == []


def test_web_sessions_page_lists_every_session(web: Watched) -> None:
    web.goto("/")
    rows = web.page.locator("table.sessions tbody tr")
    ids = rows.locator("td.id a").all_inner_texts()
    assert {INTERVIEW, CHAT, PII, SUBGRAPH, ENCRYPTED} <= set(ids)
    assert "9 sessions" in web.page.inner_text("#count")
    sealed = web.page.locator("tr", has=web.page.get_by_role("link", name=ENCRYPTED, exact=True))
    assert sealed.locator(".badge").inner_text() == "encrypted"
    web.shot("sessions")
    web.goto("/?q=iv-")
    assert web.page.locator("td.id a").all_inner_texts() == [INTERVIEW]
    web.goto("/?user=u1&sort=id&order=asc")
    assert web.page.locator("td.id a").all_inner_texts() == [CHAT, INTERVIEW]
    web.goto("/?per=4&page=2&sort=id&order=asc")
    assert "page 2 of 3" in web.page.inner_text("#count")
    _clean(web)


def test_web_click_through_session_timeline_checkpoint_diff(web: Watched) -> None:
    web.goto("/")
    web.page.get_by_role("link", name=INTERVIEW, exact=True).click()
    page = web.page
    assert page.inner_text("h1") == INTERVIEW
    first = page.locator("#chat .bubble").first.locator(".text").inner_text()
    assert first == "Tell me about a project you are proud of."
    assert "I built a compiler in Rust" in page.locator("#chat .bubble.user").inner_text()
    # the tool call is folded with its result, which has no bubble of its own
    call = page.locator("details.toolcall")
    assert "score_answer" in call.locator("summary").inner_text()
    assert page.locator("#chat .bubble.tool").count() == 0
    assert page.inner_text("#interrupt .question") == "What was the hardest bug you fixed?"
    assert "turn_count" in page.inner_text("section.state")
    assert page.locator("#live").is_visible()
    web.shot("session")

    page.click("#timeline-link")
    rows = page.locator("table.timeline tbody tr")
    assert rows.count() >= 3
    assert "ask" in rows.first.inner_text()
    web.shot("timeline")

    rows.nth(1).locator("td.id a").click()
    assert page.locator("h1").inner_text().startswith("Checkpoint")
    assert "turn_count" in page.inner_text("#state")
    web.shot("checkpoint")
    page.click("#diff-parent")
    assert "turn_count" in page.inner_text("#diff-result")
    page.go_back()
    page.go_back()

    page.locator("input[name=cp]").nth(0).check()
    page.locator("input[name=cp]").last.check()
    page.click("#diff")
    result = page.inner_text("#diff-result")
    assert "I built a compiler in Rust" in result
    assert "turn_count" in result
    web.shot("diff")
    _clean(web)


def test_web_subgraph_namespaces(web: Watched) -> None:
    web.goto(f"/timeline?id={SUBGRAPH}")
    links = web.page.locator(".namespaces a")
    assert links.first.inner_text() == "root"
    links.nth(1).click()
    assert "interview:" in web.page.inner_text(".count")
    assert web.page.locator("table.timeline tbody tr").count() >= 1
    _clean(web)


def test_web_export_json_csv_and_redaction(web: Watched, tmp_path: Path) -> None:
    web.goto(f"/session?id={PII}")
    with web.page.expect_download() as info:
        web.page.click("#export")
    doc = json.loads(Path(info.value.path()).read_text())
    assert doc["sessionId"] == PII and "jane.doe@example.com" in json.dumps(doc)
    assert info.value.suggested_filename == f"{PII}.json"

    web.page.select_option("select[name=format]", "csv")
    web.page.check("input[name=redact]")
    with web.page.expect_download() as info:
        web.page.click("#export")
    text = Path(info.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[1]["role"] == "user"
    assert "[EMAIL]" in rows[1]["content"] and "jane.doe" not in text
    _clean(web)


def test_web_doctor_page(web: Watched) -> None:
    web.goto("/doctor")
    assert web.page.locator("#findings tbody tr").count() >= 3
    web.shot("doctor")
    _clean(web)


def test_web_hostile_session_executes_nothing(web: Watched) -> None:
    web.goto("/?q=onerror")
    _clean(web)  # nothing ran, first: a failed text check below would hide that
    assert web.page.get_by_role("link", name=HOSTILE_ID, exact=True).count() == 1
    web.goto(f"/session?id={quote(HOSTILE_ID)}")
    _clean(web)
    page = web.page
    chat = page.inner_text("#chat")
    for text in (HOSTILE[0], HOSTILE[1], "click me", HOSTILE[5], "{{ 7*7 }}"):
        assert text in chat, text
    assert "\\x1b[31mred" in chat and "\\u202eevil-bidi" in chat  # ESC and bidi shown, not obeyed
    assert "image (not loaded)" in chat
    assert page.locator("#chat a, #chat img, #chat script, #chat svg").count() == 0
    assert HOSTILE[1] in page.inner_text("#interrupt .question")
    page.locator("details.toolcall summary").click()
    web.shot("hostile")
    page.click("#timeline-link")
    page.locator("table.timeline td.id a").first.click()
    _clean(web)
    assert HOSTILE[0] in page.inner_text("#state")
    page.go_back()
    page.locator("input[name=cp]").nth(0).check()
    page.locator("input[name=cp]").last.check()
    page.click("#diff")
    _clean(web)
    assert HOSTILE[2] in page.inner_text("#diff-result")


def test_web_legacy_sessions_listed_apart_and_shown_read_only(
    web: Watched, legacy_canary: Path
) -> None:
    web.goto("/")
    ids = web.page.locator("table.sessions td.id a").all_inner_texts()
    assert LEGACY not in ids and LEGACY_HOSTILE_ID not in ids  # as in `lgrs sessions`
    web.page.click("#legacy-link")
    assert web.page.inner_text("#count") == "2 legacy pickled sessions"
    link = web.page.get_by_role("link", name=LEGACY, exact=True)
    assert web.page.locator("tr", has=link).locator(".badge").inner_text() == "legacy"
    hostile = web.page.locator(
        "tr", has=web.page.get_by_role("link", name=LEGACY_HOSTILE_ID, exact=True)
    )
    assert hostile.locator(".badge").inner_text() == "refused"
    assert hostile.locator(".why").inner_text() == "builtins.exec"
    web.shot("legacy")
    _clean(web)

    link.click()
    page = web.page
    assert page.inner_text("h1") == LEGACY
    assert "LEGACY pickled session, read-only" in page.inner_text("#legacy")
    assert page.locator("#chat .bubble").count() == 7
    assert (
        page.locator("#chat .bubble.user")
        .first.inner_text()
        .endswith("answer 0: I like building reliable systems")
    )
    assert "turn_count" in page.inner_text("section.state")
    assert page.locator("#timeline-link").count() == 0 and page.locator("#live").count() == 0
    web.shot("legacy-session")
    _clean(web)

    page.go_back()
    page.get_by_role("link", name=LEGACY_HOSTILE_ID, exact=True).click()
    _clean(web)
    assert page.inner_text("h1") == LEGACY_HOSTILE_ID
    assert "builtins.exec" in page.inner_text("#refused")
    assert "__legacy_type__" in page.inner_text("section.state")
    with page.expect_download() as info:
        page.click("#export")
    assert json.loads(Path(info.value.path()).read_text())["refused"] == ["builtins.exec"]
    _clean(web)
    assert not legacy_canary.exists()


def test_web_encrypted_session_says_so(web: Watched) -> None:
    web.goto(f"/session?id={ENCRYPTED}")
    assert "encrypted" in web.page.inner_text("#encrypted")
    assert "LANGGRAPH_AES_KEY" in web.page.inner_text("#encrypted")
    assert web.page.locator("#chat .bubble").count() == 0
    _clean(web)


def test_web_live_session_refreshes_itself(
    chromium: Any, redis_url: str, prefix: str, tmp_path: Path
) -> None:
    saver = RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix)
    served = start_serve(redis_url, prefix)
    try:
        interview(saver, "live-1", [])
        page = chromium.new_page()
        page.goto(f"{served.url}session?id=live-1")
        assert page.locator("#chat .bubble").count() == 0
        graph = interview_graph().compile(checkpointer=saver)
        graph.invoke(Command(resume="an answer typed meanwhile"), _config("live-1"))
        page.wait_for_selector("text=an answer typed meanwhile", timeout=15_000)
        assert "What was the hardest bug" in page.inner_text("#interrupt")
        page.close()
    finally:
        stop_serve(served)
        saver.clear_all()
        saver.close()


def _config(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


def test_web_quoted_ids_round_trip(web: Watched) -> None:
    odd = "we:ird *id{x}/ü"
    web.goto(f"/session?id={quote(odd)}")
    assert web.page.inner_text("h1") == odd
    _clean(web)


def test_web_skipped_and_unreadable_rows_say_why(
    chromium: Any, redis_url: str, prefix: str
) -> None:
    saver = RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix)
    interview(saver, "fine-1", ["an answer"])
    interview(saver, "broken-1", ["an answer"])
    saver._sync().set(saver.keys.namespace("broken-1", "").latest, b"xx\xff", keepttl=True)
    saver._sync().zadd(saver.keys.sessions, {b"\xff<b>stray</b>": 1})
    served = start_serve(redis_url, prefix)
    try:
        page = chromium.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(served.url)
        assert page.inner_text("#count") == "2 sessions; 1 index entry skipped (not UTF-8)"
        skipped = page.locator("tr.skipped")
        assert skipped.locator("code.entry").inner_text() == "b'\\xff<b>stray</b>'"
        assert skipped.locator(".badge").inner_text() == "skipped"
        assert "skipped: it is not UTF-8" in skipped.locator(".why").inner_text()
        assert skipped.locator("a, b").count() == 0  # no link to open, no markup obeyed
        broken = page.locator("tr.unreadable")
        assert broken.locator("a").inner_text() == "broken-1"
        assert "`latest` pointer is not UTF-8" in broken.locator(".why").inner_text()
        assert page.locator("tr.ok a").all_inner_texts() == ["fine-1"]
        assert errors == []
        page.close()
    finally:
        stop_serve(served)
        saver.clear_all()
        saver.close()
