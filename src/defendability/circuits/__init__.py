"""circuits: Boolean netlists, their bit-sliced evaluation, exact distances, equivalence
checks, Bristol Fashion files, the PRF circuits of THEORY.md §5, heuristic stand-ins for
obfuscation and threshold networks (THEORY.md §5.2, §5.3)."""

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
from .prf import GoldreichGGM, prf_circuit, punctured_circuit
from .random import random_circuit
from .standins import STANDINS, apply_standin
from .threshold import ThresholdNetwork, compile_threshold

__all__ = [
    "AND",
    "MUX",
    "NOT",
    "OR",
    "XOR",
    "Circuit",
    "CircuitBuilder",
    "Equivalence",
    "GoldreichGGM",
    "STANDINS",
    "ThresholdNetwork",
    "apply_standin",
    "check_equivalence",
    "compile_threshold",
    "disagreements",
    "equivalent",
    "exact_distance",
    "first_disagreement",
    "from_bristol",
    "load_bristol",
    "pack_bits",
    "prf_circuit",
    "punctured_circuit",
    "random_circuit",
    "save_bristol",
    "to_bristol",
    "unpack_bits",
]
