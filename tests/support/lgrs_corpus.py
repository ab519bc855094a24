"""Sessions written by real LangGraph graphs of every shape ``lgrs`` must report truthfully.

Each writer runs a real graph against a saver and returns the compiled graph
(or entrypoint), so a test can ask LangGraph itself (`get_state_history`,
`get_state`) what is true and compare it with ``lgrs --json``. No model or
network: a small fake chat model calls tools by itself.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Send, interrupt
from pydantic import BaseModel
from typing_extensions import TypedDict

from langgraph_redis_saver import RedisCheckpointSaver

AES_KEY = b"0123456789abcdef0123456789abcdef"
"""The key of the encrypted corpus session (32 bytes: AES-256)."""


class ToolCallingModel(BaseChatModel):
    """Calls each tool once, in order, then answers with text; `bind_tools` is a no-op."""

    calls: list[dict[str, Any]]

    @property
    def _llm_type(self) -> str:
        return "tool-calling-fake"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ToolCallingModel:  # type: ignore[override]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        done = sum(1 for m in messages if isinstance(m, ToolMessage))
        n = sum(1 for m in messages if isinstance(m, AIMessage))
        if done < len(self.calls):
            call = self.calls[done]
            msg = AIMessage("", id=f"ai-{n}", tool_calls=[{**call, "id": f"call-{done}"}])
        else:
            msg = AIMessage(
                "It is sunny in Paris.",
                id=f"ai-{n}",
                response_metadata={"model_name": "fake-model-1"},
                usage_metadata={"input_tokens": 30, "output_tokens": 6, "total_tokens": 36},
            )
        return ChatResult(generations=[ChatGeneration(message=msg)])


@tool(response_format="content_and_artifact")
def weather(city: str) -> tuple[str, dict[str, Any]]:
    """The weather in a city."""
    return f"sunny in {city}", {"city": city, "celsius": 21, "source": "fake"}


def _agent(**options: Any) -> Any:
    from langgraph.prebuilt import create_react_agent

    model = ToolCallingModel(calls=[{"name": "weather", "args": {"city": "Paris"}}])
    with warnings.catch_warnings():  # deprecated in LangGraph 1.0, still widely used
        warnings.simplefilter("ignore")
        return create_react_agent(model, [weather], **options)


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def react(saver: Any, thread: str) -> Any:
    """A finished react agent turn: a tool call with an artifact, then an answer."""
    graph = _agent(checkpointer=saver)
    graph.invoke({"messages": [("user", "Weather in Paris?")]}, _config(thread))
    return graph


def react_before(saver: Any, thread: str) -> Any:
    """A react agent paused before its tools run (``interrupt_before=["tools"]``)."""
    graph = _agent(checkpointer=saver, interrupt_before=["tools"])
    graph.invoke({"messages": [("user", "Weather in Paris?")]}, _config(thread))
    return graph


def react_after(saver: Any, thread: str) -> Any:
    """A react agent paused after its tools ran (``interrupt_after=["tools"]``)."""
    graph = _agent(checkpointer=saver, interrupt_after=["tools"])
    graph.invoke({"messages": [("user", "Weather in Paris?")]}, _config(thread))
    return graph


class ReviewState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    draft: str
    decision: dict[str, Any]
    published: bool


def _review(state: ReviewState) -> dict[str, Any]:
    decision = interrupt(
        {
            "question": "Publish this draft?",
            "options": ["approve", "edit", "reject"],
            "schema": {"type": "object", "properties": {"action": {"type": "string"}}},
            "draft": state["draft"],
        }
    )
    return {"decision": decision}


def approval_graph() -> StateGraph:
    builder = StateGraph(ReviewState)
    builder.add_node("draft", lambda s: {"draft": "Q3 report", "messages": [("ai", "drafted")]})
    builder.add_node("review", _review)
    builder.add_node("publish", lambda s: {"published": s["decision"]["action"] == "approve"})
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_edge("review", "publish")
    builder.add_edge("publish", END)
    return builder


def approval_waiting(saver: Any, thread: str) -> Any:
    """Human approval via ``interrupt()``, waiting for the answer."""
    graph = approval_graph().compile(checkpointer=saver)
    graph.invoke({"messages": [("user", "write the report")]}, _config(thread))
    return graph


def approval_done(saver: Any, thread: str) -> Any:
    """Human approval, answered and finished."""
    graph = approval_waiting(saver, thread)
    graph.invoke(Command(resume={"action": "approve"}), _config(thread))
    return graph


def functional(saver: Any, thread: str) -> Any:
    """The functional API: ``@task`` calls and an ``interrupt()``, waiting."""

    @task
    def outline(topic: str) -> list[str]:
        return [f"{topic}: intro", f"{topic}: body"]

    @entrypoint(checkpointer=saver)
    def writer(topic: str) -> dict[str, Any]:
        parts = outline(topic).result()
        answer = interrupt({"question": "Which part first?", "options": parts})
        return {"topic": topic, "parts": parts, "first": answer}

    writer.invoke("redis", _config(thread))
    return writer


def functional_done(saver: Any, thread: str) -> Any:
    """The functional API, resumed to the end."""
    writer = functional(saver, thread)
    writer.invoke(Command(resume="intro"), _config(thread))
    return writer


class InnerState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    notes: str


def _inner() -> Any:
    def ask(state: InnerState) -> dict[str, Any]:
        answer = interrupt({"question": "Name?"})
        return {"messages": [("user", str(answer))], "notes": "asked"}

    builder = StateGraph(InnerState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    return builder.compile(checkpointer=True)


def subgraph(saver: Any, thread: str) -> Any:
    """A parent graph whose node is a subgraph compiled with ``checkpointer=True``."""
    builder = StateGraph(InnerState)
    builder.add_node("intake", _inner())
    builder.add_node("wrap", lambda s: {"notes": "wrapped"})
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "wrap")
    builder.add_edge("wrap", END)
    graph = builder.compile(checkpointer=saver)
    graph.invoke({"messages": [("user", "start")]}, _config(thread))
    graph.invoke(Command(resume="Ada"), _config(thread))
    return graph


class FanState(TypedDict, total=False):
    items: list[int]
    results: Annotated[list[int], operator.add]
    total: int


def fanout(saver: Any, thread: str) -> Any:
    """A 20-way ``Send`` fan-out joined by a reduce node."""
    builder = StateGraph(FanState)
    builder.add_node("split", lambda s: {})
    builder.add_node("work", lambda s: {"results": [s["items"][0] * 2]})
    builder.add_node("reduce", lambda s: {"total": sum(s["results"])})
    builder.add_edge(START, "split")
    builder.add_conditional_edges(
        "split", lambda s: [Send("work", {"items": [i]}) for i in s["items"]], ["work"]
    )
    builder.add_edge("work", "reduce")
    builder.add_edge("reduce", END)
    graph = builder.compile(checkpointer=saver)
    graph.invoke({"items": list(range(20))}, _config(thread))
    return graph


def _private_model() -> type[BaseModel]:
    """A state class from a module ``lgrs`` cannot import."""

    class Profile(BaseModel):
        name: str
        score: float

    Profile.__module__ = "acme_private.models"
    Profile.__qualname__ = "Profile"
    return Profile


def private_classes(saver: Any, thread: str) -> Any:
    """State that holds an application class nobody else can import."""
    profile = _private_model()
    saver.serde.register(profile, tag="acme.Profile")

    class State(MessagesState, total=False):
        profile: Any

    def node(state: State) -> dict[str, Any]:
        return {"profile": profile(name="Ada", score=9.5), "messages": [("ai", "profiled")]}

    builder = StateGraph(State)
    builder.add_node("profile_it", node)
    builder.add_edge(START, "profile_it")
    graph = builder.compile(checkpointer=saver)
    graph.invoke({"messages": [("user", "profile me")]}, _config(thread))
    return graph


def encrypted(url: str, prefix: str, thread: str) -> Any:
    """An approval session written through LangGraph's `EncryptedSerializer` (AES)."""
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    from langgraph_redis_saver import SafeMsgpackSerializer

    serde = EncryptedSerializer.from_pycryptodome_aes(SafeMsgpackSerializer(), key=AES_KEY)
    saver = RedisCheckpointSaver.from_url(url, key_prefix=prefix, serde=serde)
    return approval_waiting(saver, thread), saver


