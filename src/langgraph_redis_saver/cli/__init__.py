"""The ``lgrs`` command: inspect sessions stored by langgraph-redis-saver.

Needs the ``cli`` extra (click and rich): ``pip install 'langgraph-redis-saver[cli]'``.
Without it, `main` says so and exits with status 1 instead of a traceback.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

try:
    from .app import cli  # registers `migrate`, loaded when it runs (app._Lazy)
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    if exc.name not in ("click", "rich") and not str(exc.name or "").startswith(
        ("click.", "rich.")
    ):
        raise
    _missing = exc.name

    def main() -> None:
        """Explain how to install the command's dependencies, and exit with 1."""
        print(
            f"The lgrs command needs {_missing}, which is not installed.\n"
            "Install the command's dependencies with:\n"
            "    pip install 'langgraph-redis-saver[cli]'",
            file=sys.stderr,
        )
        sys.exit(1)

else:

    def main() -> None:
        """Run the ``lgrs`` command line."""
        cli(prog_name="lgrs")
