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

from ._unpickle import LegacyPickleError

__all__ = [
    "BACKUP_SUFFIX",
    "LegacyKeys",
    "LegacySession",
    "explicit_session",
    "pickle_heads",
    "find_legacy_sessions",
    "is_pickle",
    "delete_pickles",
    "probe_pickles",
    "read_legacy_bounded",
    "session_pickles",
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


def read_legacy_bounded(client: Any, key: str, max_bytes: int) -> tuple[bytes | None, int | None]:
    """The pickle bytes at `key` and its TTL (ms), reading at most `max_bytes` + 1 bytes.

    One round trip. A value over `max_bytes` is never fetched whole (a
    stored value, like any attacker-controlled input, must not choose how
    much memory the reader takes).

    Raises:
        LegacyPickleError: the value holds a pickle bigger than `max_bytes`.
    """
    pipe = client.pipeline(transaction=False)
    pipe.getrange(key, 0, max_bytes)
    pipe.strlen(key)
    pipe.pttl(key)
    head, size, pttl = pipe.execute()
    if not size:
        return None, None
    if int(size) > max_bytes:
        if head[:1] == b"\x80" or _old_protocol_frame(head[:1], b"."):
            raise LegacyPickleError(f"pickle of {size} bytes is over the {max_bytes} byte limit")
        return None, _ttl(pttl)  # not a pickle (too big to be one of the old store's)
    return head, _ttl(pttl)


def pickle_heads(client: Any, schema: KeySchema, session: str) -> list[str]:
    """Which of the session's legacy ``latest`` and migration backup hold a pickle.

    One round trip (two for a protocol 0/1 candidate); nothing is unpickled.
    Empty when the named session is not a legacy one.
    """
    keys = LegacyKeys(schema)
    heads = [keys.latest(session), keys.backup(session)]
    probed = probe_pickles(client, heads)
    return [k for k, (pickled, _, _) in zip(heads, probed, strict=True) if pickled]


def session_pickles(client: Any, schema: KeySchema, session: str) -> list[str]:
    """Keys holding the legacy pickles of one named session; ``[]`` when it has none.

    The session is legacy when its ``<prefix>:S:latest``, or the backup of
    an interrupted migration, holds a pickle; its keys are then those two
    (where they hold pickles) and its ``<prefix>:S:<id>`` string keys that
    hold pickles (``<id>`` without ``:``, as `explicit_session` takes them).
    Values are probed (`probe_pickles`), never unpickled; the id keys are
    found by SCAN with the session's glob characters escaped.
    """
    found = pickle_heads(client, schema, session)
    if not found:
        return []
    base = f"{schema.root}{session}:".encode()
    ids = sorted(
        key.decode()
        for key in (
            k if isinstance(k, bytes) else str(k).encode()
            for k in client.scan_iter(
                match=glob_escape(base.decode()) + "*", count=_SCAN_COUNT, _type="string"
            )
        )
        if b":" not in key[len(base) :] and not key.endswith(LATEST_SUFFIX)
    )
    probed = probe_pickles(client, ids) if ids else []
    return found + [k for k, (pickled, _, _) in zip(ids, probed, strict=True) if pickled]


def delete_pickles(client: Any, keys: Sequence[str]) -> int:
    """Delete each key that still holds a pickle; returns how many were deleted.

    Each key is checked and deleted under ``WATCH``, so a key rewritten
    meanwhile (a session migrated in place since: its ``latest`` now names a
    checkpoint) is left alone. Nothing is unpickled. One key per transaction,
    so keys in different cluster slots are fine.
    """
    from redis.exceptions import WatchError

    deleted = 0
    for key in keys:
        with client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)
                if not is_pickle(pipe.get(key)):
                    continue
                pipe.multi()
                pipe.delete(key)
                deleted += sum(int(n) for n in pipe.execute())
            except WatchError:
                continue  # changed meanwhile: not a pickle of ours to delete any more
    return deleted
