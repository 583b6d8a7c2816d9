"""Imported once by the fork server of isolated players (:mod:`.isolation`): every
registered component, and PyTorch where the torch extra is installed, so that each
player process forked from it starts warm (a network round would otherwise import
torch in every process)."""

import importlib.util

from . import game  # noqa: F401
from .registry import KINDS, names

for _kind in KINDS:
    names(_kind)

if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401
    import torch.func  # noqa: F401
