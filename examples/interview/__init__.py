"""An interview whose state lives in Redis: stopped mid-way, resumed by session id.

Run ``python -m examples.interview --help`` from the repository root; see
``README.md`` beside this file.
"""

from .graph import (
    QUESTIONS,
    Analysis,
    ChatModelInterviewer,
    Interviewer,
    InterviewState,
    ScriptedInterviewer,
    analyze,
    build_graph,
    describe,
    new_state,
)

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
