"""Pydantic state used by the LangGraph scenario tests (importable, like an app module)."""

from __future__ import annotations

import operator
from typing import Annotated

from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel


class AgentState(BaseModel):
    input: str
    agent_outcome: AgentAction | AgentFinish | None = None
    intermediate_steps: Annotated[list[tuple[AgentAction, str]], operator.add] = []


class FanInput(BaseModel):
    query: str


class FanState(BaseModel):
    query: str
    answer: str | None = None
    docs: Annotated[list[str], operator.add] = []


class SubState(BaseModel):
    messages: Annotated[list[AnyMessage], add_messages] = []
    approved: bool | None = None


class Verdict(BaseModel):
    topic: str
    approved: bool
    notes: list[str] = []
