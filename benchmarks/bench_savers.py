"""Checkpoint savers head to head, in one process, on one Redis.

    python benchmarks/bench_savers.py            # full run (a few minutes)
    python benchmarks/bench_savers.py --quick    # smoke run
    python benchmarks/bench_savers.py --json results.json

Savers: ours (`RedisCheckpointSaver`), LangGraph's `InMemorySaver` and
`SqliteSaver`, the community `langgraph-checkpoint-plainredis` saver, and a raw
redis-py SET+GET of the same bytes as a put (the floor: one round trip each).
Redis savers share one throwaway `redis-server` (or ``--redis-url``).

Workloads:

1. Operations on a 200-checkpoint session whose state holds 10 or 100
   messages (with tool calls and usage metadata): put, put_writes, get_tuple
   (latest and by id), list(limit=10). Rounds are interleaved across savers;
   each round times a batch of calls; we report the median and p95 per call.
2. A 50-turn graph run (a chat turn appends two messages): median time per
   turn with LangGraph's default durability and with ``durability="sync"``,
   growth from turns 1-10 to 41-50, and bytes stored in Redis.
3. A long conversation: a plain ``MessagesState`` chat of 200 turns per
   saver; turn time at 10, 50, 100 and 200 turns, bytes in Redis, and the
   bytes stored per turn at turns 11-20 against turns 191-200.
4. 32 sessions driven concurrently with the async API: turns per second, and
   where a turn's time goes (saver calls per turn, time inside each call,
   CPU per turn).
5. Network round trips per operation, counted on the client connection.

The run ends with the goals of issue #13, each with its ratio and pass/fail.

Ratios are ours / theirs: below 1.0 means ours is faster (or smaller).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import redis
import redis.asyncio
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from langgraph_checkpoint_plainredis import AsyncRedisSaver as PlainAsync
from langgraph_checkpoint_plainredis import RedisSaver as PlainSync
from typing_extensions import TypedDict

from langgraph_redis_saver import RedisCheckpointSaver, SafeMsgpackSerializer
from langgraph_redis_saver.devserver import ThrowawayRedis

OURS = "ours"
OURS_Z = "ours+zlib"  # ours with compress_threshold=1024 (graph workload only)
PEERS = ["memory", "sqlite", "plainredis"]


# -- data -----------------------------------------------------------------------------


def messages(n: int, seed: int = 0) -> list[AnyMessage]:
    """A realistic conversation: user, assistant with a tool call, tool result."""
    out: list[AnyMessage] = []
    for i in range(n):
        k = (i + seed) % 3
        text = f"message {i}: " + "lorem ipsum dolor sit amet " * 6
        if k == 0:
            out.append(HumanMessage(text, id=f"h{seed}-{i}"))
        elif k == 1:
            out.append(
                AIMessage(
                    text,
                    id=f"a{seed}-{i}",
                    tool_calls=[{"name": "lookup", "args": {"q": text[:30]}, "id": f"c{i}"}],
                    usage_metadata={"input_tokens": 120, "output_tokens": 40, "total_tokens": 160},
                    response_metadata={"model_name": "demo-model", "finish_reason": "tool_calls"},
                )
            )
        else:
            out.append(ToolMessage(text, tool_call_id=f"c{i - 1}", id=f"t{seed}-{i}"))
    return out


def checkpoint_for(
    saver: BaseCheckpointSaver, msgs: list[AnyMessage], prev: Any
) -> tuple[Any, Any]:
    cp = empty_checkpoint()
    cp["id"] = str(uuid6(clock_seq=-1))
    old = prev["channel_versions"] if prev else {}
    versions = {
        "messages": saver.get_next_version(old.get("messages"), None),
        "turn_count": saver.get_next_version(old.get("turn_count"), None),
        "is_complete": old.get("is_complete") or saver.get_next_version(None, None),
    }
    cp["channel_values"] = {"messages": msgs, "turn_count": len(msgs), "is_complete": False}
    cp["channel_versions"] = versions
    new = {k: v for k, v in versions.items() if k != "is_complete" or not old}
    return cp, new


# -- savers -----------------------------------------------------------------------------


class Savers:
    """The savers under test, each with its own namespace on the shared Redis."""

    def __init__(self, url: str, tmp: Path, stack: ExitStack) -> None:
        tag = uuid.uuid4().hex[:6]
        self.url = url
        self.ours = stack.enter_context(
            RedisCheckpointSaver.from_url(url, key_prefix=f"b{tag}:ours")
        )
        self.sync: dict[str, BaseCheckpointSaver] = {
            OURS: self.ours,
            "memory": InMemorySaver(),
            "sqlite": SqliteSaver(sqlite3.connect(tmp / "bench.db", check_same_thread=False)),
            "plainredis": PlainSync(url=url, prefix=f"b{tag}:plain"),
        }
        self.sync[OURS_Z] = stack.enter_context(
            RedisCheckpointSaver.from_url(url, key_prefix=f"b{tag}:oursz", compress_threshold=1024)
        )
        self.prefixes = {
            OURS: f"b{tag}:ours",
            OURS_Z: f"b{tag}:oursz",
            "plainredis": f"b{tag}:plain",
        }
        self.tag = tag

    def async_savers(self) -> dict[str, BaseCheckpointSaver]:
        return {
            OURS: self.ours,
            "memory": self.sync["memory"],
            "plainredis": PlainAsync(url=self.url, prefix=f"b{self.tag}:aplain"),
        }


# -- timing helpers -----------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {k: {"median": statistics.median(v), "p95": pct(v, 0.95)} for k, v in samples.items()}


def timed(fn: Callable[[], Any], calls: int, setup: Callable[[int], Any] | None = None) -> float:
    """Mean microseconds per call over a batch (`setup` runs untimed first)."""
    if setup is not None:
        setup(calls)
    start = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - start) / calls / 1000


# -- 1. operations --------------------------------------------------------------------------


def bench_operations(savers: Savers, n_messages: int, rounds: int, calls: int) -> dict[str, Any]:
    names = [OURS, *PEERS, "floor"]
    state: dict[str, Any] = {}
    msgs = messages(n_messages)
    for name in names[:-1]:
        saver = savers.sync[name]
        thread = f"ops-{n_messages}-{uuid.uuid4().hex[:6]}"
        config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        prev = None
        ids = []
        for _ in range(200):
            cp, new = checkpoint_for(saver, msgs, prev)
            config = saver.put(config, cp, {"source": "loop", "step": len(ids)}, new)
            ids.append(cp["id"])
            prev = cp
        state[name] = {"saver": saver, "config": config, "prev": prev, "thread": thread, "ids": ids}

    floor = redis.Redis.from_url(savers.url)
    payload = savers.ours.serde.dumps_typed(msgs)[1]
    floor_key = f"b{savers.tag}:floor"

    setups: dict[str, Callable[[int], Any]] = {}

    def op_fns(name: str) -> dict[str, Callable[[], Any]]:
        if name == "floor":
            return {
                "put": lambda: floor.set(floor_key, payload),
                "get_tuple latest": lambda: floor.get(floor_key),
            }
        st = state[name]
        saver = st["saver"]
        thread = st["thread"]
        latest_cfg = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}

        def at(index: int) -> dict[str, Any]:
            cfg = {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": st["ids"][index]}
            return {"configurable": cfg}

        by_id = at(100)
        writes_cfg = at(50)

        def prepare(calls: int) -> None:
            # Build the checkpoints before the clock starts: only put is timed.
            queue = []
            prev = st["prev"]
            for _ in range(calls):
                cp, new = checkpoint_for(saver, msgs, prev)
                queue.append((cp, new))
                prev = cp
            st["queue"] = queue[::-1]

        def put() -> None:
            cp, new = st["queue"].pop()
            st["config"] = saver.put(st["config"], cp, {"source": "loop", "step": 1}, new)
            st["prev"] = cp

        setups[name] = prepare
        return {
            "put": put,
            # Writes go to a checkpoint no other timed op reads, so the pending
            # writes they pile up do not inflate the get_tuple figures.
            "put_writes": lambda: saver.put_writes(
                writes_cfg, [("messages", msgs[-1]), ("turn_count", 1)], str(uuid.uuid4())
            ),
            "get_tuple latest": lambda: saver.get_tuple(latest_cfg),
            "get_tuple by id": lambda: saver.get_tuple(by_id),
            "list(limit=10)": lambda: list(saver.list(latest_cfg, limit=10)),
        }

    fns = {name: op_fns(name) for name in names}
    samples: dict[str, dict[str, list[float]]] = {}
    for _ in range(rounds):
        for op in fns[OURS]:
            for name in names:  # interleaved: every saver runs each op in every round
                if op in fns[name]:
                    setup = setups.get(name) if op == "put" else None
                    sample = timed(fns[name][op], calls, setup)
                    samples.setdefault(op, {}).setdefault(name, []).append(sample)
    floor.delete(floor_key)
    floor.close()
    return {op: summary(per) for op, per in samples.items()}


# -- 2. a 50-turn graph -----------------------------------------------------------------------


class ChatState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    turn_count: int


def chat_graph(checkpointer: Any) -> Any:
    def reply(state: ChatState) -> dict[str, Any]:
        turn = state.get("turn_count", 0)
        text = f"answer {turn}: " + "lorem ipsum dolor sit amet " * 6
        ai = AIMessage(
            text,
            usage_metadata={"input_tokens": 100, "output_tokens": 30, "total_tokens": 130},
            response_metadata={"model_name": "demo-model"},
        )
        return {"messages": [ai], "turn_count": turn + 1}

    builder = StateGraph(ChatState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=checkpointer)


def redis_bytes(url: str, prefix: str) -> int:
    r = redis.Redis.from_url(url)
    total = sum(r.memory_usage(k) or 0 for k in r.scan_iter(match=f"{prefix}:*", count=1000))
    r.close()
    return total


def bench_graph(
    savers: Savers, turns: int, sessions: int, durability: str | None
) -> dict[str, Any]:
    """Turn times of a chat graph; `durability` None is LangGraph's default."""
    names = [OURS, OURS_Z, *PEERS]
    graphs = {name: chat_graph(savers.sync[name]) for name in names}
    kwargs = {} if durability is None else {"durability": durability}
    per_turn: dict[str, list[list[float]]] = {name: [] for name in names}
    for s in range(sessions):
        times: dict[str, list[float]] = {name: [] for name in names}
        threads = {name: f"graph-{s}-{uuid.uuid4().hex[:6]}" for name in names}
        for turn in range(turns):
            for name in names:  # interleaved turn by turn
                config = {"configurable": {"thread_id": threads[name]}}
                user = HumanMessage(f"question {turn}: " + "what about this " * 5)
                start = time.perf_counter_ns()
                graphs[name].invoke({"messages": [user]}, config, **kwargs)
                times[name].append((time.perf_counter_ns() - start) / 1000)
        for name in names:
            per_turn[name].append(times[name])
    result: dict[str, Any] = {}
    for name in names:
        all_turns = [t for session in per_turn[name] for t in session]
        first = [t for session in per_turn[name] for t in session[:10]]
        last = [t for session in per_turn[name] for t in session[-10:]]
        result[name] = {
            "turn median": statistics.median(all_turns),
            "turn p95": pct(all_turns, 0.95),
            "growth last 10 / first 10": statistics.median(last) / statistics.median(first),
        }
    for name in (OURS, OURS_Z, "plainredis"):
        total = redis_bytes(savers.url, savers.prefixes[name])
        result[name]["bytes in redis"] = total
        result[name]["bytes per turn"] = total / (turns * sessions)
    return result


