"""LangGraph's pydantic checkpointer scenarios, run against RedisCheckpointSaver.

LangGraph's own tests `test_conditional_state_graph`,
`test_conditional_graph_state`,
`test_in_one_fan_out_state_graph_waiting_edge_custom_state_class_pydantic_input`,
`test_stream_messages_dedupe_pydantic_subgraph_interrupt` and
`test_interrupt_functional_pydantic` failed with the saver while pydantic
models in state were refused on write. These are the same scenarios as tests
of our own: pydantic state and agent types in a conditional loop, a fan-out
with a pydantic input schema and a waiting edge, an interrupt inside a
pydantic subgraph, and the functional API with pydantic values. Each is
resumed or read back through a second saver (another process would see the
same bytes), in sync and async mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypedDict

import pytest
from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.func import entrypoint, task
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from langgraph_redis_saver import RedisCheckpointSaver
from support.pydantic_app import AgentState, FanInput, FanState, SubState, Verdict


async def run(graph: Any, mode: str, value: Any, cfg: dict[str, Any]) -> Any:
    if mode == "sync":
        return graph.invoke(value, cfg)
    return await graph.ainvoke(value, cfg)


async def state(graph: Any, mode: str, cfg: dict[str, Any]) -> Any:
    if mode == "sync":
        return graph.get_state(cfg)
    return await graph.aget_state(cfg)


@pytest.fixture
async def other(redis_url: str, prefix: str) -> AsyncIterator[RedisCheckpointSaver]:
    """A second saver on the same keys, as another process would build it."""
    async with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as second:
        yield second


def agent_graph(state_schema: Any) -> StateGraph:
    def agent(data: Any) -> dict[str, Any]:
        steps = data["intermediate_steps"] if isinstance(data, dict) else data.intermediate_steps
        if not steps:
            return {"agent_outcome": AgentAction(tool="search", tool_input="query", log="l1")}
        return {"agent_outcome": AgentFinish(return_values={"answer": "done"}, log="l2")}

    def tools(data: Any) -> dict[str, Any]:
        outcome = data["agent_outcome"] if isinstance(data, dict) else data.agent_outcome
        return {"intermediate_steps": [(outcome, "result for " + str(outcome.tool_input))]}

    def route(data: Any) -> str:
        outcome = data["agent_outcome"] if isinstance(data, dict) else data.agent_outcome
        return "exit" if isinstance(outcome, AgentFinish) else "continue"

    builder = StateGraph(state_schema)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, {"continue": "tools", "exit": END})
    builder.add_edge("tools", "agent")
    return builder


async def test_conditional_state_graph_pydantic_state(
    saver: RedisCheckpointSaver, other: RedisCheckpointSaver, mode: str
) -> None:
    builder = agent_graph(AgentState)
    cfg = {"configurable": {"thread_id": "cond-state"}}
    out = await run(builder.compile(checkpointer=saver), mode, AgentState(input="what?"), cfg)
    assert out["agent_outcome"] == AgentFinish(return_values={"answer": "done"}, log="l2")
    snap = await state(builder.compile(checkpointer=other), mode, cfg)
    action = AgentAction(tool="search", tool_input="query", log="l1")
    assert snap.values["intermediate_steps"] == [(action, "result for query")]
    assert type(snap.values["agent_outcome"]) is AgentFinish


class AgentDict(TypedDict):
    input: str
    agent_outcome: AgentAction | AgentFinish | None
    intermediate_steps: list[tuple[AgentAction, str]]


async def test_conditional_graph_state_agent_types(
    saver: RedisCheckpointSaver, other: RedisCheckpointSaver, mode: str
) -> None:
    builder = agent_graph(AgentDict)
    cfg = {"configurable": {"thread_id": "cond-graph"}}
    start = {"input": "what?", "agent_outcome": None, "intermediate_steps": []}
    await run(builder.compile(checkpointer=saver), mode, start, cfg)
    snap = await state(builder.compile(checkpointer=other), mode, cfg)
    assert type(snap.values["intermediate_steps"][0][0]) is AgentAction
    assert snap.values["agent_outcome"].return_values == {"answer": "done"}


async def test_fan_out_waiting_edge_pydantic_input(
    saver: RedisCheckpointSaver, other: RedisCheckpointSaver, mode: str
) -> None:
    def rewrite(data: FanState) -> dict[str, Any]:
        return {"query": "query: " + data.query}

    def retriever_one(data: FanState) -> dict[str, Any]:
        return {"docs": ["doc1", "doc2"]}

    def retriever_two(data: FanState) -> dict[str, Any]:
        return {"docs": ["doc3", "doc4"]}

    def qa(data: FanState) -> dict[str, Any]:
        return {"answer": ",".join(sorted(data.docs))}

    builder = StateGraph(FanState, input_schema=FanInput)
    for name, node in [("rewrite", rewrite), ("one", retriever_one), ("two", retriever_two)]:
        builder.add_node(name, node)
    builder.add_node("qa", qa)
    builder.add_edge(START, "rewrite")
    builder.add_edge("rewrite", "one")
    builder.add_edge("rewrite", "two")
    builder.add_edge(["one", "two"], "qa")
    builder.add_edge("qa", END)
    cfg = {"configurable": {"thread_id": "fan"}}
    out = await run(
        builder.compile(checkpointer=saver), mode, FanInput(query="what is weather"), cfg
    )
    assert out["answer"] == "doc1,doc2,doc3,doc4"
    snap = await state(builder.compile(checkpointer=other), mode, cfg)
    assert snap.values["query"] == "query: what is weather" and snap.next == ()


async def test_pydantic_subgraph_interrupt_resumes(
    saver: RedisCheckpointSaver, other: RedisCheckpointSaver, mode: str
) -> None:
    def ask(data: SubState) -> dict[str, Any]:
        answer = interrupt({"question": "approve?", "last": data.messages[-1].content})
        return {"messages": [AIMessage(f"you said {answer}", id="a1")], "approved": answer == "yes"}

    sub = StateGraph(SubState)
    sub.add_node("ask", ask)
    sub.add_edge(START, "ask")
    parent = StateGraph(SubState)
    parent.add_node("sub", sub.compile())
    parent.add_edge(START, "sub")
    cfg = {"configurable": {"thread_id": "sub"}}
    graph = parent.compile(checkpointer=saver)
    first = await run(graph, mode, SubState(messages=[HumanMessage("hi", id="h1")]), cfg)
    assert first["__interrupt__"][0].value == {"question": "approve?", "last": "hi"}
    resumed = parent.compile(checkpointer=other)
    out = await run(resumed, mode, Command(resume="yes"), cfg)
    assert out["approved"] is True
    assert [m.content for m in out["messages"]] == ["hi", "you said yes"]
    snap = await state(resumed, mode, cfg)
    assert snap.next == () and snap.values["approved"] is True


async def test_interrupt_functional_pydantic(
    saver: RedisCheckpointSaver, other: RedisCheckpointSaver, mode: str
) -> None:
    @task
    def review(topic: str) -> Verdict:
        return Verdict(topic=topic, approved=False, notes=["draft"])

    def build(checkpointer: RedisCheckpointSaver) -> Any:
        @entrypoint(checkpointer=checkpointer)
        def workflow(topic: str) -> Verdict:
            verdict = review(topic).result()
            decision = interrupt({"verdict": verdict.model_dump()})
            return verdict.model_copy(update={"approved": decision == "ok"})

        return workflow

    cfg = {"configurable": {"thread_id": "func"}}
    first = await run(build(saver), mode, "cats", cfg)
    assert first["__interrupt__"][0].value["verdict"]["topic"] == "cats"
    out = await run(build(other), mode, Command(resume="ok"), cfg)
    assert out == Verdict(topic="cats", approved=True, notes=["draft"])
