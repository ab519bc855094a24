"""Application classes: stored without registration, rebuilt without their code.

Evolution: a class that changed between the write and the read (a deploy in
the middle of a session) still loads, as the closest object or as plain data,
with one `StoredDataWarning` that names the fix; following the fix works.

Hostile: stored payloads naming imported classes whose hooks write a canary
file never leave a canary; names of non-data classes, functions and modules
come back as plain data.
"""

from __future__ import annotations

import gc
import sys
import textwrap
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest

from langgraph_redis_saver.errors import StoredDataWarning, UnsafeTypeError
from langgraph_redis_saver.serde import TYPE_TAG, SafeMsgpackSerializer
from langgraph_redis_saver.serde._codecs import OBJECT_EXT

APP = "lgrs_app_under_test"


def install(source: str, name: str = APP, **env: Any) -> types.ModuleType:
    """Define a module from source, as a deploy would ship it, in sys.modules."""
    module = types.ModuleType(name)
    module.__dict__.update(env)
    sys.modules[name] = module
    exec(textwrap.dedent(source), module.__dict__)  # test fixture code, not stored data
    return module


@pytest.fixture(autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    for name in [APP, APP + "_moved"]:
        sys.modules.pop(name, None)


def stored(module: str, qualname: str, kind: int, fields: Any) -> tuple[str, bytes]:
    body = msgpack.packb(
        msgpack.ExtType(OBJECT_EXT, msgpack.packb([module, qualname, kind, fields]))
    )
    return TYPE_TAG, b"\x01" + body


# --- evolution ----------------------------------------------------------------------------------

V1 = {
    "pydantic": """
        from pydantic import BaseModel
        class Ticket(BaseModel):
            title: str
            priority: int = 1
        """,
    "dataclass": """
        from dataclasses import dataclass
        @dataclass
        class Ticket:
            title: str
            priority: int = 1
        """,
    "namedtuple": """
        from typing import NamedTuple
        class Ticket(NamedTuple):
            title: str
            priority: int = 1
        """,
}

V1 = {kind: textwrap.dedent(source) for kind, source in V1.items()}

CHANGES = {
    # case: (new body of Ticket, expected fields, warning pattern or None)
    "field_added_with_default": (
        "title: str\n    priority: int = 1\n    owner: str = 'nobody'",
        {"title": "t", "priority": 2, "owner": "nobody"},
        None,
    ),
    "field_removed": ("title: str", {"title": "t"}, "no longer defined"),
    "field_renamed": (
        "title: str\n    urgency: int = 0",
        {"title": "t", "urgency": 0},
        "no longer defined",
    ),
    "type_changed": ("title: str\n    priority: str = 'low'", {"title": "t", "priority": 2}, None),
}


def redefine(kind: str, body: str) -> types.ModuleType:
    head = V1[kind].split("class Ticket")[0]
    base = {"pydantic": "(BaseModel)", "dataclass": "", "namedtuple": "(NamedTuple)"}[kind]
    lines = "".join(f"    {line.strip()}\n" for line in body.split("\n"))
    return install(head + f"class Ticket{base}:\n" + lines)


@pytest.mark.parametrize("kind", sorted(V1))
@pytest.mark.parametrize("case", sorted(CHANGES))
def test_serde_class_evolution_loads_best_object(kind: str, case: str) -> None:
    old = install(V1[kind])
    blob = SafeMsgpackSerializer().dumps_typed({"ticket": old.Ticket(title="t", priority=2)})
    body, expected, warning = CHANGES[case]
    new = redefine(kind, textwrap.dedent(body).replace("\n", "\n"))
    serde = SafeMsgpackSerializer()
    if warning is None:
        value = serde.loads_typed(blob)["ticket"]
    else:
        with pytest.warns(StoredDataWarning, match=warning):
            value = serde.loads_typed(blob)["ticket"]
    assert type(value) is new.Ticket
    got = value._asdict() if kind == "namedtuple" else dict(vars(value))
    assert got == expected


@pytest.mark.parametrize("kind", ["pydantic", "dataclass"])
def test_serde_required_field_added_loads_object_and_warns(kind: str) -> None:
    old = install(V1[kind])
    blob = SafeMsgpackSerializer().dumps_typed(old.Ticket(title="t"))
    new = redefine(kind, "title: str\n    owner: str\n    priority: int = 1")
    with pytest.warns(
        StoredDataWarning, match=r"required fields missing.*owner.*give the new fields a default"
    ):
        value = SafeMsgpackSerializer().loads_typed(blob)
    assert type(value) is new.Ticket and value.title == "t"
    # Following the advice (a default for the new field) loads it without a warning.
    fixed = redefine(kind, "title: str\n    owner: str = 'nobody'\n    priority: int = 1")
    assert SafeMsgpackSerializer().loads_typed(blob) == fixed.Ticket(title="t", owner="nobody")


FACTORY_FIELD = {
    "pydantic": "from pydantic import Field\n    w: int = Field(default_factory=lambda: 7)",
    "dataclass": "from dataclasses import field\n    w: int = field(default_factory=lambda: 7)",
}


@pytest.mark.parametrize("kind", sorted(FACTORY_FIELD))
def test_serde_field_added_with_default_factory_gets_its_default(kind: str) -> None:
    # The advice "give the new fields a default", followed with a factory.
    old = install(V1[kind])
    blob = SafeMsgpackSerializer().dumps_typed([old.Ticket(title="t"), old.Ticket(title="u")])
    new = redefine(kind, "title: str\n    priority: int = 1\n    " + FACTORY_FIELD[kind])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no StoredDataWarning
        values = SafeMsgpackSerializer().loads_typed(blob)
    assert values == [new.Ticket(title="t", w=7), new.Ticket(title="u", w=7)]
    assert values[0].w == 7


def test_serde_pydantic_factory_taking_data_is_not_called() -> None:
    old = install(V1["pydantic"])
    blob = SafeMsgpackSerializer().dumps_typed(old.Ticket(title="t"))
    calls: list[object] = []
    new = install(
        "from pydantic import BaseModel, Field\n"
        "class Ticket(BaseModel):\n"
        "    title: str\n"
        "    priority: int = 1\n"
        "    w: str = Field(default_factory=lambda data: calls.append(data) or 'x')\n",
        calls=calls,
    )
    with pytest.warns(StoredDataWarning, match=r"required fields missing.*'w'"):
        value = SafeMsgpackSerializer().loads_typed(blob)
    assert type(value) is new.Ticket and value.title == "t" and calls == []


def test_serde_enum_member_removed_loads_raw_value() -> None:
    old = install("import enum\nclass Status(enum.Enum):\n    OPEN = 'open'\n    STALE = 'stale'\n")
    blob = SafeMsgpackSerializer().dumps_typed([old.Status.OPEN, old.Status.STALE])
    new = install("import enum\nclass Status(enum.Enum):\n    OPEN = 'open'\n")
    with pytest.warns(StoredDataWarning, match="no member has the stored value 'stale'"):
        assert SafeMsgpackSerializer().loads_typed(blob) == [new.Status.OPEN, "stale"]
    # The advice: keep the old value as an alias of a current member.
    fixed = install(
        "import enum\nclass Status(enum.Enum):\n"
        "    OPEN = 'open'\n    STALE = 'open'\n    OLD_STALE = 'stale'\n"
    )
    assert SafeMsgpackSerializer().loads_typed(blob) == [fixed.Status.OPEN, fixed.Status.OLD_STALE]


@pytest.mark.parametrize("change", ["renamed", "deleted", "module_moved"])
def test_serde_class_gone_loads_plain_data_and_register_advice_works(change: str) -> None:
    old = install(V1["pydantic"])
    blob = SafeMsgpackSerializer().dumps_typed({"t": old.Ticket(title="t")})
    sys.modules.pop(APP)
    if change == "renamed":
        new = install(V1["pydantic"].replace("class Ticket", "class Issue"))
        cls = new.Issue
    elif change == "module_moved":
        new = install(V1["pydantic"], name=APP + "_moved")
        cls = new.Ticket
    else:
        cls = None
    with pytest.warns(
        StoredDataWarning, match=r"serde\.register\(Ticket, tag='lgrs_app_under_test\.Ticket'\)"
    ):
        value = SafeMsgpackSerializer().loads_typed(blob)
    assert value == {"t": {"title": "t", "priority": 1}}
    if cls is not None:  # follow the advice
        serde = SafeMsgpackSerializer().register(cls, tag=f"{APP}.Ticket")
        assert serde.loads_typed(blob) == {"t": cls(title="t")}


HASHABLE = {
    "pydantic": """
        from pydantic import BaseModel, ConfigDict
        class Ticket(BaseModel):
            model_config = ConfigDict(frozen=True)
            title: str
            priority: int = 1
        """,
    "dataclass": """
        from dataclasses import dataclass
        @dataclass(frozen=True)
        class Ticket:
            title: str
            priority: int = 1
        """,
    "namedtuple": V1["namedtuple"],
}


@pytest.mark.parametrize("kind", sorted(HASHABLE))
@pytest.mark.parametrize("change", ["deleted", "module_moved"])
def test_serde_class_gone_in_set_or_dict_key_loads_hashable_plain_data(
    kind: str, change: str
) -> None:
    old = install(textwrap.dedent(HASHABLE[kind]))
    a, b = old.Ticket(title="a"), old.Ticket(title="b", priority=2)
    blob = SafeMsgpackSerializer().dumps_typed({"set": {a, b}, "keys": {a: "first", b: "second"}})
    sys.modules.pop(APP)
    if change == "module_moved":
        install(textwrap.dedent(HASHABLE[kind]), name=APP + "_moved")
    serde = SafeMsgpackSerializer()
    with pytest.warns(StoredDataWarning, match="loaded as plain data"):
        value = serde.loads_typed(blob)
    plain_a, plain_b = {"title": "a", "priority": 1}, {"title": "b", "priority": 2}
    assert sorted(value["set"], key=str) == [plain_a, plain_b]
    assert sorted(value["keys"].values()) == ["first", "second"]
    assert {str(sorted(key.items())) for key in value["keys"]} == {
        str(sorted(plain_a.items())),
        str(sorted(plain_b.items())),
    }
    # Written back (the next step stores the state again), it keeps the
    # original objects: once the class is back, they are rebuilt.
    again = serde.dumps_typed(value)
    back = install(textwrap.dedent(HASHABLE[kind]))
    assert SafeMsgpackSerializer().loads_typed(again) == {
        "set": {back.Ticket(title="a"), back.Ticket(title="b", priority=2)},
        "keys": {back.Ticket(title="a"): "first", back.Ticket(title="b", priority=2): "second"},
    }


def test_serde_unknown_tag_in_set_loads_hashable_plain_data() -> None:
    old = install(textwrap.dedent(HASHABLE["dataclass"]))
    blob = SafeMsgpackSerializer().register(old.Ticket, tag="t").dumps_typed({old.Ticket("a")})
    serde = SafeMsgpackSerializer()
    with pytest.warns(StoredDataWarning, match="type tag 't'"):
        value = serde.loads_typed(blob)
    assert list(value) == [{"title": "a", "priority": 1}]
    again = serde.dumps_typed(value)
    registered = SafeMsgpackSerializer().register(old.Ticket, tag="t")
    assert registered.loads_typed(again) == {old.Ticket("a")}


def test_serde_warns_once_per_class() -> None:
    old = install(V1["dataclass"])
    blob = SafeMsgpackSerializer().dumps_typed([old.Ticket("a"), old.Ticket("b")])
    redefine("dataclass", "title: str")
    serde = SafeMsgpackSerializer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        serde.loads_typed(blob)
        serde.loads_typed(blob)
    assert len([w for w in caught if issubclass(w.category, StoredDataWarning)]) == 1


def test_serde_strict_mode_loads_plain_data_and_allowed_advice_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mod = install(V1["pydantic"])
    blob = SafeMsgpackSerializer().dumps_typed(mod.Ticket(title="t"))
    monkeypatch.setenv("LANGGRAPH_STRICT_MSGPACK", "true")
    strict = SafeMsgpackSerializer()
    assert strict.strict
    with pytest.warns(
        StoredDataWarning, match=r"SafeMsgpackSerializer\(strict=True, allowed=\[Ticket\]\)"
    ):
        assert strict.loads_typed(blob) == {"title": "t", "priority": 1}
    assert SafeMsgpackSerializer(strict=True, allowed=[mod.Ticket]).loads_typed(blob) == mod.Ticket(
        title="t"
    )


def test_serde_unstorable_values_all_named_with_paths() -> None:
    mod = install(
        """
        from dataclasses import dataclass, field
        @dataclass
        class Plan:
            steps: list
        """
    )
    value = {"plan": mod.Plan(steps=[1, 2, {"callback": lambda: 0}]), "sock": [open]}
    with pytest.raises(UnsafeTypeError) as info:
        SafeMsgpackSerializer().dumps_typed(value)
    message = str(info.value)
    assert "value['plan'].steps[2]['callback'] (builtins.function)" in message
    assert "value['sock'][0]" in message and "2 value(s)" in message


def test_serde_unstorable_class_advice_register_encoder_works() -> None:
    class Money:
        def __init__(self, cents: int) -> None:
            self.cents = cents

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Money) and other.cents == self.cents

    with pytest.raises(UnsafeTypeError, match=r"serde\.register\(Money, encode=") as info:
        SafeMsgpackSerializer().dumps_typed({"m": Money(5)})
    assert "value['m']" in str(info.value)
    serde = SafeMsgpackSerializer().register(Money, encode=lambda m: m.cents, decode=Money)
    assert serde.loads_typed(serde.dumps_typed({"m": Money(5)})) == {"m": Money(5)}


