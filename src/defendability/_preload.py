"""Imported once by the fork server of isolated players (:mod:`.isolation`): every
registered component, so that each player process forked from it starts warm."""

from . import game  # noqa: F401
from .registry import KINDS, names

for _kind in KINDS:
    names(_kind)
