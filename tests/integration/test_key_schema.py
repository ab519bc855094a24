"""docs/key-schema.md stays true: every key a real session writes is documented."""

from __future__ import annotations

import re
from pathlib import Path

import redis
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.keys import escape
from support.graphs import interview_graph, subgraph_parent

DOC = Path(__file__).parents[2] / "docs" / "key-schema.md"
PLACEHOLDER = re.compile(r"<(S|NS|ID|CH|VER|KEY|VALUE|RUN_ID)>")


def documented_patterns(prefix: str, session: str) -> dict[str, re.Pattern[str]]:
    rows = re.findall(r"^\| `(P:[^`]+)` \|", DOC.read_text(), flags=re.M)
    assert rows, "no key table found in docs/key-schema.md"
    patterns = {}
    for row in rows:
        parts = PLACEHOLDER.split(row.replace("P:", prefix + ":", 1))
        regex = ""
        for i, part in enumerate(parts):
            if i % 2 == 0:
                regex += re.escape(part)
            else:
                regex += re.escape(escape(session)) if part == "S" else r"[^:]*"
        patterns[row] = re.compile(regex + r"\Z")
    return patterns


def test_every_key_of_a_real_session_is_documented(redis_url: str, prefix: str) -> None:
    session = "doc check:{1}"
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        for graph_builder, thread in (
            (interview_graph, session),
            (subgraph_parent, session + "-sub"),
        ):
            graph = graph_builder().compile(checkpointer=saver)
            config = {"configurable": {"thread_id": thread, "user_id": "u1", "run_id": "r1"}}
            graph.invoke({"turn_count": 0}, config)
            graph.invoke(Command(resume="an answer"), config)
    r = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in r.scan_iter(match=f"{prefix}:*")]
    r.close()
    patterns = [
        (row, pattern)
        for s in (session, session + "-sub")
        for row, pattern in documented_patterns(prefix, s).items()
    ]
    undocumented = [k for k in keys if not any(p.match(k) for _, p in patterns)]
    assert not undocumented, undocumented
    # ...and every documented kind of key is really written.
    used = {row for row, p in patterns if any(p.match(k) for k in keys)}
    assert used == {row for row, _ in patterns}, {row for row, _ in patterns} - used
