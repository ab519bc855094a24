"""Sessions stored by earlier versions stay readable.

Each generation in ``tests/fixtures/golden/`` holds the raw keys of sessions
written by the code of its day (several graph shapes, compressed and plain
blobs, a subgraph namespace, hidden ancestors, an odd session id) and what
that code read back. The keys are restored into a fresh server and read with
today's code: any difference fails. A format change that would strand stored
sessions fails here; see CONTRIBUTING.md for how to add a generation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from fixtures.golden_io import close_saver, observe, open_saver, restore_keys
from support.redis_server import RedisServer

GOLDEN = Path(__file__).parents[1] / "fixtures" / "golden"
GENERATIONS = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir())
SESSIONS = [
    (gen, path.stem)
    for gen in GENERATIONS
    for path in sorted((GOLDEN / gen).glob("*.json"))
    if path.stem != "keys"
]


def _load(generation: str, name: str) -> Any:
    return json.loads((GOLDEN / generation / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def golden_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("golden")).start()
    try:
        yield server
    finally:
        server.stop()


def _restore(server: RedisServer, generation: str) -> None:
    with redis.Redis.from_url(server.url) as client:
        client.flushall()
        restore_keys(client, _load(generation, "keys"))


@pytest.fixture(scope="module")
def restored(golden_server: RedisServer) -> Iterator[Any]:
    """The server with one generation restored, restoring again only when needed."""
    current: list[str] = []

    def use(generation: str, *, then_changed: bool = False) -> str:
        if current != [generation]:
            _restore(golden_server, generation)
            current[:] = [generation]
        if then_changed:
            current.clear()  # the caller changes the data: restore again next time
        return golden_server.url

    yield use


def test_golden_generations_exist() -> None:
    assert GENERATIONS and SESSIONS, f"no golden fixtures under {GOLDEN}"


@pytest.mark.parametrize(("generation", "name"), SESSIONS)
async def test_golden_session_reads_as_when_written(
    restored: Any, mode: str, generation: str, name: str
) -> None:
    doc = _load(generation, name)
    url = restored(generation)
    saver = open_saver(url, doc["saver_options"])
    try:
        got = await observe(saver, mode, doc["graph"], doc["thread_id"])
    finally:
        await close_saver(saver)
    expected = doc["expected"]
    for part in ("latest", "listing", "state", "state_history"):
        assert got[part] == expected[part], (
            f"{generation}/{name}: {part} differs from what was stored; stored sessions "
            f"of this generation would read differently (see CONTRIBUTING.md)"
        )


def _by_key_layout(generation: str) -> dict[bool, list[Any]]:
    """The generation's sessions, grouped by cluster (hash-tagged) keys or not."""
    groups: dict[bool, list[Any]] = {}
    for gen, name in SESSIONS:
        if gen == generation:
            doc = _load(generation, name)
            groups.setdefault(bool(doc["saver_options"].get("cluster")), []).append(doc)
    return groups


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_golden_sessions_list_across_sessions_and_by_user(
    restored: Any, mode: str, generation: str
) -> None:
    for cluster, docs in _by_key_layout(generation).items():
        # Listing drops index entries whose session it cannot see under its
        # own key layout: restore again for each layout.
        url = restored(generation, then_changed=True)
        saver = open_saver(url, {"cluster": cluster})
        try:
            if mode == "sync":
                every = list(saver.list(None))
                by_user = saver.list_sessions(filter={"user_id": "alice"})
            else:
                every = [t async for t in saver.alist(None)]
                by_user = await saver.alist_sessions(filter={"user_id": "alice"})
        finally:
            await close_saver(saver)
        got = {(t.config["configurable"]["thread_id"], t.checkpoint["id"]) for t in every}
        listed = [(doc["thread_id"], t) for doc in docs for t in doc["expected"]["listing"]]
        expected = {(thread, t["checkpoint"]["id"]) for thread, t in listed}
        assert got == expected
        alice = {doc["thread_id"] for doc in docs if doc["user_id"] == "alice"}
        assert {s.thread_id for s in by_user} == alice


@pytest.mark.parametrize("generation", GENERATIONS)
async def test_golden_sessions_delete_without_leftovers(
    restored: Any, mode: str, generation: str
) -> None:
    """Deleting sessions stored by an older version removes every key they
    own and their entries in every cross-session index (a numeric user id
    included), whatever record fields that version wrote."""
    url = restored(generation, then_changed=True)
    for cluster, docs in _by_key_layout(generation).items():
        saver = open_saver(url, {"cluster": cluster})
        try:
            for doc in docs:
                if mode == "sync":
                    saver.delete_thread(doc["thread_id"])
                else:
                    await saver.adelete_thread(doc["thread_id"])
            prefix_pattern = saver.keys.prefix_pattern()
        finally:
            await close_saver(saver)
    with redis.Redis.from_url(url) as client:
        left = sorted(client.scan_iter(match=prefix_pattern))
    assert left == []