# -- 3. a long conversation -------------------------------------------------------------------


def messages_graph(checkpointer: Any) -> Any:
    """The plainest chat: ``MessagesState`` (``add_messages``), one reply node."""

    def reply(state: MessagesState) -> dict[str, Any]:
        n = len(state["messages"])
        text = f"answer {n}: " + "lorem ipsum dolor sit amet " * 6
        ai = AIMessage(
            text,
            usage_metadata={"input_tokens": 100, "output_tokens": 30, "total_tokens": 130},
            response_metadata={"model_name": "demo-model"},
        )
        return {"messages": [ai]}

    builder = StateGraph(MessagesState)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder.compile(checkpointer=checkpointer)


LONG_MARKS = (10, 50, 100, 200)  # turn time reported at these turns
LONG_WINDOW = 5  # ... as the median of the turns ending there


def bench_long(savers: Savers, turns: int) -> dict[str, Any]:
    """One conversation of `turns` turns per saver, interleaved turn by turn.

    Bytes are read from Redis (``MEMORY USAGE`` of the session's keys) after
    turns 10, 20, 190 and 200 (scaled down for a short run), so the bytes a
    turn adds early and late in a conversation can be compared.
    """
    names = [OURS, OURS_Z, *PEERS]
    graphs = {name: messages_graph(savers.sync[name]) for name in names}
    threads = {name: f"long-{uuid.uuid4().hex[:8]}" for name in names}
    marks = [m for m in LONG_MARKS if m <= turns]
    early = (max(1, turns // 20), max(2, turns // 10))  # turns 11-20 of 200
    late = (turns - turns // 20, turns)  # turns 191-200 of 200
    probes = sorted({early[0], early[1], late[0], late[1]})
    times: dict[str, list[float]] = {name: [] for name in names}
    sizes: dict[str, dict[int, int]] = {name: {} for name in (OURS, OURS_Z, "plainredis")}
    for turn in range(1, turns + 1):
        for name in names:
            config = {"configurable": {"thread_id": threads[name]}}
            user = HumanMessage(f"question {turn}: " + "what about this " * 5)
            start = time.perf_counter_ns()
            graphs[name].invoke({"messages": [user]}, config)
            times[name].append((time.perf_counter_ns() - start) / 1000)
        if turn in probes:
            for name in sizes:
                sizes[name][turn] = redis_bytes(savers.url, savers.prefixes[name])
    result: dict[str, Any] = {"turns": turns, "early": early, "late": late}
    for name in names:
        row: dict[str, Any] = {}
        for m in marks:
            row[f"turn {m}"] = statistics.median(times[name][max(0, m - LONG_WINDOW) : m])
        if name in sizes:
            by = sizes[name]
            per_early = (by[early[1]] - by[early[0]]) / (early[1] - early[0])
            per_late = (by[late[1]] - by[late[0]]) / (late[1] - late[0])
            row["bytes in redis"] = by[turns]
            row["bytes per turn early"] = per_early
            row["bytes per turn late"] = per_late
            row["late / early"] = per_late / per_early
        result[name] = row
    return result


# -- 3. concurrency ---------------------------------------------------------------------------


class CallClock:
    """Wraps a saver's async methods to count calls and the time spent in them."""

    METHODS = ("aget_tuple", "aput", "aput_writes")

    def __init__(self, saver: Any) -> None:
        self.calls: dict[str, int] = dict.fromkeys(self.METHODS, 0)
        self.ns: dict[str, int] = dict.fromkeys(self.METHODS, 0)
        for name in self.METHODS:
            setattr(saver, name, self._wrap(name, getattr(saver, name)))
        self.saver = saver

    def _wrap(self, name: str, fn: Any) -> Any:
        async def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter_ns()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.ns[name] += time.perf_counter_ns() - start
                self.calls[name] += 1

        return timed_call

    def unwrap(self) -> None:
        for name in self.METHODS:
            self.saver.__dict__.pop(name, None)


async def bench_concurrency(
    savers: Savers, n_sessions: int, turns: int, rounds: int = 1
) -> dict[str, Any]:
    """Turns per second and CPU per turn of `n_sessions` chats on one event
    loop, per saver: medians over `rounds` rounds, the savers interleaved
    round by round (a round of one saver lasts about a second, so the
    machine's drift would otherwise land on one saver)."""
    peers = savers.async_savers()
    graphs = {name: chat_graph(saver) for name, saver in peers.items()}
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in peers}
    for _ in range(rounds):
        for name, saver in peers.items():
            rows[name].append(await _concurrent_round(saver, graphs[name], n_sessions, turns))
    for saver in peers.values():
        if isinstance(saver, PlainAsync):
            await saver.aclose()
    await savers.ours.aclose()
    out: dict[str, Any] = {
        name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for name, runs in rows.items()
    }
    out["floor"] = await async_floor(savers.url, n_sessions, turns)
    return out


async def _concurrent_round(
    saver: BaseCheckpointSaver, graph: Any, n_sessions: int, turns: int
) -> dict[str, float]:
    tag = uuid.uuid4().hex[:6]

    async def session(i: int) -> None:
        config = {"configurable": {"thread_id": f"conc-{tag}-{i}"}}
        for turn in range(turns):
            await graph.ainvoke({"messages": [HumanMessage(f"q{turn}")]}, config, durability="sync")

    await session(-1)  # warm up: connections, scripts
    clock = CallClock(saver)
    cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(session(i) for i in range(n_sessions)))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    clock.unwrap()
    n_turns = n_sessions * turns
    row = {
        "turns/s": n_turns / elapsed,
        "cpu us per turn": cpu / n_turns * 1e6,
        "wall us per turn": elapsed / n_turns * 1e6,
    }
    for method in CallClock.METHODS:
        calls = clock.calls[method]
        row[f"{method} per turn"] = calls / n_turns
        row[f"{method} us"] = clock.ns[method] / max(1, calls) / 1000
    return row


async def async_floor(url: str, n_sessions: int, turns: int) -> dict[str, float]:
    """CPU of one plain redis-py asyncio call (GET of a 10-message state) with
    `n_sessions` coroutines calling at once: what a saver that had no CPU of
    its own would still spend per saver call."""
    client = redis.asyncio.Redis.from_url(url)
    key = f"floor-{uuid.uuid4().hex[:6]}"
    await client.set(key, SafeMsgpackSerializer().dumps_typed(messages(10))[1])
    calls = turns * 6

    async def caller() -> None:
        for _ in range(calls):
            await client.get(key)

    await caller()  # warm up: connections
    cpu = time.process_time()
    await asyncio.gather(*(caller() for _ in range(n_sessions)))
    cpu = time.process_time() - cpu
    await client.delete(key)
    await client.aclose()
    return {"cpu us per call": cpu / (n_sessions * calls) * 1e6}


# -- 5. round trips -----------------------------------------------------------------------------


class Counter:
    trips = 0


class CountingConnection(redis.Connection):
    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        Counter.trips += 1
        super().send_packed_command(command, check_health)


def bench_round_trips(url: str) -> dict[str, dict[str, int]]:
    tag = uuid.uuid4().hex[:6]
    ours = RedisCheckpointSaver.from_url(
        url, key_prefix=f"rt{tag}:ours", cluster=False,
        client_kwargs={"connection_class": CountingConnection},
    )  # fmt: skip
    pool = redis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    plain = PlainSync(redis.Redis(connection_pool=pool), prefix=f"rt{tag}:plain")
    out: dict[str, dict[str, int]] = {}
    msgs = messages(10)
    for name, saver in ((OURS, ours), ("plainredis", plain)):
        config: Any = {"configurable": {"thread_id": "rt", "checkpoint_ns": ""}}
        prev = None
        for step in range(12):  # warm up: connect, load scripts, build history
            cp, new = checkpoint_for(saver, msgs, prev)
            config = saver.put(config, cp, {"source": "loop", "step": step}, new)
            prev = cp
        latest = {"configurable": {"thread_id": "rt", "checkpoint_ns": ""}}
        cp, new = checkpoint_for(saver, msgs, prev)
        ops: dict[str, Callable[[], Any]] = {
            "put": lambda s=saver, c=config, cp=cp, new=new: s.put(c, cp, {"step": 99}, new),
            "put_writes": lambda s=saver, c=config: s.put_writes(c, [("messages", msgs[0])], "t"),
            "get_tuple latest": lambda s=saver, lt=latest: s.get_tuple(lt),
            "get_tuple by id": lambda s=saver, c=config: s.get_tuple(c),
            "list(limit=10)": lambda s=saver, lt=latest: list(s.list(lt, limit=10)),
        }
        for op, fn in ops.items():
            Counter.trips = 0
            fn()
            out.setdefault(op, {})[name] = Counter.trips
    for op in out:
        out[op]["floor"] = 1
    ours.close()
    return out


# -- report ---------------------------------------------------------------------------------------


def print_table(title: str, rows: dict[str, dict[str, Any]], cols: list[str], key: str) -> None:
    print(f"\n{title}")
    head = f"{'':<20}" + "".join(f"{c:>14}" for c in cols)
    ratios = [c for c in cols if c != OURS]
    print(head + "".join(f"{'ours/' + c:>16}" for c in ratios))
    for row, per in rows.items():
        line = f"{row:<20}"
        for c in cols:
            v = per.get(c, {}).get(key) if isinstance(per.get(c), dict) else per.get(c)
            line += f"{v:>14.1f}" if isinstance(v, (int, float)) else f"{'-':>14}"
        ours = per.get(OURS, {}).get(key)
        for c in ratios:
            other = per.get(c, {}).get(key) if isinstance(per.get(c), dict) else None
            line += f"{ours / other:>15.2f}x" if ours and other else f"{'-':>16}"
        print(line)


class Goal(NamedTuple):
    """One goal of issue #13 in one run."""

    goal: str
    ratio: float
    bound: str
    met: bool
    floor: float | None
    """The ratio a saver with no CPU of its own would reach in this run: one
    floor round trip (sync) or one plain redis-py asyncio call (32 sessions)
    per saver call, and InMemorySaver's work. None where the goal does not
    depend on time."""


def goals(results: dict[str, Any]) -> list[Goal]:
    """The goals of issue #13, from one run's results."""
    out: list[Goal] = []
    ops = results["operations, 10 messages"]
    put = ops["put"]
    ratio = put[OURS]["median"] / (put["floor"]["median"] + put["memory"]["median"])
    out.append(
        Goal("put, 10 messages / (SET + InMemorySaver put)", ratio, "<= 2.0", ratio <= 2.0, 1.0)
    )
    get = ops["get_tuple latest"]
    ratio = get[OURS]["median"] / (get["floor"]["median"] + get["memory"]["median"])
    out.append(
        Goal("get_tuple latest / (GET + InMemorySaver get)", ratio, "<= 1.5", ratio <= 1.5, 1.0)
    )
    conc = results["concurrency"]
    calls = sum(conc["memory"][f"{m} per turn"] for m in CallClock.METHODS)
    trip = get["floor"]["median"]
    for key, label, bound in (
        ("graph, default durability", "graph turn (default durability) / InMemorySaver", 1.2),
        ("graph, durability=sync", "graph turn (durability='sync') / InMemorySaver", 1.3),
    ):
        memory = results[key]["memory"]["turn median"]
        ratio = results[key][OURS]["turn median"] / memory
        out.append(
            Goal(label, ratio, f"<= {bound}", ratio <= bound, (memory + calls * trip) / memory)
        )
    ratio = conc[OURS]["turns/s"] / conc["memory"]["turns/s"]
    memory_cpu = conc["memory"]["cpu us per turn"]
    floor = memory_cpu / (memory_cpu + calls * conc["floor"]["cpu us per call"])
    out.append(
        Goal("32 sessions, ainvoke turns/s / InMemorySaver", ratio, ">= 0.8", ratio >= 0.8, floor)
    )
    long = results["long conversation"]
    n = long["turns"]
    ratio = long[OURS]["bytes in redis"] / long["plainredis"]["bytes in redis"]
    out.append(Goal(f"bytes after {n} turns / plainredis", ratio, "<= 0.15", ratio <= 0.15, None))
    ratio = long[OURS]["late / early"]
    (a, b), (c, d) = long["early"], long["late"]
    label = f"bytes per turn, turns {c + 1}-{d} / {a + 1}-{b}"
    out.append(Goal(label, ratio, "<= 1.5", ratio <= 1.5, None))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", help="use this Redis instead of a throwaway redis-server")
    parser.add_argument("--quick", action="store_true", help="few rounds, for a smoke run")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    rounds, calls = (3, 5) if args.quick else (args.rounds, 20)
    turns, sessions = (10, 1) if args.quick else (50, 3)
    long_turns = 40 if args.quick else 200
    conc_turns = 3 if args.quick else 10

    results: dict[str, Any] = {"python": sys.version.split()[0]}
    with ExitStack() as stack:
        url = args.redis_url or stack.enter_context(ThrowawayRedis()).url
        info = redis.Redis.from_url(url).info("server")
        results["redis"] = info.get("redis_version")
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        print(f"redis {results['redis']}, python {results['python']}, rounds={rounds}")
        for n in (10, 100):
            (tmp / str(n)).mkdir()
            savers = Savers(url, tmp / str(n), stack)
            ops = bench_operations(savers, n, rounds, calls)
            results[f"operations, {n} messages"] = ops
            cols = [OURS, *PEERS, "floor"]
            print_table(
                f"operations, {n} messages per checkpoint (us per call, median)",
                ops,
                cols,
                "median",
            )
            print_table(
                f"operations, {n} messages per checkpoint (us per call, p95)", ops, cols, "p95"
            )
        for durability in (None, "sync"):
            label = "default durability" if durability is None else f"durability={durability}"
            (tmp / label).mkdir()
            savers = Savers(url, tmp / label, stack)
            graph = bench_graph(savers, turns, sessions, durability)
            results[f"graph, {label}"] = graph
            print(f"\n{turns}-turn graph run, {sessions} sessions per saver ({label})")
            for name, row in graph.items():
                print(f"  {name:<12}" + "  ".join(f"{k}: {v:,.2f}" for k, v in row.items()))
            turn = {name: row["turn median"] for name, row in graph.items()}
            size = {
                n: graph[n]["bytes in redis"] / graph["plainredis"]["bytes in redis"]
                for n in (OURS, OURS_Z)
            }
            print(
                f"  ratios ours/plainredis: turn {turn[OURS] / turn['plainredis']:.2f}x, "
                f"bytes {size[OURS]:.2f}x (with zlib {size[OURS_Z]:.2f}x); "
                f"ours/memory: turn {turn[OURS] / turn['memory']:.2f}x"
            )
        (tmp / "long").mkdir()
        savers = Savers(url, tmp / "long", stack)
        long = bench_long(savers, long_turns)
        results["long conversation"] = long
        print(f"\nlong conversation: MessagesState chat, {long_turns} turns per saver")
        for name in (OURS, OURS_Z, *PEERS):
            row = long[name]
            print(f"  {name:<12}" + "  ".join(f"{k}: {v:,.1f}" for k, v in row.items()))
        conc_rounds = 1 if args.quick else 5
        conc = asyncio.run(bench_concurrency(savers, 32, conc_turns, conc_rounds))
        results["concurrency"] = conc
        print(
            f"\n32 concurrent sessions x {conc_turns} turns (async API, durability='sync'),"
            f" medians of {conc_rounds} interleaved rounds"
        )
        for name, row in conc.items():
            if name == "floor":
                cost = row["cpu us per call"]
                print(f"  floor: one plain redis-py asyncio GET costs {cost:.0f} us of CPU")
                continue
            ratio = row["turns/s"] / conc["memory"]["turns/s"]
            print(f"  {name:<12} {row['turns/s']:>9.0f} turns/s   ({ratio:.2f}x of memory)")
            print("               " + "  ".join(f"{k}: {v:,.1f}" for k, v in row.items()))
        trips = bench_round_trips(url)
        results["round trips"] = trips
        print("\nround trips per operation")
        for op, per in trips.items():
            print(f"  {op:<20} " + "  ".join(f"{k}: {v}" for k, v in per.items()))
    results["goals"] = [g._asdict() for g in goals(results)]
    print("\ngoals (issue #13), ratios from this run; floor: a saver with no CPU of its own")
    for row in results["goals"]:
        verdict = "pass" if row["met"] else "FAIL"
        floor = "" if row["floor"] is None else f"  floor {row['floor']:.2f}x"
        print(f"  {row['goal']:<52} {row['ratio']:>6.2f}x  {row['bound']:<7} {verdict}{floor}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
