"""Network weights on disk: safetensors, with the architecture in the file's metadata.

A file holds one float32 tensor per parameter name of the architecture and, in its
metadata, ``"architecture"`` (the JSON of :meth:`Architecture.describe`) and
``"format"`` (``"defendability-network/1"``). Loading checks every name, shape, dtype
and value against the architecture the file declares; no pickle is involved anywhere.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..errors import ParameterError
from .architecture import Architecture
from .backend import DTYPE

FORMAT = "defendability-network/1"


def save_weights(path: str | os.PathLike, arch: Architecture, weights: dict[str, np.ndarray]) -> None:
    """Write ``weights`` (float32 arrays named as ``arch.shapes()``) to ``path``."""
    from safetensors.numpy import save_file

    if not arch.check_weights(weights):
        raise ParameterError(f"weights do not fit {arch!r}: every parameter must be a finite float32 array of its "
                             "shape")
    save_file({n: np.ascontiguousarray(w) for n, w in weights.items()}, os.fspath(path),
              metadata={"format": FORMAT, "architecture": json.dumps(arch.describe())})


def load_weights(path: str | os.PathLike) -> tuple[Architecture, dict[str, np.ndarray]]:
    """The architecture and the weights of a file written by :func:`save_weights`
    (``ParameterError``, one line naming the file, on anything else)."""
    from safetensors import safe_open

    where = os.fspath(path)
    if not os.path.isfile(where):
        raise ParameterError(f"{where}: no such file")
    try:
        with safe_open(where, framework="numpy") as handle:
            meta = handle.metadata() or {}
            raw = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as err:  # noqa: BLE001 - the library's errors vary by kind of damage
        raise ParameterError(f"{where}: not a readable safetensors file ({type(err).__name__}: {err})") from None
    if meta.get("format") != FORMAT:
        raise ParameterError(f"{where}: not a network saved by defendability (format {meta.get('format')!r})")
    try:
        arch = Architecture.from_description(json.loads(meta.get("architecture", "")))
    except (json.JSONDecodeError, TypeError) as err:
        raise ParameterError(f"{where}: unreadable architecture metadata ({err})") from None
    shapes = arch.shapes()
    weights = {name: np.array(raw[name], dtype=DTYPE) for name in shapes if name in raw}
    if set(raw) != set(shapes) or not arch.check_weights(weights):
        raise ParameterError(f"{where}: the tensors do not match the declared {arch!r} (names, shapes, float32, "
                             "finite values)")
    return arch, weights
