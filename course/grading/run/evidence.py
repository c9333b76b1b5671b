"""The values a hidden test needs, carried out of the student's kernel as plain data.

Hidden tests never run in the student's kernel. The grader asks the kernel for
the value of each expression a test names (``precision``, ``batch_seconds``,
``costs["accuracy"]``) through :func:`encode`, which turns it into JSON text:
numbers, strings, lists, dicts, NumPy arrays and scalars, pandas Series and
DataFrames, with a tag for each type JSON lacks. A model is carried as its
score on the declared data (:func:`encode_model`), and anything else as its
type name and a short ``repr``. The grader rebuilds the values with
:func:`decode`, which only ever constructs plain data, and judges them in its
own process with the real :mod:`course.checks`.

:func:`encode` runs in untrusted code's process, so its output is only ever
*the student's claim about their own values*: a submission can make it lie, but
that is no more than writing another answer. :func:`decode` is the part that
must hold against any input: it caps the size, accepts only the tags below and
never evaluates anything.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

#: The largest JSON text accepted for one test's values (characters).
MAX_CHARS = 2_000_000
#: The most items (list elements, dict entries, array cells) encoded for one value.
MAX_ITEMS = 200_000
#: How deep nested lists and dicts may go.
MAX_DEPTH = 20
#: The most memory one decoded array or scalar may take in the grader (item size x count).
MAX_BYTES = 64 * 2**20
#: NumPy dtype kinds carried as arrays (bool, ints, floats, complex, text).
ARRAY_KINDS = "biufU"


class EvidenceError(ValueError):
    """The kernel's answer cannot be read as the values of a test."""


# --- in the student's kernel ----------------------------------------------------------


def _float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"__float__": repr(value)}


def _array(value: Any, budget: list[int]) -> Any:
    if value.dtype.kind not in ARRAY_KINDS:
        return {"__ndarray__": [_plain(v, budget, 1) for v in value.ravel().tolist()],
                "dtype": "object", "shape": list(value.shape)}
    budget[0] -= int(value.size)
    if budget[0] < 0:
        raise EvidenceError("the value is too large to grade")
    items = value.ravel().tolist()
    if value.dtype.kind in "fc":
        items = [_float(float(v)) if isinstance(v, float) else str(v) for v in items]
    return {"__ndarray__": items, "dtype": value.dtype.str, "shape": list(value.shape)}


def _pandas(value: Any, budget: list[int], depth: int) -> Any:
    kind = type(value).__name__
    if kind == "Series":
        return {"__series__": {"values": _plain(value.to_numpy(), budget, depth),
                               "index": _plain(list(value.index), budget, depth),
                               "name": _plain(value.name, budget, depth)}}
    return {"__frame__": {"columns": _plain(list(value.columns), budget, depth),
                          "index": _plain(list(value.index), budget, depth),
                          "data": [_plain(value[c].to_numpy(), budget, depth)
                                   for c in value.columns]}}


def _other(value: Any) -> Any:
    if isinstance(value, numbers.Real):
        return {"__real__": _float(float(value)), "type": type(value).__name__}
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 (a repr that fails is still a value to describe)
        text = "<no repr>"
    return {"__object__": type(value).__name__, "repr": text[:200]}


