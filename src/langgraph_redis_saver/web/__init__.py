"""``lgrs serve``: a local web view of stored sessions (the ``web`` extra).

The same views as the ``lgrs`` commands (sessions, a conversation, the
checkpoint timeline with diffs, exports, doctor), read through `Browser`
and rendered on the server. Needs ``pip install 'langgraph-redis-saver[web]'``
(Starlette, uvicorn, Jinja2); the ``lgrs`` command imports this package
only when ``serve`` runs.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
