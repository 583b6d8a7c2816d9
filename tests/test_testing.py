"""The contract of :mod:`defendability.testing`, run over every registered component, and
the broken components each check must reject (a check that cannot fail checks nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from defendability import Game, registry
from defendability.attackers.point_flip import PointFlip
from defendability.classes.base import Function, unwrap
from defendability.classes.subsets import SubsetFunction, Subsets
from defendability.defenders.base import Defender, Detector
from defendability.defenders.vote import Vote
from defendability.learners.base import Learner, check_batch
from defendability.testing import ContractError, check_attacker, check_class, check_defender, check_learner

CHECKS = {"classes": check_class, "learners": check_learner, "attackers": check_attacker,
          "defenders": check_defender}
COMPONENTS = [(kind, name) for kind in registry.KINDS for name in registry.names(kind)]


@pytest.mark.parametrize("kind,name", COMPONENTS, ids=[f"{k}:{n}" for k, n in COMPONENTS])
def test_every_registered_component_keeps_the_contract(kind, name):
    CHECKS[kind](registry.lookup(kind, name))


def test_every_registered_component_declares_its_own_test_spec():
    for kind, name in COMPONENTS:
        component = registry.lookup(kind, name)
        spec = component.test_spec or name
        assert registry.parse_spec(spec)[0] == name, (kind, name, spec)


@pytest.fixture
def toy(monkeypatch):
    """Register a toy component for one test only."""
    def put(kind: str, name: str, component: type) -> type:
        monkeypatch.setitem(registry._REGISTRY[kind], name, component)
        monkeypatch.setattr(component, "name", name, raising=False)
        return component
    return put


def rejects(check_fn, component, rule: str, **kwargs) -> None:
    with pytest.raises(ContractError, match=f"rule '{rule}'"):
        check_fn(component, **kwargs)


# -- every component: the constructor and the SPEC --------------------------------------
class SubsetsToy(Subsets):
    """Toys built on subsets are checked with their defaults (they inherit no test_spec)."""

    test_spec = None


class DrawsAtConstruction(SubsetsToy):
    """Picks its d at random from the global generator."""

    def __init__(self, N: int = 12, d: int = 3):
        super().__init__(N, int(np.random.randint(1, d + 1)) if d > 1 else d)
        self.d = d


class Forgetful(SubsetsToy):
    """Does not keep d under its own name."""

    def __init__(self, N: int = 12, bound: int = 3):
        super().__init__(N, bound)
        self.size_bound = bound
        del self.d

    @property
    def vc_dimension(self) -> int:
        return self.size_bound


class Doubles(PointFlip):
    """Stores twice the value it is given."""

    def __init__(self, weight: int = 1):
        self.weight = 2 * weight


class ShowsDefaults(PointFlip):
    """A hand-written repr that lists a parameter at its default."""

    def __init__(self, weight: int = 1):
        self.weight = weight

    def __repr__(self) -> str:
        return f"{self.name}:weight={self.weight}"


class WrongRepr(PointFlip):
    """A repr that does not rebuild the component."""

    def __init__(self, weight: int = 1):
        self.weight = weight

    def __repr__(self) -> str:
        return f"{self.name}:weight={self.weight + 1}"


class Unregistered(PointFlip):
    """Never registered: it inherits point-flip's name, under which another class is registered."""


def test_the_constructor_rules_can_fail(toy):
    rejects(check_class, toy("classes", "toy-draws", DrawsAtConstruction)(), "deterministic constructor")
    rejects(check_class, toy("classes", "toy-forgetful", Forgetful)(), "parameters")
    toy("attackers", "toy-doubles", Doubles)
    rejects(check_attacker, "toy-doubles:weight=3", "stores parameters")
    rejects(check_attacker, toy("attackers", "toy-shows-defaults", ShowsDefaults)(), "repr shows changed parameters")
    rejects(check_attacker, toy("attackers", "toy-wrong-repr", WrongRepr)(weight=2), "SPEC round trip")
    rejects(check_attacker, Unregistered(), "registered")


def test_a_subclass_must_declare_its_own_test_spec(toy):
    class Voting(Vote):
        """A registered subclass that forgot its test_spec."""

    toy("defenders", "toy-voting", Voting)
    with pytest.raises(ContractError, match="rule 'test spec'"):
        check_defender(Voting)


# -- classes ---------------------------------------------------------------------------
class BadShape(SubsetsToy):
    """Declares points of shape (1,) but draws scalars."""

    @property
    def point_shape(self) -> tuple[int, ...]:
        return (1,)


class AcceptsAnything(SubsetsToy):
    """Calls anything a member."""

    def contains(self, f: Function) -> bool:
        return True


class Moody(SubsetsToy):  # the test seeds the global generator, so that its draws differ for sure
    """Draws members from the global generator, not the one it is handed."""

    def random_member(self, rng: np.random.Generator) -> SubsetFunction:
        return SubsetFunction(np.sort(np.random.choice(self.N, self.d, replace=False)), self.N)