def _plain(value: Any, budget: list[int], depth: int) -> Any:  # noqa: C901, PLR0911
    """Return ``value`` as JSON-ready data (the grammar :func:`decode` reads)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise EvidenceError("the value is too large to grade")
    if value is None or isinstance(value, bool):
        return value if value is None else bool.__bool__(value)
    if value is Ellipsis:
        return {"__ellipsis__": 1}
    if type(value) is int:
        return value
    if type(value) is float:
        return _float(value)
    if isinstance(value, str):
        return str.__str__(value)
    if type(value) in (list, tuple):
        items = [_plain(v, budget, depth + 1) for v in value]
        return items if type(value) is list else {"__tuple__": items}
    if type(value) is dict:
        return {"__dict__": [[_plain(k, budget, depth + 1), _plain(v, budget, depth + 1)]
                             for k, v in value.items()]}
    module = type(value).__module__.split(".")[0]
    if module == "numpy" and hasattr(value, "dtype"):
        if getattr(value, "shape", None) == () and value.dtype.kind in ARRAY_KINDS:
            item = value.item()
            return {"__scalar__": _float(item) if isinstance(item, float) else item,
                    "dtype": value.dtype.str}
        if type(value).__name__ == "ndarray":
            return _array(value, budget)
    if module == "pandas" and type(value).__name__ in ("Series", "DataFrame"):
        return _pandas(value, budget, depth + 1)
    return _other(value)


def encode(value: Any) -> str:
    """Return ``value`` as JSON text for the grader (runs in the student's kernel)."""
    try:
        return json.dumps({"value": _plain(value, [MAX_ITEMS], 0)})
    except EvidenceError as error:
        return json.dumps({"error": str(error)})


def encode_model(value: Any, on: Any) -> str:
    """Return a model as its accuracy on ``on = (X, y)``, or why it has none."""
    if value is None or value is Ellipsis or not (hasattr(value, "predict")
                                                  and hasattr(value, "score")):
        return encode(value)
    try:
        return json.dumps({"value": {"__model__": {"score": _float(float(value.score(*on)))}}})
    except Exception as error:  # noqa: BLE001 (any failure to score is the learner's to fix)
        return json.dumps({"value": {"__model__": {"error": type(error).__name__,
                                                   "message": str(error)[:300]}}})


# --- in the grader --------------------------------------------------------------------


class Opaque:
    """Stands in for a value the kernel could only describe (its type name and repr)."""

    def __init__(self, text: str) -> None:
        """Remember the ``repr`` the kernel reported."""
        self._text = text

    def __repr__(self) -> str:
        """Return the kernel's ``repr`` of the value."""
        return self._text


class Model:
    """Stands in for a trained model: ``score`` returns what it scored in the kernel."""

    def __init__(self, score: float | None, error: tuple[str, str] | None) -> None:
        """Remember the model's score on the declared data, or the error it raised."""
        self._score, self._error = score, error

    def predict(self, *args: Any) -> None:
        """Models have predict; the grader never calls it."""
        raise NotImplementedError("the grader only sees this model's score")

    def score(self, *args: Any) -> float:
        """Return the recorded score, or raise an error of the recorded kind."""
        if self._error is not None:
            name, message = self._error
            raise _named_error(name)(message)
        return float(self._score or 0.0)

    def __repr__(self) -> str:
        """Say what this is in a message."""
        return "<a trained model>"


def _identifier(name: Any, default: str) -> str:
    text = str(name)
    return text if text.isidentifier() and len(text) <= 60 else default


def _named_error(name: str) -> type[Exception]:
    return type(_identifier(name, "Error"), (Exception,), {})


def _opaque(type_name: Any, text: Any) -> Opaque:
    cls = type(_identifier(type_name, "object"), (Opaque,), {})
    return cls(str(text)[:200])


def _number(data: Any) -> float:
    if isinstance(data, dict) and set(data) == {"__float__"}:
        text = str(data["__float__"])
        if text not in ("nan", "inf", "-inf"):
            raise EvidenceError(f"unknown number {text!r}")
        return float(text)
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise EvidenceError("a number was expected")
    return float(data)


def _array_from(data: dict) -> Any:
    import numpy as np

    dtype, shape = str(data.get("dtype", "")), data.get("shape", [])
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise EvidenceError("an array's shape must be a list of sizes")
    items = data.get("__ndarray__")
    if not isinstance(items, list) or len(items) != math.prod(shape):
        raise EvidenceError("an array's cells do not match its shape")
    if dtype == "object":
        values = [_decode(v, 1) for v in items]
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array.reshape(shape)
    if not _safe_dtype(dtype):  # ("" in ARRAY_KINDS is True: test the dtype, not its kind)
        raise EvidenceError(f"arrays of dtype {dtype!r} are not accepted")
    kind = np.dtype(dtype).kind
    _check_bytes(np.dtype(dtype).itemsize, len(items))
    if kind in "fc":
        items = [complex(v) if isinstance(v, str) else _number(v) for v in items]
    return np.array(items, dtype=np.dtype(dtype)).reshape(shape)


def _safe_dtype(dtype: str) -> bool:
    import numpy as np

    try:
        found = np.dtype(dtype)
    except (TypeError, ValueError, OverflowError):
        return False
    return found.kind in ARRAY_KINDS and found.fields is None and found.subdtype is None


def _check_bytes(itemsize: int, count: int) -> None:
    """Refuse a value whose decoded size (item size x count) is over :data:`MAX_BYTES`.

    The message size does not bound it: ``dtype "<U100000000"`` makes each cell
    of a three-cell array take 400 MB.
    """
    if itemsize * max(count, 1) > MAX_BYTES:
        raise EvidenceError(f"the value is too large to grade ({max(count, 1)} item(s) of "
                            f"{itemsize} bytes, over the grader's {MAX_BYTES // 2**20} MB)")


def _scalar_from(data: dict) -> Any:
    import numpy as np

    dtype = str(data.get("dtype", ""))
    if not _safe_dtype(dtype):
        raise EvidenceError(f"scalars of dtype {dtype!r} are not accepted")
    _check_bytes(np.dtype(dtype).itemsize, 1)
    item = data.get("__scalar__")
    if np.dtype(dtype).kind in "fc":
        item = _number(item)
    return np.array(item, dtype=np.dtype(dtype))[()]


def _pandas_from(data: dict, depth: int) -> Any:
    import pandas as pd

    if "__series__" in data:
        parts = data["__series__"]
        return pd.Series(_decode(parts.get("values"), depth), index=_decode(parts.get("index"),
                                                                              depth),
                         name=_decode(parts.get("name"), depth))
    parts = data["__frame__"]
    columns = _decode(parts.get("columns"), depth)
    columns_data = [_decode(c, depth) for c in parts.get("data", [])]
    if not isinstance(columns, list) or len(columns) != len(columns_data):
        raise EvidenceError("a data frame's columns do not match its data")
    frame = pd.DataFrame(dict(enumerate(columns_data)), index=_decode(parts.get("index"), depth))
    frame.columns = columns
    return frame


def _tagged(data: dict, depth: int) -> Any:  # noqa: PLR0911 (one branch per tag)
    if set(data) == {"__ellipsis__"}:
        return Ellipsis
    if set(data) == {"__float__"}:
        return _number(data)
    if set(data) == {"__tuple__"}:
        return tuple(_decode(v, depth) for v in _list(data["__tuple__"]))
    if set(data) == {"__dict__"}:
        return {_key(_decode(k, depth)): _decode(v, depth) for k, v in _pairs(data["__dict__"])}
    if "__ndarray__" in data:
        return _array_from(data)
    if "__scalar__" in data:
        return _scalar_from(data)
    if "__series__" in data or "__frame__" in data:
        return _pandas_from(data, depth)
    if "__real__" in data:
        return _number(data["__real__"])
    if "__model__" in data:
        model = data["__model__"]
        if "error" in model:
            return Model(None, (str(model["error"]), str(model.get("message", ""))))
        return Model(_number(model.get("score")), None)
    if "__object__" in data:
        return _opaque(data["__object__"], data.get("repr", ""))
    raise EvidenceError(f"unknown kind of value {sorted(data)[:3]}")


def _list(data: Any) -> list:
    if not isinstance(data, list):
        raise EvidenceError("a list was expected")
    return data


def _pairs(data: Any) -> list:
    pairs = _list(data)
    if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise EvidenceError("a dict's items must be pairs")
    return pairs


def _key(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        raise EvidenceError("a dict key must be hashable") from None
    return key


def _decode(data: Any, depth: int) -> Any:
    if depth > MAX_DEPTH + 2:
        raise EvidenceError("the value is nested too deeply")
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [_decode(v, depth + 1) for v in data]
    if isinstance(data, dict):
        return _tagged(data, depth + 1)
    raise EvidenceError(f"unexpected {type(data).__name__}")


def decode(text: str) -> Any:
    """Rebuild a value from :func:`encode`'s text, or raise EvidenceError saying why not."""
    if not isinstance(text, str) or len(text) > MAX_CHARS:
        raise EvidenceError("the answer is too large to grade")
    try:
        data = json.loads(text)
    except ValueError:
        raise EvidenceError("the kernel's answer is not JSON") from None
    if not isinstance(data, dict):
        raise EvidenceError("the kernel's answer is not an object")
    if "error" in data:
        raise EvidenceError(str(data["error"])[:200])
    if "value" not in data:
        raise EvidenceError("the kernel's answer holds no value")
    try:
        return _decode(data["value"], 0)
    except MemoryError:
        raise EvidenceError("the value is too large to grade (the grader ran out of memory "
                            "rebuilding it)") from None
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as error:
        if isinstance(error, EvidenceError):
            raise
        raise EvidenceError(f"the value cannot be rebuilt ({error})") from None
