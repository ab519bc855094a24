"""A graph whose state holds user types, run under LangGraph's strict msgpack mode.

``python strict_app.py URL PREFIX encrypted|plain`` prints the final state as JSON.
LangGraph derives an allowlist from the state schema when compiling and hands
it to ``checkpointer.with_allowlist``: no manual registration here.
"""

from __future__ import annotations

import enum
import json
import sys
from dataclasses import dataclass

from langgraph.checkpoint.serde.base import CipherProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.graph import START, StateGraph
from pydantic import BaseModel
from typing_extensions import TypedDict

from langgraph_redis_saver import RedisCheckpointSaver, SafeMsgpackSerializer


class Level(enum.Enum):
    JUNIOR = "junior"
    SENIOR = "senior"


class Profile(BaseModel):
    name: str
    years: int


@dataclass
class Score:
    value: float
    level: Level


class State(TypedDict, total=False):
    profile: Profile
    score: Score


class XorCipher(CipherProtocol):
    """A toy cipher: enough to prove the serializer works wrapped."""

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return "xor", bytes(b ^ 0x5A for b in plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        return bytes(b ^ 0x5A for b in ciphertext)


def main() -> None:
    url, prefix, kind = sys.argv[1:4]
    serde = SafeMsgpackSerializer()
    if kind == "encrypted":
        serde = EncryptedSerializer(XorCipher(), serde)
    builder = StateGraph(State)
    builder.add_node("grade", lambda s: {"score": Score(s["profile"].years * 1.5, Level.SENIOR)})
    builder.add_edge(START, "grade")
    with RedisCheckpointSaver.from_url(url, key_prefix=prefix, serde=serde) as saver:
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": f"strict-{kind}"}}
        graph.invoke({"profile": Profile(name="Ada", years=8)}, config)
        state = graph.get_state(config).values
    print(json.dumps({
        "profile": type(state["profile"]).__name__,
        "years": state["profile"].years,
        "score": state["score"].value,
        "level": state["score"].level.value,
        "compiled_with_clone": graph.checkpointer is not saver,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
