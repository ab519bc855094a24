"""Durable LangGraph checkpoints on plain Redis.

>>> from langgraph_redis_saver import RedisCheckpointSaver, SafeMsgpackSerializer
"""

import typing as _typing

from ._version import __version__
from .errors import (
    CheckpointConflictError,
    CheckpointCorruptedError,
    ConfigurationError,
    DecodeError,
    EncryptedSessionError,
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

if _typing.TYPE_CHECKING:
    from ._admin import SessionInfo
    from .saver import DEFAULT_TTL, RedisCheckpointSaver
    from .serde import SafeMsgpackSerializer

__all__ = [
    "DEFAULT_TTL",
    "CheckpointConflictError",
    "CheckpointCorruptedError",
    "ConfigurationError",
    "DecodeError",
    "EncryptedSessionError",
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


def __dir__() -> list[str]:
    """The module's names, the lazily loaded ones included."""
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> _typing.Any:
    """Load the saver and the serializer on first use.

    They import LangGraph and langchain-core, which the ``lgrs`` command
    needs only for the commands that decode sessions (not for ``--help``).
    The table is fixed here; nothing is imported by a name from outside.
    """
    if name in ("RedisCheckpointSaver", "DEFAULT_TTL"):
        from . import saver

        return getattr(saver, name)
    if name == "SafeMsgpackSerializer":
        from .serde import SafeMsgpackSerializer

        return SafeMsgpackSerializer
    if name == "SessionInfo":
        from ._admin import SessionInfo

        return SessionInfo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
