"""classes: each module registers its components with the registry on import."""

from .base import Counted, Function, FunctionClass, unwrap
from .conjunctions import ConjunctionFunction, Conjunctions
from .halfspaces import HalfspaceFunction, Halfspaces
from .intervals import IntervalUnion, Intervals, ThresholdFunction, Thresholds
from .keyed_hash import HashFunction, KeyedHash
from .parities import Parities, ParityFunction, solve_gf2
from .subsets import SubsetFunction, Subsets
from .table import Table, TableFunction

__all__ = [
    "Counted", "Function", "FunctionClass", "unwrap",
    "ConjunctionFunction", "Conjunctions",
    "HalfspaceFunction", "Halfspaces",
    "IntervalUnion", "Intervals", "ThresholdFunction", "Thresholds",
    "HashFunction", "KeyedHash",
    "Parities", "ParityFunction", "solve_gf2",
    "SubsetFunction", "Subsets",
    "Table", "TableFunction",
]