@dataclass(frozen=True)
class Shape:
    """One corpus session: its thread id and the writer that fills it."""

    thread: str
    write: Callable[[Any, str], Any]


SHAPES = [
    Shape("react", react),
    Shape("react-before", react_before),
    Shape("react-after", react_after),
    Shape("approval-waiting", approval_waiting),
    Shape("approval-done", approval_done),
    Shape("functional", functional),
    Shape("functional-done", functional_done),
    Shape("subgraph", subgraph),
    Shape("fanout", fanout),
    Shape("private", private_classes),
]
ENCRYPTED = "encrypted"


def write_corpus(url: str, prefix: str) -> dict[str, Any]:
    """Write every corpus session under `prefix`; returns the graphs by thread id.

    The graphs stay bound to open savers (the caller reads LangGraph's view
    through them); `close_corpus` closes them.
    """
    saver = RedisCheckpointSaver.from_url(url, key_prefix=prefix)
    graphs: dict[str, Any] = {"__savers__": [saver]}
    for shape in SHAPES:
        graphs[shape.thread] = shape.write(saver, shape.thread)
    graph, enc_saver = encrypted(url, prefix, ENCRYPTED)
    graphs[ENCRYPTED] = graph
    graphs["__savers__"].append(enc_saver)
    return graphs


def close_corpus(graphs: dict[str, Any]) -> None:
    for saver in graphs["__savers__"]:
        saver.close()
