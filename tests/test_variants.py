"""The game's variants (docs/variants.md): mode predicate, mode poisoning, caps on the
attacker. Each rule is shown to hold on honest players and to catch a player that breaks
it with the right reason."""

from __future__ import annotations

import json

import numpy as np
import pytest

from defendability import stats
from defendability.attackers.base import Attacker
from defendability.attackers.point_flip import PointFlip
from defendability.attackers.shatter import Shatter
from defendability.errors import IncompatibleError, ParameterError
from defendability.experiments.config import parse_config
from defendability.game import Game, play
from defendability.predicate import SALT_BYTES, Predicate
from defendability.rules import Rules
from tests.test_cli import cli

SUBSETS = "subsets:N=64,d=16"


# -- the predicate ---------------------------------------------------------------------
def test_the_predicate_is_sha256_iterated_and_counts_its_hashes():
    import hashlib

    p = Predicate(bytes(range(SALT_BYTES)), 3, 4)
    x = np.array([5])
    h = hashlib.sha256(bytes(range(SALT_BYTES)) + np.array([5.0], "<f8").tobytes()).digest()
    h = hashlib.sha256(hashlib.sha256(h).digest()).digest()
    assert p.digest(x) == h
    assert bool(p(x[None])[0]) == (h[0] >> 4 == 0)
    assert p.hashes == 3
    assert p.fresh().hashes == 0 and p.hashes == 3


def test_the_predicate_holds_on_about_two_to_the_minus_z_of_points():
    p = Predicate(b"s" * SALT_BYTES, 2, 5)
    n = 8000
    hits = int(np.count_nonzero(p(np.arange(n)[:, None])))
    lo, hi = stats.wilson(hits, n)
    assert lo <= 2 ** -5 <= hi
    # negative control: the same check rejects a density of 2^-4
    assert not lo <= 2 ** -4 <= hi


# -- mode predicate --------------------------------------------------------------------
class OffPredicate(PointFlip):
    """Returns a trigger that does not satisfy P (the first point of D's support)."""

    name = "off-predicate"

    def choose_trigger(self, cls, dist, f, predicate, eps, rng, state=None):
        points, _ = dist.support()
        return np.array(next(p for p in points if not predicate(np.array([p]))[0]))


class OffSupport(Shatter):
    """Returns a trigger that satisfies P but is not a point of D's support (shatter's D
    holds 8 of the 64 points)."""

    name = "off-support"

    def choose_trigger(self, cls, dist, f, predicate, eps, rng, state=None):
        points, _ = dist.support()
        outside = [np.array(v) for v in range(cls.N) if not (points == v).any()]
        return next(p for p in outside if predicate(p[None])[0])


class WrongShape(PointFlip):
    name = "wrong-shape"

    def choose_trigger(self, cls, dist, f, predicate, eps, rng, state=None):
        return np.zeros((2, 3))


class ScalarTrigger(PointFlip):
    """Returns a NumPy scalar, not an array of the point's shape."""

    name = "scalar-trigger"

    def choose_trigger(self, cls, dist, f, predicate, eps, rng, state=None):
        return np.int64(3)


PREDICATE = dict(mode="predicate", predicate_iterations=20, predicate_bits=2)


@pytest.mark.parametrize("attacker, reason", [(OffPredicate(), "fails_predicate"), (OffSupport(), "bad_trigger"),
                                              (WrongShape(), "bad_trigger"), (ScalarTrigger(), "bad_trigger")])
def test_a_trigger_that_breaks_the_predicate_rules_is_caught(attacker, reason):
    r = play(SUBSETS, attacker, "accept", 1 / 8, rounds=20, seed=3, **PREDICATE)
    assert r.invalid_reasons == {reason: 20}
    assert r.valid_rounds == 0 and r.beta == 0.0


