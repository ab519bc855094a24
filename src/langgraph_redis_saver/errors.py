"""Exceptions raised by langgraph-redis-saver.

Every error the package raises itself derives from `RedisSaverError`::

    RedisSaverError(Exception)                  root: catch this one
    ├── ConfigurationError(ValueError)          bad client, URL, option or config
    ├── SerializationError                      a value could not be encoded or decoded
    │   ├── UnsafeTypeError(TypeError)          type not on the allowlist (encode or decode)
    │   └── DecodeError(ValueError)             stored bytes are malformed, truncated or hostile
    ├── CheckpointCorruptedError                a stored record is incomplete or unreadable
    ├── SchemaVersionError                      stored data was written by a newer format
    ├── SessionNotFoundError(LookupError)       no such session, namespace or checkpoint
    ├── LegacySessionError                      a session in the pickled pre-saver format
    └── RedisServerNotFoundError(FileNotFoundError)
                                                no redis-server binary for a throwaway server

    StoredDataWarning(UserWarning)              a stored value was read back as plain data
                                                or as the closest object (code changed)

Errors from redis-py (`redis.exceptions.ConnectionError`, `TimeoutError`,
`ResponseError`, ...) propagate unchanged: they already say which server
could not be reached, and wrapping them would hide redis-py's retry semantics.
"""

from __future__ import annotations

__all__ = [
    "CheckpointCorruptedError",
    "ConfigurationError",
    "DecodeError",
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


class SchemaVersionError(RedisSaverError):
    """Stored data uses a format version newer than this library understands."""


class SessionNotFoundError(RedisSaverError, LookupError):
    """A session, namespace or checkpoint does not exist (or has expired)."""


class LegacySessionError(RedisSaverError):
    """A session is still in a legacy pickled format (``latest`` holds a pickle).

    The saver neither reads nor overwrites such a session: convert it first
    with ``lgrs migrate --from-pickle`` (see docs/migration.md).
    """

    def __init__(self, thread_id: str, key: str) -> None:
        super().__init__(
            f"session {thread_id!r} is a legacy pickled session ({key} holds a pickle, "
            "not a checkpoint id); it was left untouched. Convert it with: "
            f"lgrs migrate --from-pickle --session {thread_id!r}  (see docs/migration.md)"
        )
        self.thread_id = thread_id
        self.key = key


class RedisServerNotFoundError(RedisSaverError, FileNotFoundError):
    """No ``redis-server`` binary to start a throwaway server with."""


class StoredDataWarning(UserWarning):
    """A stored value could not be rebuilt exactly and was read as the closest match.

    Emitted once per class and reason: the class is not imported, not a data
    class, not allowed in strict mode, or its fields or members changed since
    the value was written. The message names the call that fixes it.
    """