# --- hostile: hooks of already imported classes never run --------------------------------------

HOOKS = """
import enum, dataclasses, typing
from pathlib import Path
from pydantic import BaseModel, field_validator, model_validator

def hit(name):
    Path(CANARY_DIR, name).write_text("ran")

READ_BY_DECODERS = (
    "__module__", "__qualname__", "__name__", "__dict__", "__mro__", "__bases__",
    "__pydantic_fields__", "__private_attributes__", "__pydantic_generic_metadata__",
    "__dataclass_fields__", "__del__", "__hash__", "__eq__",
)

class Meta(type(BaseModel)):
    def __call__(cls, *a, **k):
        hit("meta_call"); return super().__call__(*a, **k)
    def __getattribute__(cls, name):
        if not name.startswith("__") or name in READ_BY_DECODERS:
            hit("meta_getattribute")
        return super().__getattribute__(name)
    def __instancecheck__(cls, obj):
        hit("meta_instancecheck"); return super().__instancecheck__(obj)
    def __subclasscheck__(cls, sub):
        hit("meta_subclasscheck"); return super().__subclasscheck__(sub)
    def __eq__(cls, other):
        hit("meta_eq"); return super().__eq__(other)
    __hash__ = type.__hash__

class Model(BaseModel, metaclass=Meta):
    x: int = 0
    def __init__(self, **kw):
        hit("init"); super().__init__(**kw)
    def __new__(cls, *a, **k):
        hit("new"); return super().__new__(cls)
    def __setattr__(self, name, value):
        hit("setattr"); super().__setattr__(name, value)
    @field_validator("x")
    @classmethod
    def check(cls, v):
        hit("field_validator"); return v
    @model_validator(mode="after")
    def whole(self):
        hit("model_validator"); return self
    def model_post_init(self, context):
        hit("model_post_init")
    def __setstate__(self, state):
        hit("setstate")
    def __reduce__(self):
        hit("reduce"); return (dict, ())

@dataclasses.dataclass
class Data:
    x: int = 0
    def __post_init__(self):
        hit("post_init")
    def __new__(cls, *a, **k):
        hit("dc_new"); return object.__new__(cls)
    def __setattr__(self, name, value):
        hit("dc_setattr"); object.__setattr__(self, name, value)
    def __setstate__(self, state):
        hit("dc_setstate")

class DataMeta(type):
    def __getattribute__(cls, name):
        if not name.startswith("__") or name in READ_BY_DECODERS:
            hit("dc_meta_getattribute")
        return super().__getattribute__(name)

@dataclasses.dataclass
class MetaData(metaclass=DataMeta):
    x: int = 0

@dataclasses.dataclass
class Finalized:
    x: int = 0
    def __del__(self):
        hit("del")

class Tup(typing.NamedTuple):
    x: int = 0

class Color(enum.Enum):
    RED = "red"
    @classmethod
    def _missing_(cls, value):
        hit("enum_missing")

def __getattr__(name):
    hit("module_getattr"); raise AttributeError(name)
"""


