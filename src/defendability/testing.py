"""Conformance checks for components: does a class, learner, attacker or defender keep
every rule of the API?

In the spirit of scikit-learn's ``check_estimator`` and Gymnasium's ``check_env``: one
call per component, which plays it on a small match and raises :class:`ContractError`
(an ``AssertionError``) naming the first rule it breaks::

    from defendability.testing import check_defender
    check_defender(MyDefender())            # or a SPEC: check_defender("my-defender:r=3")

A component is given as a SPEC, a built object, or its class (then its own ``test_spec``
is built: every registered component declares a SPEC that plays fast, and a
``test_match`` (:class:`~defendability.registry.Match`) naming the class, the opponent,
eps and the game mode to check it on). The test suite runs the four checks over every
registered name (``tests/test_testing.py``).

The rules, by the names the errors use:

Every component (``_check_constructor``):

- ``registered``: the class is registered under its ``name`` for its kind.
- ``test spec``: its ``test_spec`` names it (a subclass must declare its own).
- ``parameters``: ``get_params()`` returns exactly the constructor's parameters, in order.
- ``stores parameters``: each parameter given in the SPEC is returned by ``get_params``
  as given (stored under its own name, or the override says what was given), and the
  constructor called with ``get_params()`` makes an equal component (the constructor
  only stores, it does not transform).
- ``deterministic constructor``: the same SPEC twice gives equal components, and
  constructing draws nothing from numpy's or Python's global random generators.
- ``SPEC round trip``: ``repr`` is a SPEC that ``registry.build`` turns into a component
  with the same ``repr``.
- ``repr shows changed parameters`` (learners, attackers, defenders): the SPEC lists
  exactly the parameters that differ from their defaults.

Classes (:func:`check_class`): ``shapes`` (the default distribution's samples, members'
labels: ``(n,)`` uint8 in [0, ``label_count``), the empty batch ``(0, *point_shape)`` included),
``determinism`` (same seed, same member), ``membership`` (members drawn, realised,
rebuilt and enumerated are members; a stranger is not), ``realise`` (labels of the
shattered set as asked), ``distance`` (d(f, f) = 0, symmetric, in [0, 1]),
``cheapest flip`` (flips the point, is a member).

Learners (:func:`check_learner`): ``plays on its test class``, ``shapes`` (``(V, Q)``
uint8 in [0, ``label_count``), also for Q = 0 and k = 0), ``determinism`` (same batches, same
predictions, from the same learner again and from a fresh one), ``independent voters``
(a voter's predictions do not depend on the other voters' batches), ``no state kept``
(a call in between changes nothing), ``inputs unchanged``, ``set_only`` (a learner that
declares it predicts the same after an example is repeated), ``predict_batches``
(agrees with ``predict`` on the expanded batches).

Attackers (:func:`check_attacker`): ``plays on its test class``, ``determinism`` (same
stream, same D, f and f*, or the same activation), ``membership`` (f and f* are
members, D samples points of the class's shape), ``no state kept across rounds``
(rounds played in reverse order, or again by the same attacker, come out the same),
``parameters unchanged`` (playing leaves the SPEC as it was).

Defenders (:func:`check_defender`): ``plays on its test class``, ``resolved`` (a
defender with the class's choices made: same name, idempotent, a SPEC that round-trips,
the original unchanged), ``shapes`` (scores ``(n,)`` float and finite, decisions
``(n,)`` bool, the empty batch, 0/1 scores for a defender that is not ``graded``),
``determinism`` (same streams, same scores and decisions), ``score_and_decide`` (agrees
with ``score`` and with ``decide``, whichever of the two a detector overrides),
``counted cost`` (the evaluations and samples the referee reports, from its
``Counted`` view and its ``Sampler``, are all the evaluations of the function handed
over and all the draws from D), ``no state kept across fits`` (a fit after another
scores as a fit on its own), ``parameters unchanged``, ``plays a match`` (rounds in any
order come out the same).
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import numpy as np

from . import registry
from .batches import Batches
from .classes.base import Counted, Function, FunctionClass
from .errors import IncompatibleError
from .attackers.base import split_setup
from .spaces import Distribution, Sampler

__all__ = ["ContractError", "check_attacker", "check_class", "check_defender", "check_learner"]

#: Points drawn for the shape and determinism checks.
POINTS = 6
#: Rounds of the test match tried for one in which the attacker backdoors.
ATTEMPTS = 16
#: Mode poisoning in the contract: the training set's size and the poisoned fraction.
CONTRACT_TRAIN_SIZE = 200
CONTRACT_POISON = 0.05


class ContractError(AssertionError):
    """A component breaks a rule of the API: the message names the component, the rule
    and what was seen."""


def _fail(component: Any, rule: str, detail: str) -> NoReturn:
    raise ContractError(f"{_describe(component)} breaks rule {rule!r}: {detail}")


def _describe(component: Any) -> str:
    kind = registry.kind_of(component)
    noun = "component" if kind is None else ("class" if kind == "classes" else kind[:-1])
    try:
        text = repr(component)
    except Exception as err:  # noqa: BLE001 - a repr that raises is itself reported
        text = f"<{type(component).__name__}: repr raised {type(err).__name__}>"
    return f"{noun} {text!r}"


def _ensure(ok: bool, component: Any, rule: str, detail: str) -> None:
    if not ok:
        _fail(component, rule, detail)


def _rng(seed: int, stream: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


# -- getting the component -------------------------------------------------------------
def _component(kind: str, component: Any, base: type) -> tuple[Any, str | None]:
    """The object to check, and the SPEC it was built from: a SPEC as given, a class's
    ``test_spec``, or ``None`` for an object given built."""
    spec = None
    if isinstance(component, str):
        spec = component
    elif isinstance(component, type):
        spec = component.test_spec or getattr(component, "name", None)
        if registry.parse_spec(spec)[0] != component.name:
            noun = "class" if kind == "classes" else kind[:-1]
            raise ContractError(f"{noun} {component.name!r} breaks rule 'test spec': its test_spec {spec!r} "
                                "names another component (a subclass declares its own test_spec)")
    if spec is not None:
        component = registry.build(kind, spec)
    if not isinstance(component, base):
        raise ContractError(f"{component!r} is not a {base.__name__} (got {type(component).__name__})")
    return component, spec


def _fresh(component: Any) -> Any:
    """A new component made by the constructor from ``get_params()`` (a clone)."""
    return type(component)(**component.get_params())


def _same_value(stored: Any, given: Any) -> bool:
    """Whether a stored parameter is the value a SPEC gave (a nested component: the one
    its SPEC builds)."""
    if isinstance(stored, registry.Component) and isinstance(given, str):
        kind = registry.kind_of(stored)
        return kind is not None and repr(stored) == repr(registry.build(kind, given))
    return registry.format_value(stored) == registry.format_value(given)


def _params_text(component: Any) -> dict[str, str]:
    return {k: registry.format_value(v) for k, v in component.get_params().items()}


def _draws_global_rng(call: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``call``; whether it drew from numpy's or Python's global random generator
    (the states are put back as they were), and what it returned."""
    np_state, py_state = np.random.get_state(), random.getstate()
    out = call()
    np_after, py_after = np.random.get_state(), random.getstate()
    same = (np_state[0] == np_after[0] and np.array_equal(np_state[1], np_after[1])
            and np_state[2:] == np_after[2:] and py_state == py_after)
    np.random.set_state(np_state)
    random.setstate(py_state)
    return not same, out


