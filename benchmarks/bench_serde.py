"""Compare SafeMsgpackSerializer with LangGraph's JsonPlusSerializer on message-heavy state.

Runs `dumps_typed`, `loads_typed` and the pair on a graph state holding 10 and
100 LangChain messages (human questions, AI tool calls with usage and
response metadata, tool results, AI answers) plus a few scalar fields. The two
serializers are interleaved inside every round so that CPU frequency changes
and background noise hit both alike. Prints medians and p95 in microseconds,
the ratio ours/theirs (below 1.0 means we are faster) and payload sizes.

    python benchmarks/bench_serde.py            # 2000 rounds
    python benchmarks/bench_serde.py --quick    # 200 rounds
    python benchmarks/bench_serde.py --profile  # cProfile of our dumps+loads
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_redis_saver.serde import SafeMsgpackSerializer

USAGE = {
    "input_tokens": 1234,
    "output_tokens": 87,
    "total_tokens": 1321,
    "input_token_details": {"cache_read": 1024},
    "output_token_details": {"reasoning": 12},
}


def make_messages(n: int) -> list[BaseMessage]:
    """Build `n` messages cycling question, tool call, tool result, answer."""
    out: list[BaseMessage] = []
    i = 0
    while len(out) < n:
        call_id = f"call_{i:04d}"
        out.append(HumanMessage(f"Question {i}: what did we ship in sprint {i}? " * 3, id=f"h{i}"))
        out.append(
            AIMessage(
                "",
                id=f"run-{i}-0",
                tool_calls=[
                    {"name": "search_tickets", "args": {"sprint": i, "k": 5}, "id": call_id}
                ],
                usage_metadata=USAGE,  # type: ignore[arg-type]
                response_metadata={
                    "model_name": "gpt-4o-2024-08-06",
                    "finish_reason": "tool_calls",
                    "system_fingerprint": "fp_abc123",
                },
            )
        )
        out.append(
            ToolMessage(
                f'[{{"id": {i}, "title": "ticket {i}", "status": "done"}}] ' * 4,
                tool_call_id=call_id,
                name="search_tickets",
                id=f"t{i}",
            )
        )
        out.append(
            AIMessage(
                f"In sprint {i} the team shipped the export feature and fixed bugs. " * 4,
                id=f"run-{i}-1",
                usage_metadata=USAGE,  # type: ignore[arg-type]
                response_metadata={"model_name": "gpt-4o-2024-08-06", "finish_reason": "stop"},
            )
        )
        i += 1
    return out[:n]


def make_state(n: int) -> dict[str, Any]:
    return {
        "messages": make_messages(n),
        "turn_count": n // 2,
        "is_complete": False,
        "session_id": "cli_20251108_145739",
        "analysis": {"sentiment": 0.42, "topics": ["export", "bugs"]},
    }


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - start) / 1000.0


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def bench(n: int, rounds: int) -> list[tuple[str, float, float, float, float]]:
    state = make_state(n)
    ours, theirs = SafeMsgpackSerializer(), JsonPlusSerializer()
    ours_blob, theirs_blob = ours.dumps_typed(state), theirs.dumps_typed(state)
    assert ours.loads_typed(ours_blob) == state
    assert theirs.loads_typed(theirs_blob) == state

    ops: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "dumps": (lambda: ours.dumps_typed(state), lambda: theirs.dumps_typed(state)),
        "loads": (lambda: ours.loads_typed(ours_blob), lambda: theirs.loads_typed(theirs_blob)),
        "dumps+loads": (
            lambda: ours.loads_typed(ours.dumps_typed(state)),
            lambda: theirs.loads_typed(theirs.dumps_typed(state)),
        ),
    }
    samples: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in ops}
    for fns in ops.values():  # warm up caches and lazy imports
        for fn in fns:
            for _ in range(20):
                fn()
    gc.collect()
    for r in range(rounds):
        for op, (ours_fn, theirs_fn) in ops.items():
            a, b = samples[op]
            if r % 2:  # alternate who goes first
                b.append(_time(theirs_fn))
                a.append(_time(ours_fn))
            else:
                a.append(_time(ours_fn))
                b.append(_time(theirs_fn))
    rows = []
    for op, (a, b) in samples.items():
        (a_med, a_p95), (b_med, b_p95) = _stats(a), _stats(b)
        rows.append((op, a_med, a_p95, b_med, b_p95))
    print(
        f"\n{n} messages; payload bytes: ours {len(ours_blob[1])},"
        f" JsonPlus {len(theirs_blob[1])} ({len(ours_blob[1]) / len(theirs_blob[1]):.2f}x)"
    )
    header = f"{'operation':<12} {'ours med':>9} {'ours p95':>9} {'JP med':>9} {'JP p95':>9}"
    print(f"{header} {'ratio med':>10} {'ratio p95':>10}")
    for op, a_med, a_p95, b_med, b_p95 in rows:
        print(
            f"{op:<12} {a_med:>9.1f} {a_p95:>9.1f} {b_med:>9.1f} {b_p95:>9.1f}"
            f" {a_med / b_med:>10.2f} {a_p95 / b_p95:>10.2f}"
        )
    return rows


def profile(n: int) -> None:
    state = make_state(n)
    ours = SafeMsgpackSerializer()
    blob = ours.dumps_typed(state)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(300):
        ours.dumps_typed(state)
        ours.loads_typed(blob)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="timed rounds per case")
    parser.add_argument("--quick", action="store_true", help="200 rounds")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100], help="message counts")
    parser.add_argument("--profile", action="store_true", help="cProfile ours instead")
    args = parser.parse_args()
    if args.profile:
        profile(max(args.sizes))
        return
    rounds = 200 if args.quick else args.rounds
    print(f"SafeMsgpackSerializer vs JsonPlusSerializer, {rounds} rounds, times in microseconds")
    for n in args.sizes:
        bench(n, rounds)


if __name__ == "__main__":
    main()
