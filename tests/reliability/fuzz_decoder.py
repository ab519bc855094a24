"""Fuzz what reads stored bytes: the serializer and the saver's record parser.

Targets, fed garbage and mutations of valid data:

- ``SafeMsgpackSerializer.loads_typed`` and ``decode_plain`` (any bytes, any
  type string);
- ``_records.parse_entry`` (via ``_core.entry``): a checkpoint as the Lua
  scripts return it (id, record format, checkpoint, metadata, parent, blob
  list, blob values, pending writes), each part valid, missing, truncated,
  bit-flipped or random.

A *finding* is an exception that is not one of the package's own
(`RedisSaverError`: ``DecodeError``, ``UnsafeTypeError``,
``SchemaVersionError``, ``CheckpointCorruptedError``), or a module imported
while decoding (decoding must be a table lookup, never an import).

Two engines: atheris (coverage-guided libFuzzer, when ``pip install atheris``
works) and hypothesis (always). ``make fuzz`` runs both for a bounded time::

    python tests/reliability/fuzz_decoder.py --seconds 120
    python tests/reliability/fuzz_decoder.py --engine hypothesis --seconds 10

Each engine prints its iterations and findings; the exit status is 1 when
there is a finding.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _import_targets() -> None:
    """Import the code under test; atheris instruments (for coverage) only the
    modules imported inside ``atheris.instrument_imports()``, hence a function."""
    global Context, KeySchema, RedisSaverError, SafeMsgpackSerializer, parse_entry, _core, msgpack
    import msgpack

    from langgraph_redis_saver import _core
    from langgraph_redis_saver._core import Context
    from langgraph_redis_saver._core import entry as parse_entry
    from langgraph_redis_saver.errors import RedisSaverError
    from langgraph_redis_saver.keys import KeySchema
    from langgraph_redis_saver.serde import SafeMsgpackSerializer


if __name__ == "__main__" and "--engine=atheris-worker" in sys.argv:
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports(include=["langgraph_redis_saver", "msgpack"]):
        _import_targets()
else:
    _import_targets()

__all__ = ["Findings", "check_entry", "check_value", "run_hypothesis", "seed_entries", "seeds"]

SERDE = SafeMsgpackSerializer()
CTX = Context(keys=KeySchema(), serde=SERDE, ttl_ms=0)
ENTRY_FIELDS = 8


# -- valid data to start from ---------------------------------------------------------


def _sample_values() -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from langgraph.types import Command, Interrupt, Send

    call = {"name": "lookup", "args": {"q": "x"}, "id": "c1"}
    return [
        None, 0, -1, 2**70, 1.5, "text", b"\x00\xff", [1, [2, [3]]], {"k": {"n": (1, 2)}},
        {1, 2}, frozenset({"a"}), datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc),
        Decimal("1.10"), uuid.UUID(int=7),
        [HumanMessage("hi", id="h"), AIMessage("", tool_calls=[call], id="a")],
        ToolMessage("42", tool_call_id="c1"), Send("node", {"x": 1}),
        Command(resume="yes"), Interrupt(value={"question": "why?"}, id="i1"),
    ]  # fmt: skip


def seeds() -> list[bytes]:
    """Valid ``loads_typed`` payloads of many types."""
    return [SERDE.dumps_typed(v)[1] for v in _sample_values()]


def seed_entries() -> list[list[Any]]:
    """Valid replies of the Lua scripts, built by the real write path (``put_flow``)."""
    from langgraph.checkpoint.base import empty_checkpoint

    entries = []
    values = _sample_values()
    for n in (0, 1, 3):
        cp = empty_checkpoint()
        cp["id"] = f"1f0-{n:04d}"
        cp["channel_values"] = {f"ch{i}": values[(n + i) % len(values)] for i in range(n)}
        cp["channel_versions"] = {
            ch: f"{i + 1:032}.{i:016x}" for i, ch in enumerate(cp["channel_values"])
        }
        parent = None if n == 0 else "1f0-parent"
        config: Any = {
            "configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": parent}
        }
        flow = _core.put_flow(
            CTX, config, cp, {"source": "loop", "step": n}, cp["channel_versions"]
        )
        (call,) = next(flow).commands[:1]
        args = call.args
        fixed = [slot.name for slot in call.script.argv if not slot.variadic]
        arg = dict(zip(fixed, args, strict=False))
        n_new, n_fields, start = arg["n_new"], arg["n_fields"], len(fixed)
        pairs = args[start : start + 2 * n_fields]
        fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
        blob_values = list(args[start + 2 * n_fields : start + 2 * n_fields + n_new])
        writes_flow = _core.put_writes_flow(
            CTX, {"configurable": {**config["configurable"], "checkpoint_id": cp["id"]}},
            [("ch0", values[n]), ("__interrupt__", values[-1])], "task-1",
        )  # fmt: skip
        wargs = next(writes_flow).commands[0].args
        writes = [wargs[4 + 3 * i] for i in range(wargs[2])]
        entries.append([
            cp["id"].encode(), _b(fields["v"]), _b(fields["checkpoint"]), _b(fields["metadata"]),
            _b(fields.get("parent")), _b(fields["blobs"]), blob_values, writes,
        ])  # fmt: skip
    return entries


def _b(value: Any) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return str(value).encode()


# -- the checks -----------------------------------------------------------------------


@dataclass
class Findings:
    """Iterations run and unexpected outcomes, by target."""

    iterations: int = 0
    found: list[str] = field(default_factory=list)


def _no_imports(run: Callable[[], Any], what: str) -> None:
    before = set(sys.modules)
    try:
        run()
    except RedisSaverError:
        pass
    # json.loads(bytes) may look up a UTF-16/32 codec: a fixed stdlib set, not a
    # module named by the data.
    imported = {m for m in set(sys.modules) - before if not m.startswith("encodings.")}
    if imported:
        raise AssertionError(f"{what} imported {sorted(imported)}")


def check_value(data: bytes, type_name: str = "lgrs") -> None:
    """Decode `data` both ways; only the package's own errors may come out."""
    _no_imports(lambda: SERDE.loads_typed((type_name, data)), "loads_typed")
    _no_imports(lambda: json.dumps(SERDE.decode_plain((type_name, data))), "decode_plain")


