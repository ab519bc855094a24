"""Type matrix: every kind of value in graph state, written, then read back in a fresh process.

Each value of `support.type_matrix.CASES` is stored through a real
`RedisCheckpointSaver` and through `InMemorySaver`'s serializer (LangGraph's
`JsonPlusSerializer`). A fresh Python process, which imports the classes as an
application would, reads both back and compares them with a newly built value
(same type, same value). Drop-in means: no value that `InMemorySaver`
restores and we do not.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver

from langgraph_redis_saver import RedisCheckpointSaver
from support.type_matrix import CASES

TESTS = Path(__file__).resolve().parents[1]

READER = """
import base64, json, sys, warnings
from langgraph.checkpoint.memory import InMemorySaver
from langgraph_redis_saver import RedisCheckpointSaver
from support.type_matrix import CASES, same

url, prefix, stored_path = sys.argv[1:4]
theirs_stored = json.loads(open(stored_path).read())
jsonplus = InMemorySaver().serde
results = {}
warnings.simplefilter("error")  # a value that loads only with a warning does not count
with RedisCheckpointSaver.from_url(url, key_prefix=prefix) as saver:
    for name, build in CASES.items():
        expected = build()
        try:
            tup = saver.get_tuple({"configurable": {"thread_id": name, "checkpoint_ns": ""}})
            ours = same(expected, tup.checkpoint["channel_values"]["v"])
        except Exception:
            ours = False
        theirs = False
        if theirs_stored.get(name) is not None:
            typ, data = theirs_stored[name]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    theirs = same(expected, jsonplus.loads_typed((typ, base64.b64decode(data))))
            except Exception:
                theirs = False
        results[name] = [ours, theirs]
print(json.dumps(results))
"""


def test_type_matrix_restores_every_value_inmemorysaver_restores(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    assert len(CASES) >= 95
    jsonplus = InMemorySaver().serde
    theirs: dict[str, list[str] | None] = {}
    refused = []
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        for name, build in CASES.items():
            checkpoint = empty_checkpoint()
            checkpoint["channel_values"] = {"v": build()}
            checkpoint["channel_versions"] = {"v": 1}
            config = {"configurable": {"thread_id": name, "checkpoint_ns": ""}}
            try:
                saver.put(config, checkpoint, {}, {"v": 1})
            except Exception as exc:  # counted below: a write refusal fails the test
                refused.append(f"{name}: {exc}")
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    typ, data = jsonplus.dumps_typed(build())
                theirs[name] = [typ, base64.b64encode(data).decode()]
            except Exception:
                theirs[name] = None
    assert refused == []
    stored = tmp_path / "jsonplus.json"
    stored.write_text(json.dumps(theirs))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", READER, redis_url, prefix, str(stored)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    results: dict[str, list[bool]] = json.loads(out.stdout.strip().splitlines()[-1])
    ours_count = sum(ours for ours, _ in results.values())
    theirs_count = sum(t for _, t in results.values())
    print(f"type matrix: {len(results)} kinds; ours {ours_count}, InMemorySaver {theirs_count}")
    worse = sorted(name for name, (ours, t) in results.items() if t and not ours)
    assert worse == []
    # Exceptions are stored as their repr, as LangGraph does; a parametrized
    # generic model (Box[int]) loads as its unparametrized class (Box), since
    # parametrizing runs code. Every other kind restores exactly.
    assert sorted(name for name, (ours, _) in results.items() if not ours) == [
        "exception",
        "exception_custom",
        "pydantic_generic",
    ]
