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
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

import click
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from langgraph_redis_saver.cli.sanitize import csv_cell, inert, json_inert

if TYPE_CHECKING:
    from langgraph_redis_saver.browse import Conversation, Finding, SessionSummary, SkippedEntry

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

    Output that is piped or redirected is laid out for 200 columns rather
    than rich's default of 80 without a terminal, so lines mostly stay whole
    for grep and files; ``COLUMNS`` sets another width.
    """
    out = Console(stderr=stderr, highlight=False, emoji=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(stderr=stderr, highlight=False, emoji=False, width=PIPE_WIDTH)
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


def next_text(names: Sequence[str] | None) -> str:
    """A checkpoint's next tasks: ``-`` for none, ``unknown`` when the stored data cannot say.

    Repeated names (a ``Send`` fan-out) are folded: ``work x20``.
    """
    if names is None:
        return "unknown"
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} x{c}" if c > 1 else n for n, c in counts.items()) or "-"


def compact(value: Any) -> str:
    """A value on one line: strings as they are, the rest as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=_default, separators=(", ", ": "))


# -- tables --------------------------------------------------------------------------


_KEEP_WHOLE = frozenset({"checkpoint", "updated (UTC)", "time (UTC)", "step", "TTL", "size"})


def _table(*columns: tuple[str, str]) -> Table:
    """A plain borderless table; columns are ``(name, justify)`` (see `fit_table`).

    Ids and times never wrap (people copy them); other columns fold. Views
    of the current format use `fit_table`, which also fits narrow terminals.
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


@dataclass(frozen=True)
class Col:
    """A table column: its header, how it aligns, and how much it matters.

    Columns are dropped from the lowest `priority` up until the table's
    narrowest layout fits the console; `whole` columns (ids, times, numbers)
    never wrap, the others wrap (see `fit_table`).
    """

    name: str
    priority: int
    justify: str = "left"
    whole: bool = False
    fold: int = 0
    """Tokens up to this many cells stay whole (`FOLD_CELLS` when 0); longer ones break."""


_GAP = 2  # spaces between columns
FOLD_CELLS = 16
"""A wrapping column is never made narrower than this (or its header, or its
widest cell) to keep one long token whole: longer tokens break instead."""
_BREAK_AFTER = "_-/:.,"
"""Where a token too long for its column breaks first: after these characters."""


def _cells(text: str) -> int:
    """Screen cells of `text` (CJK and emoji take two), as the terminal draws it."""
    return len(text) if text.isascii() else cell_len(text)


def _min_width(col: Col, cells: Sequence[str], natural: int) -> int:
    """The narrowest the column may get: whole columns keep their widest cell;
    wrapping ones their longest word, but no more than `FOLD_CELLS` (or the header)."""
    if col.whole:
        return natural
    longest = max((_cells(w) for t in cells for w in t.split()), default=0)
    return min(natural, max(_cells(col.name), min(longest, col.fold or FOLD_CELLS)))


def _spread(
    cols: Sequence[Col], keep: list[int], mins: list[int], natural: list[int], width: int
) -> dict[int, int]:
    """Column widths: every kept column its minimum, then the room left goes to
    the columns that would wrap, the most important first, up to their natural width."""
    widths = {i: mins[i] for i in keep}
    room = width - sum(widths.values()) - _GAP * (len(keep) - 1)
    for i in sorted(keep, key=lambda i: (-cols[i].priority, i)):
        grow = min(room, natural[i] - widths[i])
        if grow > 0:
            widths[i] += grow
            room -= grow
    return widths


def _break_at(text: str, width: int) -> int:
    """How many characters of `text` (one token, too long) go on a line of `width` cells:
    up to the last `_BREAK_AFTER` character that fits, else as many as fit."""
    fit, used = 0, 0
    for ch in text:
        used += _cells(ch)
        if used > width:
            break
        fit += 1
    cut = max((i + 1 for i in range(fit) if text[i] in _BREAK_AFTER), default=0)
    return cut if cut * 3 > fit else max(fit, 1)


def _wrap(text: str, width: int) -> list[tuple[int, int]]:
    """`text` wrapped into lines of at most `width` cells, as ``(start, end)`` offsets.

    Lines break between words; a word wider than the line breaks after
    ``_ - / : . ,`` where it can, at a character boundary where it cannot.
    """
    lines: list[tuple[int, int]] = []
    start = end = used = 0
    pos = 0
    for word in text.split(" "):
        w_start, w_end = pos, pos + len(word)
        pos = w_end + 1
        if not word:
            continue
        size = _cells(word)
        if end > start and used + 1 + size <= width:
            end, used = w_end, used + 1 + size
            continue
        if end > start:
            lines.append((start, end))
        while size > width:
            n = _break_at(text[w_start:w_end], width)
            lines.append((w_start, w_start + n))
            w_start += n
            size = _cells(text[w_start:w_end])
        start, end, used = w_start, w_end, size
    if end > start or not lines:
        lines.append((start, end))
    return lines


def fit_table(out: Console, cols: Sequence[Col], rows: Sequence[Sequence[str | Text]]) -> Text:
    """A borderless table of `rows` that fits the console's width.

    When every cell fits on one line, rows are printed whole. Otherwise the
    least important columns go first, until every kept column fits at its
    minimum: `whole` columns (ids, times, numbers) at their widest cell,
    wrapping columns at their longest word but never narrower than
    `FOLD_CELLS`, so one long cell never hides the other columns. Wrapping
    cells wrap between words, and a single token longer than its column
    breaks after ``_ - / : . ,`` or, failing that, between characters.
    Widths count screen cells (CJK and emoji are two wide).
    """
    texts = [[c if isinstance(c, Text) else inert(c, one_line=True) for c in row] for row in rows]
    plain = [[c.plain if isinstance(c, Text) else c for c in row] for row in texts]
    natural = [
        max([_cells(col.name), *(_cells(r[i]) for r in plain)]) for i, col in enumerate(cols)
    ]
    keep = list(range(len(cols)))
    if sum(natural) + _GAP * (len(cols) - 1) <= out.width:
        widths = {i: natural[i] for i in keep}
    else:
        mins = [_min_width(col, [r[i] for r in plain], natural[i]) for i, col in enumerate(cols)]
        while len(keep) > 1 and sum(mins[i] for i in keep) + _GAP * (len(keep) - 1) > out.width:
            keep.remove(min(keep, key=lambda i: (cols[i].priority, -i)))
        if len(keep) == 1:
            mins[keep[0]] = min(mins[keep[0]], out.width)
        widths = _spread(cols, keep, mins, natural, out.width)
    header = [Text(cols[i].name, style="bold") for i in keep]
    return _aligned(
        [cols[i] for i in keep],
        [header, *[[row[i] for i in keep] for row in texts]],
        [widths[i] for i in keep],
    )


def _aligned(
    cols: Sequence[Col], rows: Sequence[Sequence[str | Text]], widths: Sequence[int]
) -> Text:
    """Rows laid out by hand in columns of `widths` cells, cells wrapped to fit.

    The same layout as a rich table, at a fraction of the cost: ``lgrs
    sessions`` prints 10,000 rows in well under a second. Plain cells are
    joined as strings; only styled cells become spans.
    """
    out = Text()
    plain: list[str] = []

    def flush() -> None:
        if plain:
            out.append("".join(plain))
            plain.clear()

    for row in rows:
        pieces: list[list[Text | str]] = []
        for cell, width in zip(row, widths, strict=True):
            text = cell.plain if isinstance(cell, Text) else cell
            if _cells(text) <= width:
                styled = isinstance(cell, Text) and bool(cell.spans or cell.style)
                pieces.append([cell if styled else text])
                continue
            pieces.append([cell[a:b] for a, b in _wrap(text, width)])
        for n in range(max(len(p) for p in pieces)):
            line = [lines[n] if n < len(lines) else "" for lines in pieces]
            # Nothing after the last cell with text: no trailing blanks.
            end = max((i for i, piece in enumerate(line) if piece), default=0)
            for i, (col, piece, width) in enumerate(zip(cols, line, widths, strict=True)):
                if i > end:
                    break
                shown = piece if isinstance(piece, str) else piece.plain
                right = col.justify == "right"
                pad = " " * (width - _cells(shown)) if (i < end or right) else ""
                lead, trail = (pad, "") if right else ("", pad)
                plain.append(lead)
                if isinstance(piece, Text) and (piece.spans or piece.style):
                    flush()
                    out.append_text(piece)
                else:
                    plain.append(shown)
                plain.append(trail)
                if i < end:
                    plain.append(" " * _GAP)
            plain.append("\n")
    flush()
    out.rstrip()
    return out


def render_sessions(
    out: Console, rows: Sequence[SessionSummary | SkippedEntry], *, limit: int | None
) -> None:
    """The ``lgrs sessions`` table; narrow terminals drop size, TTL, then counts.

    A skipped index entry (not UTF-8) is a row with its bytes literal for an
    id and ``?`` for what is unknown; the footer counts it apart from sessions.
    """
    from langgraph_redis_saver.browse import SkippedEntry

    cols = [
        Col("session", 9, fold=40),
        Col("updated (UTC)", 8, whole=True),
        Col("msgs", 7, "right", whole=True),
        Col("ckpts", 6, "right", whole=True),
        Col("TTL", 5, "right", whole=True),
        Col("size", 4, "right", whole=True),
    ]
    cells: list[list[str | Text]] = [
        [safe(r.shown), human_time(r.updated_at), "?", "?", "?", "?"]
        if isinstance(r, SkippedEntry)
        else [
            safe(r.session_id),
            human_time(r.updated_at),
            "encrypted" if r.encrypted else ("?" if r.messages is None else str(r.messages)),
            str(r.checkpoints),
            human_duration(r.ttl),
            human_bytes(r.bytes),
        ]
        for r in rows
    ]
    if rows:
        print_table(out, fit_table(out, cols, cells))
    more = " (the limit; --limit 0 shows all)" if limit and len(rows) == limit else ""
    skipped = sum(1 for r in rows if isinstance(r, SkippedEntry))
    bad = sum(1 for r in rows if r.error) - skipped
    more += f"; {bad} cannot be read (msgs '?', see the warnings)" if bad else ""
    if skipped:
        entries = "entry" if skipped == 1 else "entries"
        more += f"; {skipped} index {entries} skipped (not UTF-8, see the warnings)"
    n = len(rows) - skipped
    out.print(Text(f"{n} session{'s' if n != 1 else ''}{more}", style="dim"))


def render_timeline(out: Console, rows: Sequence[Mapping[str, Any]], *, full: bool) -> None:
    """The ``lgrs history`` table, newest first; long lists of writes are cut unless `full`.

    At 80 columns the writes and the time give way to what matters most:
    the checkpoint id, what ran, and what runs next.
    """
    cols = [
        Col("checkpoint", 10, whole=True),
        Col("step", 7, "right", whole=True),
        Col("source", 6),
        Col("node", 8),
        Col("writes", 3),
        Col("next", 9),
        Col("time (UTC)", 4, whole=True),
    ]
    cells: list[list[str | Text]] = []
    for r in rows:
        node = ", ".join(r["nodes"]) or ("(input)" if r["source"] == "input" else "-")
        writes = r["writes"] if full or len(r["writes"]) <= 6 else [*r["writes"][:5], "..."]
        nxt = safe(next_text(r["next"]), style="dim" if r["next"] is None else "")
        if r["waiting"]:
            nxt.append(f"  waiting for an answer ({r['waiting']})", style="yellow")
        cells.append(
            [
                r["checkpointId"],
                str(r["step"]),
                str(r["source"]),
                safe(node),
                safe(", ".join(writes) or "-"),
                nxt,
                human_time(r["createdAt"]),
            ]
        )
    print_table(out, fit_table(out, cols, cells))


def print_table(out: Console, table: Table | Text) -> None:
    """Print a `fit_table` result; rows aligned by hand need no wrapping pass."""
    out.print(table, soft_wrap=isinstance(table, Text))


def render_stats(out: Console, stats: Mapping[str, Any], where: str) -> None:
    """The ``lgrs stats`` summary."""
    server = stats["server"]
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("server", f"{where} (Redis {server['version']})"),
        ("prefix", stats["prefix"]),
        ("sessions", str(stats["sessions"])),
    ]
    if skipped := len(stats.get("skippedEntries") or ()):
        entries = "entry" if skipped == 1 else "entries"
        rows.append(("skipped", f"{skipped} index {entries} (not UTF-8, see the warnings)"))
    rows += [
        ("checkpoints", f"{stats['checkpoints']} ({stats['rootCheckpoints']} in root graphs)"),
        ("namespaces", str(stats["namespaces"])),
        ("keys", f"{stats['keys']} of {server['dbsize']} in the database"),
        ("memory", f"{human_bytes(stats['bytes'])} of {human_bytes(server['usedMemory'])} used"),
        (
            "maxmemory",
            f"{human_bytes(server['maxmemory']) if server['maxmemory'] else 'no limit'}"
            f", policy {server['maxmemoryPolicy']}",
        ),
    ]
    for label, value in rows:
        table.add_row(label, safe(value))
    out.print(table)


def render_findings(out: Console, findings: Sequence[Finding], where: str) -> None:
    """The ``lgrs doctor`` report."""
    out.print(safe(f"Checked {where}", style="bold"))
    for f in findings:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=1)
        grid.add_column(width=8, no_wrap=True)
        grid.add_column(ratio=1)
        body = safe(f"{f.check}: ", style="bold")
        body.append(inert(f.message))
        if f.fix:
            body.append("\nfix: " + inert(f.fix), style="dim")
        grid.add_row("", Text(f.severity.upper(), style=SEVERITY_STYLES.get(f.severity, "")), body)
        out.print(grid)


# -- transcripts ---------------------------------------------------------------------


def _turn_lines(t: Mapping[str, Any], *, full: bool) -> list[RenderableType]:
    role = Text(inert(t["role"], one_line=True), style=ROLE_STYLES.get(str(t["role"]), "bold"))
    parts: list[tuple[str, Text]] = []  # (separator, part): a part never splits across lines
    if t.get("role") == "tool":
        if t.get("toolName"):
            role.append(inert(f" {t['toolName']}", one_line=True))
        parts.append(("  ", safe(f"[{t.get('toolCallId')}]", style="dim")))
        if t.get("status"):
            parts.append(("  ", safe(t["status"], style="bold red")))
    elif t.get("name"):
        role.append(inert(f" ({t['name']})", one_line=True))
    if t.get("timestamp"):
        parts.append(("  ", Text(human_time(t["timestamp"]), style="dim")))
    if t.get("model"):
        parts.append(("  ", safe(t["model"], style="dim")))
    usage = t.get("tokenUsage")
    if usage:
        parts.append(("  ", safe(f"tokens {usage.get('input')}/{usage.get('output')}", "dim")))
    lines: list[RenderableType] = [_Header(f"{t['index']:>4}  ", [("", role), *parts])]
    if t["content"]:
        lines.append(_indented(truncate(str(t["content"]), full=full)))
    if t.get("artifact") is not None:
        art = truncate(compact(t["artifact"]), full=full, chars=VALUE_CHARS * 2)
        lines.append(_wrapped(f"artifact {art}", indent=6, hang=2, style="dim"))
    for call in t.get("toolCalls", []):
        args = truncate(compact(call.get("args")), full=full, chars=VALUE_CHARS * 2)
        line = Text("calls ", style="magenta")
        line.append(inert(call.get("name"), one_line=True), style="bold magenta")
        line.append(inert(f"({args})"))
        line.append(inert(f"  [{call.get('id')}]", one_line=True), style="dim")
        lines.append(_wrapped(line, indent=6))
    return lines


class _Header:
    """A turn's header: `lead` (the index), then parts that fill lines under the role.

    A part (a time, a model name, a tool-call id) moves whole to the next line
    when it does not fit, indented under the role, never back to column 0; a
    part longer than a whole line folds there.
    """

    def __init__(self, lead: str, parts: Sequence[tuple[str, Text]]) -> None:
        self.lead = lead
        self.parts = parts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        room = max(options.max_width - _cells(self.lead), 1)
        body = Text()
        used = 0
        for sep, part in self.parts:
            size = _cells(part.plain)
            if used and used + _cells(sep) + size > room:
                body.append("\n")
                used = 0
            elif used:
                body.append(sep)
                used += _cells(sep)
            body.append_text(part)
            used += size
        grid = Table.grid()
        grid.add_column(width=_cells(self.lead), no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(Text(self.lead), body)
        yield grid


def _wrapped(text: str | Text, *, indent: int, hang: int = 0, style: str = "") -> Padding:
    """`text` as a paragraph wrapped at word boundaries, every line indented by `indent`.

    Rich alone wraps a long line back to column 0; padding keeps the
    continuation lines under the first. `hang` indents them a little more.
    """
    body = text if isinstance(text, Text) else Text(inert(text), style=style)
    if hang:
        return Padding(
            Padding(body, (0, 0, 0, hang), expand=False), (0, 0, 0, indent), expand=False
        )
    return Padding(body, (0, 0, 0, indent), expand=False)


def _indented(text: str, indent: int = 6) -> Padding:
    return _wrapped(text, indent=indent)


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
    updated = (
        f"updated {human_time(conv.updated_at)} UTC ({ago(conv.updated_at)})"
        if conv.updated_at is not None
        else "update time unknown"
    )
    out.print(Text(f"  {updated}, {expiry}", style="dim"))
    if conv.encrypted:
        out.print(
            safe(f"  {conv.checkpoints} checkpoints, latest {conv.checkpoint_id}", style="dim")
        )
        out.print()
        out.print(
            _wrapped(
                "ENCRYPTED: written through LangGraph's EncryptedSerializer. Give its key "
                "with LANGGRAPH_AES_KEY or --aes-key-file to read it.",
                indent=2,
                style="bold yellow",
            )
        )
        return
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
        out.print(_wrapped(truncate(p["question"], full=full), indent=6))
        value = p["value"]
        if isinstance(value, dict):
            for key, field in value.items():
                if isinstance(field, str) and field == p["question"]:
                    continue
                shown = truncate(compact(field), full=full, chars=VALUE_CHARS * 2)
                out.print(_wrapped(f"{key}: {shown}", indent=6, hang=2))
        out.print(_wrapped(f"interrupt id {p['id']}; {hint}", indent=6, style="dim"))
    if conv.state:
        out.print()
        out.print(Text("State", style="bold"))
        out.print(
            _fields(
                out,
                [
                    (key, truncate(compact(value), full=full, chars=VALUE_CHARS * 3))
                    for key, value in conv.state.items()
                ],
            )
        )


def _fields(
    out: Console, pairs: Iterable[tuple[str | Text, str]], *, bold: bool = True
) -> RenderableType:
    """Label/value lines, indented two spaces; long values wrap under their value column.

    When a label takes more than a third of the console, every value goes on
    its own lines under its label instead, indented: a narrow value column
    would split long words.
    """
    rows = [
        (label if isinstance(label, Text) else safe(label, style="bold" if bold else ""), value)
        for label, value in pairs
    ]
    if rows and max(len(label.plain) for label, _ in rows) > out.width // 3:
        stacked = Table.grid()
        stacked.add_column(overflow="fold")
        for label, value in rows:
            stacked.add_row(label)
            stacked.add_row(Padding(Text(inert(value)), (0, 0, 0, 2), expand=False))
        return Padding(stacked, (0, 0, 0, 2), expand=False)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(label, Text(inert(value)))
    return Padding(grid, (0, 0, 0, 2), expand=False)


def render_checkpoint(out: Console, cp: Mapping[str, Any], *, full: bool) -> None:
    """``lgrs history --checkpoint``: one checkpoint in full."""
    out.print(safe(f"Checkpoint {cp['checkpointId']}", style="bold"))
    out.print(
        _fields(
            out,
            [
                ("session", cp["sessionId"]),
                ("namespace", cp["namespace"] or "(root)"),
                ("parent", cp["parentId"] or "-"),
                ("time", f"{human_time(cp['createdAt'])} UTC"),
                ("metadata", compact(cp["metadata"])),
                ("next", next_text(cp["next"])),
            ],
            bold=False,
        )
    )
    out.print(Text("Channel values", style="bold"))
    out.print(
        _fields(
            out,
            [
                (key, truncate(compact(value), full=full, chars=VALUE_CHARS * 4))
                for key, value in cp["channelValues"].items()
            ],
        )
    )
    if cp["pendingWrites"]:
        out.print(Text("Pending writes", style="bold"))
        out.print(
            _fields(
                out,
                [
                    (
                        Text.assemble(
                            (inert(w["channel"], one_line=True), "bold"),
                            (inert(f"  task {w['taskId']}", one_line=True), "dim"),
                        ),
                        truncate(compact(w["value"]), full=full, chars=VALUE_CHARS * 2),
                    )
                    for w in cp["pendingWrites"]
                ],
            )
        )


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
    lines = [
        (safe(f"{mark} {key}:", style=style), truncate(text, full=full, chars=VALUE_CHARS * 2))
        for mark, key, text, style in rows
    ]
    lines += [
        (
            safe(f"+ message {t['index']} {t['role']}", style="green"),
            truncate(compact(t["content"] or t.get("toolCalls")), full=full, chars=VALUE_CHARS),
        )
        for t in diff["messagesAdded"]
    ]
    if lines:
        out.print(_fields(out, lines))
    for mid in diff["messagesRemoved"]:
        out.print(safe(f"  - message {mid}", style="red"))
    if not rows and not diff["messagesAdded"] and not diff["messagesRemoved"]:
        out.print(Text("  no change in the state", style="dim"))
