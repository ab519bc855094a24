"""Pure transforms of decoded checkpoints into the inspector's plain shapes.

No I/O: the input is what `SafeMsgpackSerializer.decode_plain` returns
(messages as dicts with ``type``, ``content``, ``tool_calls``...), the output
is the camelCase dicts documented in ``docs/cli.md``. `browse` uses these;
they are separate so they can be tested without a server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from langgraph_redis_saver.errors import EncryptedSessionError

if TYPE_CHECKING:  # `lgrs sessions` imports this module and must not load LangGraph
    from langgraph.checkpoint.base import CheckpointTuple

    from langgraph_redis_saver.serde import SafeMsgpackSerializer

__all__ = [
    "CSV_COLUMNS",
    "Conversation",
    "Encrypted",
    "count_messages",
    "is_encrypted",
    "state_values",
    "SessionSummary",
    "export_metadata",
    "PlainReader",
    "export_rows",
    "iso",
    "message_key",
    "one_line",
    "finished_tasks",
    "raised_interrupts",
    "nodes_run",
    "parse_iso",
    "pending_interrupts",
    "question_of",
    "redact",
    "timestamp",
    "turn",
    "written",
]

INTERRUPT = "__interrupt__"
RESUME = "__resume__"
NULL_TASK_ID = "00000000-0000-0000-0000-000000000000"
_CONTROL = frozenset({INTERRUPT, RESUME, "__error__", "__error_source_node__"})

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool",
          "function": "tool"}  # fmt: skip
_QUESTION_KEYS = ("question", "prompt", "message", "text", "query")

CSV_COLUMNS = [
    "sessionId", "index", "role", "content", "timestamp", "name", "toolCalls",
    "toolCallId", "model", "inputTokens", "outputTokens", "totalTokens", "artifact",
]  # fmt: skip
"""Columns of ``lgrs export --format csv``: one row per turn."""


class Encrypted:
    """A stored value the reader could not decrypt (no key, or another key)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<encrypted: {self.reason}>"


class PlainReader:
    """Serializer for reading only: every stored value becomes plain data.

    `loads_typed` is `SafeMsgpackSerializer.decode_plain`: LangChain messages
    become dicts with ``type``, ``content``, ``tool_calls``...; application
    types become ``{"__type__": tag, ...fields}``. Nothing is imported or
    unpickled, so any stored checkpoint can be read without the app's code.

    Values written through LangGraph's `EncryptedSerializer` (type
    ``<type>+aes``) are decrypted with `aes_key` (16, 24 or 32 bytes, as
    ``EncryptedSerializer.from_pycryptodome_aes`` takes it); without a key
    reading them raises `EncryptedSessionError`.

    Cheap to create: the serializer (and with it langchain-core) is imported
    on the first value read, so listing sessions that need no decoding never
    loads it.
    """

    def __init__(self, *, aes_key: bytes | None = None) -> None:
        self._plain: SafeMsgpackSerializer | None = None
        self._cipher: Any = None
        if aes_key is not None:
            from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

            self._cipher = EncryptedSerializer.from_pycryptodome_aes(
                self._serde, key=aes_key
            ).cipher

    @property
    def _serde(self) -> SafeMsgpackSerializer:
        if self._plain is None:
            from langgraph_redis_saver.serde import SafeMsgpackSerializer

            self._plain = SafeMsgpackSerializer()
        return self._plain

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Encode like the default serializer (the inspector never writes)."""
        return self._serde.dumps_typed(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Decode any stored value into JSON-able data."""
        typ, raw = data
        if "+" in typ:
            inner, cipher = typ.split("+", 1)
            if self._cipher is None:
                raise EncryptedSessionError(
                    f"the session is encrypted ({cipher}); give its key with "
                    "LANGGRAPH_AES_KEY or --aes-key-file"
                )
            try:
                raw = self._cipher.decrypt(cipher, raw)
            except (ValueError, KeyError, AssertionError) as exc:
                raise EncryptedSessionError(
                    f"the AES key does not decrypt this session ({exc}); check "
                    "LANGGRAPH_AES_KEY or --aes-key-file"
                ) from None
            typ = inner
        return self._serde.decode_plain((typ, raw))


