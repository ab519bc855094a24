"""The Starlette application behind ``lgrs serve``.

Pages are rendered on the server by Jinja2 with autoescape on; the only
script is ``static/app.js`` (live refresh), and the Content-Security-Policy
allows nothing else. Every read goes through `Browser`, the layer the
``lgrs`` commands use, so the pages show what ``lgrs`` prints. Legacy
pickled sessions (the store this saver replaces) are read by the functions
behind ``lgrs sessions --legacy``, ``show``, ``history``, ``export`` and
``delete`` (`langgraph_redis_saver.cli.legacy`: a restricted unpickler that
runs nothing). The only write is ``POST /delete``, mounted with
``allow_delete`` and guarded by a CSRF token.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import click
import jinja2
import redis.exceptions
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from langgraph_redis_saver import __version__
from langgraph_redis_saver.browse import (
    CSV_COLUMNS,
    SORTS,
    Browser,
    SessionNotFoundError,
    export_rows,
    one_line,
)
from langgraph_redis_saver.cli import legacy, output
from langgraph_redis_saver.errors import LegacySessionError, RedisSaverError
from langgraph_redis_saver.legacy._store import is_pickle

from . import _views
from ._guard import Guard, allowed_hosts, same

__all__ = ["PER_PAGE", "create_app"]

HERE = Path(__file__).parent
PER_PAGE = 50
TIMELINE_ROWS = 200
"""Checkpoints a timeline shows unless asked for all (``?all=1``)."""
MAX_PER_PAGE = 500


@dataclass
class Site:
    """What every request handler shares."""

    browser: Browser
    templates: Jinja2Templates
    csrf: str
    allow_delete: bool
    poll_seconds: float
    where: str


def _link(path: str, **params: Any) -> str:
    """``path?query`` with the parameters that are set; autoescape handles the ``&``."""
    query = urlencode([(k, v) for k, v in params.items() if v not in (None, "", False)], doseq=True)
    return f"{path}?{query}" if query else path


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its file name
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        visible=_views.visible,
        pretty=_views.pretty,
        size=output.human_bytes,
        duration=output.human_duration,
        when=output.human_time,
        ago=output.ago,
    )
    env.globals.update(link=_link, version=__version__)
    return Jinja2Templates(env=env)


def _site(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


def _page(
    request: Request, name: str, status: int = 200, live: str | None = None, **context: Any
) -> Response:
    """Render a page. `live`: the page shows the newest state of session `id` (namespace
    `ns`), so its script polls for a newer checkpoint and reloads."""
    site = _site(request)
    context.setdefault("title", "")
    context.update(where=site.where, allow_delete=site.allow_delete, csrf=site.csrf)
    context["live"] = None
    if live is not None:
        poll = _link("/api/head", id=_arg(request, "id"), ns=_arg(request, "ns"))
        context["live"] = {"url": poll, "head": live, "ms": int(site.poll_seconds * 1000)}
    return site.templates.TemplateResponse(request, name, context, status_code=status)


def _arg(request: Request, name: str, default: str = "") -> str:
    return request.query_params.get(name, default)


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise HTTPException(400, f"missing the {name!r} parameter")
    return value


def _int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    text = _arg(request, name)
    if not text:
        return default
    try:
        return min(max(int(text), lo), hi)
    except ValueError:
        raise HTTPException(400, f"{name}={text!r} is not a number") from None


def _since(text: str) -> datetime | None:
    if not text:
        return None
    from langgraph_redis_saver.cli._common import TIME  # the one parser of times and ages

    try:
        return TIME.convert(text, None, None)
    except click.BadParameter as exc:
        raise HTTPException(400, f"since: {exc.message}") from None


# -- pages ----------------------------------------------------------------------------


def sessions_page(request: Request) -> Response:
    if _arg(request, "legacy"):
        return legacy_sessions_page(request)
    site = _site(request)
    params = {
        "q": _arg(request, "q").strip(),
        "user": _arg(request, "user").strip(),
        "since": _arg(request, "since").strip(),
        "sort": _arg(request, "sort", "updated"),
        "order": "asc" if _arg(request, "order") == "asc" else "desc",
    }
    if params["sort"] not in SORTS:
        raise HTTPException(400, f"sort must be one of {', '.join(SORTS)}")
    per_page = _int(request, "per", PER_PAGE, 1, MAX_PER_PAGE)
    listing = _views.list_sessions(
        site.browser,
        search=params["q"],
        user=params["user"] or None,
        since=_since(params["since"]),
        sort=params["sort"],
        descending=params["order"] == "desc",
        page=_int(request, "page", 1, 1, 10**9),
        per_page=per_page,
    )
    listing.params = {**params, "per": "" if per_page == PER_PAGE else str(per_page)}
    return _page(
        request,
        "sessions.html",
        title="Sessions",
        listing=listing,
        deleted=_arg(request, "deleted"),
    )


def legacy_sessions_page(request: Request) -> Response:
    """``/?legacy=1``: the legacy pickled sessions, as ``lgrs sessions --legacy`` lists them.

    Like the command, a view of its own (it needs a SCAN of the prefix), not
    rows mixed into the sessions index's listing.
    """
    per_page = _int(request, "per", PER_PAGE, 1, MAX_PER_PAGE)
    search = _arg(request, "q").strip()
    listing = _views.list_legacy(
        _site(request).browser,
        search=search,
        page=_int(request, "page", 1, 1, 10**9),
        per_page=per_page,
    )
    listing.params = {"q": search, "per": "" if per_page == PER_PAGE else str(per_page)}
    return _page(request, "legacy.html", title="Legacy pickled sessions", listing=listing)


def _session_args(request: Request) -> tuple[str, str]:
    session = _required(request, "id")
    ns = _arg(request, "ns")
    if ns:
        ns = _site(request).browser.resolve_namespace(session, ns)
    return session, ns


def session_page(request: Request) -> Response:
    b = _site(request).browser
    session, ns = _session_args(request)
    cp = _arg(request, "cp") or None
    try:
        if cp:
            cp = b.resolve_checkpoint(session, cp, ns=ns)
        conv = b.conversation(session, ns=ns, checkpoint_id=cp)
    except (SessionNotFoundError, LegacySessionError):
        if ns or cp:
            raise
        return _legacy_session_page(request, session)  # a pickled session of the replaced store?
    nkeys, nbytes = b.session_sizes([session]).get(session, (0, None))
    return _page(
        request,
        "session.html",
        live=None if cp else conv.checkpoint_id,
        title=session,
        conv=conv,
        bubbles=_views.bubbles(conv.turns),
        at=cp,
        keys=nkeys,
        bytes=nbytes,
    )


def _legacy_session_page(request: Request, session: str) -> Response:
    """A legacy pickled session, as ``lgrs show`` shows it (read-only, never live).

    Raises:
        SessionNotFoundError: not a legacy session either.
        LegacyPickleError: its pickle is corrupted, too big or not a session.
    """
    state, conv = legacy.legacy_conversation(_site(request).browser, session)
    return _page(
        request,
        "session.html",
        title=session,
        conv=conv,
        bubbles=_views.bubbles(conv.turns),
        at=None,
        keys=None,
        bytes=state.size,
        legacy={"refused": state.refused, "migrate": legacy.migrate_commands(session)},
    )


def timeline_page(request: Request) -> Response:
    b = _site(request).browser
    session, ns = _session_args(request)
    try:
        rows = b.timeline(session, ns=ns)
    except (SessionNotFoundError, LegacySessionError):
        said = None if ns else legacy.no_timeline(b, session)
        if said is None:
            raise
        # What `lgrs history` says of a legacy session (it exits with 1 there).
        return _page(request, "no_timeline.html", 404, title=f"Timeline of {session}", said=said)
    everything = bool(_arg(request, "all"))
    return _page(
        request,
        "timeline.html",
        live=rows[0]["checkpointId"],
        title=f"Timeline of {session}",
        session=session,
        ns=ns,
        rows=rows if everything else rows[:TIMELINE_ROWS],
        total=len(rows),
        namespaces=b.namespaces(session),
    )


def checkpoint_page(request: Request) -> Response:
    b = _site(request).browser
    session, ns = _session_args(request)
    cp = b.resolve_checkpoint(session, _required(request, "cp"), ns=ns)
    return _page(
        request, "checkpoint.html", title=f"Checkpoint {cp}", cp=b.checkpoint(session, cp, ns=ns)
    )


def diff_page(request: Request) -> Response:
    b = _site(request).browser
    session, ns = _session_args(request)
    picked = request.query_params.getlist("cp")
    if len(picked) != 2:
        raise HTTPException(400, f"pick exactly two checkpoints to compare (got {len(picked)})")
    # Checkpoint ids grow with time, so the smaller one is the older.
    old, new = sorted(b.resolve_checkpoint(session, c, ns=ns) for c in picked)
    return _page(
        request,
        "diff.html",
        title="Diff",
        session=session,
        ns=ns,
        diff=b.diff(session, old, new, ns=ns),
    )


def doctor_page(request: Request) -> Response:
    from langgraph_redis_saver.cli.migrate import doctor_finding  # as `lgrs doctor` does

    b = _site(request).browser
    findings = [*b.doctor(), doctor_finding(b)]
    failed = any(f.severity == "error" for f in findings)
    return _page(request, "doctor.html", title="Doctor", findings=findings, failed=failed)


def export(request: Request) -> Response:
    b = _site(request).browser
    session = _required(request, "id")
    fmt = _arg(request, "format", "json")
    if fmt not in ("json", "csv"):
        raise HTTPException(400, "format must be json or csv")
    options: dict[str, Any] = {
        "since": _since(_arg(request, "since")),
        "until": _since(_arg(request, "until")),
        "metadata": _arg(request, "metadata", "on") != "off",
        "redacted": bool(_arg(request, "redact")),
    }
    try:
        doc = b.export(session, **options)
    except (SessionNotFoundError, LegacySessionError):
        doc = legacy.export_legacy(b, session, options)  # as `lgrs export` does
    if fmt == "csv":
        buffer = io.StringIO()
        output.write_csv(export_rows(doc), CSV_COLUMNS, buffer)
        body, media = buffer.getvalue(), "text/csv; charset=utf-8"
    else:
        body, media = output.to_json(doc) + "\n", "application/json"
    return Response(
        body, media_type=media, headers={"content-disposition": _attachment(session, fmt)}
    )


def _attachment(session: str, fmt: str) -> str:
    """A download name for any session id: ASCII fallback plus the UTF-8 name (RFC 6266)."""
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in session)
    ascii_name = ascii_name.lstrip(".") or "session"
    utf8 = quote(session, safe="")
    return f"attachment; filename=\"{ascii_name}.{fmt}\"; filename*=UTF-8''{utf8}.{fmt}"


def head(request: Request) -> Response:
    """The newest checkpoint id of a session (or null), polled by the live pages."""
    b = _site(request).browser
    session, ns = _session_args(request)
    latest = b.client.get(b.keys.namespace(session, ns).latest)
    if latest is None:
        return JSONResponse({"checkpointId": None})
    if is_pickle(latest):
        return JSONResponse({"checkpointId": None, "legacy": True})
    try:
        return JSONResponse({"checkpointId": latest.decode()})
    except UnicodeDecodeError:
        return JSONResponse(
            {
                "checkpointId": None,
                "error": "the session's latest pointer is not a checkpoint id (not UTF-8"
                " text), so it was changed outside the saver: run lgrs doctor",
            },
            status_code=422,
        )


async def delete(request: Request) -> Response:
    site = _site(request)
    if not site.allow_delete:
        raise HTTPException(
            403, "this server is read-only: start it with lgrs serve --allow-delete"
        )
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise HTTPException(403, "cross-site request refused")
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    if not same(form.get("csrf"), site.csrf):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    session = form.get("id", "")
    if not session or form.get("confirm") != session:
        raise HTTPException(400, "type the session id into the box to confirm the delete")
    # What `lgrs delete SESSION` deletes: its checkpoints, or a legacy session's pickles.
    plan = await run_in_threadpool(legacy.plan_delete, site.browser, [session], where=site.where)
    await run_in_threadpool(legacy.run_delete, site.browser, plan, everything=False)
    return RedirectResponse(_link("/", deleted=session), status_code=303)


# -- errors ---------------------------------------------------------------------------


def _error(request: Request, status: int, message: str) -> Response:
    return _page(request, "error.html", status, title="Error", code=status, message=message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, str(exc.detail))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, str(exc))


async def _unreadable(request: Request, exc: Exception) -> Response:
    kind = _views.problem_status(exc)
    return _error(request, 422, f"This session is {kind}: {one_line(exc)}")


async def _redis_down(request: Request, exc: Exception) -> Response:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _error(request, 503, f"Redis at {_site(request).where} failed: {reason}")


async def _crashed(request: Request, exc: Exception) -> Response:
    return _error(request, 500, f"lgrs serve failed on this page: {type(exc).__name__}: {exc}")


def create_app(
    browser: Browser,
    *,
    token: str | None = None,
    allow_delete: bool = False,
    host: str = "127.0.0.1",
    extra_hosts: tuple[str, ...] = (),
    poll_seconds: float = 2.0,
    where: str = "",
) -> Starlette:
    """The web view of `browser`'s sessions as an ASGI application.

    Args:
        browser: Where the sessions are read (and deleted, with `allow_delete`).
        token: When set, every request must carry it (see `Guard`).
        allow_delete: Mount ``POST /delete`` (CSRF-protected).
        host: The address the server binds; with `extra_hosts`, the Host
            header values it answers to.
        poll_seconds: How often live pages ask whether the session moved on.
        where: The server as shown on the pages (host and port, no password).
    """
    routes = [
        Route("/", sessions_page),
        Route("/session", session_page),
        Route("/timeline", timeline_page),
        Route("/checkpoint", checkpoint_page),
        Route("/diff", diff_page),
        Route("/export", export),
        Route("/doctor", doctor_page),
        Route("/api/head", head),
        Route("/delete", delete, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(Guard, token=token),
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host, extra_hosts)),
        ],
        exception_handlers={
            HTTPException: _http_error,
            SessionNotFoundError: _not_found,
            RedisSaverError: _unreadable,
            RecursionError: _unreadable,  # a value nested too deeply to decode
            redis.exceptions.RedisError: _redis_down,
            Exception: _crashed,
        },
    )
    app.state.site = Site(
        browser=browser,
        templates=_templates(),
        csrf=secrets.token_urlsafe(32),
        allow_delete=allow_delete,
        poll_seconds=poll_seconds,
        where=where,
    )
    return app
