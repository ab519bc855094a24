"""Small real graphs used by the integration tests (and run as a subprocess)."""

from __future__ import annotations

import json
import operator
import sys
from typing import Annotated, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, Send, interrupt
from typing_extensions import TypedDict

QUESTIONS = [
    "Tell me about a project you are proud of.",
    "What was the hardest bug you fixed?",
    "Why do you want this role?",
]


class InterviewState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    turn_count: int
    is_complete: bool


def ask(state: InterviewState) -> dict[str, Any]:
    turn = state.get("turn_count", 0)
    question = QUESTIONS[turn]
    answer = interrupt({"question": question, "turn": turn})
    call = {"name": "score_answer", "args": {"answer": answer}, "id": f"call_{turn}"}
    return {
        "messages": [
            AIMessage(question, id=f"q{turn}"),
            HumanMessage(answer, id=f"a{turn}"),
            AIMessage("", tool_calls=[call], id=f"tc{turn}"),
            ToolMessage(str(len(answer.split())), tool_call_id=f"call_{turn}", id=f"tr{turn}"),
        ],
        "turn_count": turn + 1,
        "is_complete": turn + 1 == len(QUESTIONS),
    }


def interview_graph() -> StateGraph:
    builder = StateGraph(InterviewState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_conditional_edges("ask", lambda s: END if s.get("is_complete") else "ask")
    return builder


class MapState(TypedDict, total=False):
    items: list[int]
    results: Annotated[list[int], operator.add]
    left: str
    right: str
    total: int


def fan_out(state: MapState) -> list[Send]:
    return [Send("work", {"items": [i]}) for i in state["items"]]


def map_reduce_graph() -> StateGraph:
    builder = StateGraph(MapState)
    builder.add_node("split", lambda s: {})
    builder.add_node("work", lambda s: {"results": [s["items"][0] * 2]})
    builder.add_node("left", lambda s: {"left": "L"})
    builder.add_node("right", lambda s: {"right": "R"})
    builder.add_node("reduce", lambda s: {"total": sum(s["results"])})
    builder.add_edge(START, "split")
    builder.add_conditional_edges("split", fan_out, ["work"])
    builder.add_edge(START, "left")
    builder.add_edge(START, "right")
    builder.add_edge(["work", "left", "right"], "reduce")
    builder.add_edge("reduce", END)
    return builder


class ParentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    turn_count: int
    is_complete: bool
    summary: str


def subgraph_parent() -> StateGraph:
    inner = interview_graph().compile()
    builder = StateGraph(ParentState)
    builder.add_node("interview", inner)
    builder.add_node("summarize", lambda s: {"summary": f"{len(s['messages'])} messages"})
    builder.add_edge(START, "interview")
    builder.add_edge("interview", "summarize")
    builder.add_edge("summarize", END)
    return builder


def _main() -> None:
    """``python graphs.py URL PREFIX THREAD start|ANSWER``: one step of the interview."""
    from langgraph_redis_saver import RedisCheckpointSaver

    url, prefix, thread, action = sys.argv[1:5]
    config = {"configurable": {"thread_id": thread}}
    with RedisCheckpointSaver.from_url(url, key_prefix=prefix) as saver:
        graph = interview_graph().compile(checkpointer=saver)
        payload: Any = {"turn_count": 0} if action == "start" else Command(resume=action)
        result = graph.invoke(payload, config)
        pending = [i.value for i in result.get("__interrupt__", [])]
        print(json.dumps({"turn_count": result.get("turn_count"), "pending": pending}))


if __name__ == "__main__":
    _main()
