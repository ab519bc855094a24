"""The interview graph: questions asked with `interrupt()`, answers analysed.

The graph has three nodes::

    START -> ask -> listen --(more questions)--> ask
                          \\--(done)-----------> wrap_up -> END

``ask`` adds the interviewer's next question to ``messages``. ``listen``
pauses the graph with ``interrupt()``; the run ends there, the checkpoint is
in Redis, and any process can continue it later with
``Command(resume=answer)``. ``wrap_up`` adds a closing message and sets
``is_complete``.

The question is written by ``ask`` and the pause happens in ``listen`` so
that resuming re-runs only ``listen``: a node that calls ``interrupt()`` runs
again from its start on resume, and a chat model called there would be asked
for a new question each time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Protocol, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt

__all__ = [
    "QUESTIONS",
    "Analysis",
    "ChatModelInterviewer",
    "InterviewState",
    "Interviewer",
    "ScriptedInterviewer",
    "analyze",
    "build_graph",
    "describe",
    "new_state",
]

QUESTIONS: tuple[str, ...] = (
    "What do you work on, and what do you enjoy most about it?",
    "Tell me about a recent problem you solved. How did you approach it?",
    "How do you prefer to learn something new?",
    "What would you like to get better at this year?",
)
"""The scripted interviewer's questions, asked in this order."""

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


class Analysis(TypedDict):
    """Simple statistics over the candidate's answers."""

    answers: int
    """Number of answers given."""
    words: int
    """Words over all answers."""
    average_answer_words: float
    """Mean answer length, in words."""
    vocabulary_richness: float
    """Distinct words / words (case-insensitive), 0.0 without words."""


class InterviewState(TypedDict, total=False):
    """State of one interview; one LangGraph thread (session) per interview."""

    messages: Annotated[list[AnyMessage], add_messages]
    turn_count: int
    """Answers received so far."""
    is_complete: bool
    analysis: Analysis


def analyze(answers: Sequence[str]) -> Analysis:
    """Statistics over `answers`.

    >>> analyze(["I build compilers", "I build tests"])
    {'answers': 2, 'words': 6, 'average_answer_words': 3.0, 'vocabulary_richness': 0.667}
    """
    words = [w.lower() for answer in answers for w in _WORD.findall(answer)]
    return {
        "answers": len(answers),
        "words": len(words),
        "average_answer_words": round(len(words) / len(answers), 1) if answers else 0.0,
        "vocabulary_richness": round(len(set(words)) / len(words), 3) if words else 0.0,
    }


def describe(analysis: Analysis) -> str:
    """One line of text for an `Analysis`."""
    return (
        f"{analysis['answers']} answers, {analysis['words']} words, "
        f"{analysis['average_answer_words']:g} words per answer, "
        f"vocabulary richness {analysis['vocabulary_richness']:.2f}"
    )


class Interviewer(Protocol):
    """Writes the interviewer's side of the conversation."""

    total_questions: int

    def question(self, turn: int, messages: Sequence[AnyMessage]) -> str:
        """The question for `turn` (0-based), given the conversation so far."""
        ...

    def closing(self, messages: Sequence[AnyMessage], analysis: Analysis) -> str:
        """The last message, once every question has an answer."""
        ...


class ScriptedInterviewer:
    """A deterministic interviewer: fixed questions, a closing built from the analysis.

    Args:
        questions: The questions, asked in order.
    """

    def __init__(self, questions: Sequence[str] = QUESTIONS) -> None:
        if not questions:
            raise ValueError("an interview needs at least one question")
        self.questions = tuple(questions)
        self.total_questions = len(self.questions)

    def question(self, turn: int, messages: Sequence[AnyMessage]) -> str:
        return self.questions[turn]

    def closing(self, messages: Sequence[AnyMessage], analysis: Analysis) -> str:
        return f"Thank you, that is all my questions. You gave {describe(analysis)}."


class ChatModelInterviewer:
    """An interviewer backed by a LangChain chat model.

    Args:
        model: Any LangChain chat model (e.g. from ``init_chat_model``).
        total_questions: How many questions to ask.
    """

    SYSTEM = (
        "You are a friendly interviewer getting to know a professional. Ask exactly one "
        "short, open question per turn, building on the previous answers. Do not answer "
        "for the candidate."
    )

    def __init__(self, model: Any, total_questions: int = len(QUESTIONS)) -> None:
        self.model = model
        self.total_questions = total_questions

    def _ask(self, messages: Sequence[AnyMessage], instruction: str) -> str:
        reply = self.model.invoke(
            [SystemMessage(self.SYSTEM), *messages, HumanMessage(instruction)]
        )
        return str(reply.text if hasattr(reply, "text") else reply.content).strip()

    def question(self, turn: int, messages: Sequence[AnyMessage]) -> str:
        return self._ask(
            messages, f"(Ask question {turn + 1} of {self.total_questions}. Reply with it only.)"
        )

    def closing(self, messages: Sequence[AnyMessage], analysis: Analysis) -> str:
        return self._ask(messages, "(The interview is over. Thank the candidate in two sentences.)")


def _answers(messages: Sequence[AnyMessage]) -> list[str]:
    return [str(m.text) for m in messages if isinstance(m, HumanMessage)]


def build_graph(interviewer: Interviewer | None = None) -> StateGraph[Any]:
    """The interview graph, not yet compiled.

    Compile it with a checkpointer, so that an interview can stop at a
    question and continue later in another process::

        graph = build_graph().compile(checkpointer=saver)

    Args:
        interviewer: Who asks the questions; default `ScriptedInterviewer`.
            Resume a session with the same kind of interviewer that started it.
    """
    who: Interviewer = interviewer or ScriptedInterviewer()

    def ask(state: InterviewState) -> dict[str, Any]:
        turn = state.get("turn_count", 0)
        text = who.question(turn, state.get("messages", []))
        return {"messages": [AIMessage(text, name="interviewer")]}

    def listen(state: InterviewState) -> dict[str, Any]:
        turn = state.get("turn_count", 0)
        question = str(state["messages"][-1].text)
        # The run stops here until a caller sends Command(resume=answer).
        answer = interrupt({"question": question, "number": turn + 1, "of": who.total_questions})
        if not isinstance(answer, str):
            raise TypeError(f"resume the interview with a string answer, got {answer!r}")
        answer = answer.strip()
        answers = [*_answers(state["messages"]), answer]
        return {
            "messages": [HumanMessage(answer)],
            "turn_count": turn + 1,
            "analysis": analyze(answers),
        }

    def route(state: InterviewState) -> str:
        return "wrap_up" if state["turn_count"] >= who.total_questions else "ask"

    def wrap_up(state: InterviewState) -> dict[str, Any]:
        text = who.closing(state["messages"], state["analysis"])
        return {"messages": [AIMessage(text, name="interviewer")], "is_complete": True}

    builder: StateGraph[Any] = StateGraph(InterviewState)
    builder.add_node("ask", ask)
    builder.add_node("listen", listen)
    builder.add_node("wrap_up", wrap_up)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", "listen")
    builder.add_conditional_edges("listen", route, ["ask", "wrap_up"])
    builder.add_edge("wrap_up", END)
    return builder


def new_state() -> InterviewState:
    """The input that starts an interview."""
    return {"messages": [], "turn_count": 0, "is_complete": False}
