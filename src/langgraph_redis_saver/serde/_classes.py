"""Application data classes: how they are written, found again and rebuilt.

A pydantic (v2 or v1) model, dataclass, Enum or NamedTuple that nobody
registered is written as the extension `OBJECT_EXT` with the payload
`[module, qualname, kind, fields]` (plus the names of the fields that were
set explicitly, for pydantic models, when that is not all of them).

Reading it back never imports and never calls code that the data names:

- the class is looked up only among modules already imported, in
  `sys.modules`, by plain `__dict__` lookups (`find_class`): no `getattr`,
  so no module `__getattr__`, no metaclass `__getattribute__`, no descriptor;
- it is used only if it is a data class (`class_kind`) and defines no
  `__del__` (a finalizer would later run on values the data chose);
- it is rebuilt the way pickle's default protocol rebuilds a plain object
  (`rebuild`): `object.__new__` (or `tuple.__new__`), then the stored fields
  are set through the slot and `__dict__` descriptors of the base classes
  that own them. No constructor, validator, `__post_init__`,
  `model_post_init`, `__setstate__`, `__reduce__` or `__setattr__` runs.

Every inspection of a class reads `type.__dict__` descriptors directly, so a
hostile metaclass never sees a call. Code changes between write and read
(fields added, removed or renamed, Enum members removed) give the best
object possible; what cannot be rebuilt comes back as plain data (the dict of
fields, or an Enum's raw value). Each such case is reported through
`Evolution` so the serializer can warn once per class.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import types
from collections.abc import Callable
from typing import Any, Final

from pydantic import BaseModel
from pydantic.fields import ModelPrivateAttr
from pydantic_core import PydanticUndefined

from ._notes import Note

__all__ = [
    "DATACLASS",
    "ENUM",
    "KIND_NAMES",
    "NAMEDTUPLE",
    "PYDANTIC",
    "PYDANTIC_V1",
    "Evolution",
    "class_kind",
    "class_name",
    "encode_fields",
    "find_class",
    "has_finalizer",
    "rebuild",
]

#: Kinds of data class, as stored in the payload (never renumber).
PYDANTIC: Final = 0
PYDANTIC_V1: Final = 1
DATACLASS: Final = 2
ENUM: Final = 3
NAMEDTUPLE: Final = 4
KIND_NAMES: Final = ("pydantic model", "pydantic.v1 model", "dataclass", "Enum", "NamedTuple")

#: Longest module or qualified name looked up in `sys.modules`.
MAX_NAME_LEN: Final = 300

# The raw descriptors of `type`: reading them never dispatches to a metaclass.
_mro: Callable[[type[Any]], tuple[type[Any], ...]] = type.__dict__["__mro__"].__get__
_class_dict: Callable[[type[Any]], types.MappingProxyType[str, Any]] = type.__dict__[
    "__dict__"
].__get__
_module_dict: Callable[[types.ModuleType], dict[str, Any]] = vars(types.ModuleType)[
    "__dict__"
].__get__
_qualname: Callable[[type[Any]], str] = type.__dict__["__qualname__"].__get__
_BM_SLOTS: Final = _class_dict(BaseModel)
_MISSING: Final = object()
_PRIMITIVES: Final = (str, int, float, bool, bytes, type(None))


Evolution = Note


def is_subclass(cls: type[Any], base: type[Any]) -> bool:
    """`issubclass` by identity over the MRO; never calls `__subclasscheck__`."""
    return any(k is base for k in _mro(cls))


def lookup(cls: type[Any], name: str) -> Any:
    """Class attribute `name` as stored in the MRO's `__dict__`s, or `_MISSING`."""
    for klass in _mro(cls):
        namespace = _class_dict(klass)
        if name in namespace:
            return namespace[name]
    return _MISSING


