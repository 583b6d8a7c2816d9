"""Activation by a secret shift, shared by the lattice-style attackers (rff-clwe,
relu-sparse-pca): both move x along their secret direction, by +shift or -shift."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function


def shift_activation(f_star: Function, f: Function, x: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``x + shift`` or ``x - shift`` (same norms), the first at which f* differs from f
    both there and at x, as the referee asks (else ``x + shift``). ``x``: one point
    ``(d,)``; returns ``(d,)``."""
    point = np.asarray(x, dtype=np.float64)[None]
    natural = f(point)[0]
    candidates = (point + shift, point - shift)
    for x_act in candidates:
        label = f_star(x_act)[0]
        if label != f(x_act)[0] and label != natural:
            return x_act[0]
    return candidates[0][0]