def _check_constructor(kind: str, component: Any, spec: str | None) -> None:
    """The rules every component keeps (see the module docstring)."""
    cls = type(component)
    name = getattr(cls, "name", None)
    try:
        registered = registry.lookup(kind, name)
    except registry.SpecError:
        registered = None
    _ensure(registered is cls, component, "registered",
            f"{cls.__name__} is not registered as {name!r}: decorate it with @register({kind!r}, {name!r})")
    own = cls.test_spec or name
    _ensure(registry.parse_spec(own)[0] == name, component, "test spec",
            f"test_spec {own!r} names another component (a subclass declares its own test_spec)")

    declared = [p.name for p in registry.parameters(cls)]
    try:
        got = list(component.get_params())
    except AttributeError as err:
        _fail(component, "parameters", f"get_params() failed ({err}): store each parameter under its own "
                                       "name, or override get_params")
    _ensure(got == declared, component, "parameters",
            f"get_params() returns {got}, the constructor takes {declared}")

    params = component.get_params()
    # the SPEC it was built from, when it was: each value given is the value stored
    annotations = {p.name: p.annotation for p in registry.parameters(cls)}
    for key, value in (registry.parse_spec(spec)[1].items() if spec is not None else ()):
        coerced = registry._coerce(cls, key, annotations[key], value)
        _ensure(_same_value(params[key], coerced), component, "stores parameters",
                f"{spec!r} gives {key}={registry.format_value(coerced)}, get_params() returns "
                f"{registry.format_value(params[key])}")
    try:
        clone = _fresh(component)
    except Exception as err:  # noqa: BLE001
        _fail(component, "stores parameters", f"the constructor refuses its own get_params(): "
                                              f"{type(err).__name__}: {err}")
    _ensure(_params_text(clone) == _params_text(component), component, "stores parameters",
            f"the constructor called with get_params() = {_params_text(component)} stores "
            f"{_params_text(clone)}: it must store what it is given")

    text = repr(component)
    try:
        spec_name, spec_params = registry.parse_spec(text)
    except registry.SpecError as err:
        _fail(component, "SPEC round trip", f"repr {text!r} is not a SPEC ({err})")
    _ensure(spec_name == name, component, "SPEC round trip", f"repr {text!r} does not start with its name {name!r}")
    try:
        rebuilt = registry.build(kind, text)
    except Exception as err:  # noqa: BLE001 - any failure to rebuild breaks the rule
        _fail(component, "SPEC round trip", f"build({text!r}) failed: {type(err).__name__}: {err}")
    _ensure(repr(rebuilt) == text, component, "SPEC round trip",
            f"build({text!r}) gives {repr(rebuilt)!r}")
    _ensure(_params_text(rebuilt) == _params_text(component), component, "SPEC round trip",
            f"build({text!r}) has parameters {_params_text(rebuilt)}, not {_params_text(component)}")

    if kind != "classes":  # a class's repr shows every parameter (stable text for reports)
        defaults = {p.name: p for p in registry.parameters(cls)}
        changed = [k for k, v in params.items() if defaults[k].required or not registry.is_default(v, defaults[k].default)]
        _ensure(list(spec_params) == changed, component, "repr shows changed parameters",
                f"repr {text!r} shows {list(spec_params)}; the parameters that differ from their defaults "
                f"are {changed}")

    drew, (first, second) = _draws_global_rng(lambda: (registry.build(kind, text), registry.build(kind, text)))
    _ensure(not drew, component, "deterministic constructor",
            "the constructor drew from a global random generator (numpy.random or random); components draw "
            "only from the generator they are handed")
    _ensure(repr(first) == repr(second) and _params_text(first) == _params_text(second), component,
            "deterministic constructor", f"build({text!r}) twice gives {first!r} and {second!r}")


