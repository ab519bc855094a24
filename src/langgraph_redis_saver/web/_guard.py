"""Request guards of ``lgrs serve``: access token, security headers, CSRF.

The Host header check (against DNS rebinding) is Starlette's
`TrustedHostMiddleware`; `allowed_hosts` says which names it accepts.
Everything here is plain ASGI so that it wraps every response, static
files and error pages included.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LOOPBACK_HOSTS", "SECURITY_HEADERS", "Guard", "allowed_hosts", "is_loopback", "same"]

TOKEN_COOKIE = "lgrs_token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
"""Sent with every response: only this server's own scripts, styles and images run or load."""


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(bind: str, extra: Sequence[str] = ()) -> list[str]:
    """Host header values the server answers to (DNS rebinding defence).

    A browser tricked by a rebound DNS name sends that name as Host, so only
    the loopback names, the bound address and `extra` are accepted. A
    wildcard bind (``0.0.0.0``, ``::``) accepts any name: it needs a token.
    """
    if bind in ("0.0.0.0", "::", ""):
        return ["*"]
    names = {*LOOPBACK_HOSTS, bind.strip("[]").lower(), *(h.lower() for h in extra)}
    return sorted(names)


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a secret."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Guard:
    """Adds the security headers to every response and, with a token, demands it.

    The token comes as ``?token=`` once (answered with a redirect that
    stores it in an HttpOnly, SameSite=Strict cookie and drops it from the
    address bar), as that cookie, or as ``Authorization: Bearer TOKEN``.
    """

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # Pages show live data: never cached. Static files are revalidated (ETag).
        cache = "no-cache" if scope["path"].startswith("/static/") else "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.decode().lower() not in (*SECURITY_HEADERS, "cache-control")
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                headers.append((b"cache-control", cache.encode()))
                message["headers"] = headers
            await send(message)

        if self.token is not None:
            refused = self._check(scope)
            if refused is not None:
                await refused(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)

    def _check(self, scope: Scope) -> PlainTextResponse | RedirectResponse | None:
        assert self.token is not None
        headers = Headers(scope=scope)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = dict(query).get("token")
        if given is not None and same(given, self.token):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            target = scope.get("root_path", "") + scope["path"] + (f"?{rest}" if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            return response
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and same(auth[7:].strip(), self.token):
            return None
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # a malformed Cookie header is the client's problem
            cookies = SimpleCookie()
        morsel = cookies.get(TOKEN_COOKIE)
        if morsel is not None and same(morsel.value, self.token):
            return None
        return PlainTextResponse(
            "This lgrs serve needs its access token. Open the address that `lgrs serve` "
            "printed (it ends in ?token=...), or send the header 'Authorization: Bearer TOKEN'.\n",
            status_code=401,
        )