def one_line(exc: BaseException) -> str:
    """An exception as one line of text (its first line, or its type)."""
    if isinstance(exc, RecursionError):
        return "a stored value is nested too deeply to read"
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def is_encrypted(result: Any) -> bool:
    """Whether a read failed because the session is encrypted and no key opens it."""
    return isinstance(result, EncryptedSessionError)


def count_messages(found: CheckpointTuple, channel: str) -> int:
    """Messages in a checkpoint's conversation channel: ``lgrs``'s one message count."""
    msgs = found.checkpoint["channel_values"].get(channel)
    return len(msgs) if isinstance(msgs, list) else 0


_FUNCTIONAL = ("__end__", "__previous__")


def state_values(
    checkpoint: Mapping[str, Any], channel: str
) -> tuple[str | None, dict[str, Any], Any]:
    """``(api, state, values)`` of a checkpoint.

    `api` is ``"graph"`` (a `StateGraph`), ``"functional"`` (``@entrypoint``)
    or None when the checkpoint does not say (an input checkpoint holds only
    ``__start__``). `values` is what LangGraph's ``get_state().values`` holds
    (all state channels; an entrypoint's return value), None when unknown;
    `state` is what ``lgrs show`` lists besides the conversation.
    """
    values = checkpoint.get("channel_values") or {}
    versions = checkpoint.get("channel_versions") or {}
    fields = {k: v for k, v in sorted(values.items()) if not internal(k)}
    if any(k in versions for k in _FUNCTIONAL):
        state = {"return": values["__end__"]} if "__end__" in values else {}
        return "functional", state, values.get("__end__")
    if fields or any(k.startswith("branch:to:") for k in versions):
        return "graph", {k: v for k, v in fields.items() if k != channel}, fields
    if "__start__" in values:
        return None, {"input": values["__start__"]}, None
    return None, {}, None


# -- time ------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    """UTC ISO 8601 with milliseconds and a ``Z``, or None.

    >>> iso(datetime(2025, 11, 8, 14, 57, 39, tzinfo=timezone.utc))
    '2025-11-08T14:57:39.000Z'
    """
    if value is None:
        return None
    text = value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 (``Z`` accepted on Python 3.10); naive times are UTC."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def timestamp(checkpoint: Mapping[str, Any]) -> datetime | None:
    """A checkpoint's ``ts`` as an aware datetime (None if absent or malformed)."""
    try:
        return parse_iso(str(checkpoint.get("ts")))
    except ValueError:
        return None


# -- result types ------------------------------------------------------------


@dataclass(frozen=True)
class SessionSummary:
    """One row of `Browser.sessions`.

    A session whose newest checkpoint cannot be read (damaged, encrypted,
    written by another serializer) is still listed from the sessions index,
    with `messages` None and the reason in `error`.
    """

    session_id: str
    updated_at: datetime
    messages: int | None
    """Messages in the root graph's newest state; None when it cannot be read."""
    checkpoints: int
    """Stored checkpoints in all the session's namespaces (root and subgraphs)."""
    ttl: float | None
    """Seconds before the session expires if unused; None: never."""
    keys: int
    bytes: int | None
    """Memory of the session's keys (``MEMORY USAGE``); None if not allowed."""
    latest_checkpoint_id: str | None
    encrypted: bool = False
    """Written through an `EncryptedSerializer` whose key the reader lacks."""
    error: str | None = None
    """Why the newest checkpoint could not be read; None when it could."""

    def to_dict(self) -> dict[str, Any]:
        """The ``lgrs sessions --json`` shape."""
        return {
            "sessionId": self.session_id,
            "updatedAt": iso(self.updated_at),
            "messages": self.messages,
            "checkpoints": self.checkpoints,
            "ttl": self.ttl,
            "keys": self.keys,
            "bytes": self.bytes,
            "latestCheckpointId": self.latest_checkpoint_id,
            "encrypted": self.encrypted,
            "error": self.error,
        }


