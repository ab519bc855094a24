"""Private redis-server setups for the reliability tests.

Each helper starts real ``redis-server`` processes on free loopback ports in a
directory of its own, and stops them again: an AOF server that is killed and
restarted, a three-master cluster, a TLS server with certificates made here,
an ACL user limited to the saver's keys and commands, and a server with a
small ``maxmemory``. Nothing here talks to a server the test did not start.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from support.redis_server import RedisServer, free_port, redis_server_binary

__all__ = [
    "ACL_COMMANDS",
    "CLUSTER_ACL_COMMANDS",
    "ClusterServers",
    "TlsFiles",
    "acl_rules",
    "aof_server",
    "free_ports",
    "make_certificates",
    "redis_cli_binary",
    "server_version",
    "tls_server",
    "tls_unsupported",
]

ACL_COMMANDS = (
    "evalsha", "script|load", "info", "multi", "exec",
    "get", "set", "mget", "del", "unlink", "exists", "pexpire", "pttl", "scan",
    "hset", "hsetnx", "hget", "hmget", "hgetall", "hvals",
    "zadd", "zrem", "zcard", "zrange", "zrevrange", "zrevrangebylex", "zrevrangebyscore",
    "zremrangebyscore",
    "sadd", "srem", "smembers",
)  # fmt: skip
"""Every command the saver sends, directly or from its Lua scripts (which run
with the caller's ACL). ``info`` is only for cluster detection in ``from_url``."""


CLUSTER_ACL_COMMANDS = ("cluster|slots", "command")
"""What redis-py's cluster client also sends: slot map discovery and command info."""


def acl_rules(prefix: str, password: str, *, cluster: bool = False) -> list[str]:
    """``ACL SETUSER`` rules: only keys under `prefix`, only the saver's commands."""
    commands = ACL_COMMANDS + (CLUSTER_ACL_COMMANDS if cluster else ())
    return [
        "on", f">{password}", "resetkeys", f"~{prefix}:*", "resetchannels", "-@all",
        *(f"+{c}" for c in commands),
    ]  # fmt: skip


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback ports."""
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def server_version() -> tuple[int, ...]:
    """Version of the server binary under test, from ``redis-server --version``
    (Valkey reports its own version: 8.x)."""
    server = redis_server_binary()
    if server is None:
        return (0,)
    said = subprocess.run([server, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"v=(\d+)\.(\d+)", said.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0,)


def _ports_with_free_bus(n: int) -> list[int]:
    """`n` free ports below 55536 whose port + 10000 (the cluster bus) is free too."""
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port < 55536 and port not in ports and _is_free(port + 10000):
            ports.append(port)
    return ports


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_cli_binary() -> str | None:
    """The client that ships with the server under test (valkey-cli beside valkey-server)."""
    server = redis_server_binary()
    if server:
        for name in ("redis-cli", "valkey-cli"):
            beside = Path(server).with_name(name)
            if beside.exists():
                return str(beside)
    return shutil.which("redis-cli")


_TLS_SUPPORT: dict[str, str | None] = {}


def tls_unsupported() -> str | None:
    """Why the server binary under test cannot serve TLS, or None when it can.

    Asked of the binary itself: started with a TLS port and no certificate, a
    build with TLS complains about the certificate, one without about TLS.
    """
    server = redis_server_binary()
    if server is None:
        return "no redis-server binary"
    if server not in _TLS_SUPPORT:
        try:
            done = subprocess.run(
                [server, "--port", "0", "--tls-port", str(free_port()), "--save", ""],
                capture_output=True, text=True, timeout=10, check=False,
            )  # fmt: skip
            said = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            said = "started without a certificate"
        _TLS_SUPPORT[server] = (
            None
            if "tls-cert-file" in said
            else f"{server} was built without TLS: {said.strip().splitlines()[-1:]}"
        )
    return _TLS_SUPPORT[server]


def aof_server(directory: Path, *extra: str) -> RedisServer:
    """A server that fsyncs every write to its append-only file before replying."""
    return RedisServer(directory, "--appendonly", "yes", "--appendfsync", "always", *extra)


# -- cluster ---------------------------------------------------------------------------


class ClusterServers:
    """A Redis Cluster of `masters` primaries and no replicas on loopback.

    Built the way operators do it: ``redis-server --cluster-enabled yes`` per
    node, then ``redis-cli --cluster create``. Each node gets an explicit bus
    port (``--cluster-port``) so that port + 10000 never has to be free.
    """

    def __init__(self, directory: Path, masters: int = 3) -> None:
        # --cluster-port exists from Redis 7.0; before, the bus is port + 10000.
        bus_option = server_version() >= (7, 0)
        ports = free_ports(2 * masters) if bus_option else _ports_with_free_bus(masters)
        self.nodes = []
        for i in range(masters):
            options = [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000",
            ]  # fmt: skip
            if bus_option:
                options += ["--cluster-port", str(ports[masters + i])]
            self.nodes.append(RedisServer(directory / f"node{i}", *options, port=ports[i]))

    @property
    def url(self) -> str:
        """A URL of one node: cluster clients discover the others."""
        return self.nodes[0].url

    def start(self, timeout: float = 30.0) -> ClusterServers:
        """Start the nodes, create the cluster, wait until every node reports ``ok``.

        Raises:
            RuntimeError: With ``redis-cli``'s own output when creation fails.
        """
        cli = redis_cli_binary()
        if cli is None:
            raise RuntimeError("redis-cli is not installed (it ships with redis-server)")
        try:
            for node in self.nodes:
                node.start()
            created = subprocess.run(
                [cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes),
                 "--cluster-replicas", "0", "--cluster-yes"],
                capture_output=True, text=True, timeout=timeout, check=False,
            )  # fmt: skip
            if created.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {created.stdout[-1500:]}")
            self._wait_ok(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ok(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = []
            for node in self.nodes:
                with redis.Redis(port=node.port) as r:
                    info = r.cluster("info")
                    states.append(
                        info.get("cluster_state") == "ok"
                        and int(info.get("cluster_known_nodes", 0)) == len(self.nodes)
                    )
            if all(states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster did not reach state ok within {timeout}s")
            time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


# -- TLS -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    """A private CA and a server certificate it signed, valid for 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path) -> TlsFiles:
    """Make a CA and a server certificate for ``127.0.0.1``/``localhost`` with openssl.

    Raises:
        RuntimeError: openssl is missing or failed (its output is in the message).
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is not installed: apt-get install openssl")
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.crt", directory / "ca.key"
    cert, key, csr = directory / "server.crt", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=langgraph-redis-saver test CA"],
        [openssl, "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ]  # fmt: skip
    for step in steps:
        done = subprocess.run([str(a) for a in step], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"openssl failed: {done.stderr[-1000:]}")
    return TlsFiles(ca, cert, key)


def tls_server(directory: Path, files: TlsFiles, tls_port: int) -> RedisServer:
    """A server with a TLS port (clients need not present certificates).

    The plain port stays open on loopback for the test's own admin commands
    (readiness, ``ACL SETUSER``); the saver is pointed at the TLS port.
    """
    return RedisServer(
        directory,
        "--tls-port", str(tls_port), "--tls-cert-file", str(files.cert),
        "--tls-key-file", str(files.key), "--tls-ca-cert-file", str(files.ca),
        "--tls-auth-clients", "no",
    )  # fmt: skip