def check_entry(reply: list[Any]) -> None:
    """Parse one (possibly damaged) script reply; only the package's own errors."""
    _no_imports(lambda: parse_entry(CTX, "t", "", reply), "parse_entry")


def _warm_up() -> None:
    """Decode every seed once so that lazy imports of the happy path are done."""
    for data in seeds():
        check_value(data)
    for entry in seed_entries():
        check_entry(entry)


# -- mutations shared by both engines ------------------------------------------------


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A random bit flip, truncation, splice, byte insertion or repetition."""
    if not data:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
    choice = rng.randrange(5)
    i = rng.randrange(len(data))
    if choice == 0:
        return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
    if choice == 1:
        return data[:i]
    if choice == 2:
        return data[:i] + data[rng.randrange(len(data)) :]
    if choice == 3:
        return data[:i] + bytes([rng.randrange(256)]) + data[i:]
    return data[:i] + data[i : i + rng.randrange(1, 8)] * rng.randrange(2, 50) + data[i:]


def damage_entry(entry: list[Any], rng: random.Random, pick: Callable[[], bytes]) -> list[Any]:
    """Damage some parts of a valid reply; `pick` supplies random bytes."""
    reply = list(entry)
    for index in rng.sample(range(ENTRY_FIELDS), rng.randrange(1, 4)):
        part = reply[index]
        how = rng.randrange(4)
        if isinstance(part, list):
            items = [mutate(x, rng) if rng.random() < 0.5 and x else x for x in part]
            reply[index] = [None, *items] if how == 0 else items[: rng.randrange(len(items) + 1)]
        elif how == 0:
            reply[index] = None
        elif how == 1:
            reply[index] = pick()
        else:
            reply[index] = mutate(part or b"", rng)
    return reply


# -- hypothesis -----------------------------------------------------------------------


def _header(small: int, big: int, n: int) -> bytes:
    return bytes([small | n]) if n < 16 else bytes([big]) + n.to_bytes(2, "big")


def encode_tree(node: Any) -> bytes:
    """msgpack bytes of a tree that may use any node as a map key (even a map),
    which Python values cannot express."""
    kind = node[0]
    if kind == "arr":
        return _header(0x90, 0xDC, len(node[1])) + b"".join(encode_tree(n) for n in node[1])
    if kind == "map":
        pairs = node[1]
        return _header(0x80, 0xDE, len(pairs)) + b"".join(
            encode_tree(k) + encode_tree(v) for k, v in pairs
        )
    if kind == "ext":  # ext 8/16 with any code, msgpack's reserved negative ones too
        data = encode_tree(node[2])
        code = (node[1] & 0xFF).to_bytes(1, "big")
        if len(data) < 256:
            return b"\xc7" + len(data).to_bytes(1, "big") + code + data
        return b"\xc8" + len(data).to_bytes(2, "big") + code + data
    return msgpack.packb(node[1])


_LEAF = st.one_of(
    st.tuples(
        st.just("v"), st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    ),
    st.tuples(st.just("v"), st.text(max_size=8) | st.binary(max_size=8)),
)
TREES = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.tuples(st.just("arr"), st.lists(inner, max_size=4)),
        st.tuples(st.just("map"), st.lists(st.tuples(inner, inner), max_size=4)),
        st.tuples(st.just("ext"), st.integers(-128, 127), inner),
    ),
    max_leaves=60,
)
"""Arbitrary msgpack documents: any extension code, any key type, deep nesting."""


def run_hypothesis(examples: int, seconds: float | None = None) -> Findings:
    """Run the hypothesis targets; with `seconds`, repeat until the time is up."""
    findings = Findings()
    try:
        _warm_up()
    except Exception as exc:  # the valid seeds themselves fail to decode
        findings.found.append(f"seeds: {_describe(exc)}")
        return findings
    payloads, entries = seeds(), seed_entries()

    config = settings(
        max_examples=examples, deadline=None, database=None,
        suppress_health_check=list(HealthCheck), print_blob=True,
    )  # fmt: skip

    @config
    @given(data=st.binary(max_size=600), type_name=st.sampled_from(["lgrs", "", "json", "x\0"]))
    def raw(data: bytes, type_name: str) -> None:
        findings.iterations += 1
        check_value(data, type_name)

    @config
    @given(tree=TREES, version=st.sampled_from([b"\x01", b"\x01", b"\x02", b""]))
    def structured(tree: Any, version: bytes) -> None:
        findings.iterations += 1
        check_value(version + encode_tree(tree))

    @config
    @given(data=st.sampled_from(payloads), rng=st.randoms(use_true_random=False))
    def mutated(data: bytes, rng: random.Random) -> None:
        findings.iterations += 1
        check_value(mutate(mutate(data, rng), rng))

    @config
    @given(
        entry=st.sampled_from(entries),
        rng=st.randoms(use_true_random=False),
        junk=st.binary(max_size=200),
    )
    def damaged(entry: list[Any], rng: random.Random, junk: bytes) -> None:
        findings.iterations += 1
        check_entry(damage_entry(entry, rng, lambda: junk))

    deadline = time.monotonic() + (seconds or 0)
    while True:
        targets = (
            ("values", raw), ("structured values", structured),
            ("mutated values", mutated), ("entries", damaged),
        )  # fmt: skip
        for name, target in targets:
            try:
                target()
            except Exception as exc:
                for failure in getattr(exc, "exceptions", [exc]):
                    findings.found.append(f"{name}: {_describe(failure)}")
        if seconds is None or time.monotonic() >= deadline or findings.found:
            return findings


def _describe(exc: BaseException) -> str:
    """Type, message, where it was raised, and hypothesis' falsifying example."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" at {where[0].filename}:{where[0].lineno}" if where else ""
    notes = "\n    ".join(getattr(exc, "__notes__", []))
    return f"{type(exc).__name__}: {str(exc)[:300]}{place}\n    {notes}"[:3000]


