"""``python -m examples.interview``: see `examples.interview.app`."""

from .app import main

raise SystemExit(main())
