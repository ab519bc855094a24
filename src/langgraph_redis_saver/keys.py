"""Key layout: every Redis key the saver reads or writes is built here.

No I/O. The layout is documented in ``docs/key-schema.md``; keep both in step.

With the default prefix ``langgraph:checkpoint`` a session (LangGraph
``thread_id``) ``S`` owns these keys (``<x>`` is a component escaped by
`escape`; ``NS`` is a subgraph checkpoint namespace, ``""`` for the root)::

    langgraph:checkpoint:<S>:<checkpoint_id>         hash    root-namespace checkpoint
    langgraph:checkpoint:<S>:latest                  string  id of the newest root checkpoint
    langgraph:checkpoint:<S>:ns:<NS>:<checkpoint_id> hash    checkpoint of a subgraph namespace
    langgraph:checkpoint:<S>:ns:<NS>:latest          string  newest checkpoint of that namespace
    langgraph:checkpoint:<S>:timeline:<NS>           zset    checkpoint ids of one namespace
    langgraph:checkpoint:<S>:writes:<NS>:<id>        hash    pending writes of one checkpoint
    langgraph:checkpoint:<S>:blob:<NS>:<chan>:<ver>  string one channel value at one version
    langgraph:checkpoint:<S>:index:namespaces        set     namespaces the session has used

and the prefix holds the cross-session indexes (the empty session component
is reserved for them)::

    langgraph:checkpoint::sessions                   zset    session ids by last write (ms)
    langgraph:checkpoint::sessions:<key>:<value>     zset    same, per indexed metadata value
    langgraph:checkpoint::runs:<run_id>              set     checkpoints written by one run

Why this is unambiguous: `escape` percent-encodes ``:`` (and ``%``), so an
escaped component never contains ``:``. The first ``:`` after the prefix
therefore ends the session component, and a root checkpoint is the only key
with exactly one component after it. Every other kind starts with a fixed
word and has a fixed number of components. The reserved id ``latest`` and the
empty string are escaped to forms `escape` cannot otherwise produce, and the
empty session component is reserved for cross-session keys (an empty thread id
is escaped to ``%``). Nothing is ever recovered by splitting a key: ids are
stored in values.

In cluster mode the session component is wrapped in a hash tag,
``langgraph:checkpoint:{<S>}:...``, so all keys of a session share one slot
and per-session scripts stay single-slot. ``{`` and ``}`` are escaped, so the
tag is exactly the session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .errors import ConfigurationError

__all__ = [
    "DEFAULT_PREFIX",
    "RECORD_FIELDS",
    "Field",
    "KeySchema",
    "NamespaceKeys",
    "escape",
    "glob_escape",
]

DEFAULT_PREFIX = "langgraph:checkpoint"

LATEST = "latest"


class Field:
    """Fields of a checkpoint hash: the one table of their names.

    ``docs/key-schema.md`` ("Checkpoint hash fields") describes each; the Lua
    scripts spell them as literals, and ``tests/unit/test_lua_contract.py``
    checks every field a script reads or writes, and the page, against this
    table.
    """

    VERSION = "v"
    """Record layout version (`_records.RECORD_FORMAT`)."""
    CHECKPOINT = "checkpoint"
    """The checkpoint without channel values, as a stored value."""
    METADATA = "metadata"
    """Checkpoint metadata as JSON."""
    PARENT = "parent"
    """Id of the parent checkpoint (absent for the first)."""
    BLOBS = "blobs"
    """Newline-separated blob key suffixes (`_records.blob_list`)."""
    THREAD_ID = "thread_id"
    CHECKPOINT_NS = "checkpoint_ns"
    CHECKPOINT_ID = "checkpoint_id"
    HIDDEN = "hidden"
    """``1`` when pruned from listings but needed by a DeltaChannel history."""
    RUN = "run"
    """The run id as the run index key spells it (an opaque string)."""
    INDEXED = "indexed"
    """JSON ``[[key, value], ...]``: the sessions indexes this put added the
    session to, values as strings exactly as the index keys spell them."""
    LENGTHS = "lengths"
    """JSON ``{channel: length}`` of each list-valued channel (the message
    count ``lgrs sessions`` shows without decoding); only written by the
    package's own unencrypted serializer (`_records.COUNTED_TYPE`)."""


RECORD_FIELDS = tuple(v for k, v in vars(Field).items() if k.isupper())
"""Every field name of a checkpoint hash."""

# Characters escaped in key components: the separator, the escape character,
# hash-tag braces, glob metacharacters, whitespace and control characters.
# The Lua twin of this class lives in lua/lib.lua (`escape`); a test runs both
# over every byte and compares, so they cannot drift apart.
_ESCAPE_RE = re.compile(r"[%:{}*?\[\]\\\x00-\x20\x7f]")
_GLOB_RE = re.compile(r"([*?\[\]\\])")


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{b:02X}" for b in match.group(0).encode())


@lru_cache(maxsize=4096)
def escape(component: str) -> str:
    """Escape one key component so that it never contains ``:`` or globs.

    Plain ids such as ``cli_20251108_145739`` or a UUID are unchanged.

    >>> escape("cli_20251108_145739")
    'cli_20251108_145739'
    >>> escape("a:b {x}")
    'a%3Ab%20%7Bx%7D'
    >>> escape("latest"), escape("")
    ('%6Catest', '%')
    """
    if component == "":
        return "%"
    if component == LATEST:
        return "%6Catest"
    return _ESCAPE_RE.sub(_percent, component)


