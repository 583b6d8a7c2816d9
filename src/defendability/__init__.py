"""defendability: a laboratory for dynamic backdoor detection.

Plays the backdoor defense game of Christiano, Hilton, Lecomte and Xu (2024) on
function classes from learning theory, with the attackers and defenders of the
papers, and reports the defender's error with confidence intervals.

The referee (``play``, ``Game``, ``GameResult``) is imported on first use, so that
``import defendability`` costs little; the registry lookups are light and imported here.
"""

from __future__ import annotations

import importlib
from typing import Any

from .registry import build, lookup, names

__version__ = "0.1.0"
__all__ = ["Game", "GameResult", "play", "build", "lookup", "names", "__version__"]

_LAZY = {"Game": "game", "GameResult": "game", "play": "game"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
