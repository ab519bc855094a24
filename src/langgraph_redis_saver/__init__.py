"""Durable LangGraph checkpoints on plain Redis.

>>> from langgraph_redis_saver import RedisCheckpointSaver, SafeMsgpackSerializer
"""

from ._admin import SessionInfo
from ._version import __version__
from .errors import (
    CheckpointConflictError,
    CheckpointCorruptedError,
    ConfigurationError,
    DecodeError,
    IndexWarning,
    LegacySessionError,
    RedisSaverError,
    RedisSaverWarning,
    RedisServerNotFoundError,
    SchemaVersionError,
    SerializationError,
    SessionNotFoundError,
    SkippedSessionWarning,
    UnsafeTypeError,
)
from .keys import KeySchema
from .saver import DEFAULT_TTL, RedisCheckpointSaver
from .serde import SafeMsgpackSerializer

__all__ = [
    "DEFAULT_TTL",
    "CheckpointConflictError",
    "CheckpointCorruptedError",
    "ConfigurationError",
    "DecodeError",
    "IndexWarning",
    "KeySchema",
    "LegacySessionError",
    "RedisCheckpointSaver",
    "RedisSaverError",
    "RedisSaverWarning",
    "RedisServerNotFoundError",
    "SafeMsgpackSerializer",
    "SchemaVersionError",
    "SerializationError",
    "SessionInfo",
    "SessionNotFoundError",
    "SkippedSessionWarning",
    "UnsafeTypeError",
    "__version__",
]