def find_class(module: Any, qualname: Any) -> type[Any] | None:
    """Find an already imported class by module and qualified name; never imports."""
    if type(module) is not str or type(qualname) is not str:
        return None
    if len(module) > MAX_NAME_LEN or len(qualname) > MAX_NAME_LEN:
        return None
    mod = sys.modules.get(module)
    if mod is None or not is_subclass(type(mod), types.ModuleType):
        return None
    obj: Any = _module_dict(mod).get
    parts = qualname.split(".")
    found: Any = obj(parts[0])
    for part in parts[1:]:
        if not is_subclass(type(found), type):
            return None
        found = _class_dict(found).get(part)
    return found if found is not None and is_subclass(type(found), type) else None


def class_name(cls: type[Any]) -> str:
    """`module.QualName` of a class, read without dispatching to its metaclass."""
    module = _class_dict(cls).get("__module__")
    return f"{module if type(module) is str else '?'}.{_qualname(cls)}"


def has_finalizer(cls: type[Any]) -> bool:
    """Whether instances run a `__del__` of the class when collected."""
    return any(k is not object and "__del__" in _class_dict(k) for k in _mro(cls))


def class_kind(cls: type[Any]) -> int | None:
    """The data-class kind of `cls`, or None when it is no data class."""
    mro = _mro(cls)
    if any(k is BaseModel for k in mro):
        return PYDANTIC
    if any(k is enum.Enum for k in mro):
        return ENUM
    v1 = _pydantic_v1_base()
    if v1 is not None and any(k is v1 for k in mro):
        return PYDANTIC_V1
    if type(lookup(cls, "__dataclass_fields__")) is dict:
        return DATACLASS
    if any(k is tuple for k in mro) and _str_tuple(lookup(cls, "_fields")):
        return NAMEDTUPLE
    return None


def _pydantic_v1_base() -> type[Any] | None:
    module = sys.modules.get("pydantic.v1.main")
    if module is None or not is_subclass(type(module), types.ModuleType):
        return None
    base = _module_dict(module).get("BaseModel")
    return base if isinstance(base, type) else None


def _str_tuple(value: Any) -> bool:
    return type(value) is tuple and all(type(item) is str for item in value)


# --- writing ------------------------------------------------------------------


def stored_class(obj: Any, kind: int) -> type[Any]:
    """The class to name for `obj`: a parametrized pydantic generic names its origin."""
    cls = type(obj)
    if kind == PYDANTIC:
        meta = lookup(cls, "__pydantic_generic_metadata__")
        origin = meta.get("origin") if type(meta) is dict else None
        if isinstance(origin, type):
            return origin
    return cls


def encode_fields(obj: Any, kind: int) -> tuple[Any, list[str] | None]:
    """The stored value of a data-class instance and, for pydantic, the fields set."""
    if kind == ENUM:
        return obj._value_, None
    if kind == PYDANTIC:
        values = obj.__dict__
        extra = obj.__pydantic_extra__
        data = {**values, **extra} if extra else values
        fields_set = obj.__pydantic_fields_set__
        if len(fields_set) == len(values) and fields_set == values.keys():
            return data, None
        return data, sorted(fields_set)
    if kind == PYDANTIC_V1:
        data = dict(obj.__dict__)
        fields_set = obj.__fields_set__
        return data, (None if fields_set == data.keys() else sorted(fields_set))
    if kind == DATACLASS:
        names = [f.name for f in dataclasses.fields(obj) if f._field_type is dataclasses._FIELD]  # type: ignore[attr-defined]
        return {name: getattr(obj, name) for name in names}, None
    return obj._asdict(), None


# --- reading ------------------------------------------------------------------


def rebuild(
    cls: type[Any], kind: int, value: Any, fields_set: Any, report: Callable[[Evolution], None]
) -> Any:
    """Rebuild an instance of `cls` from stored fields without running its code.

    Returns the object, or plain data (the stored value) when no object can
    be built; anything short of an exact rebuild goes to `report`.
    """
    where = f"class {class_name(cls)!r}"
    if kind == ENUM:
        return _enum_member(cls, value, where, report)
    if type(value) is not dict or not all(type(k) is str for k in value):
        report(Evolution(where, "stored fields are not a dict of names", _MIGRATE))
        return value
    try:
        if kind == PYDANTIC:
            return _pydantic(cls, value, fields_set, where, report)
        if kind == PYDANTIC_V1:
            return _pydantic_v1(cls, value, fields_set, where, report)
        if kind == DATACLASS:
            return _dataclass(cls, value, where, report)
        if kind == NAMEDTUPLE:
            return _namedtuple(cls, value, where, report)
    except TypeError as exc:  # e.g. object.__new__ refuses an abstract class
        report(Evolution(where, f"cannot be allocated ({exc})", _MIGRATE))
        return value
    report(Evolution(where, f"unknown stored kind {kind!r}", _MIGRATE))
    return value