# -- classes ---------------------------------------------------------------------------
class _Stranger(Function):
    """A function that is a member of no library class (it labels everything 0)."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.zeros(len(x), dtype=np.uint8)


def _check_labels(component: Any, f: Function, x: np.ndarray, what: str, labels: int = 2) -> np.ndarray:
    y = f(x)
    _ensure(type(y) is np.ndarray and y.shape == (len(x),) and y.dtype == np.uint8, component, "shapes",
            f"{what} on {len(x)} points of shape {x.shape[1:]} returned "
            f"{type(y).__name__} {getattr(y, 'shape', '')} {getattr(y, 'dtype', '')}, expected ({len(x)},) uint8")
    _ensure(bool(np.all(y < labels)), component, "shapes", f"{what} returned labels outside [0, {labels})")
    return y


def check_class(component: FunctionClass | str | type, *, seed: int = 0) -> None:
    """Check a function class against every rule of the API (see the module docstring).

    ``component``: a class object, a SPEC, or a registered class type (its ``test_spec``
    is built). Raises :class:`ContractError` naming the first rule broken."""
    cls, spec = _component("classes", component, FunctionClass)
    _check_constructor("classes", cls, spec)
    shape = cls.point_shape
    _ensure(isinstance(shape, tuple) and all(isinstance(s, int) for s in shape), cls, "shapes",
            f"point_shape is {shape!r}, not a tuple of ints")
    d = cls.vc_dimension
    _ensure(isinstance(d, int) and d >= 0, cls, "shapes", f"vc_dimension is {d!r}, not an int >= 0")
    dist = cls.default_distribution()
    _ensure(isinstance(dist, Distribution), cls, "shapes", f"default_distribution() is {type(dist).__name__}")
    x = dist.sample(_rng(seed), POINTS)
    _ensure(isinstance(x, np.ndarray) and x.shape == (POINTS, *shape), cls, "shapes",
            f"default_distribution().sample(rng, {POINTS}) has shape {getattr(x, 'shape', None)}, "
            f"expected {(POINTS, *shape)}")
    _ensure(np.array_equal(x, dist.sample(_rng(seed), POINTS)), cls, "determinism",
            "the default distribution draws different points from the same seed")
    empty = dist.sample(_rng(seed), 0)
    _ensure(empty.shape == (0, *shape), cls, "shapes", f"a draw of 0 points has shape {empty.shape}")

    f = cls.random_member(_rng(seed, 1))
    cls.random_member(_rng(seed, 2))  # a draw in between must not matter
    again = cls.random_member(_rng(seed, 1))
    _ensure(isinstance(f, Function) and f.key() == again.key(), cls, "determinism",
            "random_member gives different members from the same seed (or one drawn before changed it)")
    _ensure(cls.contains(f), cls, "membership", "random_member returned a function contains() refuses")
    y = _check_labels(cls, f, x, "a member", cls.label_count)
    _check_labels(cls, f, empty, "a member on the empty batch", cls.label_count)
    rebuilt = cls.rebuild(f)
    _ensure(cls.contains(rebuilt) and np.array_equal(rebuilt(x), y), cls, "membership",
            "rebuild(f) is not a member labelling as f does")
    _ensure(not cls.contains(_Stranger()), cls, "membership", "contains() accepts a function of no class")

    try:
        points = np.asarray(cls.shattered_set())
    except IncompatibleError:
        points = None  # a class that realises no labelling (trained models) says so
    if points is not None:
        _ensure(points.shape == (d, *shape), cls, "realise",
                f"shattered_set() has shape {points.shape}, expected (vc_dimension={d}, *{shape})")
        rng = _rng(seed, 3)
        labellings = [np.zeros(d, np.uint8), np.ones(d, np.uint8)] + \
            [rng.integers(0, 2, d, dtype=np.uint8) for _ in range(4)]
        for labels in labellings:
            g = cls.realise(points, labels)
            _ensure(cls.contains(g), cls, "membership", f"realise(T, {labels.tolist()}) is not a member")
            _ensure(np.array_equal(_check_labels(cls, g, points, "a realised member"), labels), cls, "realise",
                    f"realise(T, {labels.tolist()}) labels T as {g(points).tolist()}")

    g = cls.random_member(_rng(seed, 4))
    same = cls.exact_distance(f, f, dist)
    _ensure(same is None or same == 0.0, cls, "distance", f"exact_distance(f, f) = {same}, not 0")
    there, back = cls.exact_distance(f, g, dist), cls.exact_distance(g, f, dist)
    _ensure(there == back and (there is None or 0.0 <= there <= 1.0), cls, "distance",
            f"exact_distance is {there} one way and {back} the other (must be symmetric, in [0, 1])")

    members = cls.members()
    if members is not None:
        for h in itertools.islice(members, 5):
            _ensure(cls.contains(h), cls, "membership", "members() yields a function contains() refuses")
    flipped = cls.cheapest_flip(f, x[0], dist)
    if flipped is not None:
        _ensure(cls.contains(flipped) and flipped(x[:1])[0] != f(x[:1])[0], cls, "cheapest flip",
                "cheapest_flip(f, x, D) is not a member that flips x")


# -- learners --------------------------------------------------------------------------
def check_learner(component: Any, *, cls: FunctionClass | str | None = None, seed: int = 0) -> None:
    """Check a learner against every rule of the API (see the module docstring), on
    ``cls`` (default: the learner's ``test_match.cls``)."""
    from .learners.base import Learner

    learner, spec = _component("learners", component, Learner)
    _check_constructor("learners", learner, spec)
    fclass = registry.build("classes", cls if cls is not None else learner.test_match.cls)
    try:
        learner.check_class(fclass)
    except IncompatibleError as err:
        _fail(learner, "plays on its test class", f"check_class({fclass!r}) refuses: {err}")
    shape = fclass.point_shape
    dist, rng = fclass.default_distribution(), _rng(seed)
    target = fclass.random_member(rng)
    V, k, Q = 4, 5, POINTS

    def batch(v: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        X = dist.sample(rng, v * size).reshape(v, size, *shape)
        return X, np.asarray(target(X.reshape(v * size, *shape)), dtype=np.uint8).reshape(v, size)

    X, Y = batch(V, k)
    queries = np.concatenate([X[0, :2], dist.sample(rng, Q - 2)])  # two queries the first voter has seen
    copies = (X.copy(), Y.copy(), queries.copy())

    def predictions(who: Any, X: np.ndarray, Y: np.ndarray, q: np.ndarray, what: str) -> np.ndarray:
        out = who.predict(fclass, X, Y, q)
        expected = (X.shape[0], len(q))
        _ensure(type(out) is np.ndarray and out.shape == expected and out.dtype == np.uint8, learner, "shapes",
                f"predict on {what} returned {type(out).__name__} {getattr(out, 'shape', '')} "
                f"{getattr(out, 'dtype', '')}, expected {expected} uint8")
        _ensure(bool(np.all(out < fclass.label_count)), learner, "shapes",
                f"predict on {what} returned labels outside [0, {fclass.label_count})")
        return out

    out = predictions(learner, X, Y, queries, f"V={V} batches of k={k}")
    _ensure(all(np.array_equal(a, b) for a, b in zip((X, Y, queries), copies)), learner, "inputs unchanged",
            "predict changed the batches, labels or queries it was handed")
    predictions(learner, X, Y, queries[:0], "Q=0 queries")
    predictions(learner, X[:1, :0], Y[:1, :0], queries, "a batch of k=0 examples")
    X2, Y2 = batch(2, k + 2)
    predictions(learner, X2, Y2, queries, "other batches")  # a call in between must change nothing
    _ensure(np.array_equal(predictions(learner, X, Y, queries, "the first batches again"), out), learner,
            "no state kept", "predicting on other batches in between changed the predictions")
    _ensure(np.array_equal(predictions(_fresh(learner), X, Y, queries, "a fresh learner"), out), learner,
            "determinism", "a fresh learner with the same parameters predicts differently")
    for v in range(V):
        alone = predictions(learner, X[v:v + 1], Y[v:v + 1], queries, f"voter {v} alone")
        _ensure(np.array_equal(alone[0], out[v]), learner, "independent voters",
                f"voter {v} predicts differently alone than with the other voters")
    if learner.set_only:
        repeated = predictions(learner, np.concatenate([X, X, X[:, :1]], axis=1),
                               np.concatenate([Y, Y, Y[:, :1]], axis=1), queries, "batches with their examples repeated")
        _ensure(np.array_equal(repeated, out), learner, "set_only",
                "set_only is declared, but repeating examples changes the predictions")
    # the batches as a finite distribution stores them: counts over the distinct points
    # (set_only learners then see each batch's distinct points only)
    flat = X.reshape(V * k, -1)
    distinct, inverse = np.unique(flat, axis=0, return_inverse=True)
    counts = np.zeros((V, len(distinct)), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(V), k), inverse.reshape(-1)), 1)
    points = distinct.reshape(len(distinct), *shape).astype(X.dtype)
    labels = np.asarray(target(points), dtype=np.uint8)
    batches = Batches(points, counts=counts)
    expanded = batches.indices()
    via = learner.predict_batches(fclass, batches, labels, queries)
    _ensure(np.array_equal(np.asarray(via), predictions(learner, points[expanded], labels[expanded], queries,
                                                        "the expanded batches")), learner, "predict_batches",
            "predict_batches on batches stored as counts disagrees with predict on the expanded batches")


