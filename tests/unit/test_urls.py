"""The one URL masker: no password survives, whatever shape the URL has."""

from __future__ import annotations

import pytest

from langgraph_redis_saver._urls import mask_secrets, mask_url, needs_password

SECRET = "S3cr3t"


@pytest.mark.parametrize(
    "url",
    [
        f"default:{SECRET}@cache.example.com",
        f"default:{SECRET}@cache.example.com:6379/0",
        f"{SECRET}@cache.example.com:6379",
        f"redis://:{SECRET}@h:6379/0",
        f"redis://u:{SECRET}@h/0",
        f"redis://u:{SECRET}/x@h/0",
        f"redis://u:{SECRET}@x@h/0",
        f"rediss://u:{SECRET}@h:6380/0?ssl_cert_reqs=none",
        f"redis://h/0?password={SECRET}",
        f"redis://h/0?db=1&PASS={SECRET}#frag",
        f"unix://u:{SECRET}@/tmp/redis.sock?db=0",
        f"redis:/u:{SECRET}@h",
    ],
)
def test_mask_url_hides_the_password(url: str) -> None:
    masked = mask_url(url)
    assert SECRET not in masked
    assert "***" in masked


@pytest.mark.parametrize(
    "url", ["redis://h:6379/0", "unix:///tmp/redis.sock?db=0", "localhost:6379", "rediss://[::1]/0"]
)
def test_mask_url_leaves_urls_without_secrets(url: str) -> None:
    assert mask_url(url) == url


def test_mask_secrets_in_a_message() -> None:
    message = f"bad URL 'default:{SECRET}@h:1' and redis://u:{SECRET}@h/0, db 0"
    assert SECRET not in mask_secrets(message)
    assert mask_secrets("no url here: h:6379") == "no url here: h:6379"
    assert mask_secrets(f"given {SECRET}!", [SECRET, None]) == "given ***!"


def test_needs_password_recognises_redis_replies() -> None:
    assert needs_password(Exception("HELLO must be called with the client already authenticated"))
    assert needs_password(Exception("Authentication required."))
    assert not needs_password(Exception("invalid username-password pair or user is disabled."))
