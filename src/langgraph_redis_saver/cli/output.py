"""Rendering for ``lgrs``: JSON and CSV for machines, rich tables and transcripts for people.

Machine output goes to stdout as plain text, so it pipes cleanly. Human
output uses a rich `Console`, which writes no colour codes when stdout is
not a terminal (and honours ``NO_COLOR``).

Stored text is attacker-controlled. Every piece of it printed for people goes
through `safe` (or `cli.sanitize.inert`): control characters, bidi overrides
and invisible characters are shown escaped, and it becomes a `Text`, never
console markup, so a message containing ``[bold]`` or an ESC sequence does
not change the display. ``--json`` escapes the same characters as JSON
``\\uXXXX`` (exact values); CSV cells are neutralised against formulas.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import IO, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from langgraph_redis_saver.browse import Conversation, Finding, SessionSummary
from langgraph_redis_saver.cli.sanitize import csv_cell, inert, json_inert

__all__ = [
    "console",
    "echo_json",
    "human_bytes",
    "human_duration",
    "render_checkpoint",
    "render_conversation",
    "render_diff",
    "render_findings",
    "render_sessions",
    "render_stats",
    "render_timeline",
    "safe",
    "truncate",
    "write_csv",
]

MAX_CHARS = 600
PIPE_WIDTH = 200
MAX_LINES = 12
VALUE_CHARS = 160
ROLE_STYLES = {
    "user": "bold cyan",
    "assistant": "bold green",
    "tool": "bold magenta",
    "system": "bold yellow",
}
SEVERITY_STYLES = {"ok": "green", "info": "blue", "warning": "yellow", "error": "bold red"}


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr); plain text when not a terminal.

    Output that is piped or redirected is not wrapped at 80 columns (rich's
    default without a terminal): lines stay whole for grep and files.
    """
    out = Console(stderr=stderr, highlight=False, emoji=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(stderr=stderr, highlight=False, emoji=False, width=PIPE_WIDTH, soft_wrap=True)
    return out


# -- machine output ------------------------------------------------------------------


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def to_json(data: Any) -> str:
    """Indented, UTF-8, key order preserved: the documented ``--json`` shapes.

    Characters that could act on a terminal are written as ``\\uXXXX``
    escapes (`json_inert`): the document parses to the exact stored values.
    """
    return json_inert(json.dumps(data, indent=2, ensure_ascii=False, default=_default))


def echo_json(data: Any) -> None:
    """Print `data` as JSON on stdout."""
    click.echo(to_json(data))


def write_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    out: IO[str],
    *,
    raw: bool = False,
    terminal: bool = False,
) -> None:
    """CSV with a header row; `out` should be opened with ``newline=""``.

    Args:
        rows: One mapping per row, keyed by `columns`.
        columns: The header.
        out: Where to write.
        raw: Keep cells exactly as stored. By default a cell that starts
            like a spreadsheet formula gets a leading ``'`` (`csv_cell`).
        terminal: `out` is a terminal: show control characters escaped.
    """
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        cells = row if raw else {k: csv_cell(v) for k, v in row.items()}
        if terminal:
            cells = {k: inert(v) if isinstance(v, str) else v for k, v in cells.items()}
        writer.writerow(cells)


def stdout_text() -> IO[str]:
    """Where `write_csv` writes when there is no output file."""
    return sys.stdout


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (then even CSV shows control characters escaped)."""
    return sys.stdout.isatty()


def safe(value: object, style: str = "", *, one_line: bool = True) -> Text:
    """Stored text ready to print: inert on a terminal and never read as markup.

    Args:
        value: Stored text, or any value (shown with `str`).
        style: A rich style for the whole text.
        one_line: Also escape newlines and tabs (ids, names, table cells).
    """
    return Text(inert(value, one_line=one_line), style=style)


# -- small formatters ----------------------------------------------------------------


def human_bytes(n: int | None) -> str:
    """``1536`` -> ``1.5 KiB``; None -> ``-``."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - the loop always returns