# -- attackers -------------------------------------------------------------------------
def _match(component: Any, overrides: dict[str, Any]) -> registry.Match:
    given = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(component.test_match, **given)


def _planting(attacker: Any, mode: str) -> bool:
    return mode == "perturbation" or (mode == "static" and not attacker.triggered)


def _attack(attacker: Any, fclass: FunctionClass, match: registry.Match, seed: int
            ) -> tuple[Distribution, Function, Function | None, np.ndarray, np.ndarray]:
    """One round's moves, as the referee asks them: ``(D, f, f*, x_backdoor, x_clean)``
    from the attacker's stream ``seed`` (the referee's draws from a stream of their own)."""
    own, referee = _rng(seed, 10), _rng(seed, 11)
    dist, f, state = split_setup(attacker.setup(fclass, match.eps, own))
    if match.mode == "poisoning":  # as the referee plays it, on a small training set
        X = dist.sample(referee, CONTRACT_TRAIN_SIZE)
        y = np.asarray(f(X)).astype(np.int64)
        f = fclass.fit_member(X, y.astype(np.uint8))
        shown, clean = dist.sample(referee, 2)
        poisoned = attacker.poison(fclass, dist, f, X.copy(), y.copy(), shown.copy(),
                                   int(CONTRACT_TRAIN_SIZE * CONTRACT_POISON), match.eps, own, **state)
        f_star = None if poisoned is None else fclass.fit_member(poisoned[0], np.asarray(poisoned[1], np.uint8))
        return dist, f, f_star, shown, clean
    shown, clean = dist.sample(referee, 2)
    if match.mode == "predicate":
        chosen = attacker.choose_trigger(fclass, dist, f, contract_predicate(), match.eps, own, **state)
        shown = shown if chosen is None else np.asarray(chosen)
    if _planting(attacker, match.mode):
        f_star = attacker.plant(fclass, dist, f, match.eps, own, **state)
        x_backdoor = shown if f_star is None else np.asarray(attacker.activate(fclass, f_star, shown.copy(), own,
                                                                                **state))
    else:
        f_star = attacker.backdoor(fclass, dist, f, shown.copy(), match.eps, own, **state)
        x_backdoor = shown
    return dist, f, f_star, x_backdoor, clean


