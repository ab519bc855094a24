"""Codecs for classes the user registers with `SafeMsgpackSerializer`.

A registered class is written as the extension `USER_EXT` with the payload
`[tag, value]`; `value` is a dict of fields for pydantic models, dataclasses
and NamedTuples (so `decode_plain` can show field names without the class),
the member's value for Enums, or whatever a custom `encode` function returns.
The class is found again through the tag, in a dict filled by code, never
through the data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import RootModel
from typing_extensions import is_typeddict

from langgraph_redis_saver.errors import ConfigurationError

from ._classes import PYDANTIC, Evolution, class_kind, encode_fields, rebuild
from ._codecs import USER_EXT, Codec, placeholder

__all__ = ["default_tag", "is_registrable", "user_codec"]

_MAX_TAG_LEN = 200


def default_tag(cls: type[Any]) -> str:
    """Return the tag a class is registered under by default: `module.QualName`."""
    return f"{cls.__module__}.{cls.__qualname__}"


def is_registrable(cls: type[Any]) -> bool:
    """Tell whether `register(cls)` works without custom encode/decode functions."""
    return isinstance(cls, type) and class_kind(cls) is not None


def is_typeddict_type(cls: Any) -> bool:
    """TypedDict instances are plain dicts: registering one is a no-op."""
    return bool(is_typeddict(cls))


def _data_class(
    cls: type[Any], kind: int, report: Callable[[Evolution], None]
) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    # Registered classes are rebuilt like the ones found in sys.modules
    # (allocate, set the stored fields): no validator runs on stored data, and
    # a class whose fields changed since the write still loads.
    if kind == PYDANTIC and any(k is RootModel for k in cls.__mro__):
        return (lambda obj: obj.root), (
            lambda value: rebuild(cls, kind, {"root": value}, None, report)
        )

    def encode(obj: Any) -> Any:
        return encode_fields(obj, kind)[0]

    def decode(value: Any) -> Any:
        return rebuild(cls, kind, value, None, report)

    return encode, decode


def user_codec(
    cls: type[Any],
    tag: str,
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
    report: Callable[[Evolution], None] = lambda _: None,
) -> Codec:
    """Build the codec of a registered class.

    Raises:
        ConfigurationError: the tag is invalid, only one of `encode`/`decode`
            was given, or the class is of a kind that needs them.
    """
    if not isinstance(tag, str) or not 0 < len(tag) <= _MAX_TAG_LEN:
        raise ConfigurationError(
            f"a type tag must be a non-empty str of at most 200 chars: {tag!r}"
        )
    if (encode is None) != (decode is None):
        raise ConfigurationError("pass both encode= and decode=, or neither")
    kind = class_kind(cls) if isinstance(cls, type) else None
    if encode is not None and decode is not None:
        enc, dec = encode, decode
    elif kind is not None:
        enc, dec = _data_class(cls, kind, report)
    else:
        name = getattr(cls, "__name__", repr(cls))
        raise ConfigurationError(
            f"Cannot register {default_tag(cls) if isinstance(cls, type) else name!r}: it is"
            " not a pydantic model, dataclass, Enum or NamedTuple. Give it an encoder:"
            f" serde.register({name}, encode=lambda obj: ..., decode=lambda data: {name}(...))"
        )

    def encode_tagged(obj: Any) -> list[Any]:
        return [tag, enc(obj)]

    return Codec(USER_EXT, tag, encode_tagged, dec, lambda value: placeholder(tag, value))
