"""Where legacy pickled sessions live in Redis, and how to find and read them.

The store this saver replaces (docs/migration.md) keeps a session ``S`` as
``<prefix>:S:latest`` holding ``pickle.dumps({"checkpoint": state, "metadata":
..., "config": ...})``, next to ``<prefix>:S:<checkpoint_id>`` keys, all plain
strings with a TTL. Session ids there never contain ``:`` (that store splits
keys on it), so the session is the key's middle component, unescaped.

During an in-place migration the pickle is first moved aside to
``<saver's session keys>legacy:pickle`` (a key kind no saver key can take), so
the saver's own ``latest`` can go where the pickle was; see `_migrate`.

Nothing here imports `pickle`: values are read as bytes and handed to the
restricted reader in `_unpickle`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

from langgraph_redis_saver.keys import KeySchema, glob_escape

__all__ = ["BACKUP_SUFFIX", "LegacyKeys", "LegacySession", "find_legacy_sessions", "is_pickle"]

LATEST_SUFFIX: Final = b":latest"
#: Suffix, after the saver's session key base, of a pickle moved aside during migration.
BACKUP_SUFFIX: Final = "legacy:pickle"
_SCAN_COUNT: Final = 1000


def is_pickle(head: bytes | None) -> bool:
    """Whether a value starts with a pickle protocol header (``0x80``, protocol 2-5).

    >>> is_pickle(b"\\x80\\x04\\x95"), is_pickle(b"1ef0a1b2"), is_pickle(None)
    (True, False, False)
    """
    return bool(head) and len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5  # type: ignore[index,arg-type]


@dataclass(frozen=True)
class LegacyKeys:
    """Keys of legacy sessions under one prefix, and where the saver puts the same session."""

    schema: KeySchema

    @property
    def root(self) -> bytes:
        return self.schema.root.encode()

    def latest(self, session: str) -> str:
        """The legacy store's ``<prefix>:S:latest`` (session unescaped, as it wrote it)."""
        return f"{self.schema.root}{session}:latest"

    def backup(self, session: str) -> str:
        """Where an in-place migration keeps the pickle while (and, with keep-legacy, after)."""
        return self.schema.session_base(session) + BACKUP_SUFFIX

    def session_of(self, key: bytes) -> str | None:
        """Session id of a legacy ``...:S:latest`` or ``...:S:<id>`` key, or None."""
        rest = key[len(self.root) :]
        if not key.startswith(self.root) or rest.count(b":") != 1 or rest.startswith(b":"):
            return None
        try:
            return rest.split(b":", 1)[0].decode("utf-8")
        except UnicodeDecodeError:
            return None

    def backup_session(self, key: bytes) -> str | None:
        """Session id of a backup key written by an earlier migration, or None."""
        if not key.endswith(b":" + BACKUP_SUFFIX.encode()) or not key.startswith(self.root):
            return None
        base = key[len(self.root) : -len(BACKUP_SUFFIX) - 1]
        if self.schema.cluster and base.startswith(b"{") and base.endswith(b"}"):
            base = base[1:-1]
        try:
            text = base.decode("utf-8")
        except UnicodeDecodeError:
            return None
        session = unquote(text) if text != "%" else ""
        return session if self.backup(session).encode() == key else None


@dataclass
class LegacySession:
    """One legacy session found under a prefix."""

    session_id: str
    key: str
    """Key of the pickle: the legacy ``latest``, or the backup of an interrupted migration."""
    ttl_ms: int | None
    """Remaining TTL in ms; None when the key has none."""
    size: int
    in_backup: bool = False
    id_keys: list[str] = field(default_factory=list)
    """The legacy store's ``<prefix>:S:<checkpoint_id>`` keys (pickles too)."""


def _ttl(pttl: Any) -> int | None:
    return int(pttl) if isinstance(pttl, int) and pttl > 0 else None


def find_legacy_sessions(client: Any, schema: KeySchema) -> list[LegacySession]:
    """Every legacy session under the prefix, sorted by session id (SCAN, admin use).

    A session counts when its ``latest`` (or a migration backup) holds a
    pickle; its other string keys ``<prefix>:S:<id>`` are listed with it.
    """
    keys = LegacyKeys(schema)
    latest: list[tuple[str, bytes]] = []
    backups: list[tuple[str, bytes]] = []
    others: dict[str, list[str]] = {}
    for key in _scan_strings(client, schema):
        if key.endswith(LATEST_SUFFIX) and (session := keys.session_of(key)) is not None:
            latest.append((session, key))
        elif (session := keys.backup_session(key)) is not None:
            backups.append((session, key))
        elif (session := keys.session_of(key)) is not None:
            others.setdefault(session, []).append(key.decode())
    found: dict[str, LegacySession] = {}
    for (session, key), head, pttl, size in _probe(client, latest + backups):
        if not is_pickle(head):
            continue
        in_backup = key.endswith(BACKUP_SUFFIX.encode())
        if session in found and in_backup:
            continue  # the legacy latest is still there: it is the current pickle
        found[session] = LegacySession(
            session, key.decode(), _ttl(pttl), int(size), in_backup, sorted(others.get(session, []))
        )
    return [found[s] for s in sorted(found)]


def _scan_strings(client: Any, schema: KeySchema) -> Iterator[bytes]:
    pattern = glob_escape(schema.root) + "*"
    for key in client.scan_iter(match=pattern, count=_SCAN_COUNT, _type="string"):
        yield key if isinstance(key, bytes) else str(key).encode()


def _probe(
    client: Any, items: list[tuple[str, bytes]]
) -> Iterator[tuple[tuple[str, bytes], bytes | None, Any, Any]]:
    for start in range(0, len(items), _SCAN_COUNT):
        chunk = items[start : start + _SCAN_COUNT]
        pipe = client.pipeline(transaction=False)
        for _, key in chunk:
            pipe.getrange(key, 0, 1)
            pipe.pttl(key)
            pipe.strlen(key)
        replies = pipe.execute()
        for i, item in enumerate(chunk):
            head, pttl, size = replies[3 * i : 3 * i + 3]
            yield item, head, pttl, size


def read_legacy_value(client: Any, key: str) -> tuple[bytes | None, int | None]:
    """The pickle bytes at `key` and its remaining TTL (ms), in one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.get(key)
    pipe.pttl(key)
    value, pttl = pipe.execute()
    return value, _ttl(pttl)
