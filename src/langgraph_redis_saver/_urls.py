"""Redis URLs as they may be shown: with every secret masked.

The one place that hides passwords: the library's exceptions, ``lgrs`` and
the dev server all mask URLs through `mask_url` and messages through
`mask_secrets`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DEFAULT_URL", "NEEDS_PASSWORD", "mask_secrets", "mask_url", "needs_password"]

DEFAULT_URL = "redis://localhost:6379/0"
"""The server used when no URL is given: the local default Redis, database 0."""

NEEDS_PASSWORD = (
    "this Redis requires a password; put it in the URL (redis://:PASSWORD@host) or REDIS_URL"
)
"""What to say when a server with ``requirepass`` (or ACL users) got no password."""

_QUERY_SECRET = re.compile(r"([?&](?:password|pass|pwd)=)[^&#\s]*", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+|\S+@\S+")
_NO_AUTH = (
    NEEDS_PASSWORD,
    "HELLO must be called with the client already authenticated",
    "Authentication required",
    "NOAUTH",
)


def mask_url(url: str) -> str:
    """`url` with its password replaced by ``***``, for messages and logs.

    Covers ``user:password@``, a lone ``password@``, ``?password=``, and URLs
    written without ``//`` or with a ``/`` inside the password.

    >>> mask_url("redis://default:s3cret@cache.example.com:6379/0")
    'redis://default:***@cache.example.com:6379/0'
    >>> mask_url("rediss://[::1]:6380/0?password=s3cret&db=1")
    'rediss://[::1]:6380/0?password=***&db=1'
    >>> mask_url("default:s3cret@cache.example.com:6379")
    'default:***@cache.example.com:6379'
    >>> mask_url("redis://:pa/ss@host/0")
    'redis://:***@host/0'
    """
    url = _QUERY_SECRET.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    location, question, query = rest.partition("?")
    if "@" not in location:
        return url
    userinfo, _, host = location.rpartition("@")
    masked = f"{userinfo.split(':', 1)[0]}:***" if ":" in userinfo else "***"
    return f"{scheme}{sep}{masked}@{host}{question}{query}"


def mask_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every URL in it masked (`mask_url`) and every known secret replaced.

    >>> mask_secrets("cannot use 'redis://u:pw@h:1/0' with pw", ["pw"])
    "cannot use 'redis://u:***@h:1/0' with ***"
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _URL_IN_TEXT.sub(lambda found: mask_url(found[0]), text)


def needs_password(exc: BaseException) -> bool:
    """Whether a redis-py error says the server wants a password that was not given."""
    return any(marker in str(exc) for marker in _NO_AUTH)