class Inverted(SubsetsToy):
    """Realises the opposite of the labels asked for."""

    def realise(self, points: np.ndarray, labels: np.ndarray) -> SubsetFunction:
        return super().realise(points, 1 - np.asarray(labels))


class Lopsided(SubsetsToy):
    """A distance that is not symmetric."""

    def exact_distance(self, f, g, dist):
        return 0.0 if f is g else (0.25 if f.key() < g.key() else 0.5)


@pytest.mark.parametrize("component, rule", [(BadShape, "shapes"), (AcceptsAnything, "membership"),
                                             (Moody, "determinism"), (Inverted, "realise"), (Lopsided, "distance")])
def test_check_class_rejects_broken_classes(toy, component, rule):
    np.random.seed(1)
    rejects(check_class, toy("classes", f"toy-{component.__name__.lower()}", component)(), rule)


# -- learners --------------------------------------------------------------------------
class Memoriser(Learner):
    """Predicts a query's label from the batch, 0 for unseen points (a correct toy)."""

    set_only = True

    def predict(self, cls, X, Y, queries):
        X, Y, queries = np.asarray(X), np.asarray(Y), np.asarray(queries)
        check_batch(cls, X, Y, queries)
        seen = (X[:, :, None] == queries[None, None, :]) & (Y[:, :, None] == 1)
        return seen.any(axis=1).astype(np.uint8)


class Transposed(Memoriser):
    def predict(self, cls, X, Y, queries):
        return super().predict(cls, X, Y, queries).T.copy()


class CountsRepeats(Memoriser):
    """Claims set_only, but predicts whether a query occurs an odd number of times."""

    def predict(self, cls, X, Y, queries):
        hits = np.asarray(X)[:, :, None] == np.asarray(queries)[None, None, :]
        return (hits.sum(axis=1) % 2).astype(np.uint8)


class Drifts(Memoriser):
    """Predicts 1 everywhere from its fourth call on (state kept between calls)."""

    def __init__(self):
        self._calls = 0

    def predict(self, cls, X, Y, queries):
        self._calls += 1
        out = super().predict(cls, X, Y, queries)
        return np.ones_like(out) if self._calls > 3 else out


class Pooled(Memoriser):
    """Every voter predicts whether any voter's batch holds the query."""

    def predict(self, cls, X, Y, queries):
        seen = (np.asarray(X)[:, :, None] == np.asarray(queries)[None, None, :]).any(axis=(0, 1))
        return np.repeat(seen[None, :], X.shape[0], axis=0).astype(np.uint8)


class Scribbles(Memoriser):
    """Overwrites the batches it is handed."""

    def predict(self, cls, X, Y, queries):
        out = super().predict(cls, X, Y, queries)
        X[...] = 0
        return out


def test_a_correct_toy_learner_passes(toy):
    check_learner(toy("learners", "toy-memoriser", Memoriser)())


@pytest.mark.parametrize("component, rule", [(Transposed, "shapes"), (CountsRepeats, "set_only"),
                                             (Drifts, "no state kept"), (Pooled, "independent voters"),
                                             (Scribbles, "inputs unchanged")])
def test_check_learner_rejects_broken_learners(toy, component, rule):
    rejects(check_learner, toy("learners", f"toy-{component.__name__.lower()}", component)(), rule)


# -- attackers -------------------------------------------------------------------------
class GlobalCoins(PointFlip):
    """Draws f from the global generator."""

    def setup(self, cls, eps, rng):
        return super().setup(cls, eps, np.random.default_rng(np.random.randint(1 << 30)))


class Counter(PointFlip):
    """Changes its f with every round it plays."""

    def __init__(self):
        self._rounds = 0

    def setup(self, cls, eps, rng):
        self._rounds += 1
        for _ in range(self._rounds):
            rng.random()
        return super().setup(cls, eps, rng)


class Lookalike(SubsetFunction):
    """A subset indicator of a type no class accepts (a subclass could compute anything)."""