def test_an_honest_trigger_satisfies_the_predicate_and_is_paid_for():
    r = play(SUBSETS, "point-flip", "predicate-check", 1 / 8, rounds=60, seed=3, **PREDICATE)
    assert set(r.invalid_reasons) <= {"no_backdoor", "no_flip"} and r.valid_rounds > 40
    # the check catches every valid trigger (it satisfies P by the referee's own check) ...
    assert r.beta_valid == 0.0
    # ... and raises false alarms at about 2^-z, with T hashes per decision (the same
    # interval excludes 2^-(z-1): it could tell a wrong density)
    lo, hi = r.alpha_ci
    assert lo <= 2 ** -2 <= hi and not lo <= 2 ** -1 <= hi
    assert r.cost["predicate_hashes_per_decision"] == 20
    assert r.cost["referee_hashes_per_round"] == pytest.approx(20 * r.valid_rounds / 60 + 20 * sum(
        v for k, v in r.invalid_reasons.items()) / 60)


def test_the_attackers_choice_buys_misses_against_vote():
    """z = 0 (every point allowed): the attacker that simulates vote picks triggers it
    misses; the default choice (a random point of D) is missed less, beyond the intervals."""
    rules = dict(mode="predicate", predicate_iterations=1, predicate_bits=0)
    chosen = play(SUBSETS, "chosen", "vote", 1 / 16, rounds=120, seed=2, **rules)
    random_ = play(SUBSETS, "point-flip", "vote", 1 / 16, rounds=120, seed=2, **rules)
    assert chosen.beta_ci[0] > random_.beta_ci[1]
    # negative control: the same check between two random choosers (other rounds) fails
    other = play(SUBSETS, "point-flip", "vote", 1 / 16, rounds=120, seed=3, **rules)
    assert not other.beta_ci[0] > random_.beta_ci[1]


def test_predicate_rules_are_refused_outside_their_mode_and_predicate_check_needs_the_mode():
    with pytest.raises(ParameterError, match="predicate_bits is a rule of mode predicate, not random-trigger"):
        Rules(0.1, predicate_bits=3)
    with pytest.raises(ParameterError, match=r"predicate_bits must be an integer in \[0, 30\], got 31"):
        Rules(0.1, mode="predicate", predicate_bits=31)
    with pytest.raises(IncompatibleError, match="checks the predicate of mode predicate"):
        Game(SUBSETS, "point-flip", "predicate-check", 0.1)


class Recorder(PointFlip):
    """Point-flip that records what the referee shows it (to compare with the streams)."""

    name = "recorder"
    seen: list = []

    def choose_trigger(self, cls, dist, f, predicate, eps, rng, state=None):
        Recorder.seen.append(predicate.salt)
        return super().choose_trigger(cls, dist, f, predicate, eps, rng)


class PoisonRecorder(Attacker):
    name = "poison-recorder"
    modes = ("poisoning",)
    seen: list = []

    def setup(self, cls, eps, rng):
        return PointFlip().setup(cls, eps, rng)

    def backdoor(self, *args):
        raise AssertionError("not called in mode poisoning")

    def poison(self, cls, dist, f, X, y, x_star, rows, eps, rng, state=None):
        PoisonRecorder.seen.append((X.copy(), x_star.copy()))
        return None


def test_what_the_attacker_is_shown_comes_from_streams_of_its_own():
    """The salt and the training sample are drawn from the round's ``predicate`` and
    ``training`` streams, not from the referee's stream that draws the trigger and the
    clean input: PCG64's outputs could give its state away, and with it the trigger."""
    from defendability.spaces import UniformDiscrete
    from defendability.streams import player_stream

    Recorder.seen.clear()
    Game(SUBSETS, Recorder(), "accept", 1 / 8, **PREDICATE).play_rounds(4, range(2))
    assert Recorder.seen == [player_stream(4, i, "predicate").bytes(SALT_BYTES) for i in range(2)]
    PoisonRecorder.seen.clear()
    Game(SUBSETS, PoisonRecorder(), "accept", 1 / 8, mode="poisoning", train_size=50).play_rounds(4, range(2))
    for i, (X, x_star) in enumerate(PoisonRecorder.seen):
        dist = UniformDiscrete(64)
        assert np.array_equal(X, dist.sample(player_stream(4, i, "training"), 50))
        # the trigger is the referee stream's first draw: the sample did not move it
        assert np.array_equal(x_star, dist.sample(player_stream(4, i, "referee"), 2)[0])


