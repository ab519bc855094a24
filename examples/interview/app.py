"""Command line for the interview example: start, stop at any point, resume by session id.

Run it from the repository root::

    python -m examples.interview                          # new interview, answer at the prompt
    python -m examples.interview --answer "..." --answer "..."   # two answers, then stop
    python -m examples.interview --resume cli_20251108_145739    # continue in a new process

Answers come from ``--answer`` options when given (the process stops when
they run out), else from standard input: one answer per line, at a ``you>``
prompt in a terminal. An empty line, end of input or Ctrl-C stops the
interview; it stays in Redis, and ``--resume SESSION`` continues it from any
process until the session expires (24 hours after its last answer).

Redis is ``--url``, else ``REDIS_URL``, else ``redis://localhost:6379/0``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import redis
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver

from .graph import ChatModelInterviewer, Interviewer, ScriptedInterviewer, build_graph, describe

__all__ = ["main", "new_session_id"]

DEFAULT_URL = "redis://localhost:6379/0"
PROG = "python -m examples.interview"


def new_session_id(exists: Callable[[str], bool], now: datetime | None = None) -> str:
    """A session id in the form ``cli_YYYYmmdd_HHMMSS``, made unique with a suffix if taken.

    >>> new_session_id(lambda s: False, datetime(2025, 11, 8, 14, 57, 39))
    'cli_20251108_145739'
    >>> new_session_id(lambda s: s == "cli_20251108_145739", datetime(2025, 11, 8, 14, 57, 39))
    'cli_20251108_145739_2'
    """
    base = f"cli_{(now or datetime.now()):%Y%m%d_%H%M%S}"
    candidate, n = base, 1
    while exists(candidate):
        n += 1
        candidate = f"{base}_{n}"
    return candidate


def make_interviewer(model: str | None) -> Interviewer:
    """The scripted interviewer, or one backed by a chat model named like ``openai:gpt-4o-mini``.

    LangChain's ``init_chat_model`` is imported only when a model is asked for.
    """
    if not model:
        return ScriptedInterviewer()
    try:
        from langchain.chat_models import init_chat_model
    except ImportError:
        raise SystemExit(
            "--model needs LangChain and the provider's package, e.g. "
            "`pip install langchain langchain-openai` (and OPENAI_API_KEY set)"
        ) from None
    return ChatModelInterviewer(init_chat_model(model))


def _answers(given: Sequence[str] | None) -> Iterator[str | None]:
    """Answers from ``--answer`` options, else from stdin; ``None`` means stop."""
    if given is not None:
        yield from given
        yield None
        return
    prompt = "you> " if sys.stdin.isatty() else ""
    while True:
        try:
            line = input(prompt)
        except (EOFError, KeyboardInterrupt):
            print()
            yield None
            return
        if not line.strip():
            yield None
            return
        yield line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "An interview whose state lives in Redis: stop it at any question and "
            "resume it by session id from another process."
        ),
        epilog="Redis: --url, else REDIS_URL, else " + DEFAULT_URL,
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", metavar="SESSION", help="continue the interview SESSION")
    start.add_argument(
        "--session", metavar="ID", help="id of a new interview (default cli_YYYYmmdd_HHMMSS)"
    )
    parser.add_argument(
        "--answer",
        action="append",
        metavar="TEXT",
        help="an answer (repeatable); the process stops when the answers run out",
    )
    parser.add_argument("--url", help="Redis URL (default: REDIS_URL or " + DEFAULT_URL + ")")
    parser.add_argument("--user", default="demo", help="user_id stored in checkpoint metadata")
    parser.add_argument(
        "--ttl",
        type=float,
        default=24 * 3600,
        help="seconds a session is kept after its last answer (default 86400)",
    )
    parser.add_argument(
        "--model",
        metavar="PROVIDER:MODEL",
        help="ask with a LangChain chat model (e.g. openai:gpt-4o-mini) instead of the script",
    )
    return parser


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _show_interrupt(result: dict[str, Any]) -> dict[str, Any] | None:
    """The pending question of a run result, printed; ``None`` when the run finished."""
    pending = result.get("__interrupt__")
    if not pending:
        return None
    question: dict[str, Any] = pending[0].value
    print(f"interviewer ({question['number']}/{question['of']}): {question['question']}")
    return question


def run(args: argparse.Namespace, saver: RedisCheckpointSaver) -> int:
    """Start or resume one interview with `saver`; returns the exit status."""
    graph = build_graph(make_interviewer(args.model)).compile(checkpointer=saver)
    answers = _answers(args.answer)
    echo = args.answer is not None or not sys.stdin.isatty()

    if args.resume:
        session = args.resume
        config: Any = {"configurable": {"thread_id": session}}
        snapshot = graph.get_state(config)
        if not snapshot.values:
            print(
                f"error: no session {session!r} in Redis: wrong id, deleted, or expired "
                f"(sessions expire {args.ttl:g}s after their last answer)",
                file=sys.stderr,
            )
            return 1
        values = snapshot.values
        if values.get("is_complete"):
            print(f"session {session} is already complete: {describe(values['analysis'])}")
            return 0
        answered, restored = values.get("turn_count", 0), len(values.get("messages", []))
        print(
            f"resumed: session {session} from Redis, {_plural(answered, 'answer')} and "
            f"{_plural(restored, 'message')} restored"
        )
        if snapshot.interrupts:
            result: dict[str, Any] = {"__interrupt__": snapshot.interrupts}
        else:
            # The previous process stopped between two steps: finish that step.
            result = graph.invoke(None, config)
    else:
        session = args.session or new_session_id(
            lambda s: saver.get_tuple({"configurable": {"thread_id": s}}) is not None
        )
        config = {"configurable": {"thread_id": session}, "metadata": {"user_id": args.user}}
        print(f"session: {session}")
        result = graph.invoke({"turn_count": 0, "is_complete": False}, config)

    while (question := _show_interrupt(result)) is not None:
        answer = next(answers)
        if answer is None:
            done = question["number"] - 1
            print(
                f"interrupted: stopped after {done} of {question['of']} answers; "
                f"session {session} is saved in Redis"
            )
            print(f"resume with: {PROG} --resume {session}")
            return 0
        if echo:
            print(f"you: {answer}")
        result = graph.invoke(Command(resume=answer), config)

    final = graph.get_state(config).values
    print(f"interviewer: {final['messages'][-1].text}")
    print(f"completed: session {session}: {describe(final['analysis'])}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m examples.interview``."""
    args = _parser().parse_args(argv)
    url = args.url or os.environ.get("REDIS_URL") or DEFAULT_URL
    try:
        with RedisCheckpointSaver.from_url(url, ttl=args.ttl) as saver:
            return run(args, saver)
    except redis.ConnectionError as exc:
        print(
            f"error: cannot reach Redis ({exc}); start one (`redis-server`), or pass "
            "--url / set REDIS_URL",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
