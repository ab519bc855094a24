"""Fixtures for the reliability tests: private servers they may kill, cluster, TLS, ACL.

Every server here is started by the fixture on free loopback ports and
stopped afterwards; none is shared with the rest of the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from support.servers import (
    ClusterServers,
    RedisServer,
    TlsFiles,
    acl_rules,
    aof_server,
    free_ports,
    make_certificates,
    redis_server_binary,
    tls_server,
    tls_unsupported,
)


def _need_redis_server() -> None:
    if redis_server_binary() is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "these tests start their own redis-server: apt-get install redis-server"
        )


@pytest.fixture
def aof(tmp_path: Path) -> Iterator[RedisServer]:
    """A private server with ``appendfsync always``, for tests that SIGKILL it."""
    _need_redis_server()
    server = aof_server(tmp_path / "aof").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterServers]:
    """A three-master Redis Cluster on loopback, shared by the cluster tests."""
    _need_redis_server()
    nodes = ClusterServers(tmp_path_factory.mktemp("cluster"))
    try:
        nodes.start()
    except RuntimeError as exc:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            f"cannot create a Redis Cluster here: {exc}"
        )
    try:
        yield nodes
    finally:
        nodes.stop()


@dataclass(frozen=True)
class TlsAcl:
    """A TLS server with an ACL user limited to one key prefix."""

    server: RedisServer
    files: TlsFiles
    tls_port: int
    prefix: str
    user: str
    password: str

    def url(self, password: str | None = None) -> str:
        """``rediss://`` URL of the limited user (the CA travels as a URL option)."""
        secret = self.password if password is None else password
        return (
            f"rediss://{self.user}:{secret}@127.0.0.1:{self.tls_port}/0"
            f"?ssl_ca_certs={self.files.ca}"
        )

    def admin(self) -> redis.Redis:
        """A client of the default (unrestricted) user on the plain loopback port."""
        return redis.Redis(port=self.server.port)


@pytest.fixture(scope="module")
def tls_acl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsAcl]:
    """TLS with a certificate made by the test, and a user limited to ``<prefix>:*``."""
    _need_redis_server()
    if (why := tls_unsupported()) is not None:
        pytest.skip(why)
    root = tmp_path_factory.mktemp("tls")
    try:
        files = make_certificates(root / "certs")
    except RuntimeError as exc:
        pytest.skip(str(exc))
    (tls_port,) = free_ports(1)
    server = tls_server(root / "redis", files, tls_port).start()
    setup = TlsAcl(
        server, files, tls_port,
        prefix=f"acl-{uuid.uuid4().hex[:8]}:checkpoint",
        user="lgsaver", password="s3cr3t-Pa55w0rd-lgrs",
    )  # fmt: skip
    with setup.admin() as admin:
        admin.execute_command(
            "ACL", "SETUSER", setup.user, *acl_rules(setup.prefix, setup.password)
        )
    try:
        yield setup
    finally:
        server.stop()