@pytest.fixture
def hooks(tmp_path: Path) -> Iterator[tuple[types.ModuleType, Path]]:
    module = install(HOOKS, CANARY_DIR=str(tmp_path))
    for hit in tmp_path.iterdir():  # the metaclass runs while the class is defined
        hit.unlink()
    yield module, tmp_path


def test_hostile_stored_classes_rebuild_without_running_hooks(
    hooks: tuple[types.ModuleType, Path],
) -> None:
    module, canary_dir = hooks
    serde = SafeMsgpackSerializer()
    with pytest.warns(StoredDataWarning, match="no longer defined"):
        values = serde.loads_typed(
            (
                TYPE_TAG,
                b"\x01"
                + msgpack.packb(
                    [
                        msgpack.ExtType(OBJECT_EXT, msgpack.packb([APP, "Model", 0, {"x": 5}])),
                        msgpack.ExtType(OBJECT_EXT, msgpack.packb([APP, "Data", 2, {"x": 6}])),
                        msgpack.ExtType(OBJECT_EXT, msgpack.packb([APP, "Tup", 4, {"x": 7}])),
                        msgpack.ExtType(OBJECT_EXT, msgpack.packb([APP, "Color", 3, "red"])),
                        msgpack.ExtType(OBJECT_EXT, msgpack.packb([APP, "MetaData", 2, {"x": 8}])),
                        # changed since the write: the warning names the class
                        msgpack.ExtType(OBJECT_EXT, msgpack.packb([APP, "Model", 0, {"gone": 1}])),
                        msgpack.ExtType(OBJECT_EXT, msgpack.packb([APP, "MetaData", 2, {"y": 1}])),
                    ]
                ),
            )
        )
    name_of = type.__dict__["__name__"].__get__  # the test must not ask the metaclass either
    assert [name_of(type(v)) for v in values] == [
        "Model", "Data", "Tup", "Color", "MetaData", "Model", "MetaData"
    ]  # fmt: skip
    assert object.__getattribute__(values[0], "__dict__") == {"x": 5}
    assert values[1].__dict__ == {"x": 6} and values[2] == (7,) and values[3] is module.Color.RED
    gc.collect()
    assert sorted(p.name for p in canary_dir.iterdir()) == []


