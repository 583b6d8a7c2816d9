"""Functions (members of a class, with their representation) and function classes.

A :class:`Function` maps a batch of points, shape ``(size, *point_shape)``, to labels
in {0,1}, shape ``(size,)``, dtype ``uint8``. Its attributes are its representation:
the set of a subset indicator, the vector of a parity, the weights of a halfspace.
A white-box defender may read them; a black-box one only calls the function.

A :class:`FunctionClass` is the F of the game: it knows its VC dimension, a shattered
set, how to realise a labelling of that set, which functions are members, how to draw
random members, and (where it can) the exact distance between two members.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import IncompatibleError
from ..spaces import Distribution, UniformCube, UniformDiscrete


class Function(ABC):
    """A member of a function class: ``f(x) -> uint8 labels``, one per row of ``x``."""

    @abstractmethod
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Labels in {0,1} (``uint8``, shape ``(len(x),)``) of a batch of points."""

    def key(self) -> tuple:
        """A hashable canonical form of the representation (for equality and caching)."""
        return (type(self).__name__,) + tuple((k, _freeze(v)) for k, v in sorted(vars(self).items()))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Function) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return (value.shape, value.dtype.str, value.tobytes())
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(value))
    return value


class Counted(Function):
    """The view of a function handed to a defender: forwards calls and counts points.

    Attribute reads are forwarded to the wrapped function, so a white-box defender
    still sees the representation; ``evaluations`` counts every point evaluated.
    """

    def __init__(self, function: Function):
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "evaluations", 0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        object.__setattr__(self, "evaluations", self.evaluations + len(x))
        return self.function(x)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.function, name)

    def key(self) -> tuple:
        return self.function.key()


def unwrap(f: Function) -> Function:
    """The function behind a :class:`Counted` view (or ``f`` itself)."""
    return f.function if isinstance(f, Counted) else f


class FunctionClass(ABC):
    """A representation class F of functions X -> {0,1}.

    Subclasses set ``name`` and implement the abstract methods; the optional hooks
    (``members``, ``exact_distance``, ``cheapest_flip``, ``closure_predict``) unlock
    the components that need them, which otherwise say clearly what is missing.
    """

    name: str = "class"

    @property
    @abstractmethod
    def vc_dimension(self) -> int:
        """VC dimension d of the class."""

    @property
    @abstractmethod
    def point_shape(self) -> tuple[int, ...]:
        """Shape of one input point."""

    @abstractmethod
    def default_distribution(self) -> Distribution:
        """The distribution attackers use when they do not choose one."""

    @abstractmethod
    def shattered_set(self) -> np.ndarray:
        """``d`` points the class shatters, shape ``(d, *point_shape)``."""

    @abstractmethod
    def realise(self, points: np.ndarray, labels: np.ndarray) -> Function:
        """A member labelling ``points`` (a subset of the shattered set) as ``labels``."""

    @abstractmethod
    def contains(self, f: Function) -> bool:
        """Whether ``f`` is a member of this class (checks the representation)."""

    @abstractmethod
    def random_member(self, rng: np.random.Generator) -> Function:
        """A member drawn from the class's reference prior."""

    def members(self) -> Iterator[Function] | None:
        """Every member, for small finite classes; ``None`` when not enumerable."""
        return None

    def size(self) -> int | None:
        """Number of members, for finite classes; ``None`` otherwise.

        The default counts what ``members()`` yields (``None`` when it yields nothing
        enumerable); classes with a closed-form count override it.
        """
        members = self.members()
        if members is None:
            return None
        return sum(1 for _ in members)

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        """Pr_{x~dist}[f(x) != g(x)] when the class has a closed form; else ``None``."""
        return None

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> Function | None:
        """A member g with g(x) != f(x) minimising the distance to f under ``dist``,
        or ``None`` if the class has no such member (or no method to find one).

        ``x`` is one point, shape ``point_shape``. The default is an exhaustive search,
        available when ``members()`` enumerates the class and ``dist.support()`` is
        finite: every member is evaluated on the support, and the first member of least
        distance among those that flip x is returned (cost: one evaluation of every
        member on the support). Classes with structure override it.
        """
        members = self.members()
        support = dist.support()
        if members is None or support is None:
            return None
        points, probs = support
        f = unwrap(f)
        point = np.asarray(x)[None]
        fx = f(point)[0]
        f_on_support = f(points)
        best, best_distance = None, np.inf
        for g in members:
            if g(point)[0] == fx:
                continue
            # fsum: near-equal candidates must be ranked by their exact masses
            distance = math.fsum(probs[g(points) != f_on_support])
            if distance < best_distance:
                best, best_distance = g, distance
        return best

    def closure_predict(self, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """Closure-algorithm predictions for intersection-closed classes.

        ``X``: ``(V, k, *point_shape)`` batches, ``Y``: ``(V, k)`` labels,
        ``queries``: ``(Q, *point_shape)``. Returns ``(V, Q)`` uint8: 1 iff the query
        lies in the smallest member containing the batch's positive examples.
        """
        raise IncompatibleError(f"class {self.name!r} is not intersection-closed: the closure learner does not apply")

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> Function:
        """Empirical risk minimisation: a member with the fewest mistakes on ``(X, Y)``
        (``X``: ``(k, *point_shape)``, ``Y``: ``(k,)``). Used by the ``erm`` learner."""
        raise IncompatibleError(f"class {self.name!r} has no empirical-risk minimiser")

    def describe(self) -> dict[str, Any]:
        """Parameters of the class, for reports."""
        return {"name": self.name}

    def __repr__(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in self.describe().items() if k != "name")
        return f"{self.name}:{params}" if params else self.name


class CubeDomain:
    """Mixin for classes over {0,1}^n (attribute ``n``): points are uint8 rows of
    length n, and the default distribution is uniform on the cube."""

    n: int

    @property
    def point_shape(self) -> tuple[int, ...]:
        return (self.n,)

    def default_distribution(self) -> Distribution:
        return UniformCube(self.n)


class IntegerDomain:
    """Mixin for classes over [N] = {0..N-1} (attribute ``N``): points are integer
    scalars, and the default distribution is uniform on [N]."""

    N: int

    @property
    def point_shape(self) -> tuple[int, ...]:
        return ()

    def default_distribution(self) -> Distribution:
        return UniformDiscrete(self.N)
