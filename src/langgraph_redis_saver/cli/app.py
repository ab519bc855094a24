"""The ``lgrs`` commands. They parse options, query `browse`, and hand results to `output`.

Library and Redis errors become one-line `click.ClickException` messages
(exit code 1) that name the server but never its password. The only
commands that write are ``delete`` and ``migrate`` (cli/migrate.py), and only
after ``--yes`` or a confirmation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from langgraph_redis_saver._version import __version__
from langgraph_redis_saver.cli._common import (
    CONTEXT,
    DEFAULT_TAIL,
    TIME,
    Settings,
    _environment_options,
    _inert_warnings,
    _warn,
    browse,
    output_options,
)
from langgraph_redis_saver.cli.files import create, export_filename
from langgraph_redis_saver.cli.sanitize import inert
from langgraph_redis_saver.errors import LegacySessionError, SessionNotFoundError

# -- commands ----------------------------------------------------------------------------


class _Group(click.Group):
    """Lists commands in the order they are defined (a tour), not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


class _Lazy(click.Command):
    """A command whose module loads only when the command runs (or shows its help).

    The group's help lists it from `summary` alone, so ``lgrs --help`` does
    not import what the command needs; ``tests/cli`` checks that the summary
    is the loaded command's own.
    """

    def __init__(self, name: str, summary: str, load: Callable[[], click.Command]) -> None:
        super().__init__(name, help=summary)
        self._load = load

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The context belongs to the real command: click runs ctx.command.
        return self._load().make_context(info_name, args, parent, **extra)


def _migrate() -> click.Command:
    from .migrate import migrate

    return migrate


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", "-V", prog_name="lgrs")
@_environment_options
@click.pass_context
def cli(
    ctx: click.Context,
    url: str | None,
    prefix: str | None,
    channel: str | None,
    aes_key_file: Path | None,
    redis_host: str | None,
    redis_port: str | None,
    redis_password: str | None,
    aes_key: str | None,
) -> None:
    """Inspect LangGraph sessions stored by langgraph-redis-saver.

    Reads checkpoints as plain data: no application code, no pickle. Only
    `delete` writes, and only after a confirmation or --yes.

    \b
    lgrs sessions --limit 10              newest sessions
    lgrs show SESSION                     the conversation, turn by turn
    lgrs history SESSION                  the checkpoint timeline
    lgrs export --all -o exports/         one JSON file per session
    lgrs doctor                           server settings that can lose data
    """
    port = None
    if redis_port:
        if not redis_port.strip().isdigit() or not 0 < int(redis_port) < 65536:
            raise click.UsageError(
                f"REDIS_PORT must be a port number (1-65535), got {inert(repr(redis_port))}"
            )
        port = int(redis_port)
    ctx.obj = Settings(
        url,
        prefix,
        channel=channel,
        host=redis_host,
        port=port,
        password=redis_password,
        aes_key_file=aes_key_file,
        aes_key_env=aes_key,
    )
    ctx.with_resource(_inert_warnings())


@cli.command()
@click.option("--user", metavar="USER_ID", help="Only sessions whose runs had this user_id.")
@click.option("--since", type=TIME, help="Only sessions updated since TIME (2h, 7d, ISO date).")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="At most N sessions; 0 for all.",
)
@click.option(
    "--legacy",
    is_flag=True,
    help="List legacy pickled sessions instead (SCAN; no --user, --since).",
)
@output_options
def sessions(
    settings: Settings, user: str | None, since: datetime | None, limit: int, legacy: bool
) -> None:
    """List sessions, newest first.

    One row per session: id, last update, messages, checkpoints, time left
    before it expires, and memory used. Served from the saver's sessions
    index (no KEYS, no SCAN).
    """
    from . import output

    if legacy:
        from .migrate import sessions_legacy

        if user is not None or since is not None:
            raise click.UsageError(
                "--user and --since do not apply with --legacy: a legacy pickled session has "
                "no user index or update time; list them all with lgrs sessions --legacy"
            )
        with browse(settings) as b:
            return sessions_legacy(settings, b, limit)
    from langgraph_redis_saver.browse import SkippedEntry

    with browse(settings) as b:
        rows = b.session_page(user=user, since=since, limit=limit or None).rows
    for row in rows:
        if isinstance(row, SkippedEntry):
            _warn(row.error)
        elif row.error:
            _warn(f"session {row.session_id!r} cannot be read: {row.error}")
    if settings.as_json:
        output.echo_json([r.to_dict() for r in rows])
    else:
        output.render_sessions(output.console(), rows, limit=limit)


