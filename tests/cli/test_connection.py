"""Connection settings and errors: environment through click, passwords never shown."""

from __future__ import annotations

import json

import pytest
import redis
import redis.asyncio
from click.testing import CliRunner

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver._urls import NEEDS_PASSWORD
from langgraph_redis_saver.cli.app import cli
from langgraph_redis_saver.errors import ConfigurationError
from support.lgrs_sessions import interview
from support.redis_server import RedisServer, free_port

SECRET = "S3cr3t-pw"
CLEAN = {"REDIS_URL": None, "REDIS_HOST": None, "REDIS_PORT": None, "REDIS_PASSWORD": None,
         "LGRS_PREFIX": None, "LGRS_CHANNEL": None}  # fmt: skip


def lgrs(*args: str, **env: str | None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={**CLEAN, **env})
    return result.exit_code, result.stdout, result.stderr


def test_url_without_slashes_never_shows_the_password() -> None:
    url = f"default:{SECRET}@127.0.0.1:{free_port()}"
    with pytest.raises(ConfigurationError) as caught:
        RedisCheckpointSaver.from_url(url)
    assert SECRET not in str(caught.value) and "default:***@" in str(caught.value)
    for code, out, err in (lgrs("sessions", "--url", url), lgrs("sessions", REDIS_URL=url)):
        assert code == 1
        assert SECRET not in out + err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.fixture
def locked(redis_server: RedisServer) -> str:
    """A server that requires a password; its URL without one."""
    redis.Redis(port=redis_server.port).config_set("requirepass", SECRET)
    return redis_server.url


def test_requirepass_without_password_says_how_in_the_library(locked: str) -> None:
    with pytest.raises(redis.exceptions.AuthenticationError) as caught:
        RedisCheckpointSaver.from_url(locked)
    assert NEEDS_PASSWORD in str(caught.value)
    assert "HELLO" not in str(caught.value)


@pytest.mark.parametrize("made", ["from_url-standalone", "ready-client"])
async def test_requirepass_without_password_says_how_on_every_path(
    locked: str, mode: str, made: str
) -> None:
    """The first operation of a saver that skipped from_url's probe says it too."""
    from support.api import Api

    if made == "ready-client":
        client = redis.Redis.from_url(locked)
        aclient = redis.asyncio.Redis.from_url(locked)
        saver = RedisCheckpointSaver(client, aclient=aclient)
    else:
        saver = RedisCheckpointSaver.from_url(locked, cluster=False)
    api = Api(saver, mode)
    calls = [
        lambda: api.get_tuple({"configurable": {"thread_id": "t"}}),
        lambda: api.list(None),
        lambda: api.list_sessions(),
        lambda: api.clear_all(),  # SCAN, not a batch
    ]
    try:
        for call in calls:
            with pytest.raises(redis.exceptions.AuthenticationError) as caught:
                await call()
            assert NEEDS_PASSWORD in str(caught.value), str(caught.value)
            assert "HELLO" not in str(caught.value)
    finally:
        if made == "ready-client":
            client.close()
            await aclient.aclose()
        else:
            await saver.aclose()


def test_requirepass_without_password_says_how_in_lgrs(locked: str) -> None:
    code, _, err = lgrs("sessions", "--url", locked)
    assert code == 1
    assert err.strip().splitlines() == [
        f"Error: Redis at {locked.split('//')[1].split('/')[0]}: {NEEDS_PASSWORD}, "
        "or set REDIS_PASSWORD"
    ]
    # A wrong password is a different message, and never shown.
    wrong = locked.replace("//", "//:not-it@")
    code, out, err = lgrs("sessions", "--url", wrong)
    assert code == 1 and "refused the credentials" in err and "not-it" not in out + err
    # The password from the environment works.
    code, out, err = lgrs("sessions", "--json", REDIS_URL=locked, REDIS_PASSWORD=SECRET)
    assert (code, json.loads(out)) == (0, []), err


def test_environment_through_click(redis_url: str, prefix: str) -> None:
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        interview(saver, "env-1", [])
        try:
            code, out, err = lgrs("sessions", "--json", REDIS_URL=redis_url, LGRS_PREFIX=prefix)
            assert code == 0, err
            assert [r["sessionId"] for r in json.loads(out)] == ["env-1"]
            # An option given on the command line wins over the environment.
            elsewhere = f"redis://127.0.0.1:{free_port()}/0"
            code, out, _ = lgrs("--url", redis_url, "sessions", "--json",
                                REDIS_URL=elsewhere, LGRS_PREFIX=prefix)  # fmt: skip
            assert code == 0 and len(json.loads(out)) == 1
            code, out, _ = lgrs("sessions", "--json", "--prefix", "other:checkpoint",
                                REDIS_URL=redis_url, LGRS_PREFIX=prefix)  # fmt: skip
            assert code == 0 and json.loads(out) == []
            # A bad REDIS_PORT is a usage error that names the variable.
            code, _, err = lgrs("sessions", REDIS_PORT="six")
            assert code == 2 and "REDIS_PORT" in err
        finally:
            saver.clear_all()
