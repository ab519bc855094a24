"""`make demo` (scripts/demo.sh): the interview story, on a server it was told to use
or on a throwaway one, never on one nobody named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from langgraph_redis_saver.devserver import ThrowawayRedis

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo.sh"

pytestmark = pytest.mark.skipif(
    Path(sys.executable).parent != ROOT / ".venv" / "bin",
    reason="the demo runs from the repository's .venv (make install-cli)",
)


def run_demo(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEMO)], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_demo_with_redis_url_says_where_it_writes_and_keeps_the_session() -> None:
    with ThrowawayRedis() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LGRS_")}
        env["REDIS_URL"] = server.url
        done = run_demo(env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert f"Redis: REDIS_URL={server.url} (the demo writes its session there)" in done.stdout
        session = next(
            line.split(": ", 1)[1]
            for line in done.stdout.splitlines()
            if line.startswith("session: ")
        )
        with redis.Redis.from_url(server.url) as client:
            assert client.exists(f"langgraph:checkpoint:{session}:latest")
    assert "completed:" in done.stdout
    assert f'lgrs --url "$REDIS_URL" show {session}' in done.stdout


def test_demo_without_redis_url_uses_a_throwaway_server_and_says_how_to_keep_sessions() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "LGRS_"))}
    done = run_demo(env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Redis: a throwaway redis-server at redis://127.0.0.1:" in done.stdout
    assert ":6379/" not in done.stdout.split("== 1.")[0]
    assert "REDIS_URL=redis://localhost:6379/0 make demo" in done.stdout
    assert "lgrs --url redis://localhost:6379/0 sessions" in done.stdout
