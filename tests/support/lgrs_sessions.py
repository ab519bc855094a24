"""Sessions written by real LangGraph graphs for the ``lgrs`` tests, and a runner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner, Result
from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import Command

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver.cli.app import cli
from support.graphs import interview_graph, subgraph_parent

INTERVIEW = "iv-1"
FINISHED = "done-1"
SUBGRAPH = "sub-1"
CHAT = "chat-1"
PII = "pii-1"
LONG = "long-1"
ODD = "we:ird *id{x}/ü"

PII_ANSWER = (
    "Write to jane.doe@example.com or call +1 (555) 123-4567; my card is "
    "4111 1111 1111 1111. Release 2025-11-08 14:30 went fine."
)
LONG_ANSWER = "[bold]literal markup[/bold] " + "word " * 400 + "THE-END"


def chat_graph() -> StateGraph:
    """One AI reply that carries a model name and token usage, as chat models report."""

    def bot(state: MessagesState) -> dict[str, Any]:
        reply = AIMessage(
            "Hello! How can I help?",
            id="r1",
            response_metadata={"model_name": "gpt-test-mini"},
            usage_metadata={"input_tokens": 12, "output_tokens": 7, "total_tokens": 19},
        )
        return {"messages": [reply]}

    builder = StateGraph(MessagesState)
    builder.add_node("bot", bot)
    builder.add_edge(START, "bot")
    return builder


def interview(saver: RedisCheckpointSaver, thread: str, answers: list[str], **cfg: Any) -> None:
    """Start an interview and answer its questions; the next one stays pending."""
    graph = interview_graph().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": thread, **cfg}}
    graph.invoke({"turn_count": 0}, config)
    for answer in answers:
        graph.invoke(Command(resume=answer), config)


def write_sessions(url: str, prefix: str) -> None:
    with RedisCheckpointSaver.from_url(url, key_prefix=prefix) as saver:
        interview(saver, INTERVIEW, ["I built a compiler in Rust"], user_id="u1")
        interview(saver, FINISHED, ["A compiler", "A race in the cache", "The team"], user_id="u2")
        interview(saver, PII, [PII_ANSWER])
        interview(saver, LONG, [LONG_ANSWER])
        interview(saver, ODD, ["odd ids work"])
        subgraph_parent().compile(checkpointer=saver).invoke(
            {"turn_count": 0}, {"configurable": {"thread_id": SUBGRAPH}}
        )
        chat_graph().compile(checkpointer=saver).invoke(
            {"messages": [("user", "hi")]}, {"configurable": {"thread_id": CHAT, "user_id": "u1"}}
        )


@dataclass
class Lgrs:
    """Runs ``lgrs`` against one server and prefix with click's CliRunner."""

    url: str
    prefix: str

    def __call__(
        self,
        *args: str,
        code: int = 0,
        input: str | None = None,
        env: dict[str, str | None] | None = None,
    ) -> Result:
        runner = CliRunner()
        result = runner.invoke(
            cli,
            ["--url", self.url, "--prefix", self.prefix, *args],
            input=input,
            catch_exceptions=False,
            env={
                "REDIS_URL": None,
                "LGRS_PREFIX": None,
                "LGRS_CHANNEL": None,
                "COLUMNS": None,
                "LANGGRAPH_AES_KEY": None,
                **(env or {}),
            },
        )
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        return result