def glob_escape(text: str) -> str:
    """Escape glob metacharacters for a ``SCAN MATCH`` pattern."""
    return _GLOB_RE.sub(r"\\\1", text)


@dataclass(frozen=True)
class NamespaceKeys:
    """Key builders for one (session, namespace) pair.

    The string prefixes are also passed to the Lua scripts, which append an
    escaped checkpoint id or a stored blob suffix to them.
    """

    record_prefix: str
    """``record_prefix + escape(id)`` is a checkpoint hash; ``+ "latest"`` the pointer."""
    writes_prefix: str
    """``writes_prefix + escape(id)`` is the pending-writes hash of a checkpoint."""
    blob_prefix: str
    """``blob_prefix + blob_suffix(channel, version)`` is a channel value."""
    timeline: str
    """Sorted set of the namespace's checkpoint ids (lexicographic = chronological)."""
    namespaces: str
    """Set of the session's namespaces."""

    @property
    def latest(self) -> str:
        return self.record_prefix + LATEST

    def record(self, checkpoint_id: str) -> str:
        return self.record_prefix + escape(checkpoint_id)

    def writes(self, checkpoint_id: str) -> str:
        return self.writes_prefix + escape(checkpoint_id)

    def blob(self, channel: str, version: object) -> str:
        return self.blob_prefix + blob_suffix(channel, version)


def blob_suffix(channel: str, version: object) -> str:
    """The part of a blob key after the namespace, as stored in checkpoint records."""
    return f"{escape(channel)}:{escape(str(version))}"


class KeySchema:
    """Builds every key under one prefix, for standalone or cluster servers.

    Args:
        prefix: Key prefix without the trailing colon.
        cluster: Wrap the session component in a ``{...}`` hash tag.

    >>> KeySchema().namespace("cli_1", "").record("1ef")
    'langgraph:checkpoint:cli_1:1ef'
    >>> KeySchema(cluster=True).namespace("a:b", "sub:1").timeline
    'langgraph:checkpoint:{a%3Ab}:timeline:sub%3A1'
    """

    def __init__(self, prefix: str = DEFAULT_PREFIX, *, cluster: bool = False) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ConfigurationError(
                f"key_prefix must be a non-empty string, got {prefix!r}; "
                f"the default is {DEFAULT_PREFIX!r}"
            )
        if prefix.endswith(":") or "{" in prefix or "}" in prefix:
            raise ConfigurationError(
                f"key_prefix {prefix!r} must not end with ':' or contain '{{' or '}}'; "
                f"use e.g. 'myapp:checkpoint' (the saver adds the separator)"
            )
        self.prefix = prefix
        self.cluster = cluster
        self.root = prefix + ":"
        self.sessions = self.root + ":sessions"
        """Cross-session index: a sorted set of raw session ids scored by last write (ms)."""

    def sessions_by(self, key: str, value: object) -> str:
        """Sessions index restricted to one metadata value, e.g. one ``user_id``."""
        return f"{self.sessions}:{escape(key)}:{escape(str(value))}"

    def run(self, run_id: str) -> str:
        """Set of the checkpoints one run wrote (msgpack ``[thread, ns, id]`` members)."""
        return f"{self.root}:runs:{escape(str(run_id))}"

    def session_base(self, thread_id: str) -> str:
        """Common prefix of every key of one session (ends with ``:``)."""
        tag = escape(thread_id)
        if self.cluster:
            tag = "{" + tag + "}"
        return f"{self.root}{tag}:"

    def session_pattern(self, thread_id: str) -> str:
        """``SCAN MATCH`` pattern for every key of one session (administrative use)."""
        return glob_escape(self.session_base(thread_id)) + "*"

    def prefix_pattern(self) -> str:
        """``SCAN MATCH`` pattern for every key under the prefix (administrative use)."""
        return glob_escape(self.root) + "*"

    def root_latest(self, thread_id: str) -> str:
        """``namespace(thread_id, "").latest``, built alone: for checks over many sessions.

        >>> KeySchema().root_latest("a:b") == KeySchema().namespace("a:b", "").latest
        True
        """
        return self.session_base(thread_id) + LATEST

    def namespace(self, thread_id: str, checkpoint_ns: str) -> NamespaceKeys:
        """Keys of one namespace of one session."""
        return _namespace_keys(self.session_base(thread_id), checkpoint_ns)


@lru_cache(maxsize=4096)
def _namespace_keys(base: str, checkpoint_ns: str) -> NamespaceKeys:
    ns = "" if checkpoint_ns == "" else escape(checkpoint_ns)
    record_prefix = base if checkpoint_ns == "" else f"{base}ns:{ns}:"
    return NamespaceKeys(
        record_prefix=record_prefix,
        writes_prefix=f"{base}writes:{ns}:",
        blob_prefix=f"{base}blob:{ns}:",
        timeline=f"{base}timeline:{ns}",
        namespaces=f"{base}index:namespaces",
    )
