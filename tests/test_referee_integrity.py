"""The referee trusts no player: one regression test per hole found in review.

Each hostile player below beat an earlier referee; each test says what the hole was,
asserts that the player no longer gains anything, and (where the hole was in how
streams are made) shows with a negative control that the same check catches the
attack when the hole is put back.

- Streams leaked: a player's generator carried ``SeedSequence(seed, spawn_key=(round,
  player))``, from which it rebuilt the referee's stream and knew x* in advance.
- D could change after the trigger: the referee kept the attacker's distribution object.
- The class could change: ``backdoor`` received the referee's own class.
- Adaptive attackers received the referee's live defender.
- A defender kept what it saw on the clean side (f!) for the backdoor side, or across
  rounds, and could reach the referee's D through its sampler.
"""

from __future__ import annotations

import numpy as np
import pytest

from defendability import Game, stats
from defendability import game as game_module
from defendability.attackers.base import Attacker
from defendability.classes.subsets import SubsetFunction
from defendability.defenders.base import Defender, Detector
from defendability.spaces import FiniteDistribution, UniformDiscrete, referee_distribution
from scripted import SharedLog

STREAM_ORDER = ("attacker", "referee", "defender-clean", "defender-backdoor")


def leaky_round_streams(key_or_seed, index):
    """The streams as the earlier referee made them: ``SeedSequence(seed, spawn_key=(round,
    j))``. Installed with monkeypatch, it is the negative control of the stream tests."""
    seed = leaky_round_streams.seed
    return {name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, j)))
            for j, name in enumerate(STREAM_ORDER)}


def _leak(monkeypatch, seed):
    leaky_round_streams.seed = seed
    monkeypatch.setattr(game_module, "LazyStreams", leaky_round_streams)


def _referee_replica(rng: np.random.Generator) -> np.random.Generator | None:
    """What a clairvoyant player computes: the referee's stream of this round, rebuilt
    from the seed sequence its own generator carries (None when that fails)."""
    seq = getattr(rng.bit_generator, "seed_seq", None)
    if not isinstance(seq, np.random.SeedSequence) or not seq.spawn_key:
        return None
    return np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(seq.spawn_key[0], 1)))


