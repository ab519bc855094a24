"""Exceptions raised by langgraph-redis-saver.

Every error the package raises itself derives from `RedisSaverError`::

    RedisSaverError(Exception)                  root: catch this one
    ├── ConfigurationError(ValueError)          bad client, URL, option or config
    ├── SerializationError                      a value could not be encoded or decoded
    │   ├── UnsafeTypeError(TypeError)          type not on the allowlist (encode or decode)
    │   ├── DecodeError(ValueError)             stored bytes are malformed, truncated or hostile
    │   └── EncryptedSessionError               encrypted value, and no key (or the wrong one)
    ├── CheckpointCorruptedError                a stored record is incomplete or unreadable
    ├── SchemaVersionError                      stored data was written by a newer format
    ├── SessionNotFoundError(LookupError)       no such session, namespace or checkpoint
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
    "EncryptedSessionError",
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


class EncryptedSessionError(SerializationError):
    """A value written through `EncryptedSerializer` and no key (or the wrong one) to read it.

    The inspector raises it; the saver itself decodes through the serializer
    it was given.
    """


class SessionNotFoundError(RedisSaverError, LookupError):
    """A session, namespace or checkpoint does not exist (or has expired)."""


class RedisServerNotFoundError(RedisSaverError, FileNotFoundError):
    """No ``redis-server`` binary to start a throwaway server with."""


class StoredDataWarning(UserWarning):
    """A stored value could not be rebuilt exactly and was read as the closest match.

    Emitted once per class and reason: the class is not imported, not a data
    class, not allowed in strict mode, or its fields or members changed since
    the value was written. The message names the call that fixes it.
    """
