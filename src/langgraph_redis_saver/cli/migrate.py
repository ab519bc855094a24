"""``lgrs migrate --from-pickle``, and the legacy views behind ``sessions --legacy``,
``show`` and ``doctor``.

Legacy sessions are the pickled ones of the store this saver replaces. They
are read through the restricted unpickler of `langgraph_redis_saver.legacy`,
imported here lazily so that other ``lgrs`` commands never load it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from langgraph_redis_saver import RedisCheckpointSaver
from langgraph_redis_saver._urls import mask_url
from langgraph_redis_saver.browse import Browser
from langgraph_redis_saver.browse._doctor import Finding
from langgraph_redis_saver.cli import output
from langgraph_redis_saver.cli._common import Settings, browse, errors, output_options

__all__ = ["doctor_finding", "migrate", "show_legacy", "sessions_legacy"]

#: The commands that convert legacy sessions, one per line so that no wrap splits one.
MIGRATE_COMMANDS = ("lgrs migrate --from-pickle --dry-run", "lgrs migrate --from-pickle")


#: How an empty session id is shown.
EMPTY_ID = "(empty id)"


def _commands(lead: str, indent: str = "  ") -> Text:
    """`lead`, then each migrate command on a line of its own (never wrapped mid-command)."""
    return Text("\n".join([lead, *(indent + c for c in MIGRATE_COMMANDS)]), style="dim")


# -- read-only views -------------------------------------------------------------------


def show_legacy(settings: Settings, b: Browser, session: str, *, full: bool, tail: int) -> None:
    """``lgrs show`` for a legacy session.

    Raises:
        SessionNotFoundError: there is no legacy session of that id either.
        LegacyPickleError: its pickle is corrupted, too big or not a session.
    """
    from .legacy import legacy_conversation

    state, conv = legacy_conversation(b, session)
    if settings.as_json:
        output.echo_json({**conv.to_dict(), "legacy": True})
        return
    out = output.console()
    out.print(Text("LEGACY pickled session, read-only (restricted unpickler)", style="bold yellow"))
    if state.refused:
        names = ", ".join(state.refused)
        out.print(output.safe(f"  not rebuilt (shown as placeholders): {names}", style="yellow"))
    hint = "convert it to resume it (see below)"
    output.render_conversation(out, conv, full=full, tail=tail, hint=hint)
    out.print()
    out.print(_commands("  convert it to resume it, dry run first:", "    "))


def sessions_legacy(settings: Settings, b: Browser, limit: int) -> None:
    """``lgrs sessions --legacy``: the pickled sessions under the prefix (SCAN)."""
    from langgraph_redis_saver.legacy._store import find_legacy_sessions
    from langgraph_redis_saver.legacy._view import legacy_rows

    found = find_legacy_sessions(b.client, b.keys)
    rows = legacy_rows(b.client, found[: limit or None])
    if settings.as_json:
        output.echo_json([r.to_dict() for r in rows])
        return
    out = output.console()
    cols = [
        output.Col("session", 9),
        output.Col("updated (UTC)", 6, whole=True),
        output.Col("msgs", 7, "right", whole=True),
        output.Col("turns", 3, "right", whole=True),
        output.Col("TTL", 4, "right", whole=True),
        output.Col("size", 2, "right", whole=True),
        output.Col("status", 8),
    ]
    cells: list[list[str | Text]] = [
        [
            output.safe(r.session_id or EMPTY_ID),
            output.human_time(r.updated_at),
            "-" if r.messages is None else str(r.messages),
            "-" if r.turn_count is None else output.safe(str(r.turn_count)),
            output.human_duration(r.ttl),
            output.human_bytes(r.bytes),
            r.status.split(":", 1)[0],  # one word; the details follow the table
        ]
        for r in rows
    ]
    if rows:
        output.print_table(out, output.fit_table(out, cols, cells))
    details = [r for r in rows if ":" in r.status and not r.status.startswith("ambiguous")]
    for r in details:
        out.print(output.safe(f"  {r.session_id or EMPTY_ID}  {r.status}"))
    shown = f"{len(rows)} of {len(found)}" if len(rows) < len(found) else str(len(found))
    out.print(Text(f"{shown} legacy pickled session{'s' if len(found) != 1 else ''}", style="dim"))
    _print_ambiguous(out, [f for f in found if f.ambiguous])
    if found:
        out.print(_commands("convert them, dry run first:"))


def _print_ambiguous(out: Any, found: list[Any]) -> None:
    """The raw keys of legacy sessions whose id holds ':' or is empty, and how to migrate one."""
    if not found:
        return
    out.print(
        Text(
            f"{len(found)} ambiguous legacy key{'s' if len(found) != 1 else ''} (the session id "
            "holds ':' or is empty; migrate each by naming it with --session):",
            style="yellow",
        )
    )
    for f in found:
        out.print(output.safe(f"  {f.key}"))


def doctor_finding(b: Browser) -> Finding:
    """``lgrs doctor``: legacy pickled sessions under the prefix, and how to migrate them."""
    from langgraph_redis_saver.legacy._store import find_legacy_sessions

    found = find_legacy_sessions(b.client, b.keys)
    if not found:
        return Finding("legacy sessions", "ok", "no legacy pickled sessions under the prefix")
    unclear = [f for f in found if f.ambiguous]
    message = (
        f"{len(found)} legacy pickled session(s) under the prefix (e.g. "
        f"{found[0].session_id!r}); the saver refuses to read or overwrite them"
    )
    if unclear:
        message += (
            f"; {len(unclear)} of them under ambiguous keys (the session id holds ':' or is "
            f"empty, e.g. {unclear[0].key!r}): migrate each with --session ID"
        )
    return Finding(
        "legacy sessions",
        "warning",
        message,
        "see them with: lgrs sessions --legacy\nconvert them, dry run first:\n"
        + "\n".join(MIGRATE_COMMANDS),
    )


# -- the command ---------------------------------------------------------------------------


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("migrating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=output.console(stderr=True), transient=True) as bar:
        yield bar


@click.command()
@click.option(
    "--from-pickle",
    "from_pickle",
    is_flag=True,
    help="Convert legacy pickled sessions (<prefix>:<session>:latest holds a pickle).",
)
@click.option("--dry-run", is_flag=True, help="Say per session what would change; change nothing.")
@click.option("--to-url", metavar="URL", help="Write to this Redis instead (default: in place).")
@click.option("--to-prefix", metavar="PREFIX", help="Write under this key prefix instead.")
@click.option(
    "--keep-legacy", is_flag=True, help="Keep the pickles (in place: moved to <...>:legacy:pickle)."
)
@click.option(
    "--session", "only", multiple=True, metavar="SESSION", help="Only this session (repeatable)."
)
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
def migrate(
    settings: Settings,
    from_pickle: bool,
    dry_run: bool,
    to_url: str | None,
    to_prefix: str | None,
    keep_legacy: bool,
    only: tuple[str, ...],
    yes: bool,
) -> None:
    """Convert legacy pickled sessions into this saver's checkpoints.

    Each session becomes one checkpoint holding the pickled state (messages
    as LangChain messages, turn_count, is_complete, ...), with the pickle's
    remaining TTL. Pickles are read with a restricted unpickler: nothing they
    name is imported or run; a session holding anything it cannot rebuild
    (outside its class table, a type the serializer would change), or that
    cannot be read, is reported and left as it is, and the exit code is 1
    while any session stays pickled. A session id holding ':' (or empty)
    is migrated only when named with --session.

    In place (the default), each pickle is first moved aside atomically, then
    the checkpoint is written: an interrupted run loses nothing, and running
    the command again continues where it stopped. Sessions already migrated
    are skipped. To choose where a graph resumes, or to rebuild application
    classes, use the Python API (docs/migration.md).
    """
    from langgraph_redis_saver.legacy._migrate import SessionOutcome, migrate_pickle_sessions

    if not from_pickle:
        raise click.UsageError("say what to migrate from: lgrs migrate --from-pickle")
    started = time.monotonic()
    with errors(settings), browse(settings) as b:
        for name in only:
            name.encode()  # a non-UTF-8 argument: one clear error, before anything runs
        target_prefix = to_prefix or b.keys.prefix
        in_place = to_url is None and target_prefix == b.keys.prefix
        if to_url is not None:
            saver = RedisCheckpointSaver.from_url(to_url, key_prefix=target_prefix)
        else:
            saver = RedisCheckpointSaver(b.client, key_prefix=target_prefix, cluster=b.keys.cluster)
        where = "in place" if in_place else f"to prefix {target_prefix!r}"
        if to_url is not None:
            where += f" on {mask_url(to_url)}"
        show_bar = not settings.as_json and sys.stderr.isatty()
        with saver, _progress(show_bar) as bar:
            task: list[Any] = []

            def on_start(total: int) -> None:
                if not dry_run and not yes and total:
                    click.confirm(
                        f"Migrate {total} legacy session{'s' if total != 1 else ''} under "
                        f"{b.keys.prefix!r} on {settings.where()} {where}?",
                        abort=True,
                        err=True,
                    )
                if bar is not None:
                    task.append(bar.add_task("migrate", total=total))

            def on_session(outcome: SessionOutcome) -> None:
                if bar is not None and task:
                    bar.advance(task[0])

            report = migrate_pickle_sessions(
                saver,
                source=None if in_place else b.client,
                source_prefix=b.keys.prefix,
                sessions=only or None,
                dry_run=dry_run,
                keep_legacy=keep_legacy,
                on_start=on_start,
                on_session=on_session,
            )
    seconds = time.monotonic() - started
    if settings.as_json:
        output.echo_json({**report.as_dict(), "seconds": round(seconds, 3)})
    else:
        _render_report(report, seconds, where)
    if report.counts["failed"] or (report.left_pickled and not report.dry_run):
        click.get_current_context().exit(1)  # not done: pickled sessions remain


def _render_report(report: Any, seconds: float, where: str) -> None:
    from langgraph_redis_saver.legacy._migrate import TRUSTED_CLASSES_HINT, names_classes

    out = output.console()
    counts = report.counts
    total = len(report.outcomes)
    if report.dry_run:
        for o in report.outcomes:
            line = output.safe(f"{o.session_id}  ")
            line.append(o.status, style="bold")
            detail = f"{o.messages} messages, fields {', '.join(o.fields)}; " if o.fields else ""
            line.append_text(output.safe(f": {detail}{o.reason}"))
            out.print(line)
        head = f"dry run: would migrate {counts['would migrate']}"
    else:
        head = f"migrated {counts['migrated']}"
    out.print(
        Text(
            f"{head}, skipped {counts['skipped']}, failed {counts['failed']} "
            f"of {total} legacy session{'s' if total != 1 else ''} ({where}) in {seconds:.1f} s",
            style="bold",
        )
    )
    if not report.dry_run:  # a dry run has listed every session above
        for status in ("skipped", "failed"):
            rows = report.with_status(status)
            if rows:
                out.print(Text(f"{status}:", style="bold"))
                for o in rows:
                    out.print(output.safe(f"  {o.session_id}  {o.reason}"))
    left = len(report.left_pickled)
    if left:
        verb = "would stay" if report.dry_run else "stay"
        out.print(
            Text(
                f"{left} legacy session{'s' if left != 1 else ''} {verb} pickled, "
                "not migrated (see above)",
                style="yellow",
            )
        )
    if any(names_classes(o.refused) for o in report.outcomes):
        out.print(Text(TRUSTED_CLASSES_HINT, style="dim"))