def human_duration(seconds: float | None, *, never: str = "never") -> str:
    """``90061`` -> ``1d 1h``; None -> `never`."""
    if seconds is None:
        return never
    s = int(seconds)
    for size, unit, sub, subunit in (
        (86400, "d", 3600, "h"),
        (3600, "h", 60, "m"),
        (60, "m", 1, "s"),
    ):
        if s >= size:
            rest = (s % size) // sub
            return f"{s // size}{unit} {rest}{subunit}" if rest else f"{s // size}{unit}"
    return f"{s}s"


def human_time(stamp: str | datetime | None) -> str:
    """``2025-11-08 14:57:39`` (UTC)."""
    if stamp is None:
        return "-"
    when = (
        stamp
        if isinstance(stamp, datetime)
        else datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    )
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def ago(stamp: datetime | None) -> str:
    if stamp is None:
        return ""
    seconds = (datetime.now(timezone.utc) - stamp).total_seconds()
    return "just now" if seconds < 1 else f"{human_duration(seconds)} ago"


def truncate(text: str, *, full: bool, chars: int = MAX_CHARS, lines: int = MAX_LINES) -> str:
    """`text` cut to `chars` characters and `lines` lines, saying how much was cut."""
    if full:
        return text
    cut = text
    parts = cut.split("\n")
    if len(parts) > lines:
        cut = "\n".join(parts[:lines])
    if len(cut) > chars:
        cut = cut[:chars]
    if cut == text:
        return text
    return f"{cut.rstrip()} ... [+{len(text) - len(cut)} chars, --full to show all]"