@dataclass(frozen=True)
class Conversation:
    """A session's conversation at one checkpoint (see `Browser.conversation`)."""

    session_id: str
    namespace: str
    checkpoint_id: str
    created_at: datetime | None
    """Time of the oldest checkpoint still stored on the chain."""
    updated_at: datetime | None
    turns: list[dict[str, Any]]
    pending: list[dict[str, Any]]
    """Interrupts waiting for an answer: ``{id, taskId, value, question}``."""
    state: dict[str, Any]
    """The other state fields (channels other than the messages and internals)."""
    metadata: dict[str, Any]
    """The checkpoint's metadata (``source``, ``step``, ``user_id``...)."""
    checkpoints: int
    """Stored checkpoints in all the session's namespaces (as `SessionSummary`)."""
    namespaces: list[str]
    ttl: float | None
    api: str | None = None
    """``graph``, ``functional`` or None (unknown): see `state_values`."""
    values: Any = None
    """What LangGraph's ``get_state().values`` holds, as plain data; None when unknown."""
    messages: int = 0
    """Messages in this checkpoint's conversation channel."""
    encrypted: bool = False
    """Encrypted and no key: only the id, times, counts and TTL are shown."""

    def to_dict(self) -> dict[str, Any]:
        """The ``lgrs show --json`` shape."""
        return {
            "sessionId": self.session_id,
            "namespace": self.namespace,
            "checkpointId": self.checkpoint_id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "ttl": self.ttl,
            "checkpoints": self.checkpoints,
            "messages": self.messages,
            "namespaces": self.namespaces,
            "api": self.api,
            "turns": self.turns,
            "pendingInterrupts": self.pending,
            "state": self.state,
            "values": self.values,
            "encrypted": self.encrypted,
            "metadata": self.metadata,
        }


def export_metadata(conv: Conversation) -> dict[str, Any]:
    usage = [t["tokenUsage"] for t in conv.turns if t.get("tokenUsage")]
    tools = {c["name"] for t in conv.turns for c in t.get("toolCalls", []) if c.get("name")}
    return {
        "totalTurns": len(conv.turns),
        "messages": conv.messages,
        "checkpoints": conv.checkpoints,
        "namespaces": conv.namespaces,
        "toolsUsed": sorted(tools),
        "models": sorted({t["model"] for t in conv.turns if t.get("model")}),
        "tokenUsage": (
            {k: sum(u.get(k) or 0 for u in usage) for k in ("input", "output", "total")}
            if usage
            else None
        ),
        "state": conv.state,
        "pendingInterrupts": conv.pending,
        # LangGraph's bookkeeping is not session metadata; run-config values such as
        # user_id, copied into checkpoint metadata by LangGraph, are.
        "checkpointMetadata": {
            k: v for k, v in conv.metadata.items() if k not in ("parents", "step", "source")
        },
    }


# -- messages --------------------------------------------------------------------------


def internal(channel: str) -> bool:
    """LangGraph's own channels (``__start__``, ``branch:to:x``, ``join:...``)."""
    return channel.startswith("__") or ":" in channel


def text_of(content: Any) -> str:
    """Message content as text; content blocks other than text become ``[type]``."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
            elif isinstance(block, dict):
                parts.append(f"[{block.get('type', 'block')}]")
        return "\n".join(parts)
    return json.dumps(content, ensure_ascii=False, default=str)


def question_of(value: Any) -> str:
    """The human-readable question of an ``interrupt()`` value.

    >>> question_of({"question": "Why?", "turn": 2})
    'Why?'
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in _QUESTION_KEYS:
            if isinstance(value.get(key), str):
                return str(value[key])
    return json.dumps(value, ensure_ascii=False, default=str)


