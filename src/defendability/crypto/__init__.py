"""crypto: keyed primitives built from standard ones: the GGM puncturable PRF (THEORY.md
§5.1), input quantisation, the GKVZ signature backdoor (§6.1) and the CLWE
"Gaussian pancakes" sampler behind the lattice backdoor (§6.2)."""

from .clwe import (PancakeLaw, brute_force_secret, input_statistic, periodogram, random_secret, sample_pancakes,
                   weight_statistic)
from .ggm import GGM, PRGS, PuncturedKey, PuncturedPointError
from .quantise import Grid
from .signatures import SCHEMES as SIGNATURE_SCHEMES
from .signatures import BackdooredModel, Layout, SignatureBackdoor, Verifier

__all__ = [
    "GGM",
    "PRGS",
    "SIGNATURE_SCHEMES",
    "BackdooredModel",
    "Grid",
    "Layout",
    "PancakeLaw",
    "PuncturedKey",
    "PuncturedPointError",
    "SignatureBackdoor",
    "Verifier",
    "brute_force_secret",
    "input_statistic",
    "periodogram",
    "random_secret",
    "sample_pancakes",
    "weight_statistic",
]
