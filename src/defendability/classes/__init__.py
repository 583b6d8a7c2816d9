"""classes: each module registers its components with the registry on import."""

from .base import Counted, CubeDomain, Function, FunctionClass, IntegerDomain, unwrap
from .conjunctions import ConjunctionFunction, Conjunctions
from .halfspaces import HalfspaceFunction, Halfspaces
from .intervals import Intervals, IntervalUnion, ThresholdFunction, Thresholds
from .keyed_hash import HashFunction, KeyedHash
from .parities import Parities, ParityFunction, solve_gf2
from .subsets import SubsetFunction, Subsets
from .table import Table, TableFunction

__all__ = [
    "ConjunctionFunction",
    "Conjunctions",
    "Counted",
    "CubeDomain",
    "Function",
    "IntegerDomain",
    "FunctionClass",
    "HalfspaceFunction",
    "Halfspaces",
    "HashFunction",
    "IntervalUnion",
    "Intervals",
    "KeyedHash",
    "Parities",
    "ParityFunction",
    "SubsetFunction",
    "Subsets",
    "Table",
    "TableFunction",
    "ThresholdFunction",
    "Thresholds",
    "solve_gf2",
    "unwrap",
]
