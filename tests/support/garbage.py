"""`cyclic_garbage`: what a block of code leaves for Python's cyclic GC."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cyclic_garbage"]


@contextmanager
def cyclic_garbage() -> Iterator[Counter[str]]:
    """Count, by type, the objects that the block leaves in reference cycles.

    Objects that only the cyclic GC can free cost a collection each time a
    few hundred of them pile up, and keep what they refer to (decoded
    buffers) alive until then: the saver's hot paths leave none.
    """
    found: Counter[str] = Counter()
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        found.update(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