def compact(value: Any) -> str:
    """A value on one line: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=_default, separators=(", ", ": "))


# -- tables --------------------------------------------------------------------------


_KEEP_WHOLE = frozenset({"checkpoint", "updated (UTC)", "time (UTC)", "step", "TTL", "size"})


def _table(*columns: tuple[str, str]) -> Table:
    """A borderless table; columns are ``(name, justify)``.

    Ids and times never wrap (people copy them); other columns fold.
    """
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name, justify in columns:
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            overflow="fold",
            no_wrap=name in _KEEP_WHOLE,
        )
    return table


def render_sessions(out: Console, rows: Sequence[SessionSummary], *, limit: int | None) -> None:
    """The ``lgrs sessions`` table."""
    table = _table(
        ("session", "left"),
        ("updated (UTC)", "left"),
        ("msgs", "right"),
        ("ckpts", "right"),
        ("TTL", "right"),
        ("size", "right"),
    )
    for r in rows:
        table.add_row(
            safe(r.session_id),
            human_time(r.updated_at),
            "?" if r.messages is None else str(r.messages),
            str(r.checkpoints),
            human_duration(r.ttl),
            human_bytes(r.bytes),
        )
    if rows:
        out.print(table)
    more = " (the limit; --limit 0 shows all)" if limit and len(rows) == limit else ""
    bad = sum(1 for r in rows if r.error)
    more += f"; {bad} cannot be read (msgs '?', see the warnings)" if bad else ""
    out.print(Text(f"{len(rows)} session{'s' if len(rows) != 1 else ''}{more}", style="dim"))


def render_timeline(out: Console, rows: Sequence[Mapping[str, Any]], *, full: bool) -> None:
    """The ``lgrs history`` table, newest first; long lists of writes are cut unless `full`."""
    table = _table(
        ("checkpoint", "left"),
        ("step", "right"),
        ("source", "left"),
        ("node", "left"),
        ("writes", "left"),
        ("next", "left"),
        ("time (UTC)", "left"),
    )
    for r in rows:
        node = ", ".join(r["nodes"]) or ("(input)" if r["source"] == "input" else "-")
        writes = r["writes"] if full or len(r["writes"]) <= 6 else [*r["writes"][:5], "..."]
        nxt = safe(", ".join(r["next"]) or "-")
        if r["interrupts"]:
            nxt.append(f"  waiting for an answer ({r['interrupts']})", style="yellow")
        table.add_row(
            safe(r["checkpointId"]),
            safe(r["step"]),
            safe(r["source"]),
            safe(node),
            safe(", ".join(writes) or "-"),
            nxt,
            human_time(r["createdAt"]),
        )
    out.print(table)


def render_stats(out: Console, stats: Mapping[str, Any], where: str) -> None:
    """The ``lgrs stats`` summary."""
    server = stats["server"]
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value in (
        ("server", f"{where} (Redis {server['version']})"),
        ("prefix", stats["prefix"]),
        ("sessions", str(stats["sessions"])),
        ("checkpoints", f"{stats['checkpoints']} ({stats['rootCheckpoints']} in root graphs)"),
        ("namespaces", str(stats["namespaces"])),
        ("keys", f"{stats['keys']} of {server['dbsize']} in the database"),
        ("memory", f"{human_bytes(stats['bytes'])} of {human_bytes(server['usedMemory'])} used"),
        (
            "maxmemory",
            f"{human_bytes(server['maxmemory']) if server['maxmemory'] else 'no limit'}"
            f", policy {server['maxmemoryPolicy']}",
        ),
    ):
        table.add_row(label, safe(value))
    out.print(table)


def render_findings(out: Console, findings: Sequence[Finding], where: str) -> None:
    """The ``lgrs doctor`` report."""
    out.print(safe(f"Checked {where}", style="bold"))
    for f in findings:
        line = Text("  ")
        line.append(f"{f.severity.upper():<8}", style=SEVERITY_STYLES.get(f.severity, ""))
        line.append(inert(f"{f.check}: "), style="bold")
        line.append(inert(f.message))
        out.print(line)
        if f.fix:
            out.print(safe(f"            fix: {f.fix}", style="dim", one_line=False))


# -- transcripts ---------------------------------------------------------------------


def _turn_lines(t: Mapping[str, Any], *, full: bool) -> list[Text]:
    head = safe(f"{t['index']:>4}  ")
    head.append(inert(t["role"], one_line=True), style=ROLE_STYLES.get(str(t["role"]), "bold"))
    if t.get("role") == "tool":
        head.append(inert(f" {t.get('toolName') or ''}".rstrip(), one_line=True))
        head.append(inert(f"  [{t.get('toolCallId')}]", one_line=True), style="dim")
        if t.get("status"):
            head.append(inert(f"  {t['status']}", one_line=True), style="bold red")
    elif t.get("name"):
        head.append(inert(f" ({t['name']})", one_line=True))
    if t.get("timestamp"):
        head.append(f"  {human_time(t['timestamp'])}", style="dim")
    if t.get("model"):
        head.append(inert(f"  {t['model']}", one_line=True), style="dim")
    usage = t.get("tokenUsage")
    if usage:
        tokens = f"  tokens {usage.get('input')}/{usage.get('output')}"
        head.append(inert(tokens, one_line=True), style="dim")
    lines = [head]
    if t["content"]:
        lines.append(_indented(truncate(str(t["content"]), full=full)))
    for call in t.get("toolCalls", []):
        args = truncate(compact(call.get("args")), full=full, chars=VALUE_CHARS * 2)
        line = Text("      calls ", style="magenta")
        line.append(inert(call.get("name"), one_line=True), style="bold magenta")
        line.append(inert(f"({args})"))
        line.append(inert(f"  [{call.get('id')}]", one_line=True), style="dim")
        lines.append(line)
    return lines


def _indented(text: str, indent: int = 6) -> Text:
    """Stored text (made inert) with every line indented."""
    pad = " " * indent
    return Text(pad + inert(text).replace("\n", "\n" + pad))


def render_conversation(
    out: Console, conv: Conversation, *, full: bool, tail: int | None, hint: str
) -> None:
    """The ``lgrs show`` transcript: header, turns, pending interrupts, state."""
    title = Text("Session ", style="bold")
    title.append(inert(conv.session_id, one_line=True), style="bold")
    if conv.namespace:
        title.append(inert(f"  namespace {conv.namespace}", one_line=True), style="bold")
    out.print(title)
    expiry = f"expires in {human_duration(conv.ttl)}" if conv.ttl is not None else "never expires"
    out.print(
        Text(
            f"  updated {human_time(conv.updated_at)} UTC ({ago(conv.updated_at)}), {expiry}",
            style="dim",
        )
    )
    count = f"{conv.checkpoints} checkpoint{'s' if conv.checkpoints != 1 else ''}"
    out.print(safe(f"  {count}, latest {conv.checkpoint_id}", style="dim"))
    others = [ns for ns in conv.namespaces if ns != conv.namespace]
    if others:
        shown = ", ".join(ns or "(root)" for ns in others)
        out.print(safe(f"  other namespaces: {shown}  (--ns NAME)", style="dim"))
    out.print()
    turns = conv.turns
    limit = None if full else tail
    if limit is not None and len(turns) > limit:
        hidden = len(turns) - limit
        out.print(Text(f"  ... {hidden} earlier turns not shown (--tail N, --full)", style="dim"))
        turns = turns[-limit:]
    if not turns:
        out.print(Text("  (no messages)", style="dim"))
    for t in turns:
        for line in _turn_lines(t, full=full):
            out.print(line)
    for p in conv.pending:
        out.print()
        out.print(Text("  WAITING FOR AN ANSWER (interrupt)", style="bold yellow"))
        out.print(_indented(truncate(p["question"], full=full)))
        out.print(safe(f"      interrupt id {p['id']}; {hint}", style="dim"))
    if conv.state:
        out.print()
        out.print(Text("State", style="bold"))
        width = max(len(k) for k in conv.state)
        for key, value in conv.state.items():
            line = safe(f"  {key:<{width}}  ", style="bold")
            line.append(inert(truncate(compact(value), full=full, chars=VALUE_CHARS * 3)))
            out.print(line)


def render_checkpoint(out: Console, cp: Mapping[str, Any], *, full: bool) -> None:
    """``lgrs history --checkpoint``: one checkpoint in full."""
    out.print(safe(f"Checkpoint {cp['checkpointId']}", style="bold"))
    for label, value in (
        ("session", cp["sessionId"]),
        ("namespace", cp["namespace"] or "(root)"),
        ("parent", cp["parentId"] or "-"),
        ("time", f"{human_time(cp['createdAt'])} UTC"),
        ("metadata", compact(cp["metadata"])),
        ("next", ", ".join(cp["next"]) or "-"),
    ):
        out.print(safe(f"  {label:<10} {value}"))
    out.print(Text("Channel values", style="bold"))
    for key, value in cp["channelValues"].items():
        line = safe(f"  {key}: ", style="bold")
        line.append(inert(truncate(compact(value), full=full, chars=VALUE_CHARS * 4)))
        out.print(line)
    if cp["pendingWrites"]:
        out.print(Text("Pending writes", style="bold"))
        for w in cp["pendingWrites"]:
            line = safe(f"  {w['channel']}", style="bold")
            line.append(inert(f"  task {w['taskId']}: ", one_line=True), style="dim")
            line.append(inert(truncate(compact(w["value"]), full=full, chars=VALUE_CHARS * 2)))
            out.print(line)


def render_diff(out: Console, diff: Mapping[str, Any], *, full: bool) -> None:
    """``lgrs history --diff``: what changed between two checkpoints."""
    old, new = diff["from"], diff["to"]
    out.print(safe(f"{old['checkpointId']} -> {new['checkpointId']}", style="bold"))
    out.print(
        safe(
            f"  step {old['metadata'].get('step')} -> {new['metadata'].get('step')}, "
            f"{human_time(old['createdAt'])} -> {human_time(new['createdAt'])} UTC",
            style="dim",
        )
    )
    rows = [("+", k, compact(v), "green") for k, v in diff["added"].items()]
    rows += [("-", k, compact(v), "red") for k, v in diff["removed"].items()]
    rows += [
        ("~", k, f"{compact(v['from'])}  ->  {compact(v['to'])}", "yellow")
        for k, v in diff["changed"].items()
    ]
    for mark, key, text, style in rows:
        line = safe(f"  {mark} {key}: ", style=style)
        line.append(inert(truncate(text, full=full, chars=VALUE_CHARS * 2)))
        out.print(line)
    for t in diff["messagesAdded"]:
        line = safe(f"  + message {t['index']} {t['role']}: ", style="green")
        content = compact(t["content"] or t.get("toolCalls"))
        line.append(inert(truncate(content, full=full, chars=VALUE_CHARS)))
        out.print(line)
    for mid in diff["messagesRemoved"]:
        out.print(safe(f"  - message {mid}", style="red"))
    if not rows and not diff["messagesAdded"] and not diff["messagesRemoved"]:
        out.print(Text("  no change in the state", style="dim"))
