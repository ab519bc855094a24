"""Key layout and flows without a server: flows are driven with canned replies."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest
from langgraph.checkpoint.base import empty_checkpoint

import langgraph_redis_saver
from langgraph_redis_saver import ConfigurationError, KeySchema, SafeMsgpackSerializer, _core
from langgraph_redis_saver import lua as scripts
from langgraph_redis_saver._core import Context, get_tuple_flow, next_version, put_flow
from langgraph_redis_saver._drive import Batch, Call
from langgraph_redis_saver.keys import escape, glob_escape


def ctx(**kw: object) -> Context:
    return Context(keys=KeySchema(), serde=SafeMsgpackSerializer(), ttl_ms=1000, **kw)  # type: ignore[arg-type]


def test_root_keys_have_the_documented_format() -> None:
    ns = KeySchema().namespace("cli_20251108_145739", "")
    assert ns.record("1ef-abc") == "langgraph:checkpoint:cli_20251108_145739:1ef-abc"
    assert ns.latest == "langgraph:checkpoint:cli_20251108_145739:latest"
    assert KeySchema().sessions == "langgraph:checkpoint::sessions"


def test_cluster_keys_share_one_hash_tag_per_session() -> None:
    keys = KeySchema(cluster=True)
    ns = keys.namespace("a:{b}", "child:1")
    tag = "{a%3A%7Bb%7D}"
    for key in (
        ns.record("x"),
        ns.latest,
        ns.timeline,
        ns.writes("x"),
        ns.blob("ch", 1),
        ns.namespaces,
    ):
        assert key.startswith(f"langgraph:checkpoint:{tag}:")
        assert key.count("{") == 1 and key.count("}") == 1


def test_escape_is_identity_for_plain_ids_and_reserves_latest() -> None:
    assert escape("0f1e-uuid_like.id") == "0f1e-uuid_like.id"
    assert escape("latest") == "%6Catest" != escape("%6Catest")
    assert escape("") == "%" != escape("%")
    assert escape("日本") == "日本"


def test_glob_escape_escapes_scan_metacharacters() -> None:
    assert glob_escape("a*b?[c]\\") == "a\\*b\\?\\[c\\]\\\\"
    assert KeySchema().session_pattern("x*") == "langgraph:checkpoint:x%2A:*"


def test_next_version_pads_and_parses() -> None:
    v = next_version(None)
    assert v.startswith("0" * 31 + "1.")
    assert next_version(v).startswith("0" * 31 + "2.")
    assert next_version(41).startswith(f"{42:032}.")


def _contains(seq: Any, sub: list[Any]) -> bool:
    seq = list(seq)
    return any(seq[i : i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def _put_batch(cluster: bool) -> tuple[Batch, Any, Any]:
    cp = empty_checkpoint()
    cp["channel_values"] = {"a": 1, "b": "same"}
    cp["channel_versions"] = {"a": "2", "b": "1", "empty": "1"}
    config = {
        "configurable": {
            "thread_id": "t",
            "checkpoint_ns": "",
            "checkpoint_id": "p",
            "user_id": "u",
        }
    }
    c = Context(keys=KeySchema(cluster=cluster), serde=SafeMsgpackSerializer(), ttl_ms=1000)
    flow = put_flow(
        c, config, cp, {"source": "loop", "step": 1}, {"a": "2", "empty": "1"}, now_ms=5
    )
    return next(flow), flow, cp


@pytest.fixture
def no_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    """Index trimming rides on a random sample of writes: none in these tests."""
    monkeypatch.setattr(_core, "TRIM_SAMPLE", 0.0)


def test_put_flow_is_one_script_call_with_the_index_updates_inside(no_trim: None) -> None:
    batch, flow, cp = _put_batch(cluster=False)
    assert isinstance(batch, Batch) and len(batch.commands) == 1
    call = batch.commands[0]
    assert isinstance(call, Call) and call.script is scripts.PUT
    ns = KeySchema().namespace("t", "")
    # record, latest, timeline, namespaces, writes; then one new blob and one kept.
    assert list(call.keys) == [
        ns.record(cp["id"]), ns.latest, ns.timeline, ns.namespaces, ns.writes(cp["id"]),
        ns.blob("a", "2"), ns.blob("b", "1"),
    ]  # fmt: skip
    fixed = [slot.name for slot in scripts.PUT.argv if not slot.variadic]
    arg = dict(zip(fixed, call.args, strict=False))
    start = len(fixed)
    pairs = call.args[start : start + 2 * arg["n_fields"]]
    fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
    assert fields["blobs"] == "a:2\nb:1"  # the empty channel has no blob
    assert fields["parent"] == arg["parent_id"] == "p"
    assert json.loads(fields["metadata"])["user_id"] == "u"
    assert json.loads(fields["indexed"]) == [["user_id", "u"]]
    assert arg["n_index"] == 4
    # Each index command rides as (argc, command, args...) after the script's own.
    assert _contains(call.args, [4, "ZADD", "langgraph:checkpoint::sessions", 5, "t"])
    assert _contains(call.args, [4, "ZADD", "langgraph:checkpoint::sessions:user_id:u", 5, "t"])
    with pytest.raises(StopIteration) as done:
        flow.send([[b"ok", []]])
    assert done.value.value["configurable"]["checkpoint_id"] == cp["id"]


def test_put_flow_trims_expired_index_entries_on_sampled_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_core, "TRIM_SAMPLE", 1.0)
    batch, _, _ = _put_batch(cluster=False)
    (call,) = batch.commands
    assert _contains(call.args, [4, "ZREMRANGEBYSCORE", "langgraph:checkpoint::sessions", "-inf"])


def test_put_flow_pipelines_the_index_updates_in_a_cluster(no_trim: None) -> None:
    # In a cluster the indexes live in other slots than the session's script.
    batch, _, _ = _put_batch(cluster=True)
    fixed = [slot.name for slot in scripts.PUT.argv if not slot.variadic]
    assert dict(zip(fixed, batch.commands[0].args, strict=False))["n_index"] == 0
    assert ("ZADD", "langgraph:checkpoint::sessions", 5, "t") in batch.commands
    assert ("ZADD", "langgraph:checkpoint::sessions:user_id:u", 5, "t") in batch.commands


def test_get_tuple_flow_parses_a_canned_reply() -> None:
    c = ctx()
    serde = c.serde
    record = {"v": 1, "id": "c1", "ts": "now", "channel_versions": {"a": "1"}, "versions_seen": {}}
    typ, data = serde.dumps_typed(record)
    btyp, bdata = serde.dumps_typed([1, 2])
    write = msgpack.packb(("task", "a", *serde.dumps_typed(3), "", 0))
    flow = get_tuple_flow(c, {"configurable": {"thread_id": "t"}})
    batch = next(flow)
    assert batch.commands[0].script is scripts.GET
    reply = [
        b"c1", b"1", typ.encode() + b"\0" + data, b'{"step":1}', b"c0", b"a:1",
        [btyp.encode() + b"\0" + bdata], [write],
    ]  # fmt: skip
    with pytest.raises(StopIteration) as done:
        flow.send([reply])
    tup = done.value.value
    assert tup.checkpoint["channel_values"] == {"a": [1, 2]}
    assert tup.metadata == {"step": 1}
    assert tup.parent_config["configurable"]["checkpoint_id"] == "c0"
    assert tup.pending_writes == [("task", "a", 3)]


def test_flows_validate_config_before_any_io() -> None:
    with pytest.raises(ConfigurationError, match="thread_id"):
        next(get_tuple_flow(ctx(), {"configurable": {"checkpoint_ns": ""}}))


def test_exported_members_match_all() -> None:
    public = {name for name in dir(langgraph_redis_saver) if not name.startswith("_")}
    modules = {"errors", "keys", "saver", "serde", "lua", "browse", "cli", "devserver", "legacy",
               "web"}  # fmt: skip
    assert set(langgraph_redis_saver.__all__) - {"__version__"} == public - modules