def contract_predicate() -> Any:
    """The predicate the contract plays mode predicate with (cheap: T = 4, z = 2)."""
    from .predicate import SALT_BYTES, Predicate

    return Predicate(bytes(SALT_BYTES), 4, 2)


def _mode_rules(mode: str) -> dict[str, Any]:
    """The rules of the contract's short matches in the variants' modes: the contract's
    predicate (:func:`contract_predicate`) and training set."""
    if mode == "predicate":
        return {"predicate_iterations": 4, "predicate_bits": 2}
    if mode == "poisoning":
        return {"train_size": CONTRACT_TRAIN_SIZE, "poison": CONTRACT_POISON}
    return {}


def _key(f: Function | None) -> Any:
    return None if f is None else f.key()


def _check_rounds(component: Any, make_game: Callable[[], Any], seed: int, rule: str) -> None:
    """Rounds in reverse order, and again by the same game, come out the same."""
    rounds = [0, 1, 2]
    game = make_game()
    forward = game.play_rounds(seed, rounds)
    again = game.play_rounds(seed, rounds)
    backward = make_game().play_rounds(seed, rounds[::-1])[::-1]
    _ensure(forward == again, component, rule, "the same rounds played again by the same players come out "
                                               "differently: something is kept from one round to the next")
    _ensure(forward == backward, component, rule, "rounds played in reverse order come out differently: "
                                                  "something is kept from one round to the next")


