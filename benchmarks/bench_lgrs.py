"""How fast ``lgrs`` answers, as a user types it (a new process each time).

    python benchmarks/bench_lgrs.py                 # 10,000 sessions (a few minutes to fill)
    python benchmarks/bench_lgrs.py --sessions 2000 --exports 200   # quicker
    python benchmarks/bench_lgrs.py --redis-url redis://localhost:6379/0

Fills a throwaway ``redis-server`` (or ``--redis-url``, under its own key
prefixes) with sessions written by a real graph (a chat turn with a tool call
and its result, then an answer), then prints the median wall time of:

1. ``lgrs --help``                          target < 0.25 s
2. ``lgrs sessions --limit 20``             target < 0.3 s  with 10,000 stored
3. ``lgrs sessions --limit 0`` (all)        target < 2 s    with 10,000 stored
4. ``lgrs export --all -o DIR`` of 1,000    target < 20 s

and the round trips a listing costs for 20 and for all sessions (they must
not grow with the number listed). Next to each median wall time it prints the
median CPU time of the ``lgrs`` process, which a loaded machine inflates less.
Targets are for a 2-core machine with a local Redis; on a loaded machine the
figures are higher: say so with them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langgraph.checkpoint.base.id import uuid6
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.devserver import ThrowawayRedis

LGRS = [sys.executable, "-m", "langgraph_redis_saver"]
TARGETS = {"help": 0.25, "sessions20": 0.3, "sessionsAll": 2.0, "exportAll": 20.0}


class Chat(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    turns: int


def _bot(state: Chat) -> dict[str, Any]:
    call = {"name": "lookup", "args": {"q": "redis"}, "id": "c1"}
    return {
        "messages": [
            AIMessage("", tool_calls=[call]),
            ToolMessage("Redis is an in-memory store.", tool_call_id="c1"),
            AIMessage("Redis keeps data in memory.", usage_metadata={
                "input_tokens": 20, "output_tokens": 6, "total_tokens": 26}),
        ],
        "turns": state.get("turns", 0) + 1,
    }  # fmt: skip


def fill(url: str, prefix: str, n: int) -> None:
    """`n` sessions: one written by the graph, the others replayed from its checkpoints."""
    builder = StateGraph(Chat)
    builder.add_node("bot", _bot)
    builder.add_edge(START, "bot")
    with RedisCheckpointSaver.from_url(url, key_prefix=prefix) as saver:
        graph = builder.compile(checkpointer=saver)
        graph.invoke({"messages": [("user", "what is redis?")]}, _cfg("template"))
        template = list(saver.list(_cfg("template")))[::-1]  # oldest first
        for i in range(1, n):
            thread = f"session-{i:05d}"
            parent: dict[str, Any] = _cfg(thread)
            for t in template:
                cp = {**t.checkpoint, "id": str(uuid6(clock_seq=i))}
                parent = saver.put(parent, cp, t.metadata, dict(cp["channel_versions"]))
                if t.pending_writes:
                    by_task: dict[str, list[tuple[str, Any]]] = {}
                    for task, chan, value in t.pending_writes:
                        by_task.setdefault(task, []).append((chan, value))
                    for task, writes in by_task.items():
                        saver.put_writes(parent, writes, task)


def _cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


CPU: dict[str, float] = {}
"""Median CPU seconds (user + system) of the lgrs process, per figure: on a loaded
machine wall times grow with the load, CPU time much less."""


def timed(args: list[str], runs: int, key: str = "") -> float:
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if key:
        CPU[key] = statistics.median(cpu)
    return statistics.median(times)


def round_trips(url: str, prefix: str, limit: int | None) -> int:
    """Pipelines and single commands one `Browser.sessions` call sends."""
    from langgraph_redis_saver import _drive
    from langgraph_redis_saver.browse import Browser

    count = 0
    execute = _drive.execute

    def counting(client: Any, batch: Any) -> Any:
        nonlocal count
        count += 1
        return execute(client, batch)

    _drive.execute = counting
    try:
        with Browser.from_url(url, prefix=prefix) as b:
            original = b.pipeline

            def pipeline(commands: Any) -> Any:
                nonlocal count
                count += max(1, -(-len(commands) // 2000))
                return original(commands)

            b.pipeline = pipeline  # type: ignore[method-assign]
            b.sessions(limit=limit)
    finally:
        _drive.execute = execute
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--exports", type=int, default=1_000)
    parser.add_argument("--redis-url")
    parser.add_argument("--runs", type=int, default=5)
    opts = parser.parse_args()
    server = None if opts.redis_url else ThrowawayRedis().start()
    url = opts.redis_url or server.url  # type: ignore[union-attr]
    run = uuid.uuid4().hex[:6]
    big, small = f"bench-lgrs-{run}:checkpoint", f"bench-lgrs-{run}-x:checkpoint"
    try:
        start = time.perf_counter()
        fill(url, big, opts.sessions)
        fill(url, small, opts.exports)
        print(f"filled {opts.sessions} + {opts.exports} sessions in "
              f"{time.perf_counter() - start:.0f} s")  # fmt: skip
        base = [*LGRS, "--url", url]
        figures = {
            "help": timed([*LGRS, "--help"], opts.runs, "help"),
            "sessions20": timed(
                [*base, "--prefix", big, "sessions", "--limit", "20"], opts.runs, "sessions20"
            ),
            "sessionsAll": timed(
                [*base, "--prefix", big, "sessions", "--limit", "0"], 3, "sessionsAll"
            ),
        }
        with tempfile.TemporaryDirectory() as out:
            figures["exportAll"] = timed(
                [*base, "--prefix", small, "export", "--all", "-o", str(Path(out) / "x")],
                1,
                "exportAll",
            )
        labels = {
            "help": "lgrs --help",
            "sessions20": f"lgrs sessions --limit 20   ({opts.sessions} stored)",
            "sessionsAll": f"lgrs sessions --limit 0    ({opts.sessions} stored)",
            "exportAll": f"lgrs export --all          ({opts.exports} sessions)",
        }
        print(f"{'command':<48}{'median':>9}{'CPU':>9}{'target':>9}")
        for key, label in labels.items():
            ok = "ok" if figures[key] < TARGETS[key] else "SLOW"
            print(f"{label:<48}{figures[key]:>8.3f}s{CPU[key]:>8.3f}s{TARGETS[key]:>8.2f}s  {ok}")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        rt20, rt_all = round_trips(url, big, 20), round_trips(url, big, None)
        print(f"round trips: sessions --limit 20: {rt20}; all {opts.sessions}: {rt_all} "
              "(pipelines of at most 2,000 commands)")  # fmt: skip
    finally:
        with RedisCheckpointSaver.from_url(url, key_prefix=big) as saver:
            saver.clear_all()
        with RedisCheckpointSaver.from_url(url, key_prefix=small) as saver:
            saver.clear_all()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
