"""The Python-Lua contract: named slots, one builder per script, record fields.

Each script's header names its KEYS and ARGV slots; the body binds every fixed
slot to a local of that name; `lua.calls` builds every call by those names;
every hash field a script reads or writes is in `keys.Field`, which is also
the table in docs/key-schema.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from langgraph_redis_saver import lua
from langgraph_redis_saver.keys import RECORD_FIELDS, Field, KeySchema
from langgraph_redis_saver.lua import calls

LUA_DIR = Path(lua.__file__).parent
DOC = Path(__file__).parents[2] / "docs" / "key-schema.md"
_BINDING = re.compile(r"^local (\w+) = (?:tonumber\()?(KEYS|ARGV)\[(\d+)\]\)?$")
_LITERAL_INDEX = re.compile(r"\b(KEYS|ARGV)\[(\d+)\]")
_HASH_CALL = re.compile(r"redis\.p?call\(\s*'(H[A-Z]+)'")


def _body(script: lua.Script) -> str:
    return (LUA_DIR / script.name).read_text()


@pytest.mark.parametrize("script", lua.SCRIPTS, ids=lambda s: s.name)
def test_lua_header_names_every_slot_and_the_body_binds_them(script: lua.Script) -> None:
    assert script.keys and script.argv, f"{script.name} has no KEYS/ARGV header"
    fixed = {
        kind: [s.name for s in slots if not s.variadic]
        for kind, slots in (("KEYS", script.keys), ("ARGV", script.argv))
    }
    bound: dict[tuple[str, int], str] = {}
    code_lines = [ln for ln in _body(script).splitlines() if not ln.lstrip().startswith("--")]
    for line in code_lines:
        m = _BINDING.match(line.strip())
        if m:
            name, kind, pos = m.groups()
            bound[(kind, int(pos))] = name
            continue
        for kind, pos in _LITERAL_INDEX.findall(line):
            raise AssertionError(
                f"{script.name}: {kind}[{pos}] used outside its binding: {line.strip()!r}"
            )
    for kind, names in fixed.items():
        for i, name in enumerate(names, start=1):
            assert bound.get((kind, i)) == name, (
                f"{script.name}: {kind}[{i}] is {name!r} in the header, bound as "
                f"{bound.get((kind, i))!r}"
            )
    assert len(bound) == sum(len(n) for n in fixed.values())


def test_lua_header_parser_rejects_misnumbered_slots() -> None:
    with pytest.raises(ValueError, match="numbered"):
        lua.parse_header("-- KEYS[2]  b  x\n")
    with pytest.raises(ValueError, match="variadic"):
        lua.parse_header("-- ARGV[..]  rest  no star\n")


def test_lua_script_call_refuses_names_the_header_does_not_have() -> None:
    with pytest.raises(TypeError, match=r"get\.lua KEYS"):
        lua.GET.call({"latest": "l"}, {})
    with pytest.raises(TypeError, match="ARGV"):
        lua.DELTA.call({"latest": "l"}, {"rec_prefix": "r", "surprise": 1})


def test_lua_every_builder_fills_every_slot_in_header_order() -> None:
    ns = KeySchema().namespace("t", "sub")
    put = calls.put(
        ns, checkpoint_id="c", checkpoint_ns="sub", parent_id="p", ttl_ms=5,
        fields=[("v", b"1"), ("blobs", "a:1")], new_blobs=[("K1", b"V1")], kept_blobs=["K2"],
        delta_channels=["d"], index_commands=[("ZADD", "idx", 1, "t")], base_blobs=["K3"],
    )  # fmt: skip
    assert list(put.keys) == [
        ns.record("c"),
        ns.latest,
        ns.timeline,
        ns.namespaces,
        ns.writes("c"),
        "K1",
        "K2",
        "K3",
    ]
    assert list(put.args) == [
        5, "c", "sub", "p", 2, 1, 1, 1, 1, ns.record_prefix, ns.writes_prefix, ns.blob_prefix, 1,
        1, "v", b"1", "blobs", "a:1", b"V1", "d", 4, "ZADD", "idx", 1, "t",
    ]  # fmt: skip
    built = [
        put,
        calls.put_writes(ns, "c", ttl_ms=5, entries=[("f", "e", "nx")]),
        calls.get(ns, None, refresh_ttl_ms=0),
        calls.list_page(ns, before_id=None, limit=3, filter_json="", exact_id=None),
        calls.delete([ns], namespaces_set=ns.namespaces, index_keys=["user_id"]),
        calls.delta(ns, "c", ["ch"]),
        calls.drop(ns, "sub", "ids", ids=["c"]),
        calls.sizes([ns], namespaces_set=ns.namespaces),
    ]
    assert {c.script.name for c in built} == {s.name for s in lua.SCRIPTS}
    for call in built:
        fixed = [s for s in call.script.argv if not s.variadic]
        assert len(call.args) >= len(fixed)


def _call_args(source: str, start: int) -> list[str]:
    """The top-level comma-separated arguments of the call opening at `start`."""
    depth, args, cur, i, quote = 0, [], "", start, None
    while i < len(source):
        c = source[i]
        if quote:
            cur += c
            if c == quote and source[i - 1] != "\\":
                quote = None
        elif c in "'\"":
            quote = c
            cur += c
        elif c in "({":
            depth += 1
            if depth > 1:
                cur += c
        elif c in ")}":
            depth -= 1
            if depth == 0:
                args.append(cur.strip())
                return args
            cur += c
        elif c == "," and depth == 1:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    raise AssertionError("unbalanced call")


def _lua_hash_fields() -> dict[str, set[str]]:
    """Every literal hash field each Lua file reads or writes, by file."""
    found: dict[str, set[str]] = {}
    for path in sorted(LUA_DIR.glob("*.lua")):
        source = path.read_text()
        fields: set[str] = set()
        for m in _HASH_CALL.finditer(source):
            command = m.group(1)
            args = _call_args(source, source.index("(", m.start()))[2:]  # after command, key
            if command in ("HSET", "HSETNX"):
                args = args[::2]  # field, value pairs
            elif command not in ("HGET", "HMGET", "HDEL", "HEXISTS"):
                continue  # HVALS, HGETALL: no field names
            fields |= {a.strip("'\"") for a in args if re.fullmatch(r"'[^']*'", a)}
        found[path.name] = fields
    return found


def test_lua_hash_fields_are_the_record_field_table() -> None:
    found = _lua_hash_fields()
    used = set().union(*found.values())
    unknown = {f"{name}: {f}" for name, fs in found.items() for f in fs - set(RECORD_FIELDS)}
    assert not unknown, f"Lua uses hash fields missing from keys.Field: {sorted(unknown)}"
    # The parser sees what it should: the fields the read and the drop scripts use.
    assert {Field.BLOBS, Field.PARENT, Field.HIDDEN, Field.METADATA, Field.CHECKPOINT} <= used
    assert Field.HIDDEN in found["drop.lua"] and Field.VERSION in found["lib.lua"]


def test_record_field_table_is_the_documented_one() -> None:
    text = DOC.read_text()
    section = text.split("### Checkpoint hash fields", 1)[1].split("\n## ", 1)[0]
    documented: set[str] = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            documented |= set(re.findall(r"`([^`]+)`", first_cell))
    assert documented == set(RECORD_FIELDS)


def test_lua_lib_defines_only_declared_helpers() -> None:
    source = lua.LIB_SOURCE
    assert not re.search(r"^local ", source, re.MULTILINE), "lib.lua top level: no locals"
    assert set(lua.LIB_FUNCTIONS) == set(re.findall(r"^function (\w+)\(", source, re.MULTILINE))
    for script in lua.SCRIPTS:
        assert script.source.startswith(f"local {', '.join(lua.LIB_FUNCTIONS)}; ")
        # Body lines keep their numbers: line N of the source is line N of the file.
        body = _body(script).splitlines()
        assert script.source.splitlines()[5].endswith(body[5]) or body[5] == ""
        assert script.source.splitlines()[1:4] == body[1:4]