def check_attacker(component: Any, *, cls: FunctionClass | str | None = None, defender: Any = None,
                   eps: float | None = None, mode: str | None = None, seed: int = 0) -> None:
    """Check an attacker against every rule of the API (see the module docstring), on its
    ``test_match`` (each keyword replaces one part of it)."""
    from .attackers.base import Attacker
    from .game import Game

    attacker, given = _component("attackers", component, Attacker)
    _check_constructor("attackers", attacker, given)
    match = _match(attacker, {"cls": cls, "defender": defender, "eps": eps, "mode": mode})
    fclass = registry.build("classes", match.cls)
    spec = repr(attacker)
    try:
        attacker.check_class(fclass)
    except IncompatibleError as err:
        _fail(attacker, "plays on its test class", f"check_class({fclass!r}) refuses: {err}")
    _ensure(match.mode in attacker.modes, attacker, "plays on its test class",
            f"its test mode {match.mode!r} is not one of the modes it declares, {attacker.modes}")

    opponent = registry.build("defenders", match.defender).resolved(fclass)

    def player() -> Any:  # a fresh attacker, bound to the defender as the referee binds it
        return _fresh(attacker).against(opponent)

    # the attacker itself plays first (bound as the referee binds it: adaptive attackers
    # bind a copy), so that a change it makes to itself shows below
    first = _attack(attacker.against(opponent), fclass, match, seed)
    second = _attack(player(), fclass, match, seed)
    dist, f, f_star, x_backdoor, _ = first
    probe = _rng(seed, 12)
    _ensure(f.key() == second[1].key() and _key(f_star) == _key(second[2])
            and np.array_equal(dist.sample(probe, POINTS), second[0].sample(_rng(seed, 12), POINTS))
            and np.array_equal(x_backdoor, second[3]), attacker, "determinism",
            "two attackers with the same parameters and the same stream chose different D, f, f* or inputs")
    _ensure(_member(fclass, f), attacker, "membership", "setup returned an f that is not a member")
    _ensure(dist.sample(probe, 1).shape == (1, *fclass.point_shape), attacker, "membership",
            f"D samples points of shape {dist.sample(probe, 1).shape[1:]}, the class's are {fclass.point_shape}")
    if f_star is not None:
        _ensure(_member(fclass, f_star), attacker, "membership", "the backdoored f* is not a member")

    def game() -> Any:
        return Game(match.cls, _fresh(attacker), match.defender, match.eps, mode=match.mode, trace=match.trace,
                    **_mode_rules(match.mode))

    _check_rounds(attacker, game, seed, "no state kept across rounds")
    _ensure(repr(attacker) == spec, attacker, "parameters unchanged", f"its SPEC was {spec!r} before playing")


def _member(fclass: FunctionClass, f: object) -> bool:
    return isinstance(f, Function) and fclass.contains(f)


