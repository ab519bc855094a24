"""Export files: names that cannot collide or escape, opened without following links.

``lgrs export --all`` writes one file per session into a directory the user
chose, with names derived from session ids an attacker may pick (``..``,
``.bashrc``, 300 bytes, ids that differ only in punctuation). `export_filename`
keeps every name inside the directory, distinct and short; `create` never
writes through a symlink or over a file that is already there.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import IO

__all__ = ["HASH_CHARS", "SLUG_CHARS", "create", "export_filename"]

SLUG_CHARS = 48
"""Longest readable part of an export file name."""
HASH_CHARS = 12
"""Hex digits of the SHA-256 of the exact id that keep names apart."""
_NOT_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


def export_filename(session: str, fmt: str) -> str:
    """The export file name of a session: a readable slug and a hash of the exact id.

    Injective (distinct ids differ in the hash, whatever the slug), at most
    ``SLUG_CHARS + HASH_CHARS + 6`` ASCII characters whatever the id's length,
    and never special: no '/', no leading '.' or '-', never '.' or '..'.

    >>> export_filename("cli_20251108_145739", "json")
    'cli_20251108_145739-048aff14dfc8.json'
    >>> export_filename("../../.bashrc", "csv")
    'bashrc-1559504cfb83.csv'
    """
    digest = hashlib.sha256(session.encode("utf-8", "surrogatepass")).hexdigest()
    slug = _NOT_SLUG.sub("-", session)[:SLUG_CHARS].strip("-")
    short = digest[:HASH_CHARS]
    return f"{slug}-{short}.{fmt}" if slug else f"{short}.{fmt}"


def create(path: Path, *, overwrite: bool = False) -> IO[str]:
    """`path` opened for writing text; never through a symlink, never over another file.

    ``O_EXCL`` fails if anything exists at `path` (a symlink included, even a
    dangling one), and ``O_NOFOLLOW`` refuses a symlink planted there. With
    `overwrite`, an existing regular file is removed first, a symlink never.

    Raises:
        FileExistsError: Something is at `path`; the message says what.
        OSError: The file cannot be created (permissions, full disk, ...).
    """
    if overwrite and not path.is_symlink() and path.is_file():
        path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)  # the umask applies, as for open()
    except FileExistsError:
        link = path.is_symlink()
        what = "a symlink" if link else "a file"
        hint = "" if link else "; use --overwrite to replace it"
        raise FileExistsError(
            f"{path} exists and is {what}, not followed or replaced{hint}"
        ) from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="")
