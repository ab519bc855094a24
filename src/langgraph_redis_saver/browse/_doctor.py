"""Server checks behind ``lgrs doctor``: what can lose sessions or break the saver.

Read-only. Each check reads ``INFO`` (allowed on most managed services)
rather than ``CONFIG GET`` where it can, and turns a refused command into an
``info`` finding instead of failing: a doctor that needs admin rights is of
little use on a locked-down production server.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from langgraph_redis_saver.keys import KeySchema

__all__ = ["SAVER_COMMANDS", "Finding", "run_checks"]

MIN_VERSION = (6, 2)

SAVER_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("EVALSHA", "0" * 40, "1", "{key}"),
    ("SCRIPT", "LOAD", "return 1"),
    ("MULTI",),
    ("EXEC",),
    ("INFO", "cluster"),
    ("SCAN", "0"),
    ("GET", "{key}"),
    ("SET", "{key}", "v"),
    ("MGET", "{key}"),
    ("DEL", "{key}"),
    ("UNLINK", "{key}"),
    ("EXISTS", "{key}"),
    ("PEXPIRE", "{key}", "1000"),
    ("PTTL", "{key}"),
    ("HSET", "{key}", "f", "v"),
    ("HSETNX", "{key}", "f", "v"),
    ("HGET", "{key}", "f"),
    ("HMGET", "{key}", "f"),
    ("HGETALL", "{key}"),
    ("HVALS", "{key}"),
    ("ZADD", "{key}", "0", "m"),
    ("ZREM", "{key}", "m"),
    ("ZCARD", "{key}"),
    ("ZRANGE", "{key}", "0", "-1"),
    ("ZREVRANGE", "{key}", "0", "-1"),
    ("ZREVRANGEBYLEX", "{key}", "+", "-"),
    ("ZREVRANGEBYSCORE", "{key}", "+inf", "-inf"),
    ("ZREMRANGEBYSCORE", "{key}", "-inf", "0"),
    ("SADD", "{key}", "m"),
    ("SREM", "{key}", "m"),
    ("SMEMBERS", "{key}"),
)
"""Commands the saver sends, directly or from its Lua scripts (which run with
the caller's ACL), with sample arguments; ``{key}`` is a key under the prefix."""


@dataclass(frozen=True)
class Finding:
    """One result of ``lgrs doctor``: ``severity`` is ok, info, warning or error."""

    check: str
    severity: str
    message: str
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``lgrs doctor --json`` item shape."""
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            "fix": self.fix,
        }


def _info(client: Any, section: str) -> dict[str, Any]:
    return dict(client.info(section))


def check_version(client: Any, keys: KeySchema) -> list[Finding]:
    info = _info(client, "server")
    text = str(info.get("redis_version", "0"))
    name = "Valkey" if info.get("server_name") == "valkey" else "Redis"
    shown = info.get("valkey_version", text) if name == "Valkey" else text
    try:
        version = tuple(int(p) for p in text.split(".")[:2])
    except ValueError:
        version = (0, 0)
    if version < MIN_VERSION:
        return [
            Finding(
                "version", "error",
                f"{name} {shown} is older than 6.2; the saver's scripts and commands need 6.2+",
                "upgrade to Redis 6.2 or later (or Valkey 7.2+)",
            )
        ]  # fmt: skip
    return [Finding("version", "ok", f"{name} {shown}")]


def check_eviction(client: Any, keys: KeySchema) -> list[Finding]:
    info = _info(client, "memory")
    policy = str(info.get("maxmemory_policy", "unknown"))
    limit = int(info.get("maxmemory", 0) or 0)
    if policy.startswith("allkeys-"):
        severity = "error" if limit else "warning"
        when = "when memory is full" if limit else "once a maxmemory limit is set"
        return [
            Finding(
                "maxmemory-policy", severity,
                f"maxmemory-policy is {policy}: {when}, Redis evicts any key, including "
                "checkpoint records, channel blobs and 'latest' pointers; sessions then "
                "lose state or cannot be resumed",
                "CONFIG SET maxmemory-policy noeviction (and size maxmemory for your "
                "sessions), or keep checkpoints on a Redis that is not used as a cache",
            )
        ]  # fmt: skip
    if policy.startswith("volatile-"):
        severity = "warning" if limit else "info"
        return [
            Finding(
                "maxmemory-policy", severity,
                f"maxmemory-policy is {policy}: under memory pressure Redis evicts keys "
                "that have a TTL, and the saver's keys carry one (24 h by default), so "
                "sessions can lose checkpoints before they expire",
                "CONFIG SET maxmemory-policy noeviction if sessions must survive memory "
                "pressure; otherwise watch used_memory against maxmemory",
            )
        ]  # fmt: skip
    return [
        Finding("maxmemory-policy", "ok", f"maxmemory-policy is {policy}: keys are never evicted")
    ]


def check_persistence(client: Any, keys: KeySchema) -> list[Finding]:
    aof = str(_info(client, "persistence").get("aof_enabled", "0")) == "1"
    try:
        save = str(client.config_get("save").get("save", ""))
    except ResponseError:
        if aof:
            return [Finding("persistence", "ok", "AOF is on")]
        return [
            Finding(
                "persistence", "info",
                "AOF is off and the RDB schedule cannot be read (CONFIG GET is not allowed)",
                "check your provider's persistence or backup settings",
            )
        ]  # fmt: skip
    if not aof and not save.strip():
        return [
            Finding(
                "persistence", "warning",
                "persistence is off (no RDB snapshots, no AOF): a restart or failover loses "
                "every session",
                "CONFIG SET appendonly yes (then CONFIG REWRITE), or CONFIG SET save "
                "'3600 1 300 100 60 10000'",
            )
        ]  # fmt: skip
    what = "AOF" if aof else f"RDB snapshots ({save})"
    return [Finding("persistence", "ok", f"persistence: {what}")]


def check_cluster(client: Any, keys: KeySchema) -> list[Finding]:
    enabled = bool(_info(client, "cluster").get("cluster_enabled"))
    if enabled and not keys.cluster:
        return [
            Finding(
                "cluster", "error",
                "the server runs in cluster mode but keys are read without hash tags",
                "connect with cluster detection on (the default of from_url)",
            )
        ]  # fmt: skip
    if enabled:
        return [Finding("cluster", "info", "cluster mode: each session's keys share one slot "
                        "through a {session} hash tag")]  # fmt: skip
    return [Finding("cluster", "ok", "standalone server")]


def check_acl(client: Any, keys: KeySchema) -> list[Finding]:
    try:
        user = client.execute_command("ACL", "WHOAMI")
        user = user.decode() if isinstance(user, bytes) else str(user)
    except ResponseError as exc:
        return [Finding("acl", "info", f"could not check ACL permissions: {exc}")]
    key = keys.root + "lgrs-doctor-probe"
    denied = []
    for command in SAVER_COMMANDS:
        args = [key if a == "{key}" else a for a in command]
        try:
            reply = client.execute_command("ACL", "DRYRUN", user, *args)
        except ResponseError as exc:
            # ACL DRYRUN exists from Redis 7.0; ACL itself may be denied to this user.
            # Unknown is not an error: the saver may well have every permission.
            how = (
                f"ACL DRYRUN needs Redis 7.0+; compare `ACL GETUSER {user}` with the "
                f"commands in docs/operations.md by hand"
                if "dryrun" in str(exc).lower() and "unknown" in str(exc).lower()
                else str(exc)
            )
            return [Finding("acl", "info", f"could not check ACL permissions for user {user!r}: "
                            f"{how}")]  # fmt: skip
        text = reply.decode() if isinstance(reply, bytes) else str(reply)
        if text != "OK":
            denied.append(" ".join(command[:2] if command[0] == "SCRIPT" else command[:1]))
    if denied:
        grant = " ".join("+" + c.lower().replace(" ", "|") for c in denied)
        return [
            Finding(
                "acl", "error",
                f"user {user!r} may not run {', '.join(denied)} on keys under {keys.root!r}",
                f"ACL SETUSER {user} {grant} '~{keys.prefix_pattern()}'",
            )
        ]  # fmt: skip
    return [Finding("acl", "ok", f"user {user!r} may run every command the saver needs")]


def check_ttls(client: Any, keys: KeySchema, sample: int) -> list[Finding]:
    shared = keys.root + ":"  # cross-session indexes: never expire, by design
    sampled: list[Any] = []
    for key in client.scan_iter(match=keys.prefix_pattern(), count=1000):
        text = key.decode() if isinstance(key, bytes) else str(key)
        if not text.startswith(shared):
            sampled.append(key)
        if len(sampled) >= sample:
            break
    if not sampled:
        return [Finding("ttl", "info", f"no session keys under {keys.root!r}")]
    with client.pipeline(transaction=False) as pipe:
        for key in sampled:
            pipe.pttl(key)
        ttls = pipe.execute()
    forever = sum(1 for t in ttls if t == -1)
    if forever == 0:
        return [Finding("ttl", "ok", f"all {len(sampled)} sampled keys expire")]
    if forever == len(sampled):
        return [
            Finding(
                "ttl", "info",
                f"none of the {len(sampled)} sampled keys expires: the saver runs with "
                "ttl=None, so sessions stay until deleted",
                "fine if intended; otherwise pass ttl=... to the saver, and remove old "
                "sessions with `lgrs delete`",
            )
        ]  # fmt: skip
    return [
        Finding(
            "ttl", "warning",
            f"{forever} of {len(sampled)} sampled keys never expire while the others do: "
            "left over from a run with ttl=None, or written by another tool",
            "find them with `lgrs sessions` (TTL column) and remove them with `lgrs delete`",
        )
    ]  # fmt: skip


CHECKS: Sequence[Callable[[Any, KeySchema], list[Finding]]] = (
    check_version, check_eviction, check_persistence, check_cluster, check_acl,
)  # fmt: skip


def run_checks(client: Any, keys: KeySchema, *, sample: int = 1000) -> list[Finding]:
    """Every check, in order; a check refused by the server becomes an info finding."""
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings += check(client, keys)
        except ResponseError as exc:
            name = check.__name__.removeprefix("check_")
            findings.append(Finding(name, "info", f"could not check: {exc}"))
    try:
        findings += check_ttls(client, keys, sample)
    except ResponseError as exc:
        findings.append(Finding("ttl", "info", f"could not sample keys: {exc}"))
    return findings