@cli.command()
@click.argument("session")
@click.option(
    "--ns",
    "namespace",
    default="",
    metavar="NS",
    help="Subgraph namespace, e.g. 'interview' (the newest interview:<task>).",
)
@click.option(
    "--checkpoint",
    "checkpoint_id",
    metavar="ID",
    help="The conversation as of this checkpoint (id or unique prefix).",
)
@click.option(
    "--tail",
    type=click.IntRange(min=1),
    default=DEFAULT_TAIL,
    show_default=True,
    help="Show only the last N turns.",
)
@click.option("--full", is_flag=True, help="Every turn, and long contents in full.")
@output_options
def show(
    settings: Settings,
    session: str,
    namespace: str,
    checkpoint_id: str | None,
    tail: int,
    full: bool,
) -> None:
    """Show a session's conversation, turn by turn.

    Roles, contents, tool calls with their arguments, tool results, a
    pending interrupt() question waiting for an answer, and the other state
    fields (turn_count, is_complete, ...). Long contents are cut unless
    --full; --json always gives everything.
    """
    from . import output

    with browse(settings) as b:
        try:
            ns = b.resolve_namespace(session, namespace) if namespace else ""
            cid = b.resolve_checkpoint(session, checkpoint_id, ns=ns) if checkpoint_id else None
            conv = b.conversation(session, ns=ns, checkpoint_id=cid)
        except (SessionNotFoundError, LegacySessionError):
            if namespace or checkpoint_id:
                raise
            from .migrate import show_legacy  # a pickled session of the replaced store?

            return show_legacy(settings, b, session, full=full, tail=tail)
    if settings.as_json:
        output.echo_json(conv.to_dict())
        return
    hint = "resume it with graph.invoke(Command(resume=...), config)"
    output.render_conversation(output.console(), conv, full=full, tail=tail, hint=hint)


@cli.command()
@click.argument("session")
@click.option("--ns", "namespace", default="", metavar="NS", help="Subgraph namespace (see show).")
@click.option(
    "--checkpoint",
    "checkpoint_id",
    metavar="ID",
    help="Show one checkpoint in full (id or unique prefix).",
)
@click.option(
    "--diff", nargs=2, metavar="OLD NEW", default=None, help="What changed between two checkpoints."
)
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most N rows; 0 for all.")
@click.option("--full", is_flag=True, help="Long values in full.")
@output_options
def history(
    settings: Settings,
    session: str,
    namespace: str,
    checkpoint_id: str | None,
    diff: tuple[str, str] | None,
    limit: int,
    full: bool,
) -> None:
    """Show a session's checkpoint timeline, newest first.

    One row per checkpoint: id, step, source (input, loop, update, fork),
    the node(s) that ran, the state fields they wrote, the nodes to run
    next, and the time. A legacy pickled session has no timeline: that is
    said, with the commands that show and convert it, and the exit code is 1.
    """
    from . import output

    if checkpoint_id and diff:
        raise click.UsageError("use --checkpoint or --diff, not both")
    render: Callable[..., None]
    with browse(settings) as b:
        result: Any
        try:
            ns = b.resolve_namespace(session, namespace) if namespace else ""
            if diff:
                old, new = (b.resolve_checkpoint(session, c, ns=ns) for c in diff)
                result, render = b.diff(session, old, new, ns=ns), output.render_diff
            elif checkpoint_id:
                cid = b.resolve_checkpoint(session, checkpoint_id, ns=ns)
                result, render = b.checkpoint(session, cid, ns=ns), output.render_checkpoint
            else:
                result = b.timeline(session, ns=ns, limit=limit or None)
                render = output.render_timeline
        except (SessionNotFoundError, LegacySessionError):
            from .legacy import legacy_history  # a pickled session of the replaced store?

            legacy_history(settings, b, session)  # exits with 1 when it is one
            raise
    if settings.as_json:
        output.echo_json(result)
    else:
        render(output.console(), result, full=full)


def _write(doc: Mapping[str, Any], fmt: str, out: Any, *, raw_csv: bool = False) -> None:
    from langgraph_redis_saver.browse import CSV_COLUMNS, export_rows

    from . import output

    if fmt == "csv":
        terminal = out is output.stdout_text() and output.stdout_is_terminal()
        output.write_csv(export_rows(doc), CSV_COLUMNS, out, raw=raw_csv, terminal=terminal)
    else:
        out.write(output.to_json(doc) + "\n")


