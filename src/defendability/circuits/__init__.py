"""circuits: Boolean netlists and their bit-sliced evaluation (THEORY.md §5.2)."""

from .netlist import AND, MUX, NOT, OR, XOR, Circuit, CircuitBuilder, pack_bits, unpack_bits

__all__ = ["AND", "MUX", "NOT", "OR", "XOR", "Circuit", "CircuitBuilder", "pack_bits", "unpack_bits"]
