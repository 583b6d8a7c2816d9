"""What the classes with signature-backdoored members share (``classifiers``, ``networks``):
the referee's own copy of a verifier, rebuilt from its public parameters."""

from __future__ import annotations

import numpy as np

from ..crypto.quantise import Grid
from ..crypto.signatures import SCHEMES, TAG_BYTES, Layout, Verifier
from ..errors import ParameterError
from .base import is_array, shadows_behaviour


def canonical_verifier(verifier: object, d: int, classes: int) -> Verifier | None:
    """A fresh verifier equal to ``verifier`` when it is a well-formed one for inputs of
    ``d`` coordinates and ``classes`` classes (exact types, no shadowed behaviour, the
    canonical carriers of its carrier seed), else ``None``."""
    if type(verifier) is not Verifier or shadows_behaviour(verifier):
        return None
    layout, scheme, key = (vars(verifier).get(k) for k in ("layout", "scheme", "verification_key"))
    if type(layout) is not Layout or shadows_behaviour(layout) or type(scheme) is not str or \
            scheme not in SCHEMES or type(key) is not bytes:
        return None
    grid = vars(layout).get("grid")
    if type(grid) is not Grid or shadows_behaviour(grid):
        return None
    try:
        fresh = Verifier(Layout(layout.d, layout.classes, TAG_BYTES[scheme],
                                Grid(grid.low, grid.step, grid.levels), layout.bits, layout.carrier_seed),
                         scheme, bytes(key))
    except (ParameterError, TypeError, AttributeError):
        return None
    mine = fresh.layout
    same = (type(layout.d) is int and layout.d == d and layout.classes == classes
            and layout.tag_bytes == mine.tag_bytes and layout.target_bits == mine.target_bits
            and layout.coordinates == mine.coordinates and layout.padding == mine.padding
            and is_array(layout.carriers, mine.carriers.shape, np.int64)
            and np.array_equal(layout.carriers, mine.carriers))
    return fresh if same else None
