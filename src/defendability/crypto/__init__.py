"""crypto: keyed primitives built from standard ones: the GGM puncturable PRF (THEORY.md
§5.1), input quantisation and the GKVZ signature backdoor (§6.1)."""

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
    "PuncturedKey",
    "PuncturedPointError",
    "SignatureBackdoor",
    "Verifier",
]
