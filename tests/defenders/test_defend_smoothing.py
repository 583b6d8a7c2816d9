"""The smoothing defender (THEORY.md §4.4, §6.3): GKVZ's evaluation-time immunisation as a detector."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

import defendability.defenders.smoothing as smoothing_module
from defendability import play, stats
from defendability.classes.base import Counted, Function
from defendability.classes.halfspaces import HalfspaceFunction, Halfspaces
from defendability.classes.intervals import Intervals, IntervalUnion
from defendability.defenders.smoothing import Smoothing, make_noise, smoothed_predict, smoothed_vote
from defendability.errors import IncompatibleError, ParameterError
from defendability.registry import build
from defendability.spaces import Gaussian, Sampler

LEVEL = 0.999


class Calls(Function):
    """Forwards to ``f`` and keeps every batch it was called on."""

    def __init__(self, f):
        self.f, self.batches = f, []

    def __call__(self, x):
        self.batches.append(np.array(x, copy=True))
        return self.f(x)


class Ball(Function):
    """``base`` with its label flipped inside the open ball of ``radius`` around ``centre``."""

    def __init__(self, base: Function, centre: np.ndarray, radius: float):
        self.base, self.centre, self.radius = base, np.asarray(centre, dtype=float), float(radius)

    def __call__(self, x):
        inside = np.linalg.norm(np.asarray(x, dtype=float) - self.centre, axis=1) < self.radius
        return self.base(x) ^ inside.astype(np.uint8)


def _fit(cls, g, seed=0, **params):
    sampler, counted = Sampler(cls.default_distribution(), np.random.default_rng(seed)), Counted(g)
    detector = Smoothing(**params).fit(cls, counted, sampler, 0.1, np.random.default_rng(seed + 1))
    return detector, sampler, counted


# -- parameters --------------------------------------------------------------------------

@pytest.mark.parametrize("spec, message", [
    ("smoothing:copies=0", "copies must be"), ("smoothing:copies=4", "copies must be"),
    ("smoothing:copies=-3", "copies must be"), ("smoothing:sigma=0", "sigma must be"),
    ("smoothing:sigma=-1", "sigma must be"), ("smoothing:sigma=nan", "sigma must be"),
    ("smoothing:noise=uniform", "noise must be one of gaussian, quantise"),
    ("smoothing:noise=quantise", "needs step"), ("smoothing:noise=quantise,step=0", "step must be"),
    ("smoothing:noise=quantise,step=1/255,sigma=0.1", "sigma applies to noise=gaussian only"),
    ("smoothing:step=0.1", "step applies to noise=quantise only"),
    ("smoothing:steps=2", "steps applies to noise=quantise only"),
    ("smoothing:noise=quantise,step=0.1,steps=0", "steps must be"),
    ("smoothing:low=1,high=0", "low must be < high"), ("smoothing:low=inf", "low must be"),
])
def test_parameters_are_validated_with_one_line_messages(spec, message):
    with pytest.raises(ParameterError, match=message) as err:
        build("defenders", spec)
    assert str(err.value).startswith("smoothing: ") and "\n" not in str(err.value)


def test_direct_construction_and_repr():
    for copies in (True, 1.0, 2):
        with pytest.raises(ParameterError, match="copies must be"):
            Smoothing(copies=copies)
    assert repr(build("defenders", "smoothing")) == "smoothing"
    assert build("defenders", "smoothing").sigma == smoothing_module.DEFAULT_SIGMA
    d = build("defenders", "smoothing:sigma=0.5,copies=7")
    assert repr(d) == "smoothing:sigma=0.5,copies=7" and d.sigma == 0.5 and d.copies == 7
    q = build("defenders", "smoothing:noise=quantise,step=0.25,steps=2,low=0,high=1")
    assert q.sigma is None and q.noise == smoothing_module.Noise("quantise", 0.25, 2, 0.0, 1.0)
    assert build("defenders", repr(q)).noise == q.noise  # the repr is a SPEC for the same defender


@pytest.mark.parametrize("cls_spec", ["parities:n=8", "subsets:N=16,d=2", "circuits:n=8", "conjunctions:n=6"])
def test_refuses_classes_with_discrete_points_before_any_round(cls_spec):
    cls = build("classes", cls_spec)
    with pytest.raises(IncompatibleError, match="smoothing: class .* not real vectors"):
        Smoothing().check_class(cls)
    with pytest.raises(IncompatibleError, match="smoothing: class"):  # the referee calls the hook
        play(cls_spec, "point-flip", "smoothing", eps=0.1, rounds=1, seed=0)


# -- the rule ----------------------------------------------------------------------------

def test_one_call_of_g_on_x_and_its_copies_and_the_exact_rule():
    cls, copies, q, sigma = Halfspaces(4), 9, 60, 0.3
    rng = np.random.default_rng(3)
    f = HalfspaceFunction(rng.standard_normal(4), 0.2)
    calls = Calls(f)
    detector, sampler, counted = _fit(cls, calls, sigma=sigma, copies=copies)
    assert sampler.drawn == 0 and counted.evaluations == 0 and calls.batches == []
    x = Gaussian(4).sample(rng, q)
    scores, decisions = detector.score_and_decide(x)
    assert len(calls.batches) == 1 and counted.evaluations == q * (copies + 1)
    batch = calls.batches[0]
    np.testing.assert_array_equal(batch[:q], x)
    noisy = batch[q:].reshape(q, copies, 4)
    # the noise is N(0, sigma^2) in every coordinate: a KS test on the standardised offsets
    assert st.kstest(((noisy - x[:, None, :]) / sigma).ravel(), "norm").pvalue > 1 - LEVEL
    expected = np.mean(f(noisy.reshape(-1, 4)).reshape(q, copies) != f(x)[:, None], axis=1)
    np.testing.assert_array_equal(scores, expected)
    np.testing.assert_array_equal(decisions, expected > 0.5)
    assert detector.score(np.zeros((0, 4))).shape == (0,)
    with pytest.raises(ValueError, match=r"shape \(Q, 4\)"):
        detector.score(np.zeros((3, 5)))


def test_large_batches_are_chunked_into_whole_inputs(monkeypatch):
    monkeypatch.setattr(smoothing_module, "MAX_CALL_CELLS", 100)  # 4 inputs of (5 + 1) x 4 cells per call
    f = HalfspaceFunction(np.array([1.0, -1.0, 0.5, 0.0]), 0.0)
    calls = Calls(f)
    detector, _, counted = _fit(Halfspaces(4), calls, sigma=0.4, copies=5)
    x = Gaussian(4).sample(np.random.default_rng(1), 10)
    scores = detector.score(x)
    assert [len(b) for b in calls.batches] == [24, 24, 12] and counted.evaluations == 60
    for i, batch in enumerate(calls.batches):
        inputs = len(batch) // 6
        own, noisy = batch[:inputs], batch[inputs:].reshape(inputs, 5, 4)
        np.testing.assert_array_equal(own, x[4 * i:4 * i + inputs])
        np.testing.assert_array_equal(scores[4 * i:4 * i + inputs],
                                      np.mean(f(noisy.reshape(-1, 4)).reshape(inputs, 5) != f(own)[:, None], axis=1))


def test_a_flip_in_a_tiny_ball_is_rejected_at_its_centre_and_nowhere_far():
    # sigma = 0.5 against a ball of radius 1e-3 in R^6: a copy lands in the ball with
    # probability below (1e-3 / 0.5)^6 * const, so every copy shows the base label
    d, rng = 6, np.random.default_rng(4)
    base = HalfspaceFunction(np.eye(d)[0], 50.0)  # constant 1 anywhere near the data
    for _ in range(20):
        centre = rng.standard_normal(d)
        detector, _, _ = _fit(Halfspaces(d), Ball(base, centre, 1e-3), sigma=0.5, copies=31)
        scores, decisions = detector.score_and_decide(centre[None])
        assert scores[0] == 1.0 and decisions[0]
        far = Gaussian(d).sample(rng, 200)
        assert np.all(np.linalg.norm(far - centre, axis=1) > 0.1)
        assert not detector.score(far).any()


def test_a_smooth_function_is_never_rejected_far_from_its_boundary():
    d, sigma = 5, 0.1
    f = HalfspaceFunction(np.array([3.0, 4.0, 0.0, 0.0, 0.0]), 1.0)  # |w| = 5
    x = Gaussian(d).sample(np.random.default_rng(5), 4000)
    x = x[np.abs(f.margin(x)) / 5.0 >= 6 * sigma]  # at least 6 sigma from the hyperplane
    assert len(x) > 1000
    detector, _, _ = _fit(Halfspaces(d), f, sigma=sigma, copies=31)
    scores, decisions = detector.score_and_decide(x)
    assert not decisions.any() and scores.max() <= 1 / 31


@pytest.mark.parametrize("t", [0.2, 1.0])
def test_scores_follow_the_binomial_law_at_a_given_distance_from_a_halfspace(t):
    # At signed distance t*sigma from the boundary, each copy crosses with probability
    # Phi(-t) (the projection of the noise on the normal is N(0, sigma^2)), independently.
    d, sigma, copies, q = 3, 0.2, 15, 3000
    f = HalfspaceFunction(np.array([0.0, 2.0, 0.0]), -0.4)  # boundary x_1 = 0.2
    x = np.random.default_rng(6).standard_normal((q, d))
    x[:, 1] = 0.2 + t * sigma
    detector, _, _ = _fit(Halfspaces(d), f, seed=9, sigma=sigma, copies=copies)
    scores, decisions = detector.score_and_decide(x)
    p = float(st.norm.cdf(-t))
    low, high = stats.wilson(round(float(scores.sum()) * copies), q * copies, LEVEL)
    assert low <= p <= high
    low, high = stats.wilson(int(decisions.sum()), q, LEVEL)
    assert low <= float(st.binom.sf(copies // 2, copies, p)) <= high


@pytest.mark.parametrize("steps, offset, crossing", [(1, 0.5, 1 / 3), (2, 1.5, 1 / 5), (2, 0.5, 2 / 5)])
def test_quantised_noise_moves_each_coordinate_by_whole_steps(steps, offset, crossing):
    # g = [x_0 > 0.5], x_0 = 0.5 + offset * step: a copy crosses iff its integer offset on
    # coordinate 0 is <= -ceil(offset), probability (steps - ceil(offset) + 1) / (2 steps + 1)
    step, copies, q = 1 / 255, 21, 1500
    f = HalfspaceFunction(np.array([1.0, 0.0]), -0.5)
    x = np.zeros((q, 2))
    x[:, 0] = 0.5 + offset * step
    x[:, 1] = np.random.default_rng(7).integers(0, 256, q) * step
    calls = Calls(f)
    detector, _, _ = _fit(Halfspaces(2), calls, seed=11, noise="quantise", step=step, steps=steps, copies=copies)
    scores = detector.score(x)
    moves = (calls.batches[0][q:].reshape(q, copies, 2) - x[:, None, :]) / step
    np.testing.assert_allclose(moves, np.rint(moves), atol=1e-9)  # whole steps: copies stay on the grid
    counts = np.bincount(np.rint(moves).astype(int).ravel() + steps)
    assert len(counts) == 2 * steps + 1
    for c in counts:  # uniform on {-steps, ..., steps}
        low, high = stats.wilson(int(c), moves.size, LEVEL)
        assert low <= 1 / (2 * steps + 1) <= high
    low, high = stats.wilson(round(float(scores.sum()) * copies), q * copies, LEVEL)
    assert low <= crossing <= high


def test_copies_are_clipped_to_the_bounds():
    noise = make_noise("gaussian", sigma=2.0, low=0.0, high=1.0)
    out = noise.copies(np.full((50, 3), 0.5), 11, np.random.default_rng(8))
    assert out.shape == (50, 11, 3) and out.min() == 0.0 and out.max() == 1.0
    assert 0 < np.count_nonzero((out > 0) & (out < 1)) < out.size  # clipped, not replaced


def test_works_on_scalar_points():
    cls = Intervals()
    f = IntervalUnion([(0.3, 0.3 + 1e-4)])  # a sliver: 1 only in a tiny interval
    detector, _, counted = _fit(cls, f, sigma=0.05, copies=11)
    x = np.array([0.30005, 0.1, 0.9])
    scores = detector.score(x)
    assert scores.shape == (3,) and counted.evaluations == 3 * 12
    np.testing.assert_array_equal(scores, [1.0, 0.0, 0.0])


# -- the smoothed predictor --------------------------------------------------------------

def test_smoothed_predictor_is_the_majority_over_copies():
    d, sigma, copies = 6, 0.5, 31
    rng = np.random.default_rng(10)
    base = HalfspaceFunction(np.eye(d)[0], 0.0)
    centre = np.zeros(d)
    centre[0] = 2.0  # base(centre) = 1, the ball flips it to 0
    g = Counted(Ball(base, centre, 1e-3))
    x = np.vstack([centre, Gaussian(d).sample(rng, 400)])
    clear = np.abs(x[:, 0]) >= 6 * sigma
    pred = smoothed_predict(g, x, sigma, copies, np.random.default_rng(11))
    assert pred.dtype == np.uint8 and pred.shape == (401,) and g.evaluations == 401 * copies
    assert pred[0] == 1 and g(centre[None])[0] == 0  # smoothing repairs the ball
    np.testing.assert_array_equal(pred[clear], base(x[clear]))
    again = smoothed_predict(g, x, sigma, copies, np.random.default_rng(11))
    np.testing.assert_array_equal(pred, again)  # the rng fixes the result


def test_smoothed_vote_estimates_the_gaussian_smoothing_of_a_halfspace():
    # h_sigma(x) = Phi(margin / (|w| sigma)) for a halfspace, exactly
    sigma, copies, q, t = 0.3, 25, 2000, 0.4
    f = HalfspaceFunction(np.array([1.0, 0.0]), 0.0)
    x = np.column_stack([np.full(q, t * sigma), np.zeros(q)])
    vote = smoothed_vote(f, x, sigma, copies, np.random.default_rng(12))
    assert np.all(np.isin(np.rint(vote * copies), np.arange(copies + 1)))
    low, high = stats.wilson(round(float(vote.sum()) * copies), q * copies, LEVEL)
    assert low <= float(st.norm.cdf(t)) <= high
    quantised = smoothed_vote(f, x, None, copies, np.random.default_rng(12), noise="quantise", step=1.0)
    assert quantised.shape == (q,)
    with pytest.raises(ParameterError, match="copies must be"):
        smoothed_predict(f, x, sigma, 4, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="sigma must be"):
        smoothed_predict(f, x, -1.0, 5, np.random.default_rng(0))


# -- in the game -------------------------------------------------------------------------

@pytest.mark.parametrize("attacker", ["point-flip", "mixture"])
def test_plays_the_random_trigger_game_on_halfspaces(attacker):
    copies = 15
    r = play("halfspaces:d=5", attacker, f"smoothing:sigma=0.2,copies={copies}", eps=0.2, rounds=60, seed=0)
    assert r.rounds == 60 and r.valid_rounds > 0
    assert r.cost["evaluations_per_decision"] == copies + 1 and r.cost["samples_per_decision"] == 0
    assert r.auroc is not None
    scores = np.array(r.clean_scores + r.backdoor_scores)
    assert np.all(np.isin(np.rint(scores * copies), np.arange(copies + 1)))  # multiples of 1/copies
    assert np.any((scores > 0) & (scores < 1))  # graded, not 0/1