# -- mode poisoning --------------------------------------------------------------------
class Poisoner(Attacker):
    """Plays shatter's setup; poisons with ``rows_used`` rows (relabelled copies of x*,
    then copies), whatever the budget; ``answer`` replaces the poison by a given value."""

    name = "poisoner"
    modes = ("poisoning",)

    def __init__(self, extra_rows: int = 0, answer: object = "poison"):
        self.extra_rows, self.answer = extra_rows, answer

    def setup(self, cls, eps, rng):
        from defendability.attackers.shatter import Shatter

        return Shatter().setup(cls, eps, rng)

    def backdoor(self, *args):
        raise AssertionError("not called in mode poisoning")

    def poison(self, cls, dist, f, X, y, x_star, rows, eps, rng, state=None):
        if self.answer != "poison":
            return self.answer
        X2, y2 = X.copy(), y.copy()
        take = rows + self.extra_rows
        X2[:take] = x_star
        y2[:take] = 1 - int(cls.fit_member(X, y.astype(np.uint8))(x_star[None])[0])
        return X2, y2


POISONING = dict(mode="poisoning", train_size=200, poison=0.1)


@pytest.mark.parametrize("attacker, reason", [
    (Poisoner(extra_rows=1), "over_poisoned"),
    (Poisoner(answer=(np.zeros((200, 1)), np.full(200, 7))), "bad_poison"),  # labels out of range
    (Poisoner(answer=(np.zeros((199, 1)), np.zeros(199, dtype=np.int64))), "bad_poison"),  # wrong size
    (Poisoner(answer=(np.full((200, 1), np.nan), np.zeros(200, dtype=np.int64))), "bad_poison"),
    (Poisoner(answer="not a training set"), "bad_poison"),
])
def test_a_poison_that_breaks_the_rules_is_caught(attacker, reason):
    r = play(SUBSETS, attacker, "accept", 1 / 8, rounds=12, seed=5, **POISONING)
    assert r.invalid_reasons == {reason: 12}


def test_an_honest_poison_within_the_budget_is_played_and_learned_by_the_referee():
    r = play(SUBSETS, Poisoner(), "accept", 1 / 8, rounds=30, seed=5, **POISONING)
    assert r.valid_rounds > 0 and set(r.invalid_reasons) <= {"too_far", "no_flip"}
    assert r.cost["referee_seconds_per_round"] > 0


def test_label_poison_needs_a_majority_at_the_trigger():
    """The class's minimiser (fewest mistakes) keeps the majority label at x*: with D
    uniform on 16 points and m = 400 (about 25 copies of x*), 4 rows never flip it and
    40 rows do whenever the flip fits eps. Derived threshold: eta about D(x*)/2 = 1/32."""
    few = play(SUBSETS, "label-poison", "accept", 1 / 16, rounds=40, seed=1, mode="poisoning", train_size=400,
               poison=0.01)
    many = play(SUBSETS, "label-poison", "accept", 1 / 16, rounds=40, seed=1, mode="poisoning", train_size=400,
                poison=0.1)
    assert few.valid_rounds == 0 and few.invalid_reasons == {"no_flip": 40}
    assert many.valid_rounds == 40


def test_poisoning_needs_a_class_that_learns_members():
    with pytest.raises(IncompatibleError, match="has none \\(fit_member\\)"):
        Game("keyed-hash", Poisoner(), "accept", 0.1, mode="poisoning")


# -- caps on the attacker --------------------------------------------------------------
def test_an_attacker_over_a_cap_is_caught_and_one_within_it_is_not():
    free = play(SUBSETS, "point-flip", "accept", 1 / 16, rounds=30, seed=0)
    used = free.cost["attacker_evaluations_per_round"]
    assert used > 0 and free.cost["attacker_samples_per_round"] > 0
    over = play(SUBSETS, "point-flip", "accept", 1 / 16, rounds=30, seed=0, attacker_evaluations=int(used) - 1)
    assert over.invalid_reasons.get("over_budget", 0) == free.valid_rounds
    within = play(SUBSETS, "point-flip", "accept", 1 / 16, rounds=30, seed=0, attacker_evaluations=int(used) + 1)
    assert within.valid_rounds == free.valid_rounds


class CopyingAttacker(PointFlip):
    """Deep-copies the views it is handed before using them (to escape the count)."""

    name = "copying"

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        import copy

        return super().backdoor(cls, copy.deepcopy(dist), copy.deepcopy(f), x_star, eps, rng)


