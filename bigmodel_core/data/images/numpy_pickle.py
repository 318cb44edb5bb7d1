"""Unpickle numeric numpy arrays without running anything: the reader for CIFAR-10's pickles.

CIFAR-10's python version is a set of pickles of dicts holding numpy arrays and lists. A pickle
can name any Python callable to run while it loads (os.system, eval, ...), so an altered archive
could take over the computer. `NumpyOnlyUnpickler` resolves only the globals that numpy arrays
are pickled with, and even those are stand-ins that merely record the array's shape, dtype code
and raw bytes; `load_pickle` then builds each array itself with `np.frombuffer`, after checking
that the dtype is a plain number type and that the bytes fit the shape. No numpy constructor
ever runs on the pickle's arguments (an object array built from raw bytes would crash Python).
"""
from __future__ import annotations

import io
import pickle

import numpy as np

from ...errors import DataError, msg
from ..download import DELETE_HINT


class _Dtype:
    """Stand-in for `numpy.dtype` while unpickling: records its arguments, builds nothing."""

    def __init__(self, *args: object) -> None:
        self.args, self.state = args, None

    def __setstate__(self, state: object) -> None:
        self.state = state

    def real(self) -> np.dtype:
        """The numpy dtype, if it is a plain number type (never objects, records or sub-arrays)."""
        code = _text(self.args[0]) if self.args else None  # Python 2 pickles give b"u1"
        state = self.state if isinstance(self.state, tuple) else ()
        order = _text(state[1]) if len(state) > 1 else "|"
        if code not in PLAIN_DTYPES or order not in ("<", ">", "|", "=") or any(x is not None for x in state[2:5]):
            raise _refused_pickle(msg("engine.numpy_pickle.dtype", "build numpy.dtype({code})", code=repr(code)))
        return np.dtype(code).newbyteorder(order) if order in "<>" else np.dtype(code)


class _Array:
    """Stand-in for a pickled numpy array: records shape, dtype and raw bytes, builds nothing."""

    def __init__(self, *args: object) -> None:
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state

    def real(self) -> np.ndarray:
        """The array, rebuilt by `np.frombuffer` after checking that the bytes fit shape and dtype."""
        state = self.state if isinstance(self.state, tuple) else ()
        if len(state) == 5:
            state = state[1:]  # (version, shape, dtype, is_fortran, raw)
        if len(state) != 4 or not isinstance(state[1], _Dtype) or not isinstance(state[3], bytes):
            raise _refused_pickle(msg("engine.numpy_pickle.not_numbers", "build a numpy array that is not plain "
                                      "numbers"))
        shape, dtype, fortran, raw = state[0], state[1].real(), state[2], state[3]
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)) \
                or len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise _refused_pickle(msg("engine.numpy_pickle.bad_bytes",
                                      "build a numpy array whose bytes do not match its shape"))
        return np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _reconstruct(subtype: object, *args: object) -> _Array:
    if subtype is not _Array:
        raise _refused_pickle(msg("engine.numpy_pickle.subclass", "build a subclass of numpy.ndarray"))
    return _Array()


PLAIN_DTYPES = {"u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8", "b1"}
PICKLE_GLOBALS: dict[tuple[str, str], object] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): _Array,
    ("numpy", "dtype"): _Dtype,
}


class RefusedPickle(Exception):
    """Raised inside the unpickler; `load_pickle` turns it into a DataError naming the file."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action  # what the pickle asked for, e.g. "run posix.system"


def _refused_pickle(action: str) -> RefusedPickle:
    return RefusedPickle(action)


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numeric numpy arrays; any other global (os.system, eval...) is refused.

    Even the numpy globals are stand-ins: the pickle only fills in shape, dtype code and raw
    bytes, and `load_pickle` rebuilds each array with `np.frombuffer` after checking them, so no
    numpy constructor ever runs on attacker-chosen arguments (an object array built from raw
    bytes would crash the interpreter).
    """

    def find_class(self, module: str, name: str) -> object:
        found = PICKLE_GLOBALS.get((module, name))
        if found is None:
            raise _refused_pickle(msg("engine.numpy_pickle.run", "run {name}", name=f"{module}.{name}"))
        return found


def load_pickle(data: bytes, what: str) -> object:
    """Unpickle `data` (Python 2 strings as bytes), allowing nothing but containers and numeric arrays."""
    try:
        return _materialize(NumpyOnlyUnpickler(io.BytesIO(data), encoding="bytes").load())
    except RefusedPickle as e:
        raise DataError(msg("errors.numpy_pickle.refused", "The file {what} asks to {action} while being read, which "
                            "BigModel Lab never allows, so it was not read.", what=what, action=e.action),
                        msg("errors.numpy_pickle.refused.hint",
                            "Use the original archive from the official address; this one was altered.")) from None
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, AttributeError, IndexError,
            KeyError, RecursionError, MemoryError) as e:
        raise DataError(msg("errors.numpy_pickle.damaged", "The file {what} is damaged ({error}).", what=what,
                            error=f"{type(e).__name__}: {e}"), DELETE_HINT) from None


def _materialize(obj: object) -> object:
    """Replace the stand-ins in an unpickled tree of dicts, lists and tuples by real numpy objects."""
    if isinstance(obj, (_Array, _Dtype)):
        return obj.real()
    if isinstance(obj, dict):
        return {k: _materialize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(v) for v in obj)
    return obj
