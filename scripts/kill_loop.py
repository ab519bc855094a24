#!/usr/bin/env python3
"""Kill Redis at random points while sessions are being written; check invariants.

Starts a private ``redis-server`` (``appendfsync always``) on a free loopback
port, runs writer threads against it, and repeatedly SIGKILLs and restarts the
server at random moments. After every restart the writers pause and these
invariants are checked (``tests/support/audit.py`` defines them):

- every acknowledged checkpoint of the append-only sessions is still there;
- every session's ``latest`` resolves to its newest checkpoint, and every
  listed checkpoint reads back;
- no key under the prefix is an orphan or a dangling reference.

Writers use one shared saver and its sync API. Besides append-only sessions,
a churn session is pruned, copied and deleted at random, and a capped session
runs with ``max_checkpoints_per_session``. Cross-session index entries may go
stale in a crash (they are advisory); those are counted, not failed. Every
`RECYCLE_EVERY` kills, after a clean check, the prefix is cleared and the
sessions start over, so a check costs the same at kill 10 and at kill 1000.

    python scripts/kill_loop.py --kills 200            # ``make kill-loop``
    python scripts/kill_loop.py --kills 4 --seed 7     # reproducible short run

Prints one line per kill and a summary; exits 1 on the first violation.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import ConnectionError, TimeoutError

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the `support` package

from langgraph_redis_saver import RedisCheckpointSaver
from support.audit import audit, check_session
from support.servers import aof_server
from support.workload import Api, SessionWriter

DOWN_ERRORS = (ConnectionError, TimeoutError)
RECYCLE_EVERY = 10  # kills between two clean slates, so that checks stay fast


@dataclass
class Stats:
    """Counters printed at the end of a run."""

    kills: int = 0
    checks: int = 0
    writes: int = 0
    failed_calls: int = 0
    stale_index_entries: int = 0
    problems: list[str] = field(default_factory=list)


class Writers:
    """Writer threads; `pause` stops them between operations for a consistent check."""

    def __init__(self, saver: RedisCheckpointSaver, capped: RedisCheckpointSaver, n: int) -> None:
        self.saver = saver
        self.capped = capped
        self.stop = threading.Event()
        self.running = threading.Event()
        self.running.set()
        self.idle = [threading.Event() for _ in range(n)]
        self.stats = Stats()
        self.lock = threading.Lock()
        self.logs: list[SessionWriter] = []
        self.others: list[SessionWriter] = []  # churn and capped sessions
        self.churn: list[str] = []  # every churn session id in use (incl. copies)
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def pause(self, timeout: float = 30.0) -> None:
        self.running.clear()
        for idle in self.idle:
            if not idle.wait(timeout):
                raise RuntimeError("a writer did not pause")

    def resume(self) -> None:
        for idle in self.idle:
            idle.clear()
        self.running.set()

    def recycle(self) -> None:
        """Start over on an empty prefix (writers paused), so checks stay fast."""
        self.saver.clear_all()
        for writer in (*self.logs, *self.others):
            writer.acknowledged.clear()
            writer.last = None
        self.churn = [w.thread_id for w in self.others]

    def join(self) -> None:
        self.stop.set()
        self.running.set()
        for t in self.threads:
            t.join(timeout=30)

    def _run(self, index: int) -> None:
        asyncio.run(self._loop(index))

    async def _loop(self, index: int) -> None:
        rng = random.Random(index)
        api = Api(self.saver, "sync")
        logs = [SessionWriter(api, f"log-{index}-{j}") for j in range(2)]
        churn = SessionWriter(api, f"churn-{index}-0")
        capped = SessionWriter(Api(self.capped, "sync"), f"capped-{index}")
        with self.lock:
            self.logs += logs
            self.others += [churn, capped]
            self.churn += [churn.thread_id, capped.thread_id]
        while not self.stop.is_set():
            if not self.running.is_set():
                self.idle[index].set()
                self.running.wait()
                continue
            try:
                await self._operation(rng, logs, churn, capped)
                with self.lock:
                    self.stats.writes += 1
            except DOWN_ERRORS:
                with self.lock:
                    self.stats.failed_calls += 1
                for w in (*logs, churn, capped):
                    w.last = None  # unknown whether the failed write landed: re-read
                time.sleep(0.02)
        self.idle[index].set()

    async def _operation(
        self,
        rng: random.Random,
        logs: list[SessionWriter],
        churn: SessionWriter,
        capped: SessionWriter,
    ) -> None:
        roll = rng.random()
        if roll < 0.5:
            await rng.choice(logs).step()
        elif roll < 0.6:
            await capped.step()
        elif roll < 0.85:
            await churn.step()
        elif roll < 0.9:
            self.saver.prune([churn.thread_id])
            churn.last = None
        elif roll < 0.95:
            copy = f"{churn.thread_id}-copy-{uuid.uuid4().hex[:6]}"
            with self.lock:
                self.churn.append(copy)
            self.saver.copy_thread(churn.thread_id, copy)
            self.saver.delete_thread(copy)
        else:
            self.saver.delete_thread(churn.thread_id)
            churn.last = None


def check(writers: Writers, client: redis.Redis) -> list[str]:
    """Every invariant, with the writers paused."""
    saver = writers.saver
    found = audit(client, saver.keys)
    problems = found.problems(allow_stale_index=True)
    writers.stats.stale_index_entries = len(found.stale_index_entries)
    for w in writers.logs:
        problems += check_session(saver, w.thread_id, w.acknowledged)
    for thread_id in writers.churn:
        problems += check_session(saver, thread_id)
    return problems


def run(kills: int, writers_n: int, seed: int, directory: Path) -> Stats:
    """Run the loop; return its counters (``problems`` empty on success)."""
    rng = random.Random(seed)
    server = aof_server(directory / "redis").start()
    prefix = f"kill-loop-{uuid.uuid4().hex[:6]}:checkpoint"
    options: dict[str, Any] = {"key_prefix": prefix, "ttl": None, "timeout": 1.0, "retries": 0}
    saver = RedisCheckpointSaver.from_url(server.url, **options)
    capped = RedisCheckpointSaver.from_url(server.url, max_checkpoints_per_session=4, **options)
    writers = Writers(saver, capped, writers_n)
    stats = writers.stats
    try:
        writers.start()
        for k in range(1, kills + 1):
            time.sleep(rng.uniform(0.05, 0.4))
            before = stats.writes
            server.kill()
            stats.kills += 1
            time.sleep(rng.uniform(0.0, 0.2))
            server.start()
            time.sleep(rng.uniform(0.05, 0.2))  # let writers hit the new server
            writers.pause()
            with redis.Redis(port=server.port) as client:
                problems = check(writers, client)
                nkeys = client.dbsize()
            stats.checks += 1
            print(
                f"kill {k}/{kills}: {stats.writes - before} ops since the last kill, "
                f"{stats.failed_calls} failed calls so far, {nkeys} keys, "
                f"{'ok' if not problems else 'VIOLATED'}",
                flush=True,
            )
            if problems:
                stats.problems = problems
                return stats
            if k % RECYCLE_EVERY == 0:
                writers.recycle()
            writers.resume()
        writers.join()
        with redis.Redis(port=server.port) as client:
            stats.problems = check(writers, client)
        stats.checks += 1
        return stats
    finally:
        writers.join()
        saver.close()
        capped.close()
        server.stop()


def main() -> None:
    """Parse options, run the loop, print the figures; exit 1 on a violation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs to survive")
    parser.add_argument("--writers", type=int, default=3, help="writer threads")
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}, {args.kills} kills, {args.writers} writers", flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lgrs-kill-loop-") as tmp:
        stats = run(args.kills, args.writers, seed, Path(tmp))
    print(
        f"kills survived: {stats.kills if not stats.problems else stats.kills - 1}, "
        f"operations acknowledged: {stats.writes}, failed calls while down: "
        f"{stats.failed_calls}, invariant checks: {stats.checks}, stale index entries "
        f"(advisory): {stats.stale_index_entries}, {time.monotonic() - started:.0f}s"
    )
    if stats.problems:
        print("VIOLATIONS:\n  " + "\n  ".join(stats.problems[:50]))
        sys.exit(1)


if __name__ == "__main__":
    main()
