"""`lgrs` at 80 columns on sessions written by a real graph: long node names,
a session id longer than the terminal, a CJK id."""

from __future__ import annotations

from langgraph_redis_saver import RedisCheckpointSaver
from support.lgrs_sessions import Lgrs


def test_long_node_names_and_ids_at_80_columns(redis_url: str, prefix: str) -> None:
    """A real graph with long node names, stored under a long and a CJK session id."""
    from typing import Any

    from langgraph.graph import START, MessagesState, StateGraph
    from rich.cells import cell_len

    def summarize(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", "summary")]}

    def route(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("ai", "routed")]}

    builder = StateGraph(MessagesState)
    builder.add_node("summarize_customer_conversation_history_node", summarize)
    builder.add_node("classify_intent_with_llm_router", route)
    builder.add_edge(START, "summarize_customer_conversation_history_node")
    builder.add_edge(
        "summarize_customer_conversation_history_node", "classify_intent_with_llm_router"
    )
    long_id = "tenant-" + "x" * 80 + "-conversation"
    with RedisCheckpointSaver.from_url(redis_url, key_prefix=prefix) as saver:
        graph = builder.compile(checkpointer=saver)
        for thread in (long_id, "顧客サポート-88412", "short"):
            graph.invoke({"messages": [("user", "hi")]}, {"configurable": {"thread_id": thread}})
        lgrs = Lgrs(redis_url, prefix)
        narrow = {"COLUMNS": "80"}
        history = lgrs("history", "short", env=narrow).stdout
        assert history.split("\n")[0].split() == ["checkpoint", "step", "node", "next"]
        assert all(cell_len(line) <= 80 for line in history.splitlines())
        table = lgrs("sessions", env=narrow).stdout
        header, *rows = table.splitlines()
        assert header.split()[:4] == ["session", "updated", "(UTC)", "msgs"]
        dated = [line for line in rows if " 20" in line]
        assert len(dated) == 3 and all(cell_len(line) <= 80 for line in table.splitlines())
        column = {cell_len(line[: line.index(" 20")]) for line in dated}
        assert len(column) == 1, table  # the CJK id is padded by screen cells
        # The 94-character id wraps in its own column; every other column stays.
        session_col = cell_len(dated[0][: dated[0].index(" 20")])
        pieces = [line[:session_col].strip() for line in rows if line[:session_col].strip()]
        assert long_id in "".join(pieces)
        saver.clear_all()
