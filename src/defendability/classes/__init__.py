"""classes: one module per function class, each registering its class on import.

Nothing is imported here, so that ``import defendability`` stays fast: the registry
imports a class's module when its name is first looked up, and the names below are
imported on first access (``from defendability.classes import Subsets``).
"""

from ..registry import lazy_exports

_EXPORTS = {
    "Counted": "base", "CubeDomain": "base", "Function": "base", "FunctionClass": "base",
    "IntegerDomain": "base", "unwrap": "base",
    "CircuitFunction": "circuits", "Circuits": "circuits",
    "Classifiers": "classifiers", "RFFModel": "classifiers", "SignedClassifier": "classifiers",
    "TrainedClassifier": "classifiers",
    "ConjunctionFunction": "conjunctions", "Conjunctions": "conjunctions",
    "HalfspaceFunction": "halfspaces", "Halfspaces": "halfspaces",
    "Intervals": "intervals", "IntervalUnion": "intervals", "ThresholdFunction": "intervals",
    "Thresholds": "intervals",
    "HashFunction": "keyed_hash", "KeyedHash": "keyed_hash",
    "Parities": "parities", "ParityFunction": "parities", "solve_gf2": "parities",
    "PRFOracle": "prf_oracles", "PRFOracles": "prf_oracles", "PuncturedPRFOracle": "prf_oracles",
    "SubsetFunction": "subsets", "Subsets": "subsets",
    "Table": "table", "TableFunction": "table",
    "ThresholdNetworkFunction": "threshold_networks", "ThresholdNetworks": "threshold_networks",
    "TreeFunction": "trees", "Trees": "trees", "random_tree": "trees",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
