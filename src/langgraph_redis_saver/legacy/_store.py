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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import unquote

from langgraph_redis_saver.keys import KeySchema, glob_escape

__all__ = [
    "BACKUP_SUFFIX",
    "LegacyKeys",
    "LegacySession",
    "explicit_session",
    "find_legacy_sessions",
    "is_pickle",
    "probe_pickles",
]

LATEST_SUFFIX: Final = b":latest"
#: Suffix, after the saver's session key base, of a pickle moved aside during migration.
BACKUP_SUFFIX: Final = "legacy:pickle"
_SCAN_COUNT: Final = 1000


def is_pickle(value: bytes | None) -> bool:
    """Whether a whole value is a legacy pickle; twin of ``is_legacy`` in ``lua/lib.lua``.

    Protocols 2-5 start with ``0x80``. Protocols 0 and 1 have no header: the
    session dict starts with ``(`` (MARK) or ``}`` (EMPTY_DICT), ends with
    ``.`` (STOP) and holds a newline or NUL (memo PUTs). The saver's own
    ``latest`` values, checkpoint ids (hex digits and ``-``), never match.

    >>> is_pickle(b"\\x80\\x04\\x95"), is_pickle(b"(dp0\\nS'a'\\np1\\nI1\\ns.")
    (True, True)
    >>> is_pickle(b"1ef0a1b2-5c3d-6e4f-8000-0123456789ab"), is_pickle(None)
    (False, False)
    """
    if not value:
        return False
    if value[0] == 0x80:
        return True
    return _old_protocol_frame(value[:1], value[-1:]) and (b"\n" in value or b"\0" in value)


def _old_protocol_frame(head: bytes, tail: bytes) -> bool:
    """First and last byte as a protocol 0/1 session dict has them (the rest needs the value)."""
    return head in (b"(", b"}") and tail == b"."


def probe_pickles(client: Any, keys: Sequence[bytes | str]) -> list[tuple[bool, int | None, int]]:
    """``(holds a pickle, TTL in ms or None, size)`` of each key, in order.

    Reads the first and last byte of each value; only protocol 0/1
    candidates (no header) are read whole to finish the check.
    """
    out: list[tuple[bool, int | None, int]] = []
    for start in range(0, len(keys), _SCAN_COUNT):
        chunk = keys[start : start + _SCAN_COUNT]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.getrange(key, 0, 0)
            pipe.getrange(key, -1, -1)
            pipe.pttl(key)
            pipe.strlen(key)
        replies = pipe.execute()
        rows = [replies[4 * i : 4 * i + 4] for i in range(len(chunk))]
        maybe = [
            i for i, (h, t, _, _) in enumerate(rows) if _old_protocol_frame(h or b"", t or b"")
        ]
        whole: dict[int, Any] = {}
        if maybe:
            pipe = client.pipeline(transaction=False)
            for i in maybe:
                pipe.get(chunk[i])
            whole = dict(zip(maybe, pipe.execute(), strict=True))
        for i, (head, _, pttl, size) in enumerate(rows):
            found = head == b"\x80" or (i in whole and is_pickle(whole[i]))
            out.append((found, _ttl(pttl), int(size or 0)))
    return out


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

    def raw_session_of(self, key: bytes) -> str | None:
        """Session id of a ``...:S:latest`` key whatever ``S`` holds (``:``, empty), or None."""
        if not key.startswith(self.root) or not key.endswith(LATEST_SUFFIX):
            return None
        try:
            return key[len(self.root) : -len(LATEST_SUFFIX)].decode("utf-8")
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
    ambiguous: bool = False
    """The session id holds ``:`` or is empty: migrated only when named (``sessions=``)."""


def _ttl(pttl: Any) -> int | None:
    return int(pttl) if isinstance(pttl, int) and pttl > 0 else None


def find_legacy_sessions(client: Any, schema: KeySchema) -> list[LegacySession]:
    """Every legacy session under the prefix, sorted by session id (SCAN, admin use).

    A session counts when its ``latest`` (or a migration backup) holds a
    pickle; its other string keys ``<prefix>:S:<id>`` are listed with it. A
    ``latest`` whose session id holds ``:`` or is empty is listed too, marked
    `LegacySession.ambiguous`: the old store put raw ids in its keys, so its
    other keys cannot be told apart from another session's.
    """
    keys = LegacyKeys(schema)
    latest: list[tuple[str, bytes]] = []
    backups: list[tuple[str, bytes]] = []
    ambiguous: list[tuple[str, bytes]] = []
    others: dict[str, list[str]] = {}
    for key in _scan_strings(client, schema):
        if key.endswith(LATEST_SUFFIX) and (session := keys.session_of(key)) is not None:
            latest.append((session, key))
        elif (session := keys.backup_session(key)) is not None:
            backups.append((session, key))
        elif (session := keys.session_of(key)) is not None:
            others.setdefault(session, []).append(key.decode())
        elif key.endswith(LATEST_SUFFIX) and (session := keys.raw_session_of(key)) is not None:
            ambiguous.append((session, key))
    found: dict[str, LegacySession] = {}
    candidates = latest + backups + ambiguous
    probed = probe_pickles(client, [key for _, key in candidates])
    unclear: list[LegacySession] = []
    raw = set(ambiguous)
    for (session, key), (pickled, ttl_ms, size) in zip(candidates, probed, strict=True):
        if not pickled:
            continue
        in_backup = key.endswith(BACKUP_SUFFIX.encode())
        if (session, key) in raw:
            unclear.append(LegacySession(session, key.decode(), ttl_ms, size, ambiguous=True))
            continue
        if session in found and in_backup:
            continue  # the legacy latest is still there: it is the current pickle
        found[session] = LegacySession(
            session, key.decode(), ttl_ms, size, in_backup, sorted(others.get(session, []))
        )
    return sorted([*found.values(), *unclear], key=lambda f: (f.session_id, f.key))


def explicit_session(client: Any, found: LegacySession) -> LegacySession:
    """An ambiguous session that the user named: its id keys are the pickles right under it.

    ``<prefix>:S:<id>`` keys whose ``<id>`` holds no ``:`` are taken as its
    own (only those holding pickles are ever deleted).
    """
    base = found.key[: -len(LATEST_SUFFIX)] + ":"
    pattern = glob_escape(base) + "*"
    ids = sorted(
        key.decode()
        for key in (
            k if isinstance(k, bytes) else str(k).encode()
            for k in client.scan_iter(match=pattern, count=_SCAN_COUNT, _type="string")
        )
        if b":" not in key[len(base.encode()) :] and not key.endswith(LATEST_SUFFIX)
    )
    return LegacySession(found.session_id, found.key, found.ttl_ms, found.size, id_keys=ids)


def _scan_strings(client: Any, schema: KeySchema) -> Iterator[bytes]:
    pattern = glob_escape(schema.root) + "*"
    for key in client.scan_iter(match=pattern, count=_SCAN_COUNT, _type="string"):
        yield key if isinstance(key, bytes) else str(key).encode()


def read_legacy_value(client: Any, key: str) -> tuple[bytes | None, int | None]:
    """The pickle bytes at `key` and its remaining TTL (ms), in one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.get(key)
    pipe.pttl(key)
    value, pttl = pipe.execute()
    return value, _ttl(pttl)
