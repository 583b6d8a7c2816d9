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

import copy

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..errors import IncompatibleError
from ..registry import Component, format_spec
from ..spaces import Distribution, UniformCube, UniformDiscrete


class Function(ABC):
    """A member of a function class: ``f(x) -> uint8 labels``, one per row of ``x``."""

    #: Other methods that evaluate the function on a batch (first argument ``x``, one
    #: evaluation per row): a :class:`Counted` view counts their rows as it counts calls
    #: (a network's ``logits``, ``probabilities``, ``activations``).
    counted_methods: tuple[str, ...] = ()

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
    still sees the representation; ``evaluations`` counts every point evaluated, by a
    call or by one of the function's ``counted_methods``. The
    count lives in a closure, not in an attribute, so that a component that changes the
    attributes of what it is handed does not change its reported cost (code set on
    forging it can; ``isolate=True`` keeps the count in the referee's process).
    """

    def __init__(self, function: Function):
        count = [0]

        def add(n: int) -> None:
            count[0] += n

        object.__setattr__(self, "function", function)
        object.__setattr__(self, "_add", add)
        object.__setattr__(self, "_count", lambda: count[0])

    @property
    def evaluations(self) -> int:
        """Points evaluated through this view."""
        return self._count()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._add(len(x))
        return self.function(x)

    def __getattr__(self, name: str) -> Any:
        if name == "function":  # not set yet (a copy being made): no view to forward to
            raise AttributeError(name)
        value = getattr(self.function, name)
        if name in type(self.function).counted_methods:
            add = self._add

            def counted(x: np.ndarray, *args: Any, **kwargs: Any) -> Any:
                add(len(x))
                return value(x, *args, **kwargs)

            return counted
        return value

    def key(self) -> tuple:
        return self.function.key()

    def __reduce__(self) -> tuple:
        # a pickle is a view of the function that counts from zero in its new process
        return (Counted, (self.function,))

    def __copy__(self) -> "Counted":
        return self._sharing(self.function)

    def __deepcopy__(self, memo: dict) -> "Counted":
        # a copy of the view still counts into this view's count: copying what one is
        # handed does not make evaluations free
        return self._sharing(copy.deepcopy(self.function, memo))

    def _sharing(self, function: Function) -> "Counted":
        twin = object.__new__(Counted)
        object.__setattr__(twin, "function", function)
        object.__setattr__(twin, "_add", self._add)
        object.__setattr__(twin, "_count", self._count)
        return twin


def unwrap(f: Function) -> Function:
    """The function behind a :class:`Counted` view (or ``f`` itself)."""
    return f.function if isinstance(f, Counted) else f


def exact_member(f: object, kind: type) -> Any:
    """The function behind ``f`` (a :class:`Counted` view is unwrapped) when it is of
    type ``kind`` exactly, else ``None``.

    ``contains`` starts here: a subclass of a member type, or of :class:`Counted`,
    could evaluate differently from what the representation says, so only the exact
    types count.
    """
    if type(f) is Counted:
        f = f.function
    if type(f) is not kind or shadows_behaviour(f):
        return None
    return f


def shadows_behaviour(obj: object) -> bool:
    """Whether ``obj`` has an instance attribute that hides a method or property of its
    type (``f._walk = ...``, ``net.evaluate = ...``): the object would then compute
    something its class's code does not, whatever its representation says."""
    own = getattr(obj, "__dict__", None)
    if not own:
        return False
    return not _behaviour_names(type(obj)).isdisjoint(own)


@functools.lru_cache(maxsize=1024)
def _behaviour_names(kind: type) -> frozenset[str]:
    """The names under which ``kind`` (or its metaclass) defines behaviour: methods,
    properties and other descriptors, as ``inspect.getattr_static`` would find them.
    Cached per type: the membership check runs on every function a player returns."""
    names = set()
    for klass in (*kind.__mro__, *type(kind).__mro__):
        for name, static in vars(klass).items():
            if callable(static) or isinstance(static, (property, staticmethod, classmethod)) \
                    or hasattr(static, "__get__"):
                names.add(name)
    return frozenset(names)


def is_array(value: object, shape: tuple[int, ...], dtype: Any) -> bool:
    """Whether ``value`` is a plain ``np.ndarray`` (no subclass) of this shape and dtype."""
    return type(value) is np.ndarray and value.shape == shape and value.dtype == np.dtype(dtype)


#: Entries of a (members x support points) block that :func:`lightest_flip` and its
#: callers compare at once (bounds their memory).
FLIP_CHUNK = 1 << 22


def row_blocks(rows: int, width: int, chunk: int = FLIP_CHUNK) -> Iterator[slice]:
    """Consecutive slices of ``range(rows)``, each of at most ``chunk // width`` rows
    (at least one), so that a block of ``(rows, width)`` entries stays below ``chunk``."""
    step = max(1, chunk // max(1, width))
    return (slice(start, min(rows, start + step)) for start in range(0, rows, step))


def exact_limbs(probs: np.ndarray) -> np.ndarray:
    """``(S, K)`` float64 limbs of the masses ``probs`` (``(S,)``, finite, >= 0): the
    limbs of each mass add up to it exactly, and for each limb the sum over any subset
    of the S points is exact in float64, in any order (so a matrix product computes it
    exactly): limb k holds multiples of a grid 2^g_k smaller than 2^(g_k + b) with
    b = 52 - bit_length(S), so that S of them sum below 2^(g_k + 52).
    """
    rest = np.asarray(probs, dtype=np.float64).reshape(-1).copy()
    if not bool(np.all(np.isfinite(rest) & (rest >= 0))):
        raise ValueError("masses must be finite and >= 0")
    bits = 52 - max(1, len(rest)).bit_length()
    limbs = []
    while rest.any():
        top = int(np.frexp(rest.max())[1])  # rest < 2^top
        grid = max(math.ldexp(1.0, top - bits), math.ldexp(1.0, -1074))
        limb = np.floor(rest / grid) * grid  # exact: grid is a power of two
        limbs.append(limb)
        rest = rest - limb  # exact: the bits of rest below the grid
    if not limbs:
        limbs.append(rest)
    return np.stack(limbs, axis=1)


def lightest_flip(labels: np.ndarray | Iterable[np.ndarray], own: np.ndarray, probs: np.ndarray) -> int | None:
    """The first row of least disagreement mass with ``own``, or ``None`` without rows.

    The exhaustive search behind every ``cheapest_flip`` over the members of a finite
    class on a finite support: ``labels`` holds the candidates' labels on the support
    points (the members that flip x, in member order), as one ``(M, S)`` array or as
    consecutive ``(m_i, S)`` row blocks (an iterable, so that callers can evaluate large
    classes a block at a time); ``own`` is f's labels there, ``(S,)``; ``probs`` the
    points' masses, ``(S,)``. The mass of a row is sum(probs[row != own]).

    Masses are ranked exactly as ``math.fsum`` (correctly rounded) ranks them, at the
    speed of a matrix product: a float product gives every row's approximate mass, and
    the rows within rounding of the least are ranked by their exact masses, from
    :func:`exact_limbs` (whose sums over any subset a float product computes exactly)
    and ``fsum`` of each row's few limb sums.
    Equal masses (a uniform support) are ranked by counting disagreements. Ties go to
    the first row. Returns the row's index in the concatenated rows.
    """
    own = np.asarray(own).reshape(-1)
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    blocks = [labels] if isinstance(labels, np.ndarray) else labels
    best, best_mass, offset = None, math.inf, 0
    if len(probs) and bool(np.all(probs == probs[0])):
        # equal masses p (a uniform support): the mass of k points is fl(k * p), which
        # is what fsum gives and grows with k, so counting disagreements ranks exactly
        for block in blocks:
            block = np.asarray(block)
            if len(block):
                counts = np.count_nonzero(block != own[None, :], axis=1)
                i = int(np.argmin(counts))
                mass = float(counts[i]) * float(probs[0])
                if mass < best_mass:
                    best, best_mass = offset + i, mass
            offset += len(block)
        return best
    # |fl(sum) - sum| <= S u sum for S non-negative terms in any order: rows within that
    # of the least approximate mass may be the least, and are ranked exactly
    slack = 1.0 + (len(probs) + 2) * 2.0 ** -50
    limbs = None
    for block in blocks:
        block = np.asarray(block)
        if len(block) == 0:
            continue
        disagree = block != own[None, :]
        approx = disagree.astype(np.float64) @ probs
        low = float(approx.min())
        if low <= best_mass * slack:
            near = np.flatnonzero(approx <= low * slack)
            if limbs is None:
                limbs = exact_limbs(probs)
            sums = disagree[near].astype(np.float64) @ limbs  # (len(near), K), exact
            for i, row in zip(near.tolist(), sums.tolist()):
                mass = math.fsum(row)
                if mass < best_mass:
                    best, best_mass = offset + i, mass
        offset += len(block)
    return best


class FunctionClass(Component, ABC):
    """A representation class F of functions X -> {0,1}.

    Subclasses set ``name`` and implement the abstract methods; the optional hooks
    (``members``, ``exact_distance``, ``cheapest_flip``, ``closure_predict``) unlock
    the components that need them, which otherwise say clearly what is missing.
    ``natural_learner``: the SPEC of the learner a ``vote`` defender uses on this class
    when none is given (``None``: chosen by :func:`~defendability.learners.base.natural_learner`
    from the hooks the class has).
    """

    name: str = "class"
    natural_learner: str | None = None
    #: Members' labels lie in [0, label_count): 2 for the theory's classes, the number
    #: of classes for networks.
    label_count: int = 2

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

    def rebuild(self, f: Function) -> Function:
        """A fresh member built from ``f``'s checked representation (``f`` passed
        :meth:`contains`), which the referee uses from then on: for the flip check, the
        distance and the defender. Classes whose members keep caches or nested objects
        (which a check of the representation might not cover) override it so that only
        the representation counts; the default returns ``f`` itself."""
        return f

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

    def exact_distance_points(self, dist: Distribution) -> int:
        """How many points :meth:`exact_distance` evaluates under ``dist`` (0 for a closed
        form, 2^n for an enumeration of the cube): the referee compares it with the
        samples an estimate would need and takes the cheaper (``game.check_distance``)."""
        return 0

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> Function | None:
        """A member g with g(x) != f(x) minimising the distance to f under ``dist``,
        or ``None`` if the class has no such member (or no method to find one).

        ``x`` is one point, shape ``point_shape``. The default is an exhaustive search,
        available when ``members()`` enumerates the class and ``dist.support()`` is
        finite: every member is evaluated at x and on the support, and the first member
        of least distance among those that flip x is returned, the distances ranked
        exactly (:func:`lightest_flip`; cost: one evaluation of every member on the
        support). Classes with structure override it.
        """
        members = self.members()
        support = dist.support()
        if members is None or support is None:
            return None
        points, probs = support
        f = unwrap(f)
        point = np.asarray(x)[None]
        fx = f(point)[0]
        flippers = [g for g in members if g(point)[0] != fx]
        blocks = (np.stack([g(points) for g in flippers[rows]])
                  for rows in row_blocks(len(flippers), len(points)))
        best = lightest_flip(blocks, f(points), probs)
        return None if best is None else flippers[best]

    def has_closure(self) -> bool:
        """Whether :meth:`closure_predict` is available (the class is intersection-closed
        and implements it): by default, whether the class overrides it."""
        return type(self).closure_predict is not FunctionClass.closure_predict

    def has_erm(self) -> bool:
        """Whether :meth:`fit_member` is available: by default, whether the class
        overrides it (a class that implements it for some parameters only overrides this
        too)."""
        return type(self).fit_member is not FunctionClass.fit_member

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
        """The name and every constructor parameter (defaults included), for reports
        and stored results: the ``repr`` is the SPEC of these, so a class's text does
        not change when a default does."""
        return {"name": self.name, **self.get_params()}

    def __repr__(self) -> str:
        return format_spec(self.name, {k: v for k, v in self.describe().items() if k != "name"})

    # Equal by value: two instances of the same type with equal attributes (arrays by
    # content). The referee hands every player a fresh copy of the class each round, and
    # attackers cache their designs per class (``functools.lru_cache``): the copies must
    # hit the same entries. (Not by SPEC alone: a table built from rows has the SPEC of
    # every other table of its size.)
    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return False
        mine, theirs = vars(self), vars(other)
        return mine.keys() == theirs.keys() and all(_same(mine[k], theirs[k]) for k in mine)

    def __hash__(self) -> int:
        # consistent with __eq__: equal attributes give equal parameters; a class whose
        # parameters cannot be read or hashed hashes by its type alone
        try:
            return hash((type(self), tuple(self.get_params().items())))
        except Exception:  # noqa: BLE001 - hashing must not fail on a user's class
            return hash(type(self))


def _same(a: Any, b: Any) -> bool:
    """Equality of two attribute values, arrays by dtype, shape and content."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    try:
        return bool(a == b)
    except (ValueError, TypeError):  # containers of arrays: compare their elements
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
            return type(a) is type(b) and all(_same(x, y) for x, y in zip(a, b))
        return a is b


class CubeDomain:
    """Mixin for classes over {0,1}^n (attribute ``n``): points are uint8 rows of
    length n, and the default distribution is uniform on the cube."""

    n: int

    @property
    def point_shape(self) -> tuple[int, ...]:
        return (self.n,)

    def default_distribution(self) -> Distribution:
        return UniformCube(self.n)

    def _is_cube(self, dist: Distribution) -> bool:
        """Whether ``dist`` is the uniform distribution on this class's cube {0,1}^n."""
        return isinstance(dist, UniformCube) and dist.n == self.n


class IntegerDomain:
    """Mixin for classes over [N] = {0..N-1} (attribute ``N``): points are integer
    scalars, and the default distribution is uniform on [N]."""

    N: int

    @property
    def point_shape(self) -> tuple[int, ...]:
        return ()

    def default_distribution(self) -> Distribution:
        return UniformDiscrete(self.N)