# -- atheris --------------------------------------------------------------------------


def _atheris_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    target = fdp.ConsumeIntInRange(0, 2)
    if target == 0:
        check_value(fdp.ConsumeBytes(fdp.remaining_bytes()))
    elif target == 1:
        type_name = fdp.ConsumeUnicodeNoSurrogates(6)
        check_value(fdp.ConsumeBytes(fdp.remaining_bytes()), type_name)
    else:
        entry = _ENTRIES[fdp.ConsumeIntInRange(0, len(_ENTRIES) - 1)]
        rng = random.Random(fdp.ConsumeInt(4))
        check_entry(
            damage_entry(entry, rng, lambda: fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 64)))
        )


def _atheris_worker(args: list[str]) -> None:
    global _ENTRIES
    _warm_up()
    _ENTRIES = seed_entries()
    atheris.Setup([sys.argv[0], *args], _atheris_one_input)
    atheris.Fuzz()


def run_atheris(seconds: float, workdir: Path) -> tuple[int, str]:
    """Run libFuzzer in a child process; return (exit status, its last output)."""
    corpus = workdir / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(seeds()):
        (corpus / f"value-{i}").write_bytes(b"\x00" + data)
    done = subprocess.run(
        [sys.executable, __file__, "--engine=atheris-worker", f"-max_total_time={int(seconds)}",
         f"-artifact_prefix={workdir}/", "-rss_limit_mb=4096", "-print_final_stats=1", str(corpus)],
        capture_output=True, text=True, check=False, timeout=seconds + 120,
    )  # fmt: skip
    return done.returncode, (done.stdout + done.stderr)[-6000:]


