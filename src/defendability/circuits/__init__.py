"""circuits: Boolean netlists, their bit-sliced evaluation, exact distances, equivalence
checks and Bristol Fashion files (THEORY.md §5.2)."""

from .bristol import from_bristol, load_bristol, save_bristol, to_bristol
from .distance import disagreements, exact_distance, first_disagreement
from .equivalence import Equivalence, check_equivalence, equivalent
from .netlist import (
    AND,
    MUX,
    NOT,
    OR,
    XOR,
    Circuit,
    CircuitBuilder,
    pack_bits,
    unpack_bits,
)
from .random import random_circuit

__all__ = [
    "AND",
    "MUX",
    "NOT",
    "OR",
    "XOR",
    "Circuit",
    "CircuitBuilder",
    "Equivalence",
    "check_equivalence",
    "disagreements",
    "equivalent",
    "exact_distance",
    "first_disagreement",
    "from_bristol",
    "load_bristol",
    "pack_bits",
    "random_circuit",
    "save_bristol",
    "to_bristol",
    "unpack_bits",
]
