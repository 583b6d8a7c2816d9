"""classes: each module registers its components with the registry on import."""

from .base import Counted, CubeDomain, Function, FunctionClass, IntegerDomain, unwrap
from .circuits import CircuitFunction, Circuits
from .classifiers import Classifiers, RFFModel, SignedClassifier, TrainedClassifier
from .conjunctions import ConjunctionFunction, Conjunctions
from .halfspaces import HalfspaceFunction, Halfspaces
from .intervals import Intervals, IntervalUnion, ThresholdFunction, Thresholds
from .keyed_hash import HashFunction, KeyedHash
from .parities import Parities, ParityFunction, solve_gf2
from .prf_oracles import PRFOracle, PRFOracles, PuncturedPRFOracle
from .subsets import SubsetFunction, Subsets
from .table import Table, TableFunction
from .threshold_networks import ThresholdNetworkFunction, ThresholdNetworks
from .trees import TreeFunction, Trees, random_tree

__all__ = [
    "CircuitFunction",
    "Circuits",
    "Classifiers",
    "ConjunctionFunction",
    "Conjunctions",
    "Counted",
    "CubeDomain",
    "Function",
    "FunctionClass",
    "HalfspaceFunction",
    "Halfspaces",
    "HashFunction",
    "IntegerDomain",
    "Intervals",
    "IntervalUnion",
    "KeyedHash",
    "Parities",
    "ParityFunction",
    "PRFOracle",
    "PRFOracles",
    "PuncturedPRFOracle",
    "RFFModel",
    "SignedClassifier",
    "random_tree",
    "solve_gf2",
    "SubsetFunction",
    "Subsets",
    "Table",
    "TableFunction",
    "ThresholdFunction",
    "ThresholdNetworkFunction",
    "ThresholdNetworks",
    "Thresholds",
    "TrainedClassifier",
    "TreeFunction",
    "Trees",
    "unwrap",
]