def atheris_available() -> str | None:
    """None when atheris can run here, else why not."""
    try:
        import atheris  # noqa: F401
    except ImportError as exc:
        return f"atheris is not installed ({exc}); pip install atheris"
    return None


def _runs(output: str) -> int:
    for line in output.splitlines():
        if line.startswith("Done ") and " runs in " in line:
            return int(line.split()[1])
        if line.startswith("stat::number_of_executed_units:"):
            return int(line.split(":")[-1])
    return 0


def main() -> None:
    """Run the engines for ``--seconds`` each; print iterations and findings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["both", "atheris", "hypothesis"], default="both")
    parser.add_argument("--seconds", type=float, default=60, help="time per engine")
    parser.add_argument("--examples", type=int, default=500, help="hypothesis examples per round")
    args = parser.parse_args()
    failed = False
    if args.engine in ("both", "hypothesis"):
        started = time.monotonic()
        result = run_hypothesis(args.examples, args.seconds)
        print(f"hypothesis: {result.iterations} iterations in {time.monotonic() - started:.0f}s, "
              f"{len(result.found)} findings")  # fmt: skip
        for finding in result.found:
            print("  FINDING", finding)
        failed |= bool(result.found)
    if args.engine in ("both", "atheris"):
        why_not = atheris_available()
        if why_not:
            print(f"atheris: skipped: {why_not}")
        else:
            with tempfile.TemporaryDirectory(prefix="lgrs-fuzz-") as tmp:
                status, output = run_atheris(args.seconds, Path(tmp))
                crashes = [p.name for p in Path(tmp).iterdir() if p.name.startswith("crash-")]
            print(f"atheris: {_runs(output)} iterations in {args.seconds:.0f}s, "
                  f"{len(crashes) or int(status != 0)} findings")  # fmt: skip
            if status != 0:
                print(output)
            failed |= status != 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if "--engine=atheris-worker" in sys.argv:
        sys.argv.remove("--engine=atheris-worker")
        _atheris_worker(sys.argv[1:])
    else:
        main()