def test_hostile_finalizer_class_loads_as_plain_data(hooks: tuple[types.ModuleType, Path]) -> None:
    _, canary_dir = hooks
    blob = stored(APP, "Finalized", 2, {"x": 1})
    with pytest.warns(StoredDataWarning, match=r"__del__.*serde\.register\(Finalized\)"):
        assert SafeMsgpackSerializer().loads_typed(blob) == {"x": 1}
    gc.collect()
    assert list(canary_dir.iterdir()) == []


def test_hostile_unknown_enum_value_never_calls_missing(
    hooks: tuple[types.ModuleType, Path],
) -> None:
    _, canary_dir = hooks
    with pytest.warns(StoredDataWarning):
        assert SafeMsgpackSerializer().loads_typed(stored(APP, "Color", 3, "blue")) == "blue"
    assert list(canary_dir.iterdir()) == []


def test_hostile_module_getattr_is_never_called(hooks: tuple[types.ModuleType, Path]) -> None:
    _, canary_dir = hooks
    with pytest.warns(StoredDataWarning, match="not imported"):
        assert SafeMsgpackSerializer().loads_typed(stored(APP, "Lazy", 0, {"a": 1})) == {"a": 1}
    assert list(canary_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("module", "qualname"),
    [
        ("subprocess", "Popen"),
        ("os", "_wrap_close"),
        ("os", "system"),
        ("builtins", "eval"),
        ("os", "path"),  # a module
        ("builtins", "object"),
        ("pydantic", "BaseModel.model_validate"),
    ],
)
@pytest.mark.parametrize("kind", [0, 2, 3, 4])
def test_hostile_non_data_classes_come_back_as_plain_data(
    module: str, qualname: str, kind: int, tmp_path: Path
) -> None:
    fields = {"args": ["touch", str(tmp_path / "ran")], "shell": True}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert SafeMsgpackSerializer().loads_typed(stored(module, qualname, kind, fields)) == fields
    assert caught and all(issubclass(w.category, StoredDataWarning) for w in caught)
    assert not (tmp_path / "ran").exists()