_MIGRATE: Final = (
    "keep the old field names (with defaults) until the sessions expire, or migrate them"
    " (docs/migration.md, 'Class evolution across deploys')"
)


def _default(default: Any, factory: Any, takes_data: bool = False) -> Any:
    """The default of a field missing from the stored value, or `_MISSING`.

    A `default_factory` is called with no arguments: it is code chosen by
    the application's class definition, and nothing from the stored data
    reaches it. A pydantic factory that takes the validated data is not
    called (the data would be the stored, unvalidated fields).
    """
    if (
        default is not PydanticUndefined
        and default is not dataclasses.MISSING
        and default is not ...
    ):
        return default
    if factory is None or factory is dataclasses.MISSING or takes_data or not callable(factory):
        return _MISSING
    try:
        return factory()
    except Exception:  # the field stays unset; reported as missing
        return _MISSING


def _takes_data(field: Any) -> bool:
    # pydantic >= 2.10: Field(default_factory=lambda data: ...) gets the other fields.
    return getattr(field, "default_factory_takes_data", False) is True


def _fill(
    stored: dict[str, Any],
    defaults: dict[str, tuple[Any, Any, bool]],
    where: str,
    report: Callable[[Evolution], None],
    keep_unknown: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split stored fields into known fields (with defaults added) and unknown ones."""
    fields: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for name, item in stored.items():
        (fields if name in defaults else unknown)[name] = item
    missing = []
    for name, (default, factory, takes_data) in defaults.items():
        if name not in fields:
            value = _default(default, factory, takes_data)
            if value is _MISSING:
                missing.append(name)
            else:
                fields[name] = value
    if unknown and not keep_unknown:
        fate = "kept as extra fields" if keep_unknown else "dropped"
        report(
            Evolution(
                where, f"stored fields no longer defined, {fate}: {sorted(unknown)}", _MIGRATE
            )
        )
    if missing:
        report(
            Evolution(
                where,
                f"required fields missing from the stored value (left unset): {missing}",
                "give the new fields a default, or migrate the stored sessions",
            )
        )
    return fields, unknown


def _pydantic(
    cls: type[Any],
    stored: dict[str, Any],
    fields_set: Any,
    where: str,
    report: Callable[[Evolution], None],
) -> Any:
    model_fields = lookup(cls, "__pydantic_fields__")
    if type(model_fields) is not dict:
        model_fields = {}
    config = lookup(cls, "model_config")
    allow_extra = type(config) is dict and config.get("extra") == "allow"
    defaults = {
        name: (field.default, field.default_factory, _takes_data(field))
        for name, field in model_fields.items()
    }
    fields, unknown = _fill(stored, defaults, where, report, keep_unknown=allow_extra)
    obj = object.__new__(cls)
    _BM_SLOTS["__dict__"].__set__(obj, fields)
    if type(fields_set) is list and all(type(name) is str for name in fields_set):
        field_names = set(fields_set) & fields.keys()
    else:
        field_names = set(stored) & fields.keys()
    _BM_SLOTS["__pydantic_fields_set__"].__set__(obj, field_names)
    _BM_SLOTS["__pydantic_extra__"].__set__(obj, unknown if allow_extra else None)
    private = lookup(cls, "__private_attributes__")
    values = None
    if type(private) is dict and private:
        values = {}
        for name, attr in private.items():
            if type(attr) is not ModelPrivateAttr:
                continue
            value = _default(attr.default, attr.default_factory, _takes_data(attr))
            if value is not _MISSING:
                values[name] = value
    _BM_SLOTS["__pydantic_private__"].__set__(obj, values)
    return obj


def _pydantic_v1(
    cls: type[Any],
    stored: dict[str, Any],
    fields_set: Any,
    where: str,
    report: Callable[[Evolution], None],
) -> Any:
    base = _pydantic_v1_base()
    model_fields = lookup(cls, "__fields__")
    if base is None or type(model_fields) is not dict:
        report(Evolution(where, "pydantic.v1 is not loaded", _MIGRATE))
        return stored
    defaults = {
        name: (
            field.default if not field.required else dataclasses.MISSING,
            field.default_factory,
            False,
        )
        for name, field in model_fields.items()
    }
    fields, _ = _fill(stored, defaults, where, report)
    slots = _class_dict(base)
    obj = object.__new__(cls)
    slots["__dict__"].__set__(obj, fields)
    if type(fields_set) is list and all(type(name) is str for name in fields_set):
        names = set(fields_set) & fields.keys()
    else:
        names = set(stored) & fields.keys()
    slots["__fields_set__"].__set__(obj, names)
    return obj


def _dataclass(
    cls: type[Any], stored: dict[str, Any], where: str, report: Callable[[Evolution], None]
) -> Any:
    declared = lookup(cls, "__dataclass_fields__")
    defaults = {
        name: (field.default, field.default_factory, False)
        for name, field in declared.items()
        if type(field) is dataclasses.Field and field._field_type is dataclasses._FIELD  # type: ignore[attr-defined]
    }
    fields, _ = _fill(stored, defaults, where, report)
    obj = object.__new__(cls)
    in_dict: dict[str, Any] = {}
    for name, item in fields.items():
        slot = lookup(cls, name)
        if type(slot) is types.MemberDescriptorType:
            slot.__set__(obj, item)
        else:
            in_dict[name] = item
    if in_dict:
        descriptor = lookup(cls, "__dict__")
        if type(descriptor) is not types.GetSetDescriptorType:
            report(Evolution(where, f"fields {sorted(in_dict)} have no slot; dropped", _MIGRATE))
        else:
            descriptor.__set__(obj, in_dict)
    return obj


def _namedtuple(
    cls: type[Any], stored: dict[str, Any], where: str, report: Callable[[Evolution], None]
) -> Any:
    names = lookup(cls, "_fields")
    field_defaults = lookup(cls, "_field_defaults")
    if type(field_defaults) is not dict:
        field_defaults = {}
    defaults = {
        name: (field_defaults.get(name, dataclasses.MISSING), None, False) for name in names
    }
    fields, _ = _fill(stored, defaults, where, report)
    if len(fields) != len(names):
        return stored  # a tuple cannot leave a position unset; already reported
    return tuple.__new__(cls, [fields[name] for name in names])


def _enum_member(
    cls: type[Any], value: Any, where: str, report: Callable[[Evolution], None]
) -> Any:
    members = lookup(cls, "_value2member_map_")
    hashable = type(value) in _PRIMITIVES or (
        type(value) is tuple and all(type(item) in _PRIMITIVES for item in value)
    )
    if type(members) is dict and hashable:
        member = members.get(value, _MISSING)
        if member is not _MISSING:
            return member
        if type(value) is int and _stdlib_flag(cls):
            try:
                return cls(value)
            except ValueError:
                pass
    report(
        Evolution(
            where,
            f"no member has the stored value {value!r:.80}; loaded as the raw value",
            "keep the old member (alias it if renamed), or migrate the stored sessions",
        )
    )
    return value


def _stdlib_flag(cls: type[Any]) -> bool:
    # A composite Flag value (A|B) is built by enum's own Flag._missing_; allow
    # it only where every hook it reaches is the standard library's.
    return (
        type(cls) is enum.EnumMeta
        and lookup(cls, "_missing_") is _class_dict(enum.Flag)["_missing_"]
        and any(lookup(cls, "__new_member__") is new for new in (object.__new__, int.__new__))
        and lookup(cls, "__init__") is _class_dict(enum.Enum)["__init__"]
        and lookup(cls, "__setattr__") is _class_dict(object)["__setattr__"]
    )
