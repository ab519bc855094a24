"""Fixtures for the ``lgrs serve`` tests: stored sessions, a running server, a real Chromium.

The browser is Debian's ``chromium`` driven by Playwright (``playwright
install`` downloads nothing here). Without it the browser tests skip on a
laptop and fail in CI; ``make test`` installs it when run as root.
Screenshots go to ``tests/artifacts/web/`` (ignored by git); ``make
docs-img`` copies them into ``docs/img/web/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

from langgraph_redis_saver import RedisCheckpointSaver, SafeMsgpackSerializer
from support.ciphers import XorCipher
from support.legacy_store import hostile_session, write_legacy_session
from support.lgrs_sessions import write_sessions

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
CHROMIUM = os.environ.get("LGRS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTHS = {"desktop": 1280, "phone": 390}

# Stored text is attacker-controlled: each of these must show up as text and run nothing.
HOSTILE = [
    "<script>alert('xss-script')</script>",
    "<img src=x onerror=alert('xss-img')>",
    "<a href=\"javascript:alert('xss-link')\">click me</a>",
    "\x1b[31mred\x1b[0m \x1b]8;;http://evil.example/\x07osc-link\x1b]8;;\x07",
    "\u202eevil-bidi",
    "\"'><svg onload=alert('xss-svg')>",
    "{{ 7*7 }} {% raw %}",
]
HOSTILE_ID = "<img src=x onerror=alert('xss-id')>"
ENCRYPTED = "sealed-1"
LEGACY = "cli_20251108_145739"
"""A legacy pickled session (the store this saver replaces), listed apart."""
LEGACY_HOSTILE_ID = "legacy <img src=x onerror=alert('xss-legacy')>"
"""A legacy session whose pickle hides a gadget that would write `legacy_canary`."""


class HostileState(MessagesState, total=False):
    note: str


def hostile_graph() -> StateGraph:
    """A real graph whose messages, tool calls, state and interrupt carry hostile text."""
    text = "\n".join(HOSTILE)

    def bot(state: HostileState) -> dict[str, Any]:
        call = {"name": "lookup<script>", "args": {"q": text}, "id": "call_x"}
        image = {"type": "image_url", "image_url": {"url": "http://evil.example/pixel.png"}}
        return {
            "messages": [
                AIMessage([{"type": "text", "text": text}, image], id="ai1"),
                AIMessage("", tool_calls=[call], id="ai2"),
                ToolMessage(text, tool_call_id="call_x", id="tool1"),
            ],
            "note": text,
        }

    def ask(state: HostileState) -> dict[str, Any]:
        answer = interrupt({"question": f"Question {HOSTILE[1]} {HOSTILE[3]}"})
        return {"messages": [HumanMessage(answer, id="h2")]}

    builder = StateGraph(HostileState)
    builder.add_node("bot", bot)
    builder.add_node("ask", ask)
    builder.add_edge(START, "bot")
    builder.add_edge("bot", "ask")
    builder.add_edge("ask", END)
    return builder


def write_web_sessions(url: str, prefix: str) -> None:
    """The ``lgrs`` test sessions, a hostile one, and one the reader cannot decrypt."""
    write_sessions(url, prefix)
    with RedisCheckpointSaver.from_url(url, key_prefix=prefix) as saver:
        hostile_graph().compile(checkpointer=saver).invoke(
            {"messages": [HumanMessage(HOSTILE[0] + HOSTILE[2], id="h1")]},
            {"configurable": {"thread_id": HOSTILE_ID}},
        )
    sealed = EncryptedSerializer(XorCipher(), SafeMsgpackSerializer())
    with RedisCheckpointSaver.from_url(url, key_prefix=prefix, serde=sealed) as saver:
        hostile_graph().compile(checkpointer=saver).invoke(
            {"messages": [HumanMessage("secret", id="h1")]},
            {"configurable": {"thread_id": ENCRYPTED}},
        )


def write_legacy_web_sessions(url: str, prefix: str, canary: Path) -> None:
    """Two legacy pickled sessions: an interview, and a hostile one (id and pickle)."""
    client = redis.Redis.from_url(url)
    try:
        write_legacy_session(client, LEGACY, prefix=prefix, turns=3)
        payload = hostile_session(canary, "exec")
        write_legacy_session(client, LEGACY_HOSTILE_ID, prefix=prefix, payload=payload)
    finally:
        client.close()


@pytest.fixture(scope="session")
def legacy_canary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file the hostile legacy pickle's gadget would write: it must never appear."""
    return tmp_path_factory.mktemp("legacy") / "canary"


@pytest.fixture(scope="session")
def web_prefix(redis_url: str, legacy_canary: Path) -> Iterator[str]:
    prefix = f"test-web-{uuid.uuid4().hex[:8]}:checkpoint"
    write_web_sessions(redis_url, prefix)
    write_legacy_web_sessions(redis_url, prefix, legacy_canary)
    yield prefix
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        saver.clear_all()


@dataclass
class Served:
    """A running ``lgrs serve`` process."""

    url: str
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)


def start_serve(
    redis_url: str, prefix: str, *args: str, env: dict[str, str] | None = None
) -> Served:
    """Run ``lgrs serve --port 0`` and read the address it prints."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    env.pop("LGRS_TOKEN", None)
    cmd = [sys.executable, "-m", "langgraph_redis_saver", "--url", redis_url, "--prefix", prefix]
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"(http://\S+)", line)
    if not found:
        proc.kill()
        rest = proc.communicate(timeout=10)[0]
        pytest.fail(f"lgrs serve did not start: {line}{rest}")
    return Served(found.group(1), proc, [line])


def stop_serve(served: Served) -> None:
    served.proc.terminate()
    try:
        served.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait(timeout=10)
    if served.proc.stdout is not None:
        served.proc.stdout.close()


@pytest.fixture(scope="session")
def served(redis_url: str, web_prefix: str) -> Iterator[Served]:
    """A read-only ``lgrs serve`` over the stored web sessions."""
    server = start_serve(redis_url, web_prefix)
    yield server
    stop_serve(server)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright.

    Module scope: Playwright's sync API keeps an event loop running in this
    thread, which async fixtures of later test modules could not share.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed: pip install playwright (in the dev extra)")
    if not Path(CHROMIUM).exists():
        _missing("no chromium binary: run `make test` as root, or apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _missing(reason: str) -> None:
    (pytest.fail if os.environ.get("CI") else pytest.skip)(reason)


@dataclass
class Watched:
    """A page with everything it does recorded: dialogs, console errors, requests."""

    page: Any
    base: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base.rstrip("/") + path)
        return response

    def shot(self, name: str) -> None:
        """Screenshots of the current page at both widths, into tests/artifacts/web/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for width in WIDTHS.values():
            self.page.set_viewport_size({"width": width, "height": 900})
            self.page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        self.page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(self.base.rstrip("/") + "/")]


@pytest.fixture
def web(chromium: Any, served: Served) -> Iterator[Watched]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    watched = Watched(page, served.url)

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: watched.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    page.on("request", lambda req: watched.requests.append(req.url))
    yield watched
    context.close()