class Clairvoyant(Attacker):
    """Rebuilds the referee's stream, reads the uniform u that will pick x*, and lays D
    out so that u lands on a point a of mass eps; f = {a}, f* = {} (a cheap, valid flip
    that the vote defender misses whenever its batches miss a). Against opaque streams
    it is an ordinary attacker whose trigger is a only with probability eps."""

    name = "clairvoyant"

    def setup(self, cls, eps, rng):
        replica = _referee_replica(rng)
        u = float(replica.random()) if replica is not None else 0.5
        before = min(max(u - eps / 2, 0.0), 1.0 - eps)  # mass of b, placed first
        probs = np.array([before, eps, 1.0 - before - eps])
        return FiniteDistribution(np.array([1, 0, 2]), probs / probs.sum()), SubsetFunction(np.array([0]), cls.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        return SubsetFunction(np.array([], dtype=np.int64), cls.N) if int(x_star) == 0 else None


GAME = ("subsets:N=64,d=10", "vote:learner=closure,voters=201", 0.002)


def test_an_attacker_cannot_rebuild_the_referees_stream(monkeypatch):
    rounds = 200
    honest = Game(GAME[0], Clairvoyant(), GAME[1], GAME[2]).play(rounds=rounds, seed=0)
    # opaque streams: the trigger is a only with probability eps
    assert honest.valid_rounds <= stats.wilson(0, rounds, 0.999)[1] * rounds + 1
    assert honest.beta <= 0.05
    _leak(monkeypatch, 0)  # negative control: the earlier streams
    leaked = Game(GAME[0], Clairvoyant(), GAME[1], GAME[2]).play(rounds=rounds, seed=0)
    assert leaked.valid_rounds == rounds and leaked.beta_valid >= 0.5


class Seer(Defender):
    """Rebuilds the referee's stream and the clean input it drew (the second draw of the
    round, after x*), and rejects every input but that one."""

    name = "seer"
    graded = False

    def fit(self, cls, g, sampler, eps, rng):
        replica = _referee_replica(rng)
        dist = sampler._dist
        clean = dist.sample(replica, 2)[1] if replica is not None else None

        class _D(Detector):
            def score(self, x):
                if clean is None:
                    return np.zeros(len(x))
                return np.array([float(not np.array_equal(row, clean)) for row in x])

        return _D()


def test_a_defender_cannot_read_the_trigger_off_the_streams(monkeypatch):
    """On the shattering game at eps = 1/d, (f*, x*) has the law of (f, x): every
    defender has alpha + beta = 1 (P1). The seer wins it outright with leaky streams."""
    args = ("subsets:N=64,d=8", "shatter", Seer(), 1 / 8)
    r = Game(*args).play(rounds=300, seed=5)
    lo, hi = r.error_sum_ci
    assert lo <= 1.0 <= hi
    _leak(monkeypatch, 5)
    cheat = Game(*args).play(rounds=300, seed=5)
    assert cheat.error_sum_ci[1] < 0.5  # it errs only when x* = x, about 1/8 of the rounds


def test_streams_carry_nothing_of_the_seed_or_the_round():
    seen = SharedLog()

    class Peek(Attacker):
        name = "peek"

        def setup(self, cls, eps, rng):
            seen.append(rng.bit_generator.seed_seq)
            return UniformDiscrete(8), SubsetFunction(np.array([0]), cls.N)

        def backdoor(self, cls, dist, f, x_star, eps, rng):
            return None

    Game("subsets:N=8,d=2", Peek(), "accept", 0.1).play_rounds(3, range(4))
    for seq in seen:
        assert seq.spawn_key == () and seq.entropy not in (3, 0, 1, 2)
        assert seq.entropy.bit_length() > 128  # a 256-bit keyed hash, not the seed
    assert len({seq.entropy for seq in seen}) == 4


class ZeroTheTrigger(Attacker):
    """Uniform D on 8 points, f = {} ; after x* is drawn it zeroes, in place, the mass
    of every point of f* in the D it returned and flips four points (distance 1/2)."""

    name = "zero-the-trigger"

    def setup(self, cls, eps, rng):
        self.dist = FiniteDistribution(np.arange(8), np.full(8, 1 / 8))
        return self.dist, SubsetFunction(np.array([], dtype=np.int64), cls.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        flips = sorted({int(x_star), (int(x_star) + 1) % 8, (int(x_star) + 2) % 8, (int(x_star) + 3) % 8})
        for d in (self.dist, dist):
            d.probs[flips] = 0.0
            d.probs /= d.probs.sum()
        return SubsetFunction(np.array(flips), cls.N)


def test_the_attacker_cannot_change_d_after_the_trigger():
    r = Game("subsets:N=8,d=4", ZeroTheTrigger(), "accept", 0.01).play(rounds=100, seed=1)
    assert r.valid_rounds == 0 and r.invalid_reasons == {"too_far": 100}


class Widen(Attacker):
    """Widens the class it is handed (d = N) before returning an 8-element subset, a
    non-member of subsets with d = 2."""

    name = "widen"

    def setup(self, cls, eps, rng):
        cls.d = cls.N
        return FiniteDistribution(np.arange(8), np.full(8, 1 / 8)), SubsetFunction(np.array([0]), cls.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        cls.d = cls.N
        return SubsetFunction(np.arange(8), cls.N)


def test_the_attacker_cannot_change_the_class():
    game = Game("subsets:N=8,d=2", Widen(), "accept", 0.9)
    r = game.play(rounds=30, seed=2)
    assert r.valid_rounds == 0 and r.invalid_reasons == {"not_a_member": 30}
    assert r.vc_dimension == 2 and game.cls.d == 2


class Saboteur(Attacker):
    """An adaptive attacker that, handed the defender, switches it to accept everything."""

    name = "saboteur"

    def against(self, defender):
        defender.threshold = 1.0
        defender.voters = 1
        return self

    def setup(self, cls, eps, rng):
        return cls.default_distribution(), SubsetFunction(np.array([0]), cls.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        return SubsetFunction(np.array([0, int(x_star)]) if int(x_star) else np.array([], dtype=np.int64), cls.N)


class Plain(Saboteur):
    name = "plain"

    def against(self, defender):
        return self


def test_an_adaptive_attacker_gets_a_copy_of_the_defender():
    args = ("subsets:N=16,d=4",)
    kwargs = dict(defender="vote:learner=closure,voters=101", eps=1 / 16)
    sabotaged = Game(args[0], Saboteur(), kwargs["defender"], kwargs["eps"])
    plain = Game(args[0], Plain(), kwargs["defender"], kwargs["eps"])
    assert sabotaged.play_rounds(3, range(40)) == plain.play_rounds(3, range(40))
    assert sabotaged.defender.threshold == 0.5


class Hoarder(Defender):
    """Remembers every function it was shown (on itself) and rejects a function that
    differs from the last one it saw: across the two sides of a round that compares f*
    with f, which would win the shattering game outright."""

    name = "hoarder"
    graded = False

    def __init__(self):
        self.last = None

    def fit(self, cls, g, sampler, eps, rng):
        labels = g(np.arange(8))
        differs = self.last is not None and not np.array_equal(labels, self.last)
        self.last = labels

        class _D(Detector):
            def score(self, x):
                return np.full(len(x), float(differs))

        return _D()


def test_a_defender_keeps_nothing_from_one_decision_to_the_next():
    r = Game("subsets:N=64,d=8", "shatter", Hoarder(), 1 / 8).play(rounds=300, seed=4)
    assert r.alpha == 0.0 and r.beta == 1.0  # a fresh copy every decision: it never has a "last"


class Dumper(Defender):
    """Reaches through its sampler for the distribution and concentrates it on point 0,
    in place, on every decision."""

    name = "dumper"
    graded = False

    def fit(self, cls, g, sampler, eps, rng):
        dist = sampler._dist
        for name, value in (("probs", 0.0), ("_cdf", 1.0), ("_lo", 0), ("_hi", 0)):
            array = getattr(dist, name)
            # the vandal tries everything; where the referee's arrays refuse (read-only over
            # bytes), the refusal is the protection under test, and the vandal carries on
            try:
                array.flags.writeable = True
            except ValueError:
                pass
            try:
                array[...] = value
            except ValueError:
                pass

        class _D(Detector):
            def score(self, x):
                return np.zeros(len(x))

        return _D()


class TriggerLog(Attacker):
    """Uniform D on 8 points (one object, returned every round, as the attackers that
    cache their design do), logging every trigger it is shown."""

    name = "trigger-log"

    def __init__(self, log):
        self.log = log
        self.dist = FiniteDistribution(np.arange(8), np.full(8, 1 / 8))

    def setup(self, cls, eps, rng):
        return self.dist, SubsetFunction(np.array([0]), cls.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        self.log.append(int(x_star))
        return None


def test_a_defender_cannot_reach_the_referees_distribution():
    with_dumper, with_accept = SharedLog(), SharedLog()
    Game("subsets:N=8,d=2", TriggerLog(with_dumper), Dumper(), 0.1).play(rounds=100, seed=6)
    Game("subsets:N=8,d=2", TriggerLog(with_accept), "accept", 0.1).play(rounds=100, seed=6)
    assert with_dumper == with_accept and len(set(with_dumper)) > 1


def test_the_referees_distribution_is_rebuilt_not_borrowed():
    dist = FiniteDistribution(np.arange(4), np.full(4, 0.25))
    own = referee_distribution(dist)
    assert own is not dist and own.points is not dist.points
    dist.probs[:] = [1.0, 0.0, 0.0, 0.0]
    assert np.allclose(own.probs, 0.25)
    rigged = FiniteDistribution(np.arange(4), np.full(4, 0.25))
    rigged.sample = lambda rng, size: np.zeros(size, dtype=np.int64)  # an instance attribute hiding sample
    assert referee_distribution(rigged).sample(np.random.default_rng(0), 400).tolist().count(0) < 200


@pytest.mark.parametrize("bad", [
    FiniteDistribution(np.arange(4), np.full(4, 0.25)),
    UniformDiscrete(8),
])
def test_distributions_with_forged_parameters_are_refused(bad):
    forged = bad
    if isinstance(bad, UniformDiscrete):
        forged.N = "eight"
    else:
        forged.points = forged.points.astype(object)
    assert referee_distribution(forged) is None


class Keeper(Attacker):
    """Keeps a secret for the round: setup returns it third; backdoor must get it back."""

    name = "keeper"
    SECRET = b"the attacker's key, 32 bytes....."

    def setup(self, cls, eps, rng):
        return UniformDiscrete(8), SubsetFunction(np.array([0]), cls.N), {"key": self.SECRET}

    def backdoor(self, cls, dist, f, x_star, eps, rng, state=None):
        assert state == {"key": self.SECRET}
        return SubsetFunction(np.array([0, int(x_star)]) if int(x_star) else np.array([], dtype=np.int64), cls.N)


def _holds(obj, needle, depth=4, seen=None):
    """Whether ``needle`` (bytes) is reachable from ``obj`` through attributes and containers."""
    seen = set() if seen is None else seen
    if depth < 0 or id(obj) in seen:
        return False
    seen.add(id(obj))
    if isinstance(obj, bytes):
        return needle in obj
    if isinstance(obj, dict):
        return any(_holds(v, needle, depth - 1, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(_holds(v, needle, depth - 1, seen) for v in obj)
    own = getattr(obj, "__dict__", None)
    return isinstance(own, dict) and any(_holds(v, needle, depth - 1, seen) for v in own.values())


def test_the_attackers_state_goes_back_to_it_and_never_to_the_defender():
    handed = SharedLog()

    class Search(Defender):
        name = "search"

        def fit(self, cls, g, sampler, eps, rng):
            handed.append(any(_holds(o, Keeper.SECRET) for o in (cls, g, g.function, sampler, rng)))

            class _D(Detector):
                def score(self, x):
                    return np.zeros(len(x))

            return _D()

    r = Game("subsets:N=8,d=2", Keeper(), Search(), 0.2).play(rounds=12, seed=3)
    assert r.valid_rounds > 0 and r.invalid_reasons.get("not_a_member", 0) == 0
    assert handed and not any(handed)
    # the search has power: it finds the secret where it is
    assert _holds({"state": {"key": Keeper.SECRET}}, Keeper.SECRET)
