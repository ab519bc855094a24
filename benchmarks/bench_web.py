"""Page-load time of ``lgrs serve``'s sessions list with many sessions stored.

Writes interview sessions with a real LangGraph graph (one per user, then
copies of them up to ``--sessions``), starts ``lgrs serve`` on a free port,
and times the sessions page: over HTTP (request to last byte) and, when
Debian's chromium and Playwright are there, in the browser (navigation to
the ``load`` event, stylesheet and script included). Prints medians and p95
over ``--rounds`` loads of each view. Goal: under 500 ms at 10,000 sessions.

    .venv/bin/python benchmarks/bench_web.py                  # throwaway redis-server
    .venv/bin/python benchmarks/bench_web.py --sessions 2000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import ExitStack
from typing import Any

from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command, interrupt

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.devserver import ThrowawayRedis

VIEWS = {
    "first page (newest 50)": "/",
    "page 100": "/?page=100",
    "sorted by id": "/?sort=id&order=asc",
    "search by id": "/?q=-00042",
    "filter by user": "/?user=user-3",
}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def interview() -> Any:
    """Two questions asked with interrupt(); the answers become messages."""

    def ask(state: MessagesState) -> dict[str, Any]:
        n = len(state["messages"]) // 2
        answer = interrupt({"question": f"Question {n + 1}?"})
        return {"messages": [("ai", f"Question {n + 1}?"), ("user", str(answer))]}

    builder = StateGraph(MessagesState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    return builder


def fill(url: str, prefix: str, sessions: int, users: int = 10) -> float:
    """Store `sessions` sessions; returns the seconds it took."""
    start = time.perf_counter()
    with RedisCheckpointSaver.from_url(url, key_prefix=prefix) as saver:
        graph = interview().compile(checkpointer=saver)
        seeds = []
        for u in range(users):
            config = {"configurable": {"thread_id": f"seed-{u}", "user_id": f"user-{u}"}}
            graph.invoke({"messages": [("user", "hello")]}, config)
            graph.invoke(Command(resume=f"answer from user {u}"), config)
            seeds.append(f"seed-{u}")
        for i in range(sessions - users):
            saver.copy_thread(seeds[i % users], f"session-{i:05d}")
    return time.perf_counter() - start


def serve(url: str, prefix: str) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "langgraph_redis_saver", "--url", url, "--prefix", prefix]
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    found = re.search(r"(http://\S+?)/", proc.stdout.readline())
    if not found:
        proc.kill()
        raise SystemExit("lgrs serve did not start")
    return proc, found.group(1)


def http_ms(base: str, path: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(base + path, timeout=60) as response:
        response.read()
        assert response.status == 200
    return (time.perf_counter() - start) * 1000


def stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(samples):7.1f} ms   p95 {p95:7.1f} ms"


def browser_runs(base: str, rounds: int) -> dict[str, list[float]] | None:
    exe = os.environ.get("LGRS_CHROMIUM") or shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if exe is None:
        return None
    results: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        page = browser.new_page()
        for name, path in VIEWS.items():
            page.goto(base + path)  # warm up
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                page.goto(base + path, wait_until="load")
                samples.append((time.perf_counter() - start) * 1000)
            results[name] = samples
        browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", help="use this Redis instead of a throwaway redis-server")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    prefix = f"bench-web-{uuid.uuid4().hex[:8]}:checkpoint"
    with ExitStack() as stack:
        url = args.redis_url or stack.enter_context(ThrowawayRedis()).url
        print(f"storing {args.sessions:,} sessions ...", flush=True)
        print(f"  stored in {fill(url, prefix, args.sessions):.1f} s")
        proc, base = serve(url, prefix)
        try:
            for path in VIEWS.values():
                http_ms(base, path)  # warm up
            print(f"\nsessions page over HTTP, {args.rounds} loads each ({args.sessions:,} stored)")
            for name, path in VIEWS.items():
                samples = [http_ms(base, path) for _ in range(args.rounds)]
                print(f"  {name:<24} {stats(samples)}")
            runs = browser_runs(base, args.rounds)
            if runs is None:
                print("\n(no chromium or playwright: browser timings skipped)")
            else:
                print(f"\nin headless Chromium, navigation to load event, {args.rounds} loads each")
                for name, samples in runs.items():
                    print(f"  {name:<24} {stats(samples)}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            if args.redis_url:
                with RedisCheckpointSaver.from_url(url, key_prefix=prefix) as saver:
                    saver.clear_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