def test_hostile_registered_finalizer_class_is_rebuilt(
    hooks: tuple[types.ModuleType, Path],
) -> None:
    module, canary_dir = hooks
    serde = SafeMsgpackSerializer().register(module.Finalized)
    value = serde.loads_typed(stored(APP, "Finalized", 2, {"x": 1}))
    assert type(value) is module.Finalized
    del value
    gc.collect()
    assert [p.name for p in canary_dir.iterdir()] == ["del"]  # the user trusted it


def test_serde_removed_field_advice_keep_old_name_with_default_works() -> None:
    old = install(V1["pydantic"])
    blob = SafeMsgpackSerializer().dumps_typed(old.Ticket(title="t", priority=3))
    redefine("pydantic", "title: str")
    with pytest.warns(StoredDataWarning, match="keep the old field names"):
        SafeMsgpackSerializer().loads_typed(blob)
    fixed = redefine("pydantic", "title: str\npriority: int = 0")
    assert SafeMsgpackSerializer().loads_typed(blob) == fixed.Ticket(title="t", priority=3)


def test_serde_not_imported_advice_import_module_works() -> None:
    old = install(V1["dataclass"])
    blob = SafeMsgpackSerializer().dumps_typed(old.Ticket(title="t"))
    sys.modules.pop(APP)
    with pytest.warns(StoredDataWarning, match=f"import {APP} before reading"):
        assert SafeMsgpackSerializer().loads_typed(blob) == {"title": "t", "priority": 1}
    new = install(V1["dataclass"])  # the application imports its module
    assert SafeMsgpackSerializer().loads_typed(blob) == new.Ticket(title="t")
