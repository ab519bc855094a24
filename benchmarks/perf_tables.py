"""Markdown tables of one `bench_savers.py --json` run, as docs/performance.md shows them.

    python benchmarks/bench_savers.py --json results.json
    python benchmarks/perf_tables.py results.json > tables.md

The page's figures come from one run: regenerate them all at once, so every
ratio on the page compares savers measured side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

OPERATIONS = ("put", "put_writes", "get_tuple latest", "get_tuple by id", "list(limit=10)")
SAVERS = ("ours", "memory", "sqlite", "plainredis")
NONE = "\u2013"  # an en dash, as the page's tables show a missing figure
NAMES = {
    "ours": "ours",
    "ours+zlib": "ours, `compress_threshold=1024`",
    "memory": "InMemorySaver",
    "sqlite": "SqliteSaver",
    "plainredis": "plainredis",
}


def _n(value: Any, digits: int = 0) -> str:
    if value is None:
        return NONE
    return f"{value:,.{digits}f}"


def _x(ours: float | None, theirs: float | None) -> str:
    return NONE if not ours or not theirs else f"{ours / theirs:.2f}x"


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], left: int = 1) -> str:
    align = ["---"] * left + ["---:"] * (len(head) - left)
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def operations(run: dict[str, Any], messages: int, stat: str) -> str:
    ops = run[f"operations, {messages} messages"]
    if stat == "p95":
        head = ["operation", *(NAMES[s] for s in SAVERS)]
        rows = [
            [f"`{op}`", *(_n(ops[op].get(s, {}).get("p95")) for s in SAVERS)] for op in OPERATIONS
        ]
        return _table(head, rows)
    head = ["operation", *(NAMES[s] for s in SAVERS), "SET/GET floor"]
    head += ["ours / plainredis", "ours / InMemory"]
    rows = []
    for op in OPERATIONS:
        med = {s: ops[op].get(s, {}).get("median") for s in (*SAVERS, "floor")}
        rows.append(
            [
                f"`{op}`",
                *(_n(med[s]) for s in (*SAVERS, "floor")),
                _x(med["ours"], med["plainredis"]),
                _x(med["ours"], med["memory"]),
            ]
        )
    return _table(head, rows)


def graph(run: dict[str, Any], key: str) -> str:
    head = ["saver", "turn median (µs)", "turn p95 (µs)", "growth, last 10 / first 10"]
    head += ["bytes in Redis", "bytes per turn"]
    rows = []
    for name, row in run[key].items():
        rows.append(
            [
                NAMES.get(name, name),
                _n(row["turn median"]),
                _n(row["turn p95"]),
                _n(row["growth last 10 / first 10"], 2),
                _n(row.get("bytes in redis")),
                _n(row.get("bytes per turn")),
            ]
        )
    return _table(head, rows)


def long_conversation(run: dict[str, Any]) -> str:
    conv = run["long conversation"]
    early, late = conv["early"], conv["late"]
    head = ["saver", "turn 10 (µs)", "turn 50", "turn 100", "turn 200", "bytes in Redis"]
    head += [
        f"bytes/turn, turns {early[0] + 1}-{early[1]}",
        f"bytes/turn, turns {late[0] + 1}-{late[1]}",
        "late / early",
    ]
    rows = []
    for name, row in conv.items():
        if not isinstance(row, dict):
            continue
        rows.append(
            [
                NAMES.get(name, name),
                *(_n(row[f"turn {t}"]) if f"turn {t}" in row else NONE for t in (10, 50, 100, 200)),
                _n(row.get("bytes in redis")),
                _n(row.get("bytes per turn early")),
                _n(row.get("bytes per turn late")),
                NONE if "late / early" not in row else f"{row['late / early']:.2f}x",
            ]
        )
    return _table(head, rows)


def concurrency(run: dict[str, Any]) -> str:
    rows_in = run["concurrency"]
    memory = rows_in["memory"]["turns/s"]
    head = ["saver", "turns/s", "of InMemorySaver", "CPU µs per turn", "`aget_tuple` µs"]
    head += ["`aput` µs", "`aput_writes` µs", "calls per turn (get / put / put_writes)"]
    rows = []
    for name, row in rows_in.items():
        if name == "floor":
            continue
        calls = " / ".join(
            f"{row[f'{m} per turn']:.0f}" for m in ("aget_tuple", "aput", "aput_writes")
        )
        rows.append(
            [
                NAMES.get(name, name),
                _n(row["turns/s"]),
                f"{row['turns/s'] / memory:.2f}x",
                _n(row["cpu us per turn"]),
                _n(row["aget_tuple us"]),
                _n(row["aput us"]),
                _n(row["aput_writes us"]),
                calls,
            ]
        )
    table = _table(head, rows)
    floor = rows_in.get("floor")
    if floor is None:
        return table
    return (
        f"{table}\n\nOne plain redis-py asyncio `GET` of a 10-message state, with 32 coroutines"
        f" calling at once, costs {_n(floor['cpu us per call'])} µs of CPU."
    )


def goals(run: dict[str, Any]) -> str:
    rows = [
        [
            g["goal"],
            f"{g['ratio']:.2f}x",
            g["bound"],
            "met" if g["met"] else "not met",
            NONE if g.get("floor") is None else f"{g['floor']:.2f}x",
        ]
        for g in run["goals"]
    ]
    head = ["goal", "ratio", "target", "result", "a saver with no CPU of its own"]
    return _table(head, rows, left=1)


def render(run: dict[str, Any]) -> str:
    parts = [
        f"Redis {run['redis']}, Python {run['python']}.",
        "**Operations, 10 messages per checkpoint** (median µs per call)",
        operations(run, 10, "median"),
        "**Operations, 100 messages per checkpoint** (median µs per call)",
        operations(run, 100, "median"),
        "p95, 10 messages:",
        operations(run, 10, "p95"),
        "p95, 100 messages:",
        operations(run, 100, "p95"),
        "**50-turn chat, LangGraph's default durability**",
        graph(run, "graph, default durability"),
        '**50-turn chat, `durability="sync"`**',
        graph(run, "graph, durability=sync"),
        "**200-turn `MessagesState` chat**",
        long_conversation(run),
        "**32 sessions at once, `ainvoke`**",
        concurrency(run),
        "**Goals of issue #13**",
        goals(run),
    ]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="the --json file of bench_savers.py")
    args = parser.parse_args(argv)
    with open(args.results, encoding="utf-8") as f:
        sys.stdout.write(render(json.load(f)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
