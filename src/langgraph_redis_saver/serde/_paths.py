"""Find every value that cannot be stored, with its path inside the state.

Only used after a write failed, to name all culprits in one error
(`value['plan'].steps[2].callback (builtins.function)`) instead of one per
failed run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = ["unstorable_paths"]

_MAX_FOUND: Final = 100
_MAX_DEPTH: Final = 200


def unstorable_paths(obj: Any, storable: Callable[[Any], bool]) -> list[tuple[str, str]]:
    """Return `(path, type name)` of each value that `storable` rejects, in order."""
    found: list[tuple[str, str]] = []
    # A module-level walk, not a closure that calls itself: that closure would
    # reach itself through its own cell, a reference cycle left for the GC by
    # every refused write (tests/unit/test_serde_cycles.py).
    _walk(obj, "value", 0, found, set(), storable)
    return found


def _walk(
    value: Any,
    path: str,
    depth: int,
    found: list[tuple[str, str]],
    seen: set[int],
    storable: Callable[[Any], bool],
) -> None:
    if len(found) >= _MAX_FOUND or depth > _MAX_DEPTH or id(value) in seen:
        return
    children = _children(value)
    if not storable(value):
        cls = type(value)
        found.append((path, f"{cls.__module__}.{cls.__qualname__}"))
        return
    if children is None:
        return
    seen.add(id(value))
    for suffix, child in children:
        _walk(child, path + suffix, depth + 1, found, seen, storable)


def _children(value: Any) -> list[tuple[str, Any]] | None:
    if isinstance(value, dict):
        return [(f"[{key!r}]", item) for key, item in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)) and not hasattr(value, "_fields"):
        return [(f"[{i}]", item) for i, item in enumerate(value)]
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict) and not isinstance(value, type):
        return [(f".{name}", item) for name, item in fields.items()]
    if hasattr(value, "_fields"):
        return [(f".{name}", getattr(value, name)) for name in value._fields]
    return None