# -- defenders -------------------------------------------------------------------------
class _CountingDistribution(Distribution):
    """``D`` seen through a counter of the points drawn from it (``drawn``)."""

    def __init__(self, dist: Distribution):
        self.dist, self.drawn = dist, 0
        self.point_shape = dist.point_shape

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        self.drawn += int(size)
        return self.dist.sample(rng, size)

    def sample_batches(self, rng: np.random.Generator, batches: int, k: int) -> Batches:
        self.drawn += int(batches) * int(k)
        return self.dist.sample_batches(rng, batches, k)

    def support(self) -> tuple[np.ndarray, np.ndarray] | None:
        return self.dist.support()


@contextmanager
def _evaluations_of(f: Function) -> Iterator[list[int]]:
    """Count the points ``f`` itself evaluates while the body runs (through a
    :class:`Counted` view or not): ``[count]``. The count is kept by wrapping the
    ``__call__`` of f's type, and its ``counted_methods``, for the duration, and counts
    calls on f only."""
    kind, count = type(f), [0]
    names = ("__call__", *kind.counted_methods)
    own = {name: kind.__dict__.get(name) for name in names}

    def wrap(original: Any) -> Any:
        def counting(self: Function, x: np.ndarray, *args: Any, **kwargs: Any) -> Any:
            if self is f:
                count[0] += len(x)
            return original(self, x, *args, **kwargs)
        return counting

    for name in names:
        setattr(kind, name, wrap(getattr(kind, name)))
    try:
        yield count
    finally:
        for name in names:
            if own[name] is None:
                delattr(kind, name)
            else:
                setattr(kind, name, own[name])


def _fit(defender: Any, fclass: FunctionClass, g: Function, dist: Distribution, match: registry.Match,
         seed: int, trace: Any) -> tuple[Any, Counted, Sampler, _CountingDistribution, list[int]]:
    counting = _CountingDistribution(dist)
    counted, sampler = Counted(g), Sampler(counting, _rng(seed, 20))
    extra: dict[str, Any] = {"trace": trace} if getattr(defender, "uses_trace", False) else {}
    if getattr(defender, "uses_predicate", False):
        extra["predicate"] = contract_predicate()
    with _evaluations_of(g) as evaluations:
        detector = defender.fit(fclass, counted, sampler, match.eps, _rng(seed, 21), **extra)
    return detector, counted, sampler, counting, evaluations


