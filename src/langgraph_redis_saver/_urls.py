"""Redis URLs as they may be shown: with every secret masked."""

from __future__ import annotations

import re

__all__ = ["DEFAULT_URL", "mask_url"]

DEFAULT_URL = "redis://localhost:6379/0"
"""The server used when no URL is given: the local default Redis, database 0."""

_QUERY_SECRET = re.compile(r"([?&](?:password|pass|pwd)=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """`url` with its password replaced by ``***``, for messages and logs.

    Covers ``user:password@``, a lone ``password@`` and ``?password=``.

    >>> mask_url("redis://default:s3cret@cache.example.com:6379/0")
    'redis://default:***@cache.example.com:6379/0'
    >>> mask_url("rediss://[::1]:6380/0?password=s3cret&db=1")
    'rediss://[::1]:6380/0?password=***&db=1'
    """
    url = _QUERY_SECRET.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    userinfo, _, host = netloc.rpartition("@")
    masked = f"{userinfo.split(':', 1)[0]}:***" if ":" in userinfo else "***"
    return f"{scheme}://{masked}@{host}{slash}{path}"
