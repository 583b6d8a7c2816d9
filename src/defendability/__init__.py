"""defendability: a laboratory for dynamic backdoor detection.

Plays the backdoor defense game of Christiano, Hilton, Lecomte and Xu (2024) on
function classes from learning theory, with the attackers and defenders of the
papers, and reports the defender's error with confidence intervals.
"""

from .game import Game, GameResult, play
from .registry import build, lookup, names

__version__ = "0.1.0"
__all__ = ["Game", "GameResult", "play", "build", "lookup", "names", "__version__"]