class Outsider(PointFlip):
    """Hands in a function of no class."""

    def setup(self, cls, eps, rng):
        dist, f = super().setup(cls, eps, rng)
        return dist, Lookalike(f.elements, f.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        return None


class Restless(PointFlip):
    """Changes its own parameter when it plays."""

    def __init__(self, effort: int = 1):
        self.effort = effort

    def setup(self, cls, eps, rng):
        self.effort += 1
        return super().setup(cls, eps, rng)


@pytest.mark.parametrize("component, rule", [(GlobalCoins, "determinism"), (Counter, "no state kept across rounds"),
                                             (Outsider, "membership"), (Restless, "parameters unchanged")])
def test_check_attacker_rejects_broken_attackers(toy, component, rule):
    np.random.seed(1)
    rejects(check_attacker, toy("attackers", f"toy-{component.__name__.lower()}", component)(), rule)


# -- defenders -------------------------------------------------------------------------
class LabelDetector(Detector):
    """Scores x by g(x) (a toy: suspicious where g says 1)."""

    def __init__(self, g):
        self.g = g

    def score(self, x):
        return np.asarray(self.g(x), dtype=float)


class Labels(Defender):
    """A correct toy defender: fits nothing, scores by g's label."""

    def fit(self, cls, g, sampler, eps, rng):
        sampler(3)
        return LabelDetector(g)


class IntegerScores(Labels):
    def fit(self, cls, g, sampler, eps, rng):
        detector = LabelDetector(g)
        detector.score = lambda x: np.asarray(g(x), dtype=np.int64)
        return detector


class EmptyBatchFails(Labels):
    def fit(self, cls, g, sampler, eps, rng):
        detector = LabelDetector(g)
        detector.score = lambda x: np.asarray(g(x), dtype=float) + float(np.asarray(x).reshape(len(x), -1)[0, 0] * 0)
        return detector


class GlobalNoise(Labels):
    def fit(self, cls, g, sampler, eps, rng):
        detector = LabelDetector(g)
        detector.score = lambda x: np.asarray(g(x), dtype=float) + np.random.random(len(x))
        return detector


class RemembersLastFunction(Labels):
    """Scores with the function of the previous fit."""

    def __init__(self):
        self._previous = None

    def fit(self, cls, g, sampler, eps, rng):
        previous, self._previous = self._previous, g
        return LabelDetector(previous if previous is not None else g)


class Uncounted(Labels):
    """Evaluates g behind the referee's counter."""

    def fit(self, cls, g, sampler, eps, rng):
        unwrap(g)(sampler(3))
        return LabelDetector(g)


class HidesSamples(Labels):
    """Draws from D without the sampler counting."""

    def fit(self, cls, g, sampler, eps, rng):
        sampler._dist.sample(rng, 5)
        return LabelDetector(g)


class SplitMind(Labels):
    """Its one-pass entry point disagrees with its decide."""

    def fit(self, cls, g, sampler, eps, rng):
        detector = LabelDetector(g)
        detector.score_and_decide = lambda x: (detector.score(x), np.zeros(len(x), dtype=bool))
        return detector


class NotGraded(Labels):
    """Says its scores are 0/1, but they are not."""

    graded = False

    def fit(self, cls, g, sampler, eps, rng):
        detector = LabelDetector(g)
        detector.score = lambda x: np.asarray(g(x), dtype=float) / 2 + 0.25
        return detector


class Shapeshifter(Labels):
    """Resolves into another defender."""

    def resolved(self, cls):
        return Vote()


class Fidgety(Labels):
    """Changes its own parameter when it fits."""

    def __init__(self, patience: int = 1):
        self.patience = patience

    def fit(self, cls, g, sampler, eps, rng):
        self.patience += 1
        return super().fit(cls, g, sampler, eps, rng)


def test_a_correct_toy_defender_passes(toy):
    check_defender(toy("defenders", "toy-labels", Labels)())


@pytest.mark.parametrize("component, rule", [
    (IntegerScores, "shapes"), (EmptyBatchFails, "shapes"), (GlobalNoise, "determinism"),
    (RemembersLastFunction, "no state kept across fits"), (Uncounted, "counted cost"), (HidesSamples, "counted cost"),
    (SplitMind, "score_and_decide"), (NotGraded, "shapes"), (Shapeshifter, "resolved"),
    (Fidgety, "parameters unchanged"),
])
def test_check_defender_rejects_broken_defenders(toy, component, rule):
    rejects(check_defender, toy("defenders", f"toy-{component.__name__.lower()}", component)(), rule)


# -- overriding decide alone, or score alone -------------------------------------------
class AlwaysReject(Detector):
    """Scores 0 everywhere but decides REJECT everywhere: only decide is overridden."""

    def score(self, x):
        return np.zeros(len(x), dtype=float)

    def decide(self, x):
        return np.ones(len(x), dtype=bool)


class Alarmist(Defender):
    """Rejects every input through its detector's decide."""

    def fit(self, cls, g, sampler, eps, rng):
        return AlwaysReject()


def test_a_detector_overriding_decide_alone_is_used_by_the_referee(toy):
    toy("defenders", "toy-alarmist", Alarmist)
    check_defender(Alarmist())
    result = Game("subsets:N=12,d=3", "point-flip", Alarmist(), 0.1).play(rounds=20, seed=0)
    assert result.alpha == 1.0  # every clean input rejected: decide, not score > threshold, decided
    s, d = AlwaysReject().score_and_decide(np.zeros((4,)))
    assert s.tolist() == [0.0] * 4 and d.tolist() == [True] * 4


def test_a_detector_overriding_score_alone_decides_by_its_threshold():
    detector = LabelDetector(lambda x: np.array([0, 1, 1], dtype=np.uint8))
    scores, decisions = detector.score_and_decide(np.zeros(3))
    assert scores.tolist() == [0.0, 1.0, 1.0] and decisions.tolist() == [False, True, True]
