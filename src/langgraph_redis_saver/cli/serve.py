"""``lgrs serve``: the web view. The web stack is imported only when it runs."""

from __future__ import annotations

import dataclasses
import secrets
import socket
import threading
import webbrowser
from pathlib import Path
from typing import Any

import click

from langgraph_redis_saver.cli._common import (
    Settings,
    _aes_option,
    _channel_option,
    _prefix_option,
    _url_option,
    browse,
    errors,
)
from langgraph_redis_saver.cli.app import cli

WEB_PACKAGES = ("starlette", "uvicorn", "jinja2", "anyio", "h11", "markupsafe")
INSTALL_HINT = "pip install 'langgraph-redis-saver[web]'"


def _web_stack() -> tuple[Any, Any]:
    """`create_app` and uvicorn, or a message that says what to install."""
    try:
        import uvicorn

        from langgraph_redis_saver.web import create_app
    except ImportError as exc:
        top = str(exc.name or "").split(".")[0]
        if top not in WEB_PACKAGES:
            raise
        raise click.ClickException(
            f"lgrs serve needs {top}, which is not installed. Install it with: {INSTALL_HINT}"
        ) from None
    return create_app, uvicorn


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "pick another --port (0 picks a free one)"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option(
    "--token",
    envvar="LGRS_TOKEN",
    metavar="TOKEN",
    help="Demand this access token ($LGRS_TOKEN). Generated and printed when --host is "
    "not a loopback address.",
)
@click.option("--allow-delete", is_flag=True, help="Show a delete button (POST with a CSRF token).")
@click.option(
    "--allow-host",
    "extra_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests for this host name (e.g. a name in /etc/hosts). Other "
    "Host headers are refused (DNS rebinding).",
)
@_url_option
@_prefix_option
@_channel_option
@_aes_option
def serve(
    host: str,
    port: int,
    open_browser: bool,
    token: str | None,
    allow_delete: bool,
    extra_hosts: tuple[str, ...],
    url: str | None,
    prefix: str | None,
    channel: str | None,
    aes_key_file: Path | None,
) -> None:
    """Serve a local web view of the sessions (needs the web extra).

    Sessions (search, filters, paging), a session's conversation, its
    timeline with diffs between checkpoints, exports, and the doctor's
    checks. Read-only unless --allow-delete. Listens on 127.0.0.1 by
    default; any other address needs an access token (--token, or one is
    generated and printed).

    \b
    lgrs serve                         http://127.0.0.1:8765/
    lgrs serve --port 0 --open         a free port, opened in the browser
    lgrs serve --host 0.0.0.0          reachable from other machines, with a token
    """
    from langgraph_redis_saver.web._guard import is_loopback

    create_app, uvicorn = _web_stack()
    group = click.get_current_context().find_object(Settings) or Settings()
    settings = dataclasses.replace(
        group,
        url=url or group.url,
        prefix=prefix or group.prefix,
        channel=channel or group.channel,
        aes_key_file=aes_key_file or group.aes_key_file,
    )
    if token == "":
        raise click.BadParameter("the token must not be empty", param_hint="--token")
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(24)
    with errors(settings), browse(settings) as browser:
        browser.client.ping()  # fail now, with a clear message, rather than on the first page
        app = create_app(
            browser,
            token=token,
            allow_delete=allow_delete,
            host=host,
            extra_hosts=extra_hosts,
            where=settings.where(),
        )
        sock = _listen(host, port)
        shown = "localhost" if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
        address = f"http://{shown}:{sock.getsockname()[1]}/"
        link = f"{address}?token={token}" if token else address
        mode = "deletes allowed" if allow_delete else "read-only"
        click.echo(f"lgrs serve: {link}  ({mode}; sessions on {settings.where()}; Ctrl+C stops)")
        if open_browser:
            threading.Timer(0.5, webbrowser.open, [link]).start()
        config = uvicorn.Config(app, log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[sock])