def message_key(index: int, msg: Any) -> str:
    """Identity of a message across checkpoints: its id, else its position."""
    if isinstance(msg, dict) and msg.get("id"):
        return f"id:{msg['id']}"
    return f"#{index}"


def turn(index: int, msg: Any, when: datetime | None, calls: dict[str, str]) -> dict[str, Any]:
    """One decoded message as a turn dict.

    Keys always present: ``index, role, content, timestamp``; the others only
    when the message carries them: ``id, name, contentBlocks, toolCalls,
    toolCallId, toolName, status, artifact, model, tokenUsage``. `calls` maps tool-call
    ids to tool names; it is filled from AI turns and used for tool results.
    """
    if not isinstance(msg, dict) or "type" not in msg:
        return {"index": index, "role": "unknown", "content": text_of(msg), "timestamp": iso(when)}
    kind = str(msg["type"]).removesuffix("MessageChunk").removesuffix("Chunk").lower()
    role = str(msg.get("role")) if kind == "chat" else _ROLES.get(kind, kind)
    out: dict[str, Any] = {
        "index": index,
        "role": role,
        "content": text_of(msg.get("content")),
        "timestamp": iso(when),
    }
    if msg.get("id"):
        out["id"] = msg["id"]
    if msg.get("name"):
        out["name"] = msg["name"]
    if isinstance(msg.get("content"), list):
        out["contentBlocks"] = msg["content"]
    tool_calls = [
        {"id": c.get("id"), "name": c.get("name"), "args": c.get("args")}
        for c in msg.get("tool_calls") or []
        if isinstance(c, dict)
    ]
    for call in tool_calls:
        if call["id"]:
            calls[str(call["id"])] = str(call["name"])
    if tool_calls:
        out["toolCalls"] = tool_calls
    if msg.get("artifact") is not None:  # a tool's content_and_artifact output
        out["artifact"] = msg["artifact"]
    if msg.get("tool_call_id"):
        out["toolCallId"] = msg["tool_call_id"]
        out["toolName"] = msg.get("name") or calls.get(str(msg["tool_call_id"]))
        if msg.get("status") not in (None, "success"):
            out["status"] = msg["status"]
    meta = msg.get("response_metadata")
    model = (meta.get("model_name") or meta.get("model")) if isinstance(meta, dict) else None
    if model:
        out["model"] = model
    usage = msg.get("usage_metadata")
    if isinstance(usage, dict):
        out["tokenUsage"] = {
            "input": usage.get("input_tokens"),
            "output": usage.get("output_tokens"),
            "total": usage.get("total_tokens"),
        }
    return out


# -- checkpoints -----------------------------------------------------------------------


def _interrupt_items(found: CheckpointTuple) -> list[dict[str, Any]]:
    items = []
    for task, channel, value in found.pending_writes or []:
        if channel != INTERRUPT:
            continue
        for item in value if isinstance(value, list) else [value]:
            wrapped = isinstance(item, dict) and "value" in item
            payload = item["value"] if wrapped else item
            items.append(
                {
                    "id": item.get("id") if wrapped else None,
                    "taskId": task,
                    "value": payload,
                    "question": question_of(payload),
                }
            )
    return items


def finished_tasks(found: CheckpointTuple) -> set[str]:
    """Ids of the tasks of the open step that finished: those with an output write.

    LangGraph's rule (``langgraph.pregel._task_status``): a task that ran to
    the end records at least one write that is not a control write
    (``__interrupt__``, ``__resume__``, ``__error__``); a task paused at an
    interrupt records control writes only.
    """
    return {
        str(task)
        for task, channel, _ in found.pending_writes or []
        if channel not in _CONTROL and task != NULL_TASK_ID
    }


def raised_interrupts(found: CheckpointTuple) -> list[dict[str, Any]]:
    """Every ``interrupt()`` raised in the step that runs from a checkpoint, answered or not.

    This is what ``get_state_history`` reports for a past checkpoint. Each
    item is ``{id, taskId, value, question}``: `value` is the whole payload
    (options, schema, anything the application passed).
    """
    return _interrupt_items(found)


