"""Codecs for classes the user registers with `SafeMsgpackSerializer`.

A registered class is written as the extension `USER_EXT` with the payload
`[tag, value]`; `value` is a dict of fields for pydantic models, dataclasses
and NamedTuples (so `decode_plain` can show field names without the class),
the member's value for Enums, or whatever a custom `encode` function returns.
The class is found again through the tag, in a dict filled by code, never
through the data.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, RootModel
from typing_extensions import is_typeddict

from langgraph_redis_saver.errors import ConfigurationError, DecodeError

from ._codecs import USER_EXT, Codec, placeholder

__all__ = ["default_tag", "is_registrable", "user_codec"]

_MAX_TAG_LEN = 200


def default_tag(cls: type[Any]) -> str:
    """Return the tag a class is registered under by default: `module.QualName`."""
    return f"{cls.__module__}.{cls.__qualname__}"


def is_registrable(cls: type[Any]) -> bool:
    """Tell whether `register(cls)` works without custom encode/decode functions."""
    return (
        (isinstance(cls, type) and issubclass(cls, BaseModel))
        or _is_dataclass_type(cls)
        or (isinstance(cls, type) and issubclass(cls, enum.Enum))
        or _is_namedtuple_type(cls)
    )


def is_typeddict_type(cls: Any) -> bool:
    """TypedDict instances are plain dicts: registering one is a no-op."""
    return bool(is_typeddict(cls))


def _is_dataclass_type(cls: Any) -> bool:
    return isinstance(cls, type) and dataclasses.is_dataclass(cls)


def _is_namedtuple_type(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")


def _expect_dict(value: Any, tag: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise DecodeError(f"malformed payload for type tag {tag!r}: expected a dict of fields")
    return value


def _pydantic(cls: type[BaseModel], tag: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    if issubclass(cls, RootModel):
        return (lambda obj: obj.root), cls.model_validate

    names = tuple(cls.model_fields)
    # Stored under field names; validation may expect aliases instead.
    config = cls.model_config
    by_name = bool(config.get("populate_by_name") or config.get("validate_by_name"))
    aliases = {}
    for name, field in cls.model_fields.items():
        key = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
        if key is not None and key != name and not by_name:
            aliases[name] = key

    def encode(obj: BaseModel) -> dict[str, Any]:
        values = obj.__dict__
        fields = {name: values[name] for name in names}
        extra = obj.__pydantic_extra__
        return {**fields, **extra} if extra else fields

    def decode(value: Any) -> Any:
        # User models are validated (unlike LangChain messages): their
        # validators are the user's own invariants and the data may be hostile.
        data = _expect_dict(value, tag)
        if aliases:
            data = {aliases.get(key, key): item for key, item in data.items()}
        return cls.model_validate(data)

    return encode, decode


def _dataclass(cls: type[Any], tag: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    fields = dataclasses.fields(cls)
    names = tuple(field.name for field in fields)
    init_names = frozenset(field.name for field in fields if field.init)
    known = frozenset(names)

    def encode(obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in names}

    def decode(value: Any) -> Any:
        data = _expect_dict(value, tag)
        if not data.keys() <= known:
            unknown = sorted(map(str, data.keys() - known))
            raise DecodeError(f"type tag {tag!r}: unknown fields {unknown}")
        obj = cls(**{k: v for k, v in data.items() if k in init_names})
        for key, item in data.items():
            if key not in init_names:  # init=False fields: restore as stored
                object.__setattr__(obj, key, item)
        return obj

    return encode, decode


def _namedtuple(cls: type[Any], tag: str) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    def decode(value: Any) -> Any:
        return cls(**_expect_dict(value, tag))

    return (lambda obj: obj._asdict()), decode


def user_codec(
    cls: type[Any],
    tag: str,
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
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
    if encode is not None and decode is not None:
        enc, dec = encode, decode
    elif isinstance(cls, type) and issubclass(cls, BaseModel):
        enc, dec = _pydantic(cls, tag)
    elif _is_dataclass_type(cls):
        enc, dec = _dataclass(cls, tag)
    elif isinstance(cls, type) and issubclass(cls, enum.Enum):
        enc, dec = (lambda obj: obj.value), cls
    elif _is_namedtuple_type(cls):
        enc, dec = _namedtuple(cls, tag)
    else:
        name = getattr(cls, "__name__", repr(cls))
        raise ConfigurationError(
            f"Cannot register {default_tag(cls) if isinstance(cls, type) else name!r}: it is"
            " not a pydantic v2 model, dataclass, Enum or NamedTuple. Give it an encoder:"
            f" serde.register({name}, encode=lambda obj: ..., decode=lambda data: {name}(...))"
        )

    def encode_tagged(obj: Any) -> list[Any]:
        return [tag, enc(obj)]

    return Codec(USER_EXT, tag, encode_tagged, dec, lambda value: placeholder(tag, value))
