"""``lgrs serve`` over HTTP without a browser: guards, errors, the command itself."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.browse import Browser
from langgraph_redis_saver.cli.app import cli
from langgraph_redis_saver.keys import Field
from langgraph_redis_saver.web import create_app
from langgraph_redis_saver.web._guard import SECURITY_HEADERS
from support.lgrs_sessions import INTERVIEW, interview

from .conftest import start_serve, stop_serve

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def make_client(redis_url: str, web_prefix: str) -> Iterator[Callable[..., TestClient]]:
    browsers: list[Browser] = []

    def make(prefix: str = web_prefix, url: str = redis_url, **options: Any) -> TestClient:
        browser = Browser.from_url(url, prefix=prefix, cluster=False)
        browsers.append(browser)
        return TestClient(create_app(browser, **options), base_url=BASE, follow_redirects=False)

    yield make
    for b in browsers:
        b.close()


def test_web_security_headers_on_every_response(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    for path, status in [("/", 200), ("/static/app.js", 200), ("/nope", 404), ("/session", 400)]:
        response = client.get(path)
        assert response.status_code == status, path
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert "'unsafe-inline'" not in SECURITY_HEADERS["content-security-policy"]


def test_web_host_header_checked_against_dns_rebinding(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    assert client.get("/", headers={"host": "localhost:8765"}).status_code == 200
    assert client.get("/", headers={"host": "[::1]:8765"}).status_code == 200
    refused = client.get("/", headers={"host": "attacker.example:8765"})
    assert refused.status_code == 400
    named = make_client(extra_hosts=("box.lan",))
    assert named.get("/", headers={"host": "box.lan:8765"}).status_code == 200


def test_web_token_demanded_when_set(make_client: Callable[..., TestClient]) -> None:
    client = make_client(token="s3cret-token", host="0.0.0.0")
    assert client.get("/", headers={"host": "anything.example"}).status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    login = client.get("/session?id=iv-1&token=s3cret-token")
    assert login.status_code == 303
    assert login.headers["location"] == "/session?id=iv-1"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert client.get("/session?id=iv-1").status_code == 200  # the cookie now
    fresh = make_client(token="s3cret-token")
    assert fresh.get("/", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
    assert fresh.get("/static/app.css").status_code == 401


def test_web_read_only_unless_allow_delete(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert "/delete" not in client.get(f"/session?id={INTERVIEW}").text
    refused = client.post("/delete", data={"id": INTERVIEW, "confirm": INTERVIEW})
    assert refused.status_code == 403
    assert "--allow-delete" in refused.text


def test_web_delete_needs_csrf_and_confirmation(
    make_client: Callable[..., TestClient], redis_url: str, prefix: str
) -> None:
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "doomed", ["an answer"])
    client = make_client(prefix=prefix, allow_delete=True)
    page = client.get("/session?id=doomed").text
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    form = {"id": "doomed", "confirm": "doomed", "csrf": csrf}
    assert client.post("/delete", data={**form, "csrf": "forged"}).status_code == 403
    assert (
        client.post("/delete", data={k: v for k, v in form.items() if k != "csrf"}).status_code
        == 403
    )
    assert client.post("/delete", data={**form, "confirm": "x"}).status_code == 400
    cross = client.post("/delete", data=form, headers={"origin": "http://attacker.example"})
    assert cross.status_code == 403
    assert client.get("/session?id=doomed").status_code == 200  # nothing was deleted so far
    done = client.post("/delete", data=form, headers={"origin": BASE})
    assert done.status_code == 303 and done.headers["location"] == "/?deleted=doomed"
    assert client.get("/session?id=doomed").status_code == 404
    assert "Deleted session" in client.get("/?deleted=doomed").text


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/session", 400, "missing the &#39;id&#39; parameter"),
        ("/?sort=size", 400, "sort must be one of"),
        ("/?since=yesterday-ish", 400, "is not a time"),
        ("/?page=two", 400, "is not a number"),
        ("/diff?id=iv-1&cp=a", 400, "pick exactly two checkpoints"),
        ("/session?id=no-such-session", 404, "not found"),
        ("/timeline?id=iv-1&ns=nowhere", 404, "has no namespace"),
        ("/export?id=iv-1&format=xml", 400, "format must be json or csv"),
    ],
)
def test_web_bad_requests_say_what_went_wrong(
    make_client: Callable[..., TestClient], path: str, status: int, says: str
) -> None:
    response = make_client().get(path)
    assert response.status_code == status
    assert says in response.text


def test_web_redis_down_is_a_clear_page(make_client: Callable[..., TestClient]) -> None:
    client = make_client(url=f"redis://127.0.0.1:{_closed_port()}/0", where="127.0.0.1:1")
    response = client.get("/")
    assert response.status_code == 503
    assert "Redis at 127.0.0.1:1 failed" in response.text


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the command -------------------------------------------------------------------------


def test_serve_help_lists_its_options() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--open", "--token", "--allow-delete", "--allow-host"):
        assert option in result.output


def test_serve_without_the_web_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now fails
    result = CliRunner().invoke(cli, ["--url", "redis://127.0.0.1:1/0", "serve"])
    assert result.exit_code == 1
    assert "pip install 'langgraph-redis-saver[web]'" in result.output


def test_lgrs_does_not_import_the_web_stack() -> None:
    probe = (
        "import sys; from langgraph_redis_saver.cli import main; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'starlette', 'uvicorn', 'jinja2'}))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serve_unreachable_redis_fails_before_listening() -> None:
    port = _closed_port()
    result = CliRunner().invoke(cli, ["--url", f"redis://u:pw@127.0.0.1:{port}/0", "serve"])
    assert result.exit_code == 1
    assert f"cannot connect to Redis at 127.0.0.1:{port}" in result.output
    assert "pw" not in result.output


def test_serve_reads_the_server_from_the_environment_like_every_command() -> None:
    port = _closed_port()
    env = {"REDIS_URL": None, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(port)}
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code == 1
    assert f"cannot connect to Redis at 127.0.0.1:{port}" in result.output


def test_serve_port_in_use_says_so(redis_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["--url", redis_url, "serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_serve_beyond_loopback_generates_a_token(redis_url: str, web_prefix: str) -> None:
    served = start_serve(redis_url, web_prefix, "--host", "0.0.0.0")
    try:
        assert "?token=" in served.url
        port = served.url.split(":")[2].split("/")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
        assert refused.value.code == 401
        refused.value.close()
        token = served.url.split("?token=")[1]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as page:
            assert page.status == 200
    finally:
        stop_serve(served)


def test_serve_open_starts_the_browser_on_the_address(
    redis_url: str, web_prefix: str, tmp_path: Path
) -> None:
    opened = tmp_path / "opened.txt"
    # webbrowser runs $BROWSER with the address in place of %s
    browser = (
        f"{sys.executable} -c 'import sys; open(sys.argv[1], \"w\").write(sys.argv[2])' {opened} %s"
    )
    served = start_serve(redis_url, web_prefix, "--open", env={"BROWSER": browser})
    try:
        deadline = time.monotonic() + 30
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text() == served.url
    finally:
        stop_serve(served)


def test_web_long_timeline_shows_the_newest_then_all(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("langgraph_redis_saver.web.app.TIMELINE_ROWS", 2)
    client = make_client()
    page = client.get("/timeline?id=done-1").text
    assert page.count('name="cp"') == 2
    assert "5 checkpoints (newest 2 shown" in page
    assert client.get("/timeline?id=done-1&all=1").text.count('name="cp"') == 5


@pytest.mark.parametrize(
    "junk",
    [
        b"lgrs\x00\x01\xc1",
        b"\xff\xfe no separator",
        b"",
        b"lgrs\x00\x01\x91" + b"\x81\xa1a" * 1000 + b"\xc0",  # Python recursion
        b"lgrs\x00\x01\x91" + b"\x81\xa1a" * 3000 + b"\xc0",  # msgpack's stack
    ],
    ids=["bad-msgpack", "no-type", "empty", "deep-1000", "deep-3000"],
)
def test_web_unreadable_session_is_listed_as_such_and_hides_nothing(
    make_client: Callable[..., TestClient],
    redis_url: str,
    prefix: str,
    junk: bytes,
    request: pytest.FixtureRequest,
) -> None:
    junk_id = request.node.callspec.id
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "fine", ["an answer"])
        interview(saver, "broken", ["an answer"])
    client = make_client(prefix=prefix)
    browser = Browser.from_url(redis_url, prefix=prefix, cluster=False)
    with browser:
        root = browser.keys.namespace("broken", "")
        blob = root.blob_prefix + "messages:"
        for key in browser.session_keys(["broken"])["broken"]:
            if key.startswith(blob):
                browser.client.set(key, junk, keepttl=True)
        # As a record written before it held its lengths: the listing decodes the blob.
        latest = browser.client.get(root.latest).decode()
        browser.client.hdel(root.record(latest), Field.LENGTHS)
        browser.client.zadd(browser.keys.sessions, {b"\xff\xfe not utf-8": 1})
    listing = client.get("/")
    assert listing.status_code == 200
    if junk_id != "deep-1000":  # that one decodes; only showing it recurses too deep
        assert 'class="badge unreadable"' in listing.text
    assert ">fine</a>" in listing.text
    page = client.get("/session?id=broken")
    assert page.status_code == 422
    assert "This session is unreadable" in page.text
    assert client.get("/session?id=fine").status_code == 200
