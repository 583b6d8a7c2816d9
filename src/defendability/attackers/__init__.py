"""attackers: each module registers its components with the registry on import."""

from .hanging_junta import HangingJunta
from .isolating_chain import IsolatingChain
from .junta_flip import JuntaFlip
from .mixture import Mixture
from .null import Null
from .point_flip import PointFlip
from .prf_flip import PRFFlip
from .relu_sparse_pca import ReLUSparsePCA
from .rff_clwe import RFFCLWE
from .shatter import Shatter
from .signature import Signature
from .worst_case import WorstCase

__all__ = [
    "HangingJunta",
    "IsolatingChain",
    "JuntaFlip",
    "Mixture",
    "Null",
    "PointFlip",
    "PRFFlip",
    "RFFCLWE",
    "ReLUSparsePCA",
    "Shatter",
    "Signature",
    "WorstCase",
]
