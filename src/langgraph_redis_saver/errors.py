"""Exceptions raised by langgraph-redis-saver.

Every error the package raises itself derives from `RedisSaverError`::

    RedisSaverError(Exception)                  root: catch this one
    ├── ConfigurationError(ValueError)          bad client, URL, option or config
    ├── SerializationError                      a value could not be encoded or decoded
    │   ├── UnsafeTypeError(TypeError)          type not on the allowlist (encode or decode)
    │   ├── DecodeError(ValueError)             stored bytes are malformed, truncated or hostile
    │   └── EncryptedSessionError               encrypted value, and no key (or the wrong one)
    ├── CheckpointCorruptedError                a stored record is incomplete or unreadable
    ├── CheckpointConflictError                 a write builds on what was removed meanwhile
    ├── SchemaVersionError                      stored data was written by a newer format
    ├── SessionNotFoundError(LookupError)       no such session, namespace or checkpoint
    ├── LegacySessionError                      a session in the pickled pre-saver format
    └── RedisServerNotFoundError(FileNotFoundError)
                                                no redis-server binary for a throwaway server

Warnings, for what the package works around without failing the call::

    RedisSaverWarning(UserWarning)
    ├── StoredDataWarning                       a stored value was read back as plain data
    │                                           or as the closest object (code changed)
    ├── IndexWarning                            a cross-session index key could not be updated
    └── SkippedSessionWarning                   a listing skipped a damaged session

Errors from redis-py (`redis.exceptions.ConnectionError`, `TimeoutError`,
`ResponseError`, ...) propagate unchanged: they already say which server
could not be reached, and wrapping them would hide redis-py's retry semantics.
"""

from __future__ import annotations

__all__ = [
    "CheckpointConflictError",
    "IndexWarning",
    "RedisSaverWarning",
    "SkippedSessionWarning",
    "CheckpointCorruptedError",
    "ConfigurationError",
    "DecodeError",
    "EncryptedSessionError",
    "LegacySessionError",
    "RedisSaverError",
    "SchemaVersionError",
    "RedisServerNotFoundError",
    "SerializationError",
    "SessionNotFoundError",
    "StoredDataWarning",
    "UnsafeTypeError",
]


class RedisSaverError(Exception):
    """Base class of every error raised by langgraph-redis-saver."""


class ConfigurationError(RedisSaverError, ValueError):
    """A client, URL, option or run config is not usable as given."""


class SerializationError(RedisSaverError):
    """A value could not be serialized or deserialized."""


class UnsafeTypeError(SerializationError, TypeError):
    """A type is not on the serializer's allowlist.

    Raised when encoding a value of an unregistered type, and when stored data
    names a type tag that is not registered (nothing is imported or executed).
    """


class DecodeError(SerializationError, ValueError):
    """Stored bytes are malformed, truncated, oversized or not in our format."""


class CheckpointCorruptedError(RedisSaverError):
    """A stored checkpoint is incomplete or unreadable.

    The message names the Redis key involved. Typical causes: keys removed by
    hand, keys evicted under memory pressure (any `maxmemory-policy` other
    than `noeviction`: every saver key carries a TTL, so `volatile-*`
    policies evict them too), or data written by another tool.
    """


class CheckpointConflictError(RedisSaverError):
    """A write was refused because what it builds on was removed after it was read.

    Raised by ``put`` when the checkpoint it continues from (or a DeltaChannel
    ancestor, or a channel value it reuses) was removed by ``prune()``,
    ``max_checkpoints_per_session``, ``delete_for_runs`` or expiry while the
    run was in flight. Nothing was written and the session stays readable;
    read the session again (``get_state``) and continue from its newest
    checkpoint.
    """


class SchemaVersionError(RedisSaverError):
    """Stored data uses a format version newer than this library understands."""


class EncryptedSessionError(SerializationError):
    """A value written through `EncryptedSerializer` and no key (or the wrong one) to read it.

    The inspector raises it; the saver itself decodes through the serializer
    it was given.
    """


class SessionNotFoundError(RedisSaverError, LookupError):
    """A session, namespace or checkpoint does not exist (or has expired)."""


class LegacySessionError(RedisSaverError):
    """A session is still in a legacy pickled format (``latest`` holds a pickle).

    The saver neither reads nor overwrites such a session: its scripts stop
    before touching anything. Convert it first with
    ``lgrs migrate --from-pickle`` (see docs/migration.md).
    """


class RedisServerNotFoundError(RedisSaverError, FileNotFoundError):
    """No ``redis-server`` binary to start a throwaway server with."""


class RedisSaverWarning(UserWarning):
    """Base class of the warnings langgraph-redis-saver emits."""


class IndexWarning(RedisSaverWarning):
    """A cross-session index key could not be updated; the checkpoint was stored.

    The key holds a value of another type (written by hand or by another
    tool). Delete it: the next writes rebuild it.
    """


class SkippedSessionWarning(RedisSaverWarning):
    """``list(None)`` or ``list_sessions`` skipped a session it could not read; the
    message names it."""


class StoredDataWarning(RedisSaverWarning):
    """A stored value could not be rebuilt exactly and was read as the closest match.

    Emitted once per class and reason: the class is not imported, not a data
    class, not allowed in strict mode, or its fields or members changed since
    the value was written. The message names the call that fixes it.
    """
