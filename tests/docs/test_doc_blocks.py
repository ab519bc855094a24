"""Every ```python and ```bash block of README.md and docs/*.md runs as written.

The blocks of one page run in order, each in a new process, as a reader
following the page would run them: against one throwaway Redis (``REDIS_URL``
is set for them, and the server is emptied before each page), in a working
directory of the page's own that looks like a clone of the repository
(its top-level entries are linked in, except ``.venv``: a block runs
``python``, ``pip`` or ``lgrs`` from ``PATH``, where the test's virtualenv
comes first, and cannot reinstall it by accident).
Python blocks run with ``python``; bash blocks with ``bash -e -o pipefail``.

Markers on the line before a block (see `support.docblocks`):
``<!-- fragment -->`` for a piece of a larger program (not run), and
``<!-- file: NAME -->`` for a block the reader saves as NAME (written, then run
by a later block). Runnable code must be in a ``python`` or ``bash`` block:
other spellings of those languages (``py``, ``sh``, ``shell``...) fail here
rather than be skipped in silence.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from langgraph_redis_saver.devserver import ThrowawayRedis
from support.docblocks import RUNNABLE, Block, blocks_of
from support.redis_server import redis_server_binary

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK_TIMEOUT = 180.0
ALIASES = {"py", "python3", "sh", "shell", "zsh", "pycon", "ipython"}
"""Spellings of runnable languages that the runner refuses, so nothing hides behind them."""


@pytest.fixture(scope="module")
def docs_redis() -> Iterator[str]:
    if redis_server_binary() is None:
        pytest.fail("the docs blocks need a redis-server: run `make redis-server`")
    with ThrowawayRedis() as server:
        yield server.url


def workdir_for(page: Path, tmp_path: Path) -> Path:
    """A directory that looks like the clone: links to its top-level entries."""
    work = tmp_path / page.stem
    work.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in {".git", ".venv", ".redis-servers", "site", "dist"}:
            (work / entry.name).symlink_to(entry)
    return work


def block_env(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "LGRS_"))}
    env["REDIS_URL"] = redis_url
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_COLOR"] = "1"
    return env


def run_block(block: Block, work: Path, env: dict[str, str]) -> str | None:
    """Run (or save) one block; the failure as text, or None when it passed."""
    if block.file_name is not None:
        (work / block.file_name).write_text(block.code, encoding="utf-8")
        return None
    if block.language == "python":
        command = [sys.executable, "-c", block.code]
    else:
        command = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    try:
        done = subprocess.run(
            command,
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{block.id} ({block.language}) did not finish in {BLOCK_TIMEOUT:g}s"
    if done.returncode == 0:
        return None
    said = (done.stdout[-1500:] + "\n" + done.stderr[-3000:]).strip()
    return f"{block.id} ({block.language}) exited {done.returncode}:\n{said}"


def run_page(page: Path, redis_url: str, work: Path) -> list[str]:
    """Run the runnable blocks of `page` in order; the failures."""
    with redis.Redis.from_url(redis_url) as client:
        client.flushall()
    env = block_env(redis_url)
    failures = []
    for block in blocks_of(page):
        if block.language in RUNNABLE and not block.fragment:
            failure = run_block(block, work, env)
            if failure is not None:
                failures.append(failure)
    return failures


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_doc_blocks_run_as_written(page: Path, docs_redis: str, tmp_path: Path) -> None:
    failures = run_page(page, docs_redis, workdir_for(page, tmp_path))
    assert not failures, "\n\n".join(failures)


def test_doc_blocks_use_no_alias_of_a_runnable_language() -> None:
    hidden = [
        f"{b.id}: ```{b.language} (write ```python or ```bash)"
        for page in PAGES
        for b in blocks_of(page)
        if b.language in ALIASES
    ]
    assert not hidden, "\n".join(hidden)


def test_doc_blocks_that_run_reach_redis_through_redis_url() -> None:
    # A block that names a server outright would write into whatever answers
    # there (a developer's own Redis on 6379) when the docs are tested.
    fixed = [
        f"{b.id}: names a Redis URL without reading REDIS_URL"
        for page in PAGES
        for b in blocks_of(page)
        if b.language in RUNNABLE
        and not b.fragment
        and ("redis://" in b.code or "rediss://" in b.code)
        and "REDIS_URL" not in b.code
    ]
    assert not fixed, "\n".join(fixed)


def test_doc_blocks_markers_sit_on_runnable_blocks() -> None:
    misplaced = [
        f"{b.id}: marker before a ```{b.language or 'plain'} block, which never runs"
        for page in PAGES
        for b in blocks_of(page)
        if (b.fragment or b.file_name) and b.language not in RUNNABLE
    ]
    assert not misplaced, "\n".join(misplaced)


SAMPLE = """\
# A page

```python
print("runs")
```

<!-- fragment -->

```python
graph.invoke(...)
```

<!-- file: app.py -->
~~~python
import sys
sys.exit(int(sys.argv[1]))
~~~

- a list item with a block:

  ```bash
  python app.py 0
  ```

```console
$ not run
```
"""


def test_docblocks_parse_markers_fences_and_indented_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(SAMPLE)
    blocks = blocks_of(page)
    assert [(b.language, b.fragment, b.file_name) for b in blocks] == [
        ("python", False, None),
        ("python", True, None),
        ("python", False, "app.py"),
        ("bash", False, None),
        ("console", False, None),
    ]
    assert blocks[3].code == "python app.py 0\n"
    assert blocks[0].line == 3


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ('print("runs")', "NameError"),
        ("python app.py 0", "exited 3"),
    ],
)
def test_doc_blocks_a_failing_block_fails_the_page(
    broken: str, reason: str, docs_redis: str, tmp_path: Path
) -> None:
    text = SAMPLE.replace(
        broken, "print(undefined_name)" if reason == "NameError" else "python app.py 3"
    )
    page = tmp_path / "page.md"
    page.write_text(text)
    work = tmp_path / "work"
    work.mkdir()
    failures = run_page(page, docs_redis, work)
    assert len(failures) == 1 and reason in failures[0], failures
    assert "page.md:" in failures[0]


def test_doc_blocks_see_redis_url_and_the_venv(docs_redis: str, tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```bash\n"
        'test "$REDIS_URL" = "' + docs_redis + '"\n'
        'test "$(command -v python)" = "' + str(Path(sys.executable).parent / "python") + '"\n'
        "```\n"
    )
    assert run_page(page, docs_redis, tmp_path) == []
