"""Read-only queries over stored sessions, shared by the ``lgrs`` CLI and notebooks.

`Browser` reads through a `RedisCheckpointSaver` whose serializer turns every
stored value into plain JSON-able data (`PlainReader`), so it works without
the application's classes and never unpickles anything. It reuses the
saver's one-round-trip reads and key layout; reads never refresh TTLs, so
browsing never keeps a session alive. The saver (and LangGraph with it) is
built on first use: `Browser.sessions` needs neither, so ``lgrs sessions``
starts fast. Results are plain dicts and small
dataclasses with the stable camelCase shapes documented in ``docs/cli.md``.
Nothing here prints.

Example:
    ```python
    from langgraph_redis_saver.browse import Browser

    with Browser.from_url("redis://localhost:6379/0") as b:
        for row in b.sessions(limit=5):
            print(row.session_id, row.messages)
        for turn in b.conversation("cli_20251108_145739").turns:
            print(turn["role"], turn["content"])
    ```
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from redis.exceptions import NoPermissionError

from langgraph_redis_saver._admin import SessionInfo
from langgraph_redis_saver._connect import Connection, connect
from langgraph_redis_saver._core import Context
from langgraph_redis_saver._drive import Flow, iter_flow, run_flow
from langgraph_redis_saver.errors import (
    EncryptedSessionError,
    RedisSaverError,
    SessionNotFoundError,
    SkippedSessionWarning,
)
from langgraph_redis_saver.keys import DEFAULT_PREFIX, KeySchema

from ._doctor import Finding, run_checks
from ._export import export_document
from ._flows import PIPELINE_CHUNK, Size, counts_flow, pipeline_flow, scan_flow, sizes_flow
from ._index import (
    SORTS,
    SessionPage,
    SessionQuery,
    SkippedEntry,
    index_flow,
    session_page_flow,
)
from ._plain import (
    CSV_COLUMNS,
    Conversation,
    PlainReader,
    SessionSummary,
    count_messages,
    export_rows,
    finished_tasks,
    internal,
    iso,
    message_key,
    nodes_run,
    one_line,
    pending_interrupts,
    raised_interrupts,
    redact,
    state_values,
    timestamp,
    turn,
    written,
)
from ._truth import Evidence, next_tasks

if TYPE_CHECKING:
    # `lgrs sessions` imports this package: LangGraph is loaded only by the
    # views that decode checkpoints (through `Browser.saver`).
    from langchain_core.runnables import RunnableConfig
    from langgraph.checkpoint.base import CheckpointTuple

    from langgraph_redis_saver.saver import RedisCheckpointSaver

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_CHANNEL",
    "SORTS",
    "Browser",
    "Conversation",
    "Finding",
    "PlainReader",
    "SessionNotFoundError",
    "SessionPage",
    "SessionSummary",
    "SkippedEntry",
    "export_rows",
    "iso",
    "one_line",
    "redact",
]

T = TypeVar("T")
DEFAULT_CHANNEL = "messages"


class Browser:
    """Read-only view of the sessions stored under one key prefix.

    Args:
        saver: A saver built with ``serde=PlainReader()`` and ``ttl=None``
            (`from_url` does this). Its reads must not refresh TTLs.
        channel: The state channel that holds the conversation.
    """

    def __init__(
        self,
        saver: RedisCheckpointSaver | None = None,
        *,
        channel: str = DEFAULT_CHANNEL,
        aes_key: bytes | None = None,
        connection: Connection | None = None,
        prefix: str = DEFAULT_PREFIX,
        index_keys: Sequence[str] = ("user_id",),
    ) -> None:
        self.channel = channel
        self.aes_key = aes_key
        self._saver = saver
        self._connection = connection
        if saver is not None:
            self._client: Any = saver._sync()
            self._ctx = saver._ctx
        elif connection is not None:
            # The saver (and LangGraph with it) is built on first use: listing
            # sessions reads through this context and client alone.
            self._client = connection.client
            self._ctx = Context(
                keys=KeySchema(prefix, cluster=connection.cluster),
                serde=PlainReader(aes_key=aes_key),
                ttl_ms=0,
                session_index_keys=tuple(index_keys),
            )
        else:
            raise TypeError("Browser needs a saver; or use Browser.from_url(url)")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        cluster: bool | None = None,
        channel: str = DEFAULT_CHANNEL,
        client_kwargs: dict[str, Any] | None = None,
        index_keys: Sequence[str] = ("user_id",),
        aes_key: bytes | None = None,
    ) -> Browser:
        """Connect to `url` and browse the sessions under `prefix`.

        The reader's ``ttl`` is None so that `sessions` never hides a session
        that the application keeps longer than the saver's 24 h default.
        `aes_key` reads sessions written through LangGraph's
        ``EncryptedSerializer.from_pycryptodome_aes``; without it they are
        listed and shown as encrypted (id, times, counts, TTL).

        Raises:
            redis.exceptions.ConnectionError: The server cannot be reached.
        """
        try:
            conn = connect(url, cluster=cluster, client_kwargs=client_kwargs)
        except NoPermissionError:
            if cluster is not None:
                raise
            # Cluster detection runs INFO, which read-only ACL users often may
            # not; such a user is most likely on a standalone server.
            conn = connect(url, cluster=False, client_kwargs=client_kwargs)
        return cls(
            channel=channel, aes_key=aes_key, connection=conn, prefix=prefix, index_keys=index_keys
        )

    @property
    def saver(self) -> RedisCheckpointSaver:
        """The read-only saver (``serde=PlainReader()``, ``ttl=None``) the decoding views use."""
        if self._saver is None:
            from langgraph_redis_saver.saver import RedisCheckpointSaver

            assert self._connection is not None  # __init__ has one or the other
            self._saver = RedisCheckpointSaver(
                self._client,
                cluster=self._connection.cluster,
                key_prefix=self._ctx.keys.prefix,
                serde=self._ctx.serde,
                ttl=None,
                session_index_keys=self._ctx.session_index_keys,
            )
        return self._saver

    def close(self) -> None:
        """Close the connections `from_url` opened."""
        if self._connection is not None:
            self._connection.client.close()
        elif self._saver is not None:
            self._saver.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def keys(self) -> KeySchema:
        """The key layout in use."""
        return self._ctx.keys

    @property
    def client(self) -> Any:
        """The sync redis-py client, for server-level reads (INFO, SCAN, MEMORY)."""
        return self._client

    def pipeline(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Run read commands in pipelines; failed commands come back as exceptions.

        For commands a restricted ACL user may be denied (``MEMORY USAGE``,
        ``INFO``) where a denial must not fail the whole view; other reads go
        through flows (`_run`).
        """
        replies: list[Any] = []
        for start in range(0, len(commands), PIPELINE_CHUNK):
            with self.client.pipeline(transaction=False) as pipe:
                for cmd in commands[start : start + PIPELINE_CHUNK]:
                    pipe.execute_command(*cmd)
                replies += pipe.execute(raise_on_error=False)
        return replies

    # -- sessions -----------------------------------------------------------------------

    def sessions(
        self,
        *,
        user: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[SessionSummary]:
        """Sessions newest first, from the sessions index, with counts and sizes.

        The rows of `session_page` that are sessions: an index entry that is
        not UTF-8 text is left out with a `SkippedSessionWarning` (it counts
        towards `limit`, as a row of ``lgrs sessions`` does).

        Args:
            user: Only sessions whose runs had this ``user_id``.
            since: Only sessions written at or after this time.
            limit: At most this many sessions.
        """
        rows = self.session_page(user=user, since=since, limit=limit).rows
        for row in rows:
            if isinstance(row, SkippedEntry):
                warnings.warn(row.error, SkippedSessionWarning, stacklevel=2)
        return [r for r in rows if isinstance(r, SessionSummary)]

    def session_page(
        self,
        *,
        user: str | None = None,
        since: datetime | None = None,
        search: str = "",
        sort: str = "updated",
        descending: bool = True,
        offset: int = 0,
        limit: int | None = None,
        count: bool = False,
    ) -> SessionPage:
        """The sessions listing of ``lgrs sessions`` and ``lgrs serve``: one page of it.

        Read-only. A session that cannot be read is a row with its `error`;
        an index entry that is not UTF-8 text is a `SkippedEntry` row; a
        session that is gone is left out. Message counts and sizes are read
        for the rows returned only.

        Args:
            user: Only sessions whose runs had this ``user_id``.
            since: Only sessions written at or after this time.
            search: Only session ids containing this text (case-insensitive).
            sort: ``updated`` (last write) or ``id`` (see `SORTS`).
            descending: Newest (or greatest id) first.
            offset: Rows to leave out before the page.
            limit: At most this many rows; None for all.
            count: Also count every matching row (`SessionPage.total`).

        Raises:
            ConfigurationError: An unknown `sort`, or a negative `offset`/`limit`.
        """
        query = SessionQuery(
            user=user,
            since=since,
            search=search,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
            count=count,
        )
        return self._run(session_page_flow(self._ctx, self.channel, query))

    def _run(self, flow: Flow[T]) -> T:
        """Run a read flow with the saver's sync driver (one place for the inspector's I/O)."""
        return run_flow(self._client, flow)

    def listing(
        self,
        *,
        user: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[SessionInfo]:
        """The sessions in the index, newest first, read without writing anything.

        Unlike ``list_sessions`` this never drops entries from the index and
        skips no session: one that cannot be read (a damaged `latest`, a key
        of another type) is returned with `SessionInfo.error` saying why.
        Index entries that are not UTF-8 text name no session and are left
        out (`index_entries` and `session_page` return them). Round trips stay the same for 20
        or 10,000 sessions (pipelines carry the rest).
        """
        entries = self.index_entries(user=user, since=since, limit=limit)
        return [e for e in entries if isinstance(e, SessionInfo)]

    def index_entries(
        self,
        *,
        user: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[SessionInfo | SkippedEntry]:
        """`listing` with the index entries that name no session: each a `SkippedEntry`.

        For commands that go through every session (``lgrs stats``, ``export
        --all``) and report what they skipped, as ``lgrs sessions`` does.
        """
        query = SessionQuery(user=user, since=since, limit=limit)
        return self._run(index_flow(self._ctx, query)).entries

    def session_ids(self, *, user: str | None = None, since: datetime | None = None) -> list[str]:
        """Ids of the sessions in the index, newest first, unreadable ones included."""
        return [i.thread_id for i in self.listing(user=user, since=since)]

    def exists(self, thread_id: str) -> bool:
        """Whether the session has a root checkpoint."""
        (found,) = self._run(pipeline_flow([("EXISTS", self.keys.namespace(thread_id, "").latest)]))
        return bool(found)

    def namespaces(self, thread_id: str) -> list[str]:
        """Namespaces of a session (``""`` is the root), sorted."""
        return self._run(counts_flow(self._ctx, [thread_id]))[thread_id].namespaces

    def session_keys(self, thread_ids: Sequence[str]) -> dict[str, list[str]]:
        """The keys each session owns, found by walking its indexes (no SCAN).

        Three pipelined round trips for any number of sessions: namespaces,
        timelines, then the blob lists of the checkpoint records. Keys that
        expired meanwhile may be listed; `session_sizes` counts only live ones.
        """
        return self._walk(thread_ids).keys

    def _walk(self, thread_ids: Sequence[str]) -> _Walk:
        """Keys and checkpoint counts of sessions, from their indexes (see `session_keys`)."""
        ks = self.keys
        replies = self._run(
            pipeline_flow(
                [("SMEMBERS", ks.namespace(t, "").namespaces) for t in thread_ids], tolerate=True
            )
        )
        spaces = [
            (t, ns)
            for t, members in zip(thread_ids, replies, strict=True)
            for ns in sorted({m.decode(errors="replace") for m in _ok(members, set())} | {""})
        ]
        timelines = self._run(
            pipeline_flow(
                [("ZRANGE", ks.namespace(t, ns).timeline, 0, -1) for t, ns in spaces],
                tolerate=True,
            )
        )
        records = [
            (t, ns, cid.decode(errors="replace"))
            for (t, ns), ids in zip(spaces, timelines, strict=True)
            for cid in _ok(ids, [])
        ]
        blobs = self._run(
            pipeline_flow(
                [("HGET", ks.namespace(t, ns).record(cid), "blobs") for t, ns, cid in records],
                tolerate=True,
            )
        )
        found: dict[str, dict[str, None]] = {t: {} for t in thread_ids}
        for t, ns in spaces:
            nk = ks.namespace(t, ns)
            found[t].update(dict.fromkeys([nk.namespaces, nk.timeline, nk.latest]))
        for (t, ns, cid), raw in zip(records, blobs, strict=True):
            nk = ks.namespace(t, ns)
            found[t].update(dict.fromkeys([nk.record(cid), nk.writes(cid)]))
            for suffix in (_ok(raw, b"") or b"").decode(errors="replace").split("\n"):
                if suffix:
                    found[t][nk.blob_prefix + suffix] = None
        checkpoints = dict.fromkeys(thread_ids, 0)
        for t, _, _ in records:
            checkpoints[t] += 1  # the `Counts.checkpoints` definition: every namespace
        return _Walk({t: list(keys) for t, keys in found.items()}, checkpoints)

    def session_sizes(
        self, thread_ids: Sequence[str], *, keys: Mapping[str, Sequence[str]] | None = None
    ) -> dict[str, tuple[int, int | None]]:
        """``(live keys, bytes)`` per session; bytes is None when ``MEMORY`` is denied.

        Args:
            thread_ids: The sessions.
            keys: Their keys, when already walked (`session_keys`).
        """
        if keys is None:  # summed server-side, one lua/sizes.lua call per session
            sized = self._run(sizes_flow(self._ctx, list(dict.fromkeys(thread_ids))))
            return {
                t: (s.keys, s.bytes) if isinstance(s, Size) else (0, None) for t, s in sized.items()
            }
        owned = keys
        flat = [(t, k) for t in thread_ids for k in owned[t]]
        usage = self.pipeline([("MEMORY", "USAGE", k) for _, k in flat])
        sizes: dict[str, tuple[int, int | None]] = {t: (0, 0) for t in thread_ids}
        for (t, _), reply in zip(flat, usage, strict=True):
            n, b = sizes[t]
            if isinstance(reply, Exception):
                sizes[t] = (n, None)
            elif reply is not None:
                sizes[t] = (n + 1, None if b is None else b + int(reply))
        return sizes

    def resolve_namespace(self, thread_id: str, ns: str) -> str:
        """`ns` itself, or the newest namespace whose node path is `ns`.

        ``interview`` matches ``interview:<task id>`` and ``a|b`` matches
        ``a:<id>|b:<id>``, so nobody has to copy task ids.

        Raises:
            SessionNotFoundError: No namespace matches.
        """
        spaces = self.namespaces(thread_id)
        if ns in spaces:
            return ns
        matches = [s for s in spaces if "|".join(p.split(":")[0] for p in s.split("|")) == ns]
        if not matches:
            shown = ", ".join(repr(s) for s in spaces)
            raise SessionNotFoundError(
                f"session {thread_id!r} has no namespace {ns!r}; it has: {shown}"
            )
        latest = self.pipeline([("GET", self.keys.namespace(thread_id, s).latest) for s in matches])
        return max(zip(latest, matches, strict=True), key=lambda p: (_ok(p[0], b""), p[1]))[1]

    def resolve_checkpoint(self, thread_id: str, prefix: str, *, ns: str = "") -> str:
        """The checkpoint id of a namespace that is or starts with `prefix`.

        Raises:
            SessionNotFoundError: No checkpoint matches, or more than one does.
        """
        timeline = self.keys.namespace(thread_id, ns).timeline
        # Checkpoint ids are ASCII, so "\xff" sorts after every id with the prefix.
        (found,) = self._run(
            pipeline_flow([("ZRANGEBYLEX", timeline, f"[{prefix}", f"[{prefix}\xff")])
        )
        ids = [i.decode() for i in found]
        if prefix in ids or len(ids) == 1:
            return prefix if prefix in ids else ids[0]
        if not ids:
            raise SessionNotFoundError(f"no checkpoint {prefix!r} in {_where(thread_id, ns)}")
        raise SessionNotFoundError(
            f"checkpoint id prefix {prefix!r} is ambiguous in {_where(thread_id, ns)}: "
            f"{', '.join(ids[:3])}, ...; give more characters"
        )

    # -- one session --------------------------------------------------------------------

    def _chain(self, thread_id: str, ns: str, checkpoint_id: str | None) -> list[CheckpointTuple]:
        """A checkpoint (the newest, or `checkpoint_id`) and its stored ancestors, newest first.

        Following parents rather than the timeline keeps forks apart.
        """
        by_id = {t.checkpoint["id"]: t for t in self.saver.list(_config(thread_id, ns))}
        if not by_id:
            raise SessionNotFoundError(_missing(thread_id, ns))
        current = by_id.get(checkpoint_id or max(by_id))
        if current is None:
            raise SessionNotFoundError(
                f"no checkpoint {checkpoint_id!r} in {_where(thread_id, ns)}"
            )
        chain = []
        while current is not None:
            chain.append(current)
            parent = _parent_id(current)
            current = by_id.get(parent) if parent else None
        return chain

    def conversation(
        self, thread_id: str, *, ns: str = "", checkpoint_id: str | None = None
    ) -> Conversation:
        """The conversation of a session, turn by turn, with pending interrupts and state.

        A turn's ``timestamp`` is the time of the oldest stored checkpoint on
        the chain that holds the message, i.e. when it entered the state.

        Args:
            thread_id: The session (LangGraph ``thread_id``).
            ns: Checkpoint namespace (``""``: the root graph).
            checkpoint_id: Show the conversation as of this checkpoint.

        Raises:
            SessionNotFoundError: No such session, namespace or checkpoint.
        """
        try:
            chain = self._chain(thread_id, ns, checkpoint_id)
        except EncryptedSessionError:
            if self.aes_key is not None:
                raise
            return self._encrypted(thread_id, ns)
        first_seen: dict[str, datetime | None] = {}
        for found in chain:  # newest first, so older sightings overwrite
            msgs = found.checkpoint["channel_values"].get(self.channel)
            for i, msg in enumerate(msgs if isinstance(msgs, list) else []):
                first_seen[message_key(i, msg)] = timestamp(found.checkpoint)
        head = chain[0]
        values = head.checkpoint["channel_values"]
        msgs = values.get(self.channel)
        calls: dict[str, str] = {}
        turns = [
            turn(i, m, first_seen.get(message_key(i, m)), calls)
            for i, m in enumerate(msgs if isinstance(msgs, list) else [])
        ]
        (pttl,) = self._run(pipeline_flow([("PTTL", self.keys.namespace(thread_id, ns).latest)]))
        counts = self._run(counts_flow(self._ctx, [thread_id]))[thread_id]
        api, state, plain_values = state_values(head.checkpoint, self.channel)
        return Conversation(
            session_id=thread_id,
            namespace=ns,
            checkpoint_id=head.checkpoint["id"],
            created_at=timestamp(chain[-1].checkpoint),
            updated_at=timestamp(head.checkpoint),
            turns=turns,
            pending=pending_interrupts(head),
            state=state,
            metadata=dict(head.metadata or {}),
            checkpoints=counts.checkpoints,
            namespaces=counts.namespaces,
            ttl=pttl / 1000 if pttl >= 0 else None,
            api=api,
            values=plain_values,
            messages=count_messages(head, self.channel),
        )

    def _encrypted(self, thread_id: str, ns: str) -> Conversation:
        """What an encrypted session shows without its key: id, times, counts, TTL."""
        nk = self.keys.namespace(thread_id, ns)
        latest, pttl, score = self._run(
            pipeline_flow(
                [("GET", nk.latest), ("PTTL", nk.latest), ("ZSCORE", self.keys.sessions, thread_id)]
            )
        )
        counts = self._run(counts_flow(self._ctx, [thread_id]))[thread_id]
        updated = datetime.fromtimestamp(float(score) / 1000, tz=timezone.utc) if score else None
        return Conversation(
            session_id=thread_id,
            namespace=ns,
            checkpoint_id=latest.decode() if latest else "",
            created_at=None,
            updated_at=updated,
            turns=[],
            pending=[],
            state={},
            metadata={},
            checkpoints=counts.checkpoints,
            namespaces=counts.namespaces,
            ttl=pttl / 1000 if pttl is not None and pttl >= 0 else None,
            encrypted=True,
        )

    def timeline(
        self, thread_id: str, *, ns: str = "", limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Checkpoints of one namespace, newest first (the ``lgrs history --json`` rows).

        Raises:
            SessionNotFoundError: The session has no checkpoint in `ns`.
        """
        tuples = list(self.saver.list(_config(thread_id, ns)))
        if not tuples:
            raise SessionNotFoundError(_missing(thread_id, ns))
        by_id = {t.checkpoint["id"]: t for t in tuples}
        children = _children(tuples)
        evidence = Evidence(tuples)
        rows = []
        for found in tuples[:limit] if limit else tuples:
            parent_id = _parent_id(found)
            parent = by_id.get(parent_id) if parent_id else None
            md = found.metadata or {}
            tasks = next_tasks(found, evidence, child=children.get(found.checkpoint["id"]))
            rows.append(
                {
                    "checkpointId": found.checkpoint["id"],
                    "parentId": parent_id,
                    "namespace": ns,
                    "step": md.get("step"),
                    "source": md.get("source"),
                    "nodes": nodes_run(found, parent),
                    "writes": written(found, parent),
                    "next": None if tasks is None else [t["name"] for t in tasks],
                    "tasks": None if tasks is None else _with_interrupts(found, tasks),
                    "pendingWrites": list(dict.fromkeys(w[1] for w in found.pending_writes or [])),
                    "interrupts": raised_interrupts(found),
                    "waiting": len(pending_interrupts(found)),
                    "createdAt": iso(timestamp(found.checkpoint)),
                }
            )
        return rows

    def checkpoint(self, thread_id: str, checkpoint_id: str, *, ns: str = "") -> dict[str, Any]:
        """One checkpoint in full: metadata, every channel value, pending writes.

        Raises:
            SessionNotFoundError: No such checkpoint.
        """
        tuples = list(self.saver.list(_config(thread_id, ns)))
        found = next((t for t in tuples if t.checkpoint["id"] == checkpoint_id), None)
        if found is None:
            raise SessionNotFoundError(
                f"no checkpoint {checkpoint_id!r} in {_where(thread_id, ns)}"
            )
        cp = found.checkpoint
        tasks = next_tasks(found, Evidence(tuples), child=_children(tuples).get(checkpoint_id))
        return {
            "sessionId": thread_id,
            "namespace": ns,
            "checkpointId": cp["id"],
            "parentId": _parent_id(found),
            "createdAt": iso(timestamp(cp)),
            "metadata": dict(found.metadata or {}),
            "next": None if tasks is None else [t["name"] for t in tasks],
            "tasks": None if tasks is None else _with_interrupts(found, tasks),
            "channelValues": cp["channel_values"],
            "channelVersions": dict(cp.get("channel_versions") or {}),
            "pendingWrites": [
                {"taskId": task, "channel": channel, "value": value}
                for task, channel, value in found.pending_writes or []
            ],
            "interrupts": raised_interrupts(found),
            "pendingInterrupts": pending_interrupts(found),
        }

    def diff(self, thread_id: str, old_id: str, new_id: str, *, ns: str = "") -> dict[str, Any]:
        """What changed from checkpoint `old_id` to `new_id`: channels and messages."""
        old = self.checkpoint(thread_id, old_id, ns=ns)
        new = self.checkpoint(thread_id, new_id, ns=ns)
        # LangGraph's own channels (branch:to:*, __start__, __pregel_tasks...) are
        # bookkeeping, not state: a diff shows what the application sees.
        a = {k: v for k, v in old["channelValues"].items() if not internal(k)}
        b = {k: v for k, v in new["channelValues"].items() if not internal(k)}
        msgs_a: list[Any] = a[self.channel] if isinstance(a.get(self.channel), list) else []
        msgs_b: list[Any] = b[self.channel] if isinstance(b.get(self.channel), list) else []
        old_msgs = {message_key(i, m): m for i, m in enumerate(msgs_a)}
        new_keys = {message_key(i, m) for i, m in enumerate(msgs_b)}
        calls: dict[str, str] = {}
        return {
            "sessionId": thread_id,
            "namespace": ns,
            "from": {k: old[k] for k in ("checkpointId", "createdAt", "metadata")},
            "to": {k: new[k] for k in ("checkpointId", "createdAt", "metadata")},
            "added": {k: b[k] for k in sorted(b.keys() - a.keys()) if k != self.channel},
            "removed": {k: a[k] for k in sorted(a.keys() - b.keys()) if k != self.channel},
            "changed": {
                k: {"from": a[k], "to": b[k]}
                for k in sorted(a.keys() & b.keys())
                if a[k] != b[k] and k != self.channel
            },
            "messagesAdded": [
                turn(i, m, None, calls)
                for i, m in enumerate(msgs_b)
                if old_msgs.get(message_key(i, m)) != m
            ],
            "messagesRemoved": [k.removeprefix("id:") for k in old_msgs if k not in new_keys],
        }

    def export(
        self,
        thread_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        metadata: bool = True,
        redacted: bool = False,
    ) -> dict[str, Any]:
        """A session as an export document: ``sessionId, createdAt, updatedAt, turns, metadata``.

        Args:
            thread_id: The session.
            since: Keep turns from this time on.
            until: Keep turns up to this time.
            metadata: Include the ``metadata`` object.
            redacted: Mask emails, phone and card numbers in contents,
                tool-call arguments and metadata.

        Raises:
            SessionNotFoundError: No such session.
        """
        conv = self.conversation(thread_id)
        if conv.encrypted:  # an empty document would read as an empty conversation
            raise EncryptedSessionError(
                f"session {thread_id!r} is encrypted; give its key with LANGGRAPH_AES_KEY "
                "or --aes-key-file to export it"
            )
        return export_document(conv, since=since, until=until, metadata=metadata, redacted=redacted)

    def iter_exports(
        self,
        thread_ids: Iterable[str],
        *,
        unreadable: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
        """`export` each session in turn: ``(thread_id, document, error)``.

        The document is None for a session that vanished meanwhile (error
        None) or that cannot be read (damaged, encrypted, written by another
        serializer: error says why); the other sessions are still exported.
        `unreadable` maps sessions the listing already found unreadable to
        why (`SessionInfo.error`); they are reported, not read.
        """
        for thread_id in thread_ids:
            if unreadable and thread_id in unreadable:
                yield thread_id, None, unreadable[thread_id]
                continue
            try:
                yield thread_id, self.export(thread_id, **options), None
            except SessionNotFoundError:
                yield thread_id, None, None
            except (RedisSaverError, RecursionError) as exc:
                yield thread_id, None, one_line(exc)

    # -- the whole prefix ---------------------------------------------------------------

    def scan_keys(self, count: int = 1000) -> Iterator[str]:
        """Every key under the prefix (SCAN, for administrative commands only)."""
        for key in iter_flow(self._client, scan_flow(self.keys.prefix_pattern(), count)):
            yield key.decode() if isinstance(key, bytes) else str(key)

    def stats(self) -> dict[str, Any]:
        """Sessions, checkpoints, keys and memory under the prefix, plus server facts.

        ``errors`` lists the sessions that cannot be read; ``skippedEntries``
        the sessions-index entries that are not UTF-8 (no session to count).
        """
        entries = self.index_entries()
        infos = [e for e in entries if isinstance(e, SessionInfo)]
        counts = self._run(counts_flow(self._ctx, [i.thread_id for i in infos]))
        keys = list(self.scan_keys())
        usage = self.pipeline([("MEMORY", "USAGE", k) for k in keys])
        denied = any(isinstance(u, Exception) for u in usage)
        # INFO and DBSIZE are server-wide: an ACL user limited to the saver's
        # commands may not run them, and the stats under the prefix still hold.
        info, dbsize = self.pipeline([("INFO",), ("DBSIZE",)])
        info = info if isinstance(info, dict) else {}
        return {
            "prefix": self.keys.prefix,
            "sessions": len(infos),
            "checkpoints": sum(c.checkpoints for c in counts.values()),
            "rootCheckpoints": sum(i.checkpoint_count for i in infos),
            "namespaces": sum(len(c.namespaces) for c in counts.values()),
            "keys": len(keys),
            "bytes": None if denied else sum(int(u or 0) for u in usage),
            "server": {
                "version": info.get("redis_version"),
                "usedMemory": info.get("used_memory"),
                "maxmemory": info.get("maxmemory"),
                "maxmemoryPolicy": info.get("maxmemory_policy"),
                "dbsize": _ok(dbsize, None),
            },
            "errors": [{"sessionId": i.thread_id, "error": i.error} for i in infos if i.error],
            "skippedEntries": [e.to_report() for e in entries if isinstance(e, SkippedEntry)],
        }

    def doctor(self, *, sample: int = 1000) -> list[Finding]:
        """Check the server for what can lose sessions or break the saver.

        Checks the eviction policy, persistence, server version, cluster
        mode, the ACL permissions the saver needs, and (on up to `sample`
        keys) keys under the prefix that never expire. Each `Finding` has a
        severity (``ok``, ``info``, ``warning``, ``error``) and a fix.
        """
        return run_checks(self.client, self.keys, sample=sample)


@dataclass(frozen=True)
class _Walk:
    keys: dict[str, list[str]]
    checkpoints: dict[str, int]


def _config(thread_id: str, ns: str, checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _children(tuples: Iterable[CheckpointTuple]) -> dict[str, CheckpointTuple]:
    """Each checkpoint's child on the stored chain (the newest one, when forked)."""
    children: dict[str, CheckpointTuple] = {}
    for t in tuples:  # newest first: the first child seen is the newest
        parent = _parent_id(t)
        if parent and parent not in children:
            children[parent] = t
    return children


def _with_interrupts(found: CheckpointTuple, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks with the interrupts each raised and whether it finished (from its writes)."""
    raised = raised_interrupts(found)
    finished = finished_tasks(found)
    return [
        {
            **t,
            "interrupts": [i for i in raised if t["id"] and i["taskId"] == t["id"]],
            "finished": bool(t["id"]) and t["id"] in finished,
        }
        for t in tasks
    ]


def _ok(reply: Any, default: Any) -> Any:
    """A pipeline reply, or `default` when the command failed or found nothing."""
    return default if reply is None or isinstance(reply, Exception) else reply


def _parent_id(found: CheckpointTuple) -> str | None:
    parent = found.parent_config
    return parent["configurable"].get("checkpoint_id") if parent else None


def _where(thread_id: str, ns: str) -> str:
    return f"session {thread_id!r}" + (f" (namespace {ns!r})" if ns else "")


def _missing(thread_id: str, ns: str) -> str:
    if ns:
        return f"session {thread_id!r} has no checkpoints in namespace {ns!r}"
    return f"session {thread_id!r} not found (it does not exist or has expired)"
