"""numpy arrays and scalars with a data dtype (`np.ndarray`, `np.generic`)."""

from __future__ import annotations

import base64
import re
import sys
from typing import Any

from ._base import _bad, _items

__all__: list[str] = []

# numpy is never imported here: values are written only by an application that
# has it loaded, and read back only if it is loaded (else as plain data).
# Object dtypes (which pickle) and structured dtypes are refused.
_NP_DTYPE = re.compile(
    r"[<>|=]?(?:b1|[iu][1248]|f[248]|c(?:8|16)|[mM]8(?:\[[0-9]{0,4}[a-zA-Z]{1,2}\])?|[US][0-9]{1,6})"
)


def _numpy() -> Any:
    return sys.modules.get("numpy")


def _np_dtype(text: Any, value: Any) -> Any:
    if type(text) is not str or not _NP_DTYPE.fullmatch(text):
        raise _bad("np.ndarray", value)
    return _numpy().dtype(text)


def _ndarray_decode(value: Any) -> Any:
    text, shape, data = _items(value, "np.ndarray", 3)
    if _numpy() is None:
        return _ndarray_plain(value)
    if (
        type(shape) is not list
        or not all(type(n) is int and n >= 0 for n in shape)
        or type(data) is not bytes
    ):
        raise _bad("np.ndarray", value)
    dtype = _np_dtype(text, value)
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(data):
        raise _bad("np.ndarray", value)
    return _numpy().frombuffer(bytearray(data), dtype=dtype).reshape(shape)


def _ndarray_plain(value: Any) -> dict[str, Any]:
    text, shape, data = _items(value, "np.ndarray", 3)
    return {"__type__": "np.ndarray", "dtype": text, "shape": shape, **_b64(data)}


def _b64(data: Any) -> dict[str, Any]:
    if type(data) is dict:  # already a marker (plain decoding)
        return {"base64": data.get("base64")}
    if type(data) is not bytes:
        raise _bad("np.ndarray", data)
    return {"base64": base64.b64encode(data).decode("ascii")}


def _npscalar_decode(value: Any) -> Any:
    text, data = _items(value, "np.generic", 2)
    if _numpy() is None:
        return _npscalar_plain(value)
    dtype = _np_dtype(text, value)
    if type(data) is not bytes or len(data) != dtype.itemsize:
        raise _bad("np.generic", value)
    return _numpy().frombuffer(data, dtype=dtype)[0]


def _npscalar_plain(value: Any) -> dict[str, Any]:
    text, data = _items(value, "np.generic", 2)
    return {"__type__": "np.generic", "dtype": text, **_b64(data)}


def _ndarray_encode(obj: Any) -> list[Any]:
    return [obj.dtype.str, list(obj.shape), obj.tobytes(order="C")]