def check_defender(component: Any, *, cls: FunctionClass | str | None = None, attacker: Any = None,
                   eps: float | None = None, mode: str | None = None, trace: bool | None = None,
                   seed: int = 0) -> None:
    """Check a defender against every rule of the API (see the module docstring), on its
    ``test_match`` (each keyword replaces one part of it): fits on the attacker's f and
    f*, and a short match."""
    from .attackers.base import Attacker
    from .defenders.base import Defender, Detector
    from .game import Game
    from .trace import Trace

    defender, given = _component("defenders", component, Defender)
    _check_constructor("defenders", defender, given)
    match = _match(defender, {"cls": cls, "attacker": attacker, "eps": eps, "mode": mode, "trace": trace})
    fclass = registry.build("classes", match.cls)
    spec = repr(defender)
    try:
        defender.check_class(fclass)
    except IncompatibleError as err:
        _fail(defender, "plays on its test class", f"check_class({fclass!r}) refuses: {err}")

    resolved = defender.resolved(fclass)
    _ensure(isinstance(resolved, Defender) and resolved.name == defender.name, defender, "resolved",
            f"resolved({fclass!r}) returned {resolved!r}, not a {defender.name!r} defender")
    _ensure(repr(resolved.resolved(fclass)) == repr(resolved), defender, "resolved",
            f"resolving twice gives {resolved.resolved(fclass)!r}, once {resolved!r}")
    _ensure(repr(defender) == spec, defender, "resolved", f"resolved() changed the defender itself (was {spec!r})")
    if resolved is not defender:
        _check_constructor("defenders", resolved, None)
    resolved_spec = repr(resolved)

    opponent = registry.build("attackers", match.attacker)
    if not isinstance(opponent, Attacker):
        raise ContractError(f"test_match.attacker {match.attacker!r} is not an attacker")
    opponent.check_class(fclass)
    opponent = opponent.against(resolved)
    # the first of a few rounds with a backdoor, so that both sides are fitted when the
    # attacker can backdoor at all (then x holds a point where f and f* differ)
    for attempt in range(ATTEMPTS):
        dist, f, f_star, x_backdoor, clean = _attack(opponent, fclass, match, seed + attempt)
        if f_star is not None:
            break
    x = np.concatenate([dist.sample(_rng(seed, 30), POINTS - 2), clean[None], x_backdoor[None]])
    empty = x[:0]
    tape = None
    if match.trace:
        tape = Trace.from_stream(opponent, fclass, match.eps, _rng(seed + attempt, 10), mode=match.mode)
    sides = [("f", f, tape)]
    if f_star is not None:
        sides.append(("f*", f_star, None if tape is None else dataclasses.replace(tape, x_star=x_backdoor)))

    for side, g, side_trace in sides:
        detector, counted, sampler, counting, evaluations = _fit(_fresh(resolved), fclass, g, dist, match, seed,
                                                                 side_trace)
        _ensure(isinstance(detector, Detector), defender, "shapes",
                f"fit returned {type(detector).__name__}, not a Detector")
        with _evaluations_of(g) as more:
            scores = detector.score(x)
        _ensure(type(scores) is np.ndarray and scores.shape == (len(x),) and np.issubdtype(scores.dtype, np.floating),
                defender, "shapes", f"score on {len(x)} inputs returned {type(scores).__name__} "
                                    f"{getattr(scores, 'shape', '')} {getattr(scores, 'dtype', '')}, "
                                    f"expected ({len(x)},) float")
        _ensure(bool(np.all(np.isfinite(scores))), defender, "shapes", "score returned NaN or infinite values")
        if not resolved.graded:
            _ensure(bool(np.all((scores == 0) | (scores == 1))), defender, "shapes",
                    "graded is False (0/1 scores), but score returned other values")
        _ensure(counted.evaluations == evaluations[0] + more[0], defender, "counted cost",
                f"g evaluated {evaluations[0] + more[0]} points on the {side} side, its Counted view saw "
                f"{counted.evaluations}: the referee would report a cost below the real one")
        _ensure(sampler.drawn == counting.drawn, defender, "counted cost",
                f"{counting.drawn} points were drawn from D on the {side} side, the Sampler reports "
                f"{sampler.drawn}")
        # three detectors from identical fits: whatever a detector draws when it scores,
        # the referee's one call must agree with score and with decide
        fits = [_fit(_fresh(resolved), fclass, g, dist, match, seed, side_trace)[0] for _ in range(3)]
        decisions = fits[2].decide(x)
        _ensure(type(decisions) is np.ndarray and decisions.shape == (len(x),) and decisions.dtype == np.bool_,
                defender, "shapes", f"decide on {len(x)} inputs returned {type(decisions).__name__} "
                                    f"{getattr(decisions, 'shape', '')} {getattr(decisions, 'dtype', '')}, "
                                    f"expected ({len(x)},) bool")
        for what, dtype in (("score", np.floating), ("decide", np.bool_)):
            try:
                out = getattr(detector, what)(empty)
            except Exception as err:  # noqa: BLE001 - the empty batch must simply work
                _fail(defender, "shapes", f"{what} on the empty batch {empty.shape} raised "
                                          f"{type(err).__name__}: {err}")
            _ensure(type(out) is np.ndarray and out.shape == (0,) and np.issubdtype(out.dtype, dtype), defender,
                    "shapes", f"{what} on the empty batch {empty.shape} returned {type(out).__name__} "
                              f"{getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}")

        both = fits[0].score_and_decide(x)
        _ensure(np.array_equal(fits[1].score(x), scores), defender, "determinism",
                f"two fits from the same streams score the {side} side differently")
        _ensure(np.array_equal(np.asarray(both[0]), scores), defender, "score_and_decide",
                "score_and_decide's scores differ from score's")
        _ensure(np.array_equal(np.asarray(both[1]), decisions), defender, "score_and_decide",
                "score_and_decide's decisions differ from decide's")

    # no state across fits: the defender itself fits one side after the other (f, then
    # f* or f again), and the second fit must score as a fit on its own
    (_, f_g, f_trace), (_, s_g, s_trace) = sides[0], sides[-1]
    _fit(resolved, fclass, f_g, dist, match, seed, f_trace)
    after = _fit(resolved, fclass, s_g, dist, match, seed, s_trace)[0].score(x)
    alone = _fit(_fresh(resolved), fclass, s_g, dist, match, seed, s_trace)[0].score(x)
    _ensure(np.array_equal(after, alone), defender, "no state kept across fits",
            "a fit after another fit scores differently from the same fit on its own")
    _ensure(repr(defender) == spec and repr(resolved) == resolved_spec, defender, "parameters unchanged",
            f"its SPEC was {spec!r} ({resolved_spec!r} resolved) before fitting")

    def game() -> Any:
        return Game(match.cls, match.attacker, _fresh(defender), match.eps, mode=match.mode, trace=match.trace,
                    **_mode_rules(match.mode))

    _check_rounds(defender, game, seed, "plays a match")