def test_copying_the_views_does_not_make_evaluations_free():
    honest = play(SUBSETS, "point-flip", "accept", 1 / 16, rounds=10, seed=0)
    copying = play(SUBSETS, CopyingAttacker(), "accept", 1 / 16, rounds=10, seed=0)
    assert copying.cost["attacker_evaluations_per_round"] == honest.cost["attacker_evaluations_per_round"]
    assert copying.cost["attacker_samples_per_round"] == honest.cost["attacker_samples_per_round"]


class Sleeper(PointFlip):
    name = "sleeper"

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        import time

        time.sleep(0.05)
        return super().backdoor(cls, dist, f, x_star, eps, rng)


def test_a_slow_attacker_is_over_a_seconds_cap():
    r = play(SUBSETS, Sleeper(), "accept", 1 / 16, rounds=4, seed=0, attacker_seconds=0.01)
    assert r.valid_rounds == 0 and r.invalid_reasons.get("over_budget", 0) >= 1
    assert r.cost["attacker_seconds_per_round"] >= 0.05


def test_isolated_rounds_count_the_same_and_apply_the_same_rules():
    args = (SUBSETS, "label-poison", "accept", 1 / 16)
    one = Game(*args, mode="poisoning", train_size=300, poison=0.1).play_rounds(7, range(3))
    apart = Game(*args, mode="poisoning", train_size=300, poison=0.1, isolate=True).play_rounds(7, range(3))
    assert one == apart
    one = Game(SUBSETS, "point-flip", "predicate-check", 0.125, **PREDICATE).play_rounds(7, range(3))
    apart = Game(SUBSETS, "point-flip", "predicate-check", 0.125, isolate=True, **PREDICATE).play_rounds(7, range(3))
    assert one == apart and any(r.predicate_hashes for r in one)


# -- entry points ----------------------------------------------------------------------
def test_the_variants_from_the_command_line():
    done = cli("play", "--class", SUBSETS, "--attacker", "point-flip", "--defender", "predicate-check",
               "--eps", "1/8", "--rounds", "20", "--mode", "predicate", "--predicate-iterations", "20",
               "--predicate-bits", "2", "--attacker-evaluations", "100000", "--json")
    assert done.returncode == 0
    result = json.loads(done.stdout)
    assert result["variant"] == {"predicate_iterations": 20, "predicate_bits": 2, "attacker_evaluations": 100000}
    assert result["cost"]["predicate_hashes_per_decision"] == 20
    done = cli("play", "--class", SUBSETS, "--attacker", "point-flip", "--defender", "accept", "--eps", "1/8",
               "--poison", "0.1")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: poison is a rule of mode poisoning, not random-trigger"


def test_the_variants_as_sweep_axes_in_a_config():
    config = parse_config('''
name = "axes"
rounds = 5
[[sweep]]
class = "subsets:N=64,d=16"
attacker = "label-poison"
defender = "vote"
eps = 0.0625
mode = "poisoning"
train_size = 400
grid.poison = [0.01, 0.1]
[[sweep]]
class = "subsets:N=64,d=16"
attacker = "mixture"
defender = "vote"
eps = 0.0625
grid.trace = [false, true]
grid.attacker_samples = [0, 100]
''', "axes.toml")
    cells = config.cells()
    assert [c.poison for c in cells[:2]] == [0.01, 0.1] and all(c.mode == "poisoning" for c in cells[:2])
    assert [(c.trace, c.attacker_samples) for c in cells[2:]] == [(False, 0), (False, 100), (True, 0), (True, 100)]
    assert cells[0].rules.poisoning == (400, 0.01)
    assert len({c.cell_id for c in cells}) == 6


def test_every_rule_is_a_cell_field_and_every_variant_rule_a_config_key():
    """Rules, Cell and the config models declare the rules each (a rule added to one and
    not the others would be lost between a config and the referee)."""
    from dataclasses import fields

    from defendability.experiments.cell import Cell
    from defendability.experiments.config import ConfigModel, SweepModel
    from defendability.rules import RULE_FIELDS, VARIANT_RULES

    assert set(RULE_FIELDS) <= {f.name for f in fields(Cell)}
    for model in (ConfigModel, SweepModel):
        assert set(VARIANT_RULES) <= set(model.model_fields)