@cli.command()
@click.argument("session", required=False)
@click.option(
    "--all", "all_sessions", is_flag=True, help="Export every session (needs --output DIR)."
)
@click.option(
    "-o",
    "--output",
    "target",
    type=click.Path(path_type=Path),
    help="Output file (one session) or directory (--all). Default: stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="JSON document, or CSV with one row per turn.",
)
@click.option("--since", type=TIME, help="Only turns from TIME on (2h, 7d, ISO date).")
@click.option("--until", type=TIME, help="Only turns up to TIME.")
@click.option("--user", metavar="USER_ID", help="With --all: only this user's sessions.")
@click.option("--no-metadata", is_flag=True, help="Leave out the session metadata object (JSON).")
@click.option("--redact", is_flag=True, help="Mask emails, phone numbers and card-like numbers.")
@click.option(
    "--raw-csv",
    is_flag=True,
    help="CSV cells exactly as stored: no leading ' on cells that start like a "
    "spreadsheet formula (=, +, -, @, tab, CR).",
)
@click.option(
    "--overwrite", is_flag=True, help="With --all: replace export files left by an earlier run."
)
@click.option(
    "--no-legacy",
    is_flag=True,
    help="With --all: leave out legacy pickled sessions (and the SCAN that finds them).",
)
@output_options
def export(
    settings: Settings,
    session: str | None,
    all_sessions: bool,
    target: Path | None,
    fmt: str,
    since: datetime | None,
    until: datetime | None,
    user: str | None,
    no_metadata: bool,
    redact: bool,
    raw_csv: bool,
    overwrite: bool,
    no_legacy: bool,
) -> None:
    """Export sessions as JSON or CSV (analytics, audits, archives).

    JSON: {sessionId, createdAt, updatedAt, turns, metadata}; each turn has
    index, role, content and timestamp, plus toolCalls, toolCallId, model
    and tokenUsage when the message carries them. CSV: one row per turn.
    With --all, one file per session in the --output directory (named
    <readable-part>-<hash of the id>.<format>; existing files and symlinks are
    never written through) and a progress bar on a terminal; a session that
    cannot be read or written is reported and the others are still exported,
    and so is a sessions-index entry that is not UTF-8 (as in lgrs sessions);
    --json then prints a summary of the files. CSV cells that start like a
    formula get a leading ' (--raw-csv keeps them as stored).

    Legacy pickled sessions (see lgrs migrate) export in the same shape plus
    legacy: true, read with a restricted unpickler that runs nothing; --all
    finds them by SCAN and includes them unless --no-legacy.
    """
    from . import output

    if bool(session) == all_sessions:
        raise click.UsageError("give one SESSION, or --all with --output DIR")
    if all_sessions and target is None:
        raise click.UsageError("--all needs --output DIR")
    if user and not all_sessions:
        raise click.UsageError("--user only applies with --all")
    if no_legacy and not all_sessions:
        raise click.UsageError("--no-legacy only applies with --all")
    if settings.as_json and fmt == "csv" and target is None:
        raise click.UsageError("--json prints JSON; drop it to get CSV on stdout")
    options: dict[str, Any] = {
        "since": since,
        "until": until,
        "metadata": not no_metadata,
        "redacted": redact,
    }
    with browse(settings) as b:
        summary: dict[str, Any]
        if session:
            try:
                doc = b.export(session, **options)
            except (SessionNotFoundError, LegacySessionError):
                from .legacy import export_legacy  # a pickled session of the replaced store?

                doc = export_legacy(b, session, options)
            if target is None:
                _write(doc, fmt, output.stdout_text(), raw_csv=raw_csv)
                return
            with target.open("w", encoding="utf-8", newline="") as fh:
                _write(doc, fmt, fh, raw_csv=raw_csv)
            entry = {"sessionId": session, "file": str(target), "turns": len(doc["turns"])}
            summary = {
                "format": fmt,
                "output": str(target),
                "files": [{**entry, **({"legacy": True} if doc.get("legacy") else {})}],
                "skipped": [],
                "errors": [],
                "skippedEntries": [],
            }
        else:
            assert target is not None
            from langgraph_redis_saver._admin import SessionInfo
            from langgraph_redis_saver.browse import SkippedEntry

            entries = b.index_entries(user=user, since=since)
            infos = [e for e in entries if isinstance(e, SessionInfo)]
            strays = [e.to_report() for e in entries if isinstance(e, SkippedEntry)]
            for stray in strays:
                _warn(stray["error"])  # as `lgrs sessions` does; they name no session to export
            ids = [i.thread_id for i in infos]
            unreadable = {i.thread_id: i.error for i in infos if i.error}
            exports = b.iter_exports(ids, unreadable=unreadable, **options)
            total, legacy = len(ids), 0
            if not no_legacy:  # a pickled session of the replaced store is a session too
                from .legacy import legacy_exports

                legacy, more = legacy_exports(
                    b, skip=set(ids), user=user, since=since, options=options
                )
                exports, total = itertools.chain(exports, more), total + legacy
            bar = not settings.as_json
            timed = bool(since or until)
            summary = _export_all(
                exports, total, target, fmt, raw_csv, overwrite, timed=timed, bar=bar
            )
            summary["skippedEntries"] = strays
    for failed in summary["errors"]:
        _warn(f"session {failed['sessionId']!r} not exported: {failed['error']}")
    if settings.as_json:
        output.echo_json(summary)
        return
    files, skipped, failures = summary["files"], summary["skipped"], summary["errors"]
    pickled = sum(1 for f in files if f.get("legacy"))
    note = f" ({pickled} of them legacy pickled)" if pickled and all_sessions else ""
    note += f"; skipped {len(skipped)} with no turns in range or gone" if skipped else ""
    note += f"; {len(failures)} failed (see above)" if failures else ""
    if strays := summary["skippedEntries"]:
        word = "entry" if len(strays) == 1 else "entries"
        note += f"; {len(strays)} index {word} skipped (not UTF-8, see the warnings)"
    plural = "s" if len(files) != 1 else ""
    click.echo(f"exported {len(files)} session{plural} to {inert(target)}{note}", err=True)


