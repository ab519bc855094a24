"""TLS and ACL: a ``rediss://`` server with a certificate made by the test, and a
user allowed only the prefix's keys and the commands the saver needs.

The ACL rules are the ones ``docs/reliability.md`` documents; a test keeps the
page and `ACL_COMMANDS` in step. Passwords never show: not in ``repr``, not in
exceptions (ours or redis-py's as they reach the caller), not in logs, not in
``lgrs`` output or its error messages.
"""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ConnectionError, NoPermissionError
from redis.retry import Retry

from langgraph_redis_saver import ConfigurationError, RedisCheckpointSaver
from langgraph_redis_saver.browse._doctor import SAVER_COMMANDS
from langgraph_redis_saver.cli.app import cli
from support.audit import audit, check_session
from support.servers import ACL_COMMANDS, acl_rules
from support.workload import Api, SessionWriter, config

from .conftest import TlsAcl

DOC = Path(__file__).parents[2] / "docs" / "reliability.md"


def everything_said(exc: BaseException) -> str:
    """Message, repr and traceback of an exception and of its whole chain."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


async def test_acl_user_over_tls_can_do_everything_the_saver_does(
    tls_acl: TlsAcl, mode: str
) -> None:
    async with RedisCheckpointSaver.from_url(tls_acl.url(), key_prefix=tls_acl.prefix) as saver:
        api = Api(saver, mode)
        writers = [SessionWriter(api, f"tls-{i}", user_id=f"u{i % 2}") for i in range(3)]
        for _ in range(3):
            for w in writers:
                await w.step()
        assert check_session(saver, "tls-0", writers[0].acknowledged) == []
        assert len(await api.list(config("tls-1"), limit=2)) == 2
        assert len(await api.list(None)) == 9
        assert {s.thread_id for s in await api.list_sessions(filter={"user_id": "u0"})} == {
            "tls-0",
            "tls-2",
        }
        await api.copy_thread("tls-0", "tls-copy")
        await api.prune(["tls-copy"])
        assert len(await api.list(config("tls-copy"))) == 1
        await api.delete_for_runs([writers[1].run_id])
        await api.delete_thread("tls-2")
        with tls_acl.admin() as admin:
            assert audit(admin, saver.keys).problems(allow_stale_index=True) == []
        assert await api.clear_all() > 0
        assert await api.list_sessions() == []


def test_acl_user_is_refused_anything_else(tls_acl: TlsAcl) -> None:
    user = redis.Redis.from_url(tls_acl.url())
    assert user.set(f"{tls_acl.prefix}:probe", "1")  # inside the prefix: allowed
    for command in (("FLUSHALL",), ("KEYS", "*"), ("CONFIG", "GET", "*"), ("GET", "other:key")):
        with pytest.raises(NoPermissionError):
            user.execute_command(*command)
    outside = RedisCheckpointSaver.from_url(tls_acl.url(), key_prefix="elsewhere:checkpoint")
    with pytest.raises(NoPermissionError):
        outside.get_tuple(config("x"))
    outside.close()
    user.delete(f"{tls_acl.prefix}:probe")
    user.close()


def test_tls_is_required_and_the_certificate_verified(tls_acl: TlsAcl) -> None:
    plain = redis.Redis(
        port=tls_acl.tls_port, username=tls_acl.user, password=tls_acl.password,
        socket_timeout=0.5, retry=Retry(NoBackoff(), 0),
    )  # fmt: skip
    with pytest.raises(ConnectionError):
        plain.ping()
    no_ca = tls_acl.url().split("?")[0]  # the test CA is not in the system store
    with pytest.raises(ConnectionError, match="certificate verify failed"):
        RedisCheckpointSaver.from_url(no_ca, cluster=False, retries=0).get_tuple(config("x"))


def test_acl_documented_line_matches_the_command_set() -> None:
    """docs/reliability.md shows exactly these rules, and `lgrs doctor` checks the same set."""
    line = "ACL SETUSER lgsaver " + " ".join(acl_rules("langgraph:checkpoint", "PASSWORD"))
    assert line in DOC.read_text()
    doctor = {
        " ".join(c[:2]).lower().replace(" ", "|") if c[0] == "SCRIPT" else c[0].lower()
        for c in SAVER_COMMANDS
    }
    assert doctor == set(ACL_COMMANDS)


def test_passwords_never_show(tls_acl: TlsAcl, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = (tls_acl.password, "wr0ng-Pa55-xyz")
    said: list[str] = []
    saver = RedisCheckpointSaver.from_url(tls_acl.url(), key_prefix=tls_acl.prefix)
    said += [repr(saver), str(saver), repr(saver._client), repr(saver._client.connection_pool)]
    saver.get_tuple(config("nobody"))
    saver.close()
    with pytest.raises(AuthenticationError) as wrong:
        RedisCheckpointSaver.from_url(tls_acl.url(password=secrets[1]), cluster=False).get_tuple(
            config("x")
        )
    said.append(everything_said(wrong.value))
    down = tls_acl.url().replace(str(tls_acl.tls_port), "1", 1)
    with pytest.raises(ConnectionError) as refused:
        RedisCheckpointSaver.from_url(down, cluster=False).get_tuple(config("x"))
    said.append(everything_said(refused.value))
    with pytest.raises(ConfigurationError) as bad:
        RedisCheckpointSaver.from_url(tls_acl.url().replace("127.0.0.1:", "127.0.0.1:x"))
    said.append(everything_said(bad.value))
    said.append(caplog.text)
    for text in said:
        for secret in secrets:
            assert secret not in text


def run_lgrs(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"REDIS_URL": None, "REDIS_PASSWORD": None})
    return result.exit_code, result.stdout, result.stderr


def test_lgrs_over_tls_shows_sessions_never_the_password(tls_acl: TlsAcl) -> None:
    prefix = tls_acl.prefix
    with RedisCheckpointSaver.from_url(tls_acl.url(), key_prefix=prefix) as saver:
        import asyncio

        asyncio.run(SessionWriter(Api(saver, "sync"), f"cli-{uuid.uuid4().hex[:6]}").step())
        for fmt in ([], ["--json"]):
            code, out, err = run_lgrs("--url", tls_acl.url(), "--prefix", prefix, "sessions", *fmt)
            assert code == 0, err
            assert re.search(r"cli-[0-9a-f]{6}", out)
            assert tls_acl.password not in out + err
        wrong = tls_acl.url(password="wr0ng-Pa55-xyz")
        code, out, err = run_lgrs("--url", wrong, "--prefix", prefix, "sessions")
        assert code == 1
        assert "refused the credentials" in err and "127.0.0.1" in err
        for secret in (tls_acl.password, "wr0ng-Pa55-xyz"):
            assert secret not in out + err
        saver.clear_all()