def pending_interrupts(found: CheckpointTuple) -> list[dict[str, Any]]:
    """``interrupt()`` calls still waiting for an answer (what ``get_state`` reports).

    An interrupt waits while its task has not finished; a ``__resume__``
    write alone does not finish a task (it may answer an earlier question
    while the task waits on a later one).
    """
    done = finished_tasks(found)
    return [i for i in _interrupt_items(found) if str(i["taskId"]) not in done]


def nodes_run(found: CheckpointTuple, parent: CheckpointTuple | None) -> list[str]:
    """Nodes that ran to produce a checkpoint: those whose ``versions_seen`` moved."""
    seen = found.checkpoint.get("versions_seen") or {}
    before = (parent.checkpoint.get("versions_seen") or {}) if parent else {}
    skip = ("__input__", "__interrupt__")  # bookkeeping entries, not nodes
    return sorted(n for n, v in seen.items() if n not in skip and v != before.get(n))


def written(found: CheckpointTuple, parent: CheckpointTuple | None) -> list[str]:
    """State channels a checkpoint updated (LangGraph internals left out)."""
    updated = found.checkpoint.get("updated_channels")
    if updated is None:  # checkpoints older than format v4
        old = (parent.checkpoint.get("channel_versions") or {}) if parent else {}
        new = found.checkpoint.get("channel_versions") or {}
        updated = [ch for ch, v in new.items() if old.get(ch) != v]
    return sorted(ch for ch in updated if not internal(ch))


# -- export ----------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]\d{2,5}){1,5}(?![\w:])"
)
_PHONE_E164 = re.compile(r"(?<![\w+])\+\d{8,15}(?!\w)")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    # The Luhn check keeps order numbers, timestamps and ids that merely
    # have 13-19 digits; every real card number passes it.
    return "[CARD]" if _luhn(re.sub(r"\D", "", match.group(0))) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    # Shorter digit groups are dates, times, amounts and versions far more
    # often than phone numbers (E.164 numbers have at most 15 digits).
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if _IPV4.fullmatch(text) or not 9 <= len(digits) <= 15:
        return text
    return "[PHONE]"


def redact(value: Any) -> Any:
    """Mask emails, card-like numbers and phone numbers in every string of `value`.

    >>> redact({"a": "bob@example.com, +33 6 12 34 56 78, 4111 1111 1111 1111"})
    {'a': '[EMAIL], [PHONE], [CARD]'}
    """
    if isinstance(value, str):
        value = _EMAIL.sub("[EMAIL]", value)
        value = _CARD.sub(_card, value)
        value = _PHONE_E164.sub("[PHONE]", value)
        return _PHONE.sub(_phone, value)
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    return value


def export_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """An export document as CSV rows, one per turn, keyed by `CSV_COLUMNS`."""
    rows = []
    for t in doc["turns"]:
        usage = t.get("tokenUsage") or {}
        calls = t.get("toolCalls")
        rows.append(
            {
                "sessionId": doc["sessionId"],
                "index": t["index"],
                "role": t["role"],
                "content": t["content"],
                "timestamp": t.get("timestamp") or "",
                "name": t.get("toolName") or t.get("name") or "",
                "toolCalls": json.dumps(calls, ensure_ascii=False) if calls else "",
                "toolCallId": t.get("toolCallId") or "",
                "model": t.get("model") or "",
                "inputTokens": _blank(usage.get("input")),
                "outputTokens": _blank(usage.get("output")),
                "totalTokens": _blank(usage.get("total")),
                "artifact": (
                    ""
                    if t.get("artifact") is None
                    else json.dumps(t["artifact"], ensure_ascii=False, default=str)
                ),
            }
        )
    return rows


def _blank(value: Any) -> Any:
    return "" if value is None else value
