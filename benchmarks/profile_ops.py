"""Where the time of one `put` and one `get_tuple` goes, part by part.

    python benchmarks/profile_ops.py [--redis-url URL] [--messages 10]

Each part is timed on its own, many times, and reported as a median in
microseconds:

- serialize: ``dumps_typed`` of the channel values and the record;
- flow: the rest of the Python that builds the script call (``_core``);
- pack: packing the command into RESP bytes (hiredis, as ``_drive`` sends it);
- round trip: send, Redis, receive, minus the script (a ``PING`` costs the same);
- Lua: the script's own time inside Redis (``INFO commandstats``);
- parse: reading the reply (hiredis) into Python objects;
- decode: ``loads_typed`` of the values and building the ``CheckpointTuple``.

Then one graph turn (the 50-turn chat of ``bench_savers.py``, sync ``invoke``)
with each durability: the turn's time, and the time spent inside each saver
method (with LangGraph's default durability the puts run on a worker thread,
overlapping the graph's own work). Last, the CPU of each async call with 32
coroutines calling at once on one event loop (the 32-session workload of
``bench_savers.py``, one operation at a time), ours and ``InMemorySaver``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import redis
from bench_savers import chat_graph, checkpoint_for, messages
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver import _core as core
from langgraph_redis_saver._drive import Batch, Call, _args, _packed, _send
from langgraph_redis_saver._records import parse_entry
from langgraph_redis_saver.devserver import ThrowawayRedis

ROUNDS = 2000


def median_us(fn: Callable[[], Any], rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def lua_us(r: redis.Redis, sha: str) -> float:
    stats = r.info("commandstats")
    row = stats.get("cmdstat_evalsha", {})
    return float(row.get("usec_per_call", 0.0)) if sha else 0.0


def first_call(flow: Any) -> Call:
    batch = next(flow)
    assert isinstance(batch, Batch)
    call = batch.commands[0]
    assert isinstance(call, Call)
    return call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url")
    parser.add_argument("--messages", type=int, default=10)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url = args.redis_url or stack.enter_context(ThrowawayRedis()).url
        saver = stack.enter_context(RedisCheckpointSaver.from_url(url, key_prefix="prof"))
        ctx = saver._ctx
        r = redis.Redis.from_url(url)
        msgs = messages(args.messages)
        config: Any = {"configurable": {"thread_id": "prof", "checkpoint_ns": ""}}
        prev = None
        for step in range(50):
            cp, new = checkpoint_for(saver, msgs, prev)
            config = saver.put(config, cp, {"source": "loop", "step": step}, new)
            prev = cp
        cp, new = checkpoint_for(saver, msgs, prev)
        md: Any = {"source": "loop", "step": 99}
        record = {k: v for k, v in cp.items() if k != "channel_values"}

        def serialize() -> None:
            for ch in new:
                ctx.serde.dumps_typed(cp["channel_values"][ch])
            ctx.serde.dumps_typed(record)

        def build() -> None:
            first_call(core.put_flow(ctx, config, cp, md, new))

        call = first_call(core.put_flow(ctx, config, cp, md, new))
        command = _args(call)
        pool = r.connection_pool

        def pack() -> None:
            _packed([command])

        def send() -> None:
            _send(pool, [command])

        saver.get_tuple(config)  # loads the script
        get_call = first_call(core.get_tuple_flow(ctx, config))
        get_command = _args(get_call)
        reply = r.execute_command(*get_command)
        thread, ns = "prof", ""

        ns_keys = ctx.keys.namespace(thread, ns)

        def decode() -> None:
            parse_entry(ctx.serde, ns_keys, thread, ns, reply)

        # Parsing is measured as a GET of as many bytes, minus a PING.
        size = sum(len(x) for x in reply[6] if x) + len(reply[2]) + len(reply[3])
        payload = b"x" * size
        r.set("prof:floor", payload)

        put_parts = {
            "serialize": median_us(serialize),
            "flow (build the call, serialize excluded)": median_us(build) - median_us(serialize),
            "pack (hiredis)": median_us(pack),
        }
        r.config_resetstat()
        total_put = median_us(send, 500)
        put_parts["Lua (server)"] = lua_us(r, call.script.sha)
        ping = median_us(lambda: _send(pool, [("PING",)]))
        put_parts["round trip (PING)"] = ping
        put_parts["rest of send/receive (pool, socket, reply)"] = (
            total_put - put_parts["pack (hiredis)"] - put_parts["Lua (server)"] - ping
        )

        get_parts: dict[str, float] = {}
        get_parts["flow (build the call)"] = median_us(
            lambda: first_call(core.get_tuple_flow(ctx, config))
        )
        get_parts["pack (hiredis)"] = median_us(lambda: _packed([get_command]))
        r.config_resetstat()
        total_get = median_us(lambda: _send(pool, [get_command]), 500)
        get_parts["Lua (server)"] = lua_us(r, get_call.script.sha)
        get_parts["round trip (PING)"] = ping
        get_parts["parse (GET of as many bytes - PING)"] = median_us(
            lambda: _send(pool, [("GET", "prof:floor")])
        ) - median_us(lambda: _send(pool, [("PING",)]))
        get_parts["decode (loads + CheckpointTuple)"] = median_us(decode)
        get_parts["rest of send/receive (pool, socket, reply)"] = (
            total_get
            - get_parts["pack (hiredis)"]
            - get_parts["Lua (server)"]
            - ping
            - get_parts["parse (GET of as many bytes - PING)"]
        )
        whole_put = median_us(lambda: saver.put(config, cp, md, new), 500)
        whole_get = median_us(lambda: saver.get_tuple(config), 500)
        r.delete("prof:floor")
        r.close()

        turns = {d or "default": profile_turns(url, d) for d in (None, "sync")}
        concurrent = asyncio.run(async_cpu(url, args.messages))

    print(f"put, {args.messages} messages: {whole_put:.1f} us (median of the whole call)")
    for k, v in put_parts.items():
        print(f"  {k:<44} {v:>7.1f} us")
    print(f"get_tuple by id, {args.messages} messages: {whole_get:.1f} us")
    for k, v in get_parts.items():
        print(f"  {k:<44} {v:>7.1f} us")
    for durability, parts in turns.items():
        print(f"graph turn, durability={durability}, turns 31-50 of a chat (mean us per turn)")
        for k, v in parts.items():
            print(f"  {k:<44} {v:>7.1f} us")
    print(f"async, {SESSIONS} coroutines at once: CPU per call (us), ours / InMemorySaver")
    for op, (ours, memory) in concurrent.items():
        print(f"  {op:<44} {ours:>7.1f} / {memory:.1f}  (+{ours - memory:.1f})")
    return 0


SESSIONS = 32


async def async_cpu(url: str, n_messages: int, calls: int = 50) -> dict[str, tuple[float, float]]:
    """CPU per `aput`, `aget_tuple` and `aput_writes` with `SESSIONS`
    coroutines calling at once on one event loop, ours and InMemorySaver's
    (building the checkpoints is not counted)."""
    ours = RedisCheckpointSaver.from_url(url, key_prefix="prof-async")
    out: dict[str, list[float]] = {}
    for saver in (ours, InMemorySaver()):
        for op, spent in (await _async_calls(saver, n_messages, calls)).items():
            out.setdefault(op, []).append(spent)
    await ours.aclose()
    return {op: (v[0], v[1]) for op, v in out.items()}


async def _async_calls(saver: Any, n_messages: int, calls: int) -> dict[str, float]:
    msgs = messages(n_messages)
    configs: list[Any] = []
    queues: list[list[Any]] = []
    for i in range(SESSIONS):
        config: Any = {"configurable": {"thread_id": f"async-{i}", "checkpoint_ns": ""}}
        cp, new = checkpoint_for(saver, msgs, None)
        configs.append(await saver.aput(config, cp, {"source": "loop", "step": 0}, new))
        queue = []
        for _ in range(calls):
            cp, new = checkpoint_for(saver, msgs, cp)
            queue.append((cp, new))
        queues.append(queue)

    async def put(i: int) -> None:
        for cp, new in queues[i]:
            configs[i] = await saver.aput(configs[i], cp, {"source": "loop", "step": 1}, new)

    async def get(i: int) -> None:
        latest = {"configurable": {"thread_id": f"async-{i}", "checkpoint_ns": ""}}
        for _ in range(calls):
            await saver.aget_tuple(latest)

    async def put_writes(i: int) -> None:
        for k in range(calls):
            await saver.aput_writes(configs[i], [("messages", msgs[-1]), ("n", k)], f"t{k}")

    out = {}
    for op, fn in (("aput", put), ("aget_tuple", get), ("aput_writes", put_writes)):
        cpu = time.process_time()
        await asyncio.gather(*(fn(i) for i in range(SESSIONS)))
        out[op] = (time.process_time() - cpu) / (SESSIONS * calls) * 1e6
    return out


def profile_turns(url: str, durability: str | None, turns: int = 50) -> dict[str, float]:
    """Mean time per turn, and inside each saver method, over turns 31-50."""
    saver = RedisCheckpointSaver.from_url(url, key_prefix=f"turn-{durability}")
    spent: dict[str, int] = {}
    for name in ("get_tuple", "put", "put_writes"):
        method = getattr(saver, name)

        def timed(*a: Any, _m: Any = method, _n: str = name, **kw: Any) -> Any:
            start = time.perf_counter_ns()
            try:
                return _m(*a, **kw)
            finally:
                spent[_n] = spent.get(_n, 0) + time.perf_counter_ns() - start

        setattr(saver, name, timed)
    graph = chat_graph(saver)
    kwargs = {} if durability is None else {"durability": durability}
    cfg = {"configurable": {"thread_id": "turns"}}
    total = 0
    for turn in range(turns):
        if turn == turns - 20:
            spent.clear()
            total = 0
        start = time.perf_counter_ns()
        graph.invoke({"messages": [HumanMessage(f"q{turn}")]}, cfg, **kwargs)
        total += time.perf_counter_ns() - start
    saver.close()
    out = {"whole turn": total / 20 / 1000}
    out.update({f"inside {k}": v / 20 / 1000 for k, v in spent.items()})
    return out


if __name__ == "__main__":
    sys.exit(main())