def _export_all(
    exports: Iterable[tuple[str, dict[str, Any] | None, str | None]],
    total: int,
    directory: Path,
    fmt: str,
    raw_csv: bool,
    overwrite: bool,
    *,
    timed: bool,
    bar: bool,
) -> dict[str, Any]:
    """One file per session; a session that fails is reported in ``errors``, not fatal.

    With `timed` (--since/--until) a session without turns in range is
    skipped. `exports` yields ``(session id, document, error)`` (`Browser.iter_exports`);
    a document of a legacy pickled session says ``legacy: true``. A progress
    bar shows on stderr when `bar` and stderr is a terminal.
    """
    from rich.progress import Progress

    from langgraph_redis_saver.browse import one_line

    from . import output

    directory.mkdir(parents=True, exist_ok=True)
    files: list[dict[str, Any]] = []
    skipped: list[str] = []
    failures: list[dict[str, str]] = []
    err = output.console(stderr=True)
    with Progress(console=err, transient=True, disable=not (bar and err.is_terminal)) as progress:
        task = progress.add_task("exporting", total=total)
        for thread_id, doc, error in exports:
            progress.advance(task)
            if error is not None:
                failures.append({"sessionId": thread_id, "error": error})
                continue
            if doc is None or (timed and not doc["turns"]):
                skipped.append(thread_id)
                continue
            path = directory / export_filename(thread_id, fmt)
            try:
                fh = create(path, overwrite=overwrite)
            except OSError as exc:  # e.g. a planted symlink, an earlier export
                failures.append({"sessionId": thread_id, "error": str(exc) or repr(exc)})
                continue
            try:
                with fh:
                    _write(doc, fmt, fh, raw_csv=raw_csv)
            except (OSError, ValueError, RecursionError) as exc:
                path.unlink(missing_ok=True)  # ours: created with O_EXCL above
                failures.append({"sessionId": thread_id, "error": one_line(exc)})
                continue
            entry = {"sessionId": thread_id, "file": str(path), "turns": len(doc["turns"])}
            files.append({**entry, **({"legacy": True} if doc.get("legacy") else {})})
    return {
        "format": fmt,
        "output": str(directory),
        "files": files,
        "skipped": skipped,
        "errors": failures,
    }


@cli.command()
@click.argument("sessions", nargs=-1)
@click.option("--all", "all_sessions", is_flag=True, help="Delete every key under the prefix.")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; change nothing.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@output_options
def delete(
    settings: Settings, sessions: tuple[str, ...], all_sessions: bool, dry_run: bool, yes: bool
) -> None:
    """Delete sessions: every checkpoint, write and blob they own.

    Asks for confirmation unless --yes. --all removes every key under the
    prefix (SCAN + UNLINK in batches), sessions index and legacy pickled
    sessions included. A legacy pickled session loses its pickles (latest
    and the old store's <session>:<id> pickles), found without unpickling
    them; other keys under its id are kept.
    """
    if bool(sessions) == all_sessions:
        raise click.UsageError("give one or more SESSION ids, or --all")
    from .legacy import plan_delete, plan_delete_all, run_delete

    with browse(settings) as b:
        if all_sessions:
            todo = plan_delete_all(b, where=settings.where())
        else:
            todo = plan_delete(b, sessions, where=settings.where())
        plan, nkeys, what = todo.entries, todo.keys, todo.what
        if dry_run:
            _report_delete(settings, plan, nkeys, dry_run=True, what=what)
            return
        if not yes:
            if not settings.as_json:
                for item in plan[:20]:
                    mark = "  (legacy pickled)" if item["legacy"] else ""
                    click.echo(f"  {inert(item['sessionId'], one_line=True)}{mark}", err=True)
                if len(plan) > 20:
                    click.echo(f"  ... and {len(plan) - 20} more", err=True)
            click.confirm(f"Delete {inert(what, one_line=True)}?", abort=True, err=True)
        nkeys = run_delete(b, todo, everything=all_sessions)
    _report_delete(settings, plan, nkeys, dry_run=False, what=what)


def _report_delete(
    settings: Settings, plan: list[dict[str, Any]], nkeys: int, *, dry_run: bool, what: str
) -> None:
    from . import output

    if settings.as_json:
        output.echo_json({"dryRun": dry_run, "sessions": plan, "keys": nkeys})
    elif dry_run:
        for item in plan:
            keys = "" if item["keys"] is None else f"  ({item['keys']} keys)"
            mark = "  legacy pickled" if item["legacy"] else ""
            click.echo(f"{inert(item['sessionId'], one_line=True)}{keys}{mark}")
        click.echo(f"would delete {inert(what, one_line=True)}", err=True)
    else:
        click.echo(f"deleted {inert(what, one_line=True)}", err=True)


@cli.command()
@output_options
def stats(settings: Settings) -> None:
    """Count sessions, checkpoints, keys and memory under the prefix.

    Scans the keys under the prefix (SCAN, never KEYS) and sums MEMORY
    USAGE; memory is shown as '-' where MEMORY is not allowed. Sessions that
    cannot be read and sessions-index entries that are not UTF-8 are
    reported (a warning each), as lgrs sessions does.
    """
    from . import output

    with browse(settings) as b:
        result = b.stats()
    for failed in result["errors"]:
        _warn(f"session {failed['sessionId']!r} cannot be read: {failed['error']}")
    for skipped in result["skippedEntries"]:
        _warn(skipped["error"])
    if settings.as_json:
        output.echo_json(result)
    else:
        output.render_stats(output.console(), result, settings.where())


@cli.command()
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Keys to sample for the TTL check.",
)
@output_options
def doctor(settings: Settings, sample: int) -> None:
    """Check the server for settings that can lose sessions.

    Checks maxmemory-policy (allkeys-* evicts anything, volatile-* evicts
    the saver's keys, which have TTLs), persistence off, Redis older than
    6.2, cluster mode, ACL permissions for every command the saver runs,
    and keys under the prefix that never expire. Each finding comes with a
    fix. Exits with 1 when a check finds an error.
    """
    from . import output

    with browse(settings) as b:
        from .migrate import doctor_finding

        findings = [*b.doctor(sample=sample), doctor_finding(b)]
    failed = any(f.severity == "error" for f in findings)
    if settings.as_json:
        output.echo_json({"ok": not failed, "findings": [f.to_dict() for f in findings]})
    else:
        output.render_findings(output.console(), findings, settings.where())
    if failed:
        click.get_current_context().exit(1)


cli.add_command(
    _Lazy("migrate", "Convert legacy pickled sessions into this saver's checkpoints.", _migrate)
)

from langgraph_redis_saver.cli import serve as _serve  # noqa: E402, F401  (registers `lgrs serve`)
