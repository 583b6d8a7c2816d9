"""The referee: the game of epsilon-defendability (THEORY.md §1, §4.1).

One round:

1. the attacker picks D and f (``setup``);
2. the referee draws the trigger x* ~ D (the attacker never chooses it);
3. the attacker, seeing x*, returns f* (``backdoor``); the referee checks that f* is a
   member of the class, that f*(x*) != f(x*), and that Pr_D[f* != f] <= eps (exactly
   where it can, else by a one-sided upper confidence bound on fresh samples);
4. the referee draws a fresh clean x ~ D and hands the defender both sides: (f, x) and,
   when the backdoor is valid, (f*, x*). Playing both sides of every round and
   averaging is the fair coin of step 4 without its sampling noise.

Rounds without a valid backdoor are won by the defender (``invalid_policy=
"defender_wins"``, the paper's rule) or dropped and counted (``"void"``). The trigger is
never resampled. Every round draws its randomness from its own streams, one per player
and side, derived one-way from the match seed (:mod:`.streams`), so results do not
depend on how rounds are batched or split across processes, and no player can rebuild
another's stream from its own.

The referee trusts no player (``docs/referee.md``): it keeps its own copies of the class,
the defender, D (rebuilt from the attacker's declared parameters or support before the
trigger is drawn: no attacker code samples it) and every function a player returns
(copied, checked for membership, rebuilt from the representation), and hands players
copies: a fresh copy of the class per round to the attacker, a fresh defender with its
own copies of the class, the function and D for every decision.

With ``trace=True`` (trace access, THEORY.md §5.3; off by default) the referee also hands
defenders that ask for it (``Defender.uses_trace``) the attacker's :class:`Trace`: its
code, its random tape and, on the backdoor side, the trigger it was shown.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import stats
from .attacker_round import AttackerRound
from .attackers.base import Attacker
from .budget import exact_distance, floor_inverse, within_budget
from .classes.base import Counted, Function, FunctionClass
from .defenders.base import Defender
from .errors import IncompatibleError, ParameterError, UserError, check
from .isolation import IsolatedAttacker, isolated_decision
from .predicate import SALT_BYTES, Predicate
from .registry import build
from .rules import INVALID_POLICIES, MIN_EPS, MODES, RULE_FIELDS, VARIANT_RULES, Rules, checked_budget  # noqa: F401
from .copies import fingerprint, freeze_arrays, member_copy, private_copy
from .spaces import Distribution, Sampler, referee_distribution
from .streams import LazyStreams, match_key
from .trace import Trace

#: Rule violations the referee can find. ``no_backdoor`` is the attacker saying it has none;
#: ``no_trigger`` (mode predicate) that it chose no trigger; ``bad_trigger`` a chosen trigger
#: that is not a point of D's support, ``fails_predicate`` one that does not satisfy P;
#: ``over_poisoned`` (mode poisoning) more replaced rows than the rules allow,
#: ``bad_poison`` a training set that is not one (shape, values, labels) or that the class
#: cannot learn from; ``over_budget`` an attacker over a cap on its resources.
INVALID_REASONS = ("no_backdoor", "not_a_member", "no_flip", "too_far", "f_not_a_member", "bad_distribution",
                   "too_perturbed", "no_trigger", "bad_trigger", "fails_predicate", "over_poisoned", "bad_poison",
                   "over_budget")

#: Exact distances that evaluate at most this many points are always computed exactly.
ALWAYS_EXACT = 1 << 20


@dataclass(frozen=True)
class DistanceCheck:
    """The referee's verdict on Pr_D[f != f*] <= eps.

    ``value``: the exact distance, or the empirical rate when estimated; ``upper``: the
    exact distance or the one-sided 95% Clopper–Pearson upper bound; ``exact``: which of
    the two; ``samples``: fresh samples used (0 when exact).
    """

    value: float
    upper: float
    exact: bool
    samples: int
    ok: bool


def default_distance_samples(eps: float) -> int:
    """Fresh samples for an estimated distance: enough that a zero count certifies
    distance <= eps (the bound is about 3/n), with a margin: max(10_000, 30/eps)."""
    return max(10_000, math.ceil(30.0 / eps))


def check_distance(cls: FunctionClass, f: Function, g: Function, dist: Distribution, eps: float,
                   rng: np.random.Generator, samples: int | None = None) -> DistanceCheck:
    """Decide Pr_{x~dist}[f(x) != g(x)] <= eps: exact when the class has a closed form or
    the distribution a finite support, else by a one-sided upper confidence bound.

    Exact only where affordable: a class whose exact distance enumerates points (a
    circuit over {0,1}^24 enumerates 2^24) is checked exactly only when that is at most
    :data:`ALWAYS_EXACT` points or no more than the ``samples`` an estimate would draw;
    otherwise the estimate is cheaper and just as sound (``DistanceCheck.exact`` says
    which was used)."""
    n = samples or default_distance_samples(eps)
    if cls.exact_distance_points(dist) <= max(ALWAYS_EXACT, n):
        exact = exact_distance(cls, f, g, dist)
        if exact is not None:
            return DistanceCheck(exact, exact, True, 0, within_budget(exact, eps))
    x = dist.sample(rng, n)
    k = int(np.count_nonzero(f(x) != g(x)))
    upper = stats.upper_bound(k, n)
    return DistanceCheck(k / n, upper, False, n, upper <= eps)


@dataclass(frozen=True)
class Round:
    """What happened in one round. ``status`` is ``"valid"`` or an invalid reason."""

    index: int
    status: str
    clean_reject: bool | None
    clean_score: float | None
    backdoor_accept: bool | None
    backdoor_score: float | None
    distance: DistanceCheck | None
    evaluations: int
    samples: int
    decisions: int
    fit_seconds: float = field(compare=False)  # timings vary run to run; outcomes must not
    decide_seconds: float = field(compare=False)
    #: What the attacker spent (through the views it was handed: ``attacker_round``).
    attacker_evaluations: int = 0
    attacker_samples: int = 0
    attacker_seconds: float = field(default=0.0, compare=False)
    #: Hash applications of the predicate (mode predicate): the referee's check of the
    #: trigger, and the defender's over the round's decisions.
    referee_hashes: int = 0
    referee_seconds: float = field(default=0.0, compare=False)  # mode poisoning: learning f and f*
    predicate_hashes: int = 0


@dataclass
class _Side:
    """What the referee gathers about the backdoor side of a round while it is played:
    the attacker's answer (``theirs``: its f*; ``learned``: the referee's f* in mode
    poisoning), where f* must flip f, what the defender is shown, the clean input, the
    predicate of mode predicate, and what the traces carry besides the tape."""

    status: str = "valid"
    theirs: Any = None
    learned: Function | None = None
    trigger: Any = None
    flip_at: Any = None
    x_backdoor: Any = None
    x: Any = None
    planting: bool = False
    predicate: Predicate | None = None
    hashes: int = 0
    seconds: float = 0.0
    clean_extra: dict[str, Any] = field(default_factory=dict)
    backdoor_extra: dict[str, Any] = field(default_factory=dict)


def _plain_point(value: object, shape: tuple[int, ...]) -> np.ndarray | None:
    """A copy of ``value`` if it is a plain finite numeric array of shape ``shape``, else
    ``None`` (a subclass could show the check one point and the defender another)."""
    if type(value) is not np.ndarray or value.shape != tuple(shape) or not np.issubdtype(value.dtype, np.number):
        return None
    value = np.array(value, copy=True)
    return value if bool(np.all(np.isfinite(value))) else None


def _in_support(dist: Distribution, point: np.ndarray) -> bool:
    """Whether ``point`` can be drawn from ``dist``: a point of positive mass for a finite
    support; for a continuous D (no finite support) every finite point of its shape."""
    support = dist.support()
    if support is None:
        return True
    return bool(dist.mass(point[None].astype(support[0].dtype, copy=False))[0] > 0)


class Game:
    """A configured match: class, attacker, defender, eps and the referee's rules.

    Components may be objects or SPEC strings (``"subsets:N=64,d=16"``).
    ``distance_samples`` fixes the sample size of estimated distances (default
    :func:`default_distance_samples`). ``trace``: trace access, the defender may receive
    the attacker's :class:`Trace` (a defender with ``uses_trace`` requires it).
    ``mode`` (:data:`MODES`): ``"random-trigger"`` (the paper's game: the referee draws
    x*, the attacker's f* must flip it); ``"perturbation"`` (THEORY §6: the attacker
    plants f* without seeing a trigger, the referee draws x ~ D, the attacker activates
    it, x' = activate(x), which must stay within ``budget`` = (l_inf, l2) of x (default:
    what the attacker declares) and flip f*(x') against f(x')); ``"static"`` (the defender
    sees f* with an ordinary input ~ D, so only the model can give it away; the attacker
    backdoors a referee-drawn x* as in the random-trigger game, or plants if it only
    plays perturbation). In every mode f* must be a member within eps of f.
    ``isolate``: play every attacker round and every defender decision in a fresh
    process of its own (:mod:`.isolation`), for players the user does not trust; the
    rounds are the same as in one process.
    """

    def __init__(self, cls: FunctionClass | str, attacker: Attacker | str, defender: Defender | str,
                 eps: float | None = None, *, rules: Rules | None = None, **options: Any):
        if rules is None:
            unknown = sorted(set(options) - set(RULE_FIELDS))
            check(not unknown, f"unknown rule {', '.join(map(repr, unknown))}; the rules are "
                               f"{', '.join(RULE_FIELDS)}")
            rules = Rules(eps, **options)  # type: ignore[arg-type]
        else:
            check(isinstance(rules, Rules), f"rules must be a Rules value, got {type(rules).__name__}")
            check(eps is None and not options, "give either rules=Rules(...) or eps and the rules as keywords, "
                                               "not both")
        #: The match's rules (frozen): every entry point builds one.
        self.rules: Rules = rules
        mode, budget = rules.mode, rules.budget
        self.cls: FunctionClass = build("classes", cls)
        self.defender: Defender = build("defenders", defender)
        attacker = build("attackers", attacker)
        for obj, base, kind in ((self.cls, FunctionClass, "class"), (attacker, Attacker, "attacker"),
                                (self.defender, Defender, "defender")):
            if not isinstance(obj, base):
                article = "an" if base.__name__[0] in "AEIOU" else "a"
                raise ParameterError(f"{kind} must be {article} {base.__name__} or a SPEC string, "
                                     f"got {type(obj).__name__}")
        attacker.check_class(self.cls)
        self.defender.check_class(self.cls)
        self.defender = self.defender.resolved(self.cls)  # choices left to the class made, so results name them
        self.defender.check_attacker(attacker)
        if mode not in attacker.modes:
            raise IncompatibleError(f"attacker {attacker!r} plays the modes {', '.join(attacker.modes)}, "
                                    f"not {mode!r}")
        if mode == "poisoning" and not self.cls.has_erm():
            raise IncompatibleError(f"mode poisoning learns f from a sample with the class's minimiser; class "
                                    f"{self.cls!r} has none (fit_member)")
        if getattr(self.defender, "uses_predicate", False) and mode != "predicate":
            raise IncompatibleError(f"defender {self.defender!r} checks the predicate of mode predicate; "
                                    f"this match plays {mode}")
        #: The perturbation budget (l_inf, l2) the referee enforces for an attacker that
        #: activates inputs: the rules' budget, else the one the attacker declares.
        planting = mode == "perturbation" or (mode == "static" and not attacker.triggered)
        self.budget = self._budget(attacker, budget) if planting else None
        check(budget is None or planting, f"a perturbation budget applies to an attacker that activates inputs; "
                                          f"{attacker!r} backdoors a trigger")
        if getattr(self.defender, "uses_trace", False) and not rules.trace:
            raise IncompatibleError(f"defender {self.defender!r} needs the attacker's trace: turn on trace access "
                                    "(--trace, or trace = true in a config)")
        # The referee's own objects: private copies, never handed to a player. Players get
        # copies of them (a fresh class copy per round for the attacker, a fresh defender
        # and class copy per decision), so nothing a player does to what it is handed
        # reaches the referee, the other player, the other side of a round or a later
        # round. An adaptive attacker binds to a copy of the defender, not this one.
        self.cls = private_copy(self.cls)
        self.defender = private_copy(self.defender)
        self.attacker: Attacker = private_copy(attacker).against(private_copy(self.defender))
        self._last_dist: tuple[Any, Distribution | None] = (None, None)
        if rules.isolate:
            for who, obj in (("attacker", self.attacker), ("defender", self.defender), ("class", self.cls)):
                try:
                    pickle.dumps(obj)
                except Exception as err:  # noqa: BLE001 - any reason it cannot travel
                    raise ParameterError(f"isolate: the {who} {obj!r} cannot be sent to a process of its own "
                                         f"({type(err).__name__}: {err}); define it at module level") from None
        # what a player's reply may name besides the library: the class's own module
        self._modules = (type(self.cls).__module__,)

    # the rules, read where the referee uses them
    eps = property(lambda self: self.rules.eps)
    invalid_policy = property(lambda self: self.rules.invalid_policy)
    mode = property(lambda self: self.rules.mode)
    trace = property(lambda self: self.rules.trace)
    distance_samples = property(lambda self: self.rules.distance_samples)
    isolate = property(lambda self: self.rules.isolate)

    def _budget(self, attacker: Attacker, budget: tuple[float, float] | None) -> tuple[float, float]:
        return budget if budget is not None else checked_budget(attacker.perturbation_budget(self.cls))

    # -- one round -------------------------------------------------------------------
    def _decide(self, g: Function, dist: Distribution, x: np.ndarray, rng: np.random.Generator,
                trace: Trace | None, predicate: Predicate | None) -> tuple[bool, float, int, int, float, float, int]:
        """One decision by a fresh copy of the defender, handed copies of the class, of
        ``g`` (counted) and of D (behind a counting sampler), its own generator and, in
        mode predicate for a defender that asks (``uses_predicate``), its own counted
        copy of P; in a process of its own when the match isolates players. Returns
        (REJECT?, score, evaluations, samples, fit and decide seconds, hashes of P)."""
        defender = private_copy(self.defender)
        extra: dict[str, Any] = {"trace": trace} if trace is not None and getattr(defender, "uses_trace", False) \
            else {}
        mine = predicate.fresh() if predicate is not None and getattr(defender, "uses_predicate", False) else None
        if mine is not None:
            extra["predicate"] = mine
        point = np.array(x[None], copy=True)
        if self.isolate:
            return isolated_decision(defender, self.cls, g, dist, self.eps, rng, point, extra, self._modules)
        counted, sampler = Counted(member_copy(g)), Sampler(private_copy(dist), rng)
        t0 = time.perf_counter()
        detector = defender.fit(private_copy(self.cls), counted, sampler, self.eps, rng, **extra)
        t1 = time.perf_counter()
        scores, decisions = detector.score_and_decide(point)
        t2 = time.perf_counter()
        return (bool(decisions[0]), float(scores[0]), counted.evaluations, sampler.drawn, t1 - t0, t2 - t1,
                0 if mine is None else mine.hashes)

    def _checked_member(self, f: object) -> Function | None:
        """The referee's own member made from what a player returned: a copy, checked for
        membership, then rebuilt from its checked representation; ``None`` if not a member."""
        own = member_copy(f)
        if own is None or not self.cls.contains(own):
            return None
        return self.cls.rebuild(own)

    def _referee_distribution(self, dist: object) -> Distribution | None:
        """:func:`~defendability.spaces.referee_distribution`, remembered for the last
        distribution content seen: attackers that return the same D every round (most do)
        cost one comparison instead of a rebuild. The remembered D is the referee's own
        and is never handed to a player (they get copies), so reusing it is safe."""
        content = fingerprint(dist)
        if content is not None and content == self._last_dist[0]:
            return self._last_dist[1]
        own = referee_distribution(dist)
        if own is not None:
            # its arrays made immutable, so that the copies handed to defenders share them
            own = freeze_arrays(own)
            if content is not None:
                self._last_dist = (content, own)
        return own

    def _attacker_round(self, rng: np.random.Generator) -> "AttackerRound | IsolatedAttacker":
        if self.isolate:
            return IsolatedAttacker(self.attacker, self.cls, self.eps, rng, self._modules)
        return AttackerRound(self.attacker, self.cls, self.eps, rng)

    def play_round(self, seed: int, index: int) -> Round:
        """Play round ``index`` of the match seeded by ``seed`` (deterministic in both).

        The players' generators are derived one-way from the seed (:mod:`.streams`):
        nothing a player holds lets it rebuild the referee's or the other player's."""
        rng = LazyStreams(match_key(seed), index)
        tape = Trace.from_stream(self.attacker, self.cls, self.eps, rng["attacker"], mode=self.mode) \
            if self.trace else None
        attacker = self._attacker_round(rng["attacker"])
        try:
            return self._play_round(index, rng, attacker, tape)
        finally:
            attacker.close()

    def _play_round(self, index: int, rng: dict[str, np.random.Generator],
                    attacker: "AttackerRound | IsolatedAttacker", tape: Trace | None) -> Round:
        cls, eps, mode = self.cls, self.eps, self.mode
        theirs_dist, theirs_f = attacker.setup()
        # The attacker broke the rules before any trigger: nothing to play. The referee
        # keeps its own copy of D (frozen before the trigger is drawn) and of f.
        dist = self._referee_distribution(theirs_dist)
        if dist is None:
            return self._void(index, "bad_distribution", attacker)
        f = self._checked_member(theirs_f)
        if f is None:
            return self._void(index, "f_not_a_member", attacker)
        side = _Side()
        if mode == "poisoning":  # f is not the attacker's: the referee learns it (THEORY §1, docs/variants.md)
            f = self._poisoning(dist, f, rng["referee"], rng["training"], attacker, side)
        elif mode == "predicate":
            self._predicate(dist, rng["referee"], rng["predicate"], attacker, side)
        else:
            self._triggered(dist, f, rng["referee"], attacker, side)

        distance, f_star = None, None
        if side.theirs is None and side.status == "valid":
            side.status = "no_backdoor"
        if side.status == "valid":
            f_star = side.learned if mode == "poisoning" else self._checked_member(side.theirs)
            if f_star is None:
                side.status = "not_a_member"
        if side.status == "valid":
            label = f_star(side.flip_at[None])[0]
            if label == f(side.flip_at[None])[0] or (side.planting and label == f(side.trigger[None])[0]):
                side.status = "no_flip"
        usage = attacker.usage()
        if side.status == "valid" and self._over_budget(usage):
            side.status = "over_budget"
        if side.status == "valid":
            distance = check_distance(cls, f, f_star, dist, eps, rng["referee"], self.distance_samples)
            if not distance.ok:
                side.status = "too_far"
        status = side.status
        spent = (int(usage["evaluations"]), int(usage["samples"]), float(usage["seconds"]), side.hashes,
                 side.seconds)

        if status != "valid" and self.invalid_policy == "void":
            return Round(index, status, None, None, None, None, distance, 0, 0, 0, 0.0, 0.0, *spent)

        clean_trace = backdoor_trace = None
        if tape is not None:  # each side gets its own copies of the attacker and the class
            clean_trace = dataclasses.replace(tape, attacker=private_copy(self.attacker), cls=private_copy(cls),
                                              **side.clean_extra)
            backdoor_trace = dataclasses.replace(tape, attacker=private_copy(self.attacker), cls=private_copy(cls),
                                                 x_star=side.trigger.copy(), **side.backdoor_extra)
        clean = self._decide(f, dist, side.x, rng["defender-clean"], clean_trace, side.predicate)
        if status != "valid":  # defender_wins: no backdoor side to play
            return Round(index, status, clean[0], clean[1], False, None, distance, clean[2], clean[3], 1,
                         clean[4], clean[5], *spent, predicate_hashes=clean[6])
        dirty = self._decide(f_star, dist, side.x_backdoor, rng["defender-backdoor"], backdoor_trace,
                             side.predicate)
        return Round(index, status, clean[0], clean[1], not dirty[0], dirty[1], distance,
                     clean[2] + dirty[2], clean[3] + dirty[3], 2, clean[4] + dirty[4], clean[5] + dirty[5], *spent,
                     predicate_hashes=clean[6] + dirty[6])

    def _void(self, index: int, status: str, attacker: "AttackerRound | IsolatedAttacker") -> Round:
        """A round the attacker's setup made unplayable (no D or no f)."""
        usage = attacker.usage()
        return Round(index, status, None, None, None, None, None, 0, 0, 0, 0.0, 0.0, int(usage["evaluations"]),
                     int(usage["samples"]), float(usage["seconds"]))

    def _over_budget(self, usage: dict[str, float]) -> bool:
        """Whether the attacker spent more than a cap of the rules allows."""
        return any(usage[name.removeprefix("attacker_")] > cap for name, cap in self.rules.attacker_caps.items())

    def _triggered(self, dist: Distribution, f: Function, rng: np.random.Generator,
                   attacker: "AttackerRound | IsolatedAttacker", side: "_Side") -> None:
        """Modes random-trigger, perturbation and static: the referee draws the trigger
        (or the natural input the attacker perturbs) and the clean input together, before
        the attacker moves on; the attacker gets copies."""
        mode = self.mode
        shown, side.x = (np.array(row, copy=True) for row in dist.sample(rng, 2))
        side.trigger = side.flip_at = side.x_backdoor = shown
        side.planting = mode == "perturbation" or (mode == "static" and not self.attacker.triggered)
        # Where f* must flip f: the trigger; or, for a planted f* (perturbation, and static
        # for a planting attacker, where the activated input stays hidden from the
        # defender), the activated input x', whose label must differ both from f's at x'
        # and from f's at the natural x it was made from. The attacker activates before
        # the referee copies f*, so that it holds nothing of the referee's when it last runs.
        if side.planting:
            side.theirs, x_act = attacker.plant(shown.copy())
            if side.theirs is not None:
                side.flip_at, side.status = self._activated(shown, x_act)
        else:
            side.theirs = attacker.backdoor(shown.copy())
        if mode == "perturbation":
            side.x_backdoor = side.flip_at
        elif mode == "static":  # the defender sees the model with an ordinary input
            side.x_backdoor = np.array(dist.sample(rng, 1)[0], copy=True)

    def _predicate(self, dist: Distribution, rng: np.random.Generator, salt_rng: np.random.Generator,
                   attacker: "AttackerRound | IsolatedAttacker", side: "_Side") -> None:
        """Mode predicate: the referee draws the salt of P (after setup: the attacker
        could not shape D or f around it; from a stream of its own, since the attacker is
        shown it: :mod:`.streams`) and the clean input; the attacker chooses x*,
        which the referee checks is a point of D's support that satisfies P (its own
        hashes, counted as the referee's); only then does the attacker backdoor it."""
        T, z = self.rules.predicate
        side.predicate = Predicate(salt_rng.bytes(SALT_BYTES), T, z)
        side.x = np.array(dist.sample(rng, 1)[0], copy=True)
        theirs_x = attacker.choose_trigger(side.predicate.fresh())
        side.trigger = side.flip_at = side.x_backdoor = side.x  # replaced by x* once it checks
        if theirs_x is None:
            side.status = "no_trigger"
            return
        x_star = _plain_point(theirs_x, dist.point_shape)
        if x_star is None or not _in_support(dist, x_star):
            side.status = "bad_trigger"
            return
        check = side.predicate.fresh()
        satisfied = bool(check(x_star[None])[0])
        side.hashes += check.hashes
        side.trigger = side.flip_at = side.x_backdoor = x_star
        side.backdoor_extra = {"predicate": side.predicate.fresh()}
        if not satisfied:
            side.status = "fails_predicate"
            return
        side.theirs = attacker.backdoor(x_star.copy())

    def _poisoning(self, dist: Distribution, labeller: Function, rng: np.random.Generator,
                   training_rng: np.random.Generator, attacker: "AttackerRound | IsolatedAttacker",
                   side: "_Side") -> Function:
        """Mode poisoning: the attacker's f labels a training sample S of m points of D
        (drawn from a stream of its own, since the attacker is shown it); the referee
        learns the original from it with the class's minimiser; it draws x* and the clean
        input; the attacker, seeing S and x*, may replace floor(eta*m) rows, and f* is
        what the same minimiser learns from S'. Returns the learned original. The traces
        carry copies of S (clean side) and S' (backdoor side)."""
        m, eta = self.rules.poisoning
        X = np.array(dist.sample(training_rng, m), copy=True)
        y = np.asarray(labeller(X)).astype(np.int64)
        t0 = time.perf_counter()
        f = self._learned(X, y)
        side.seconds += time.perf_counter() - t0
        shown, side.x = (np.array(row, copy=True) for row in dist.sample(rng, 2))
        side.trigger = side.flip_at = side.x_backdoor = shown
        rows = floor_inverse(1.0 / eta, float(m)) if eta > 0 else 0  # floor(eta*m), robust to float error
        side.theirs = attacker.poison(X.copy(), y.copy(), shown.copy(), rows)
        side.clean_extra = {"training": (X.copy(), y.copy())}
        if side.theirs is None:
            return f
        side.status, poisoned = self._checked_poison(X, y, side.theirs, rows)
        if side.status == "valid":
            t0 = time.perf_counter()
            try:
                side.learned = self._learned(*poisoned)
            except (ValueError, TypeError, IndexError, UserError):  # points the class cannot learn from
                side.status = "bad_poison"
            side.seconds += time.perf_counter() - t0
            side.backdoor_extra = {"training": (poisoned[0].copy(), poisoned[1].copy())}
        return f

    def _learned(self, X: np.ndarray, y: np.ndarray) -> Function:
        """The member the class's minimiser learns from (X, y), as the referee's own."""
        learned = self._checked_member(self.cls.fit_member(X, y.astype(np.uint8)))
        if learned is None:
            raise ParameterError(f"class {self.cls!r}: fit_member returned a non-member")
        return learned

    def _checked_poison(self, X: np.ndarray, y: np.ndarray, theirs: object,
                        rows: int) -> tuple[str, tuple[np.ndarray, np.ndarray] | None]:
        """``("valid", (X', y'))`` when the attacker's answer is a training set of S's
        shape with labels in [0, label_count) differing from S in at most ``rows`` rows;
        else ``"bad_poison"`` or ``"over_poisoned"``."""
        if type(theirs) is not tuple or len(theirs) != 2:
            return "bad_poison", None
        Xp, yp = theirs
        if type(Xp) is not np.ndarray or type(yp) is not np.ndarray or Xp.shape != X.shape or yp.shape != y.shape \
                or not np.issubdtype(Xp.dtype, np.number) or not np.issubdtype(yp.dtype, np.integer):
            return "bad_poison", None
        Xp, yp = np.array(Xp, dtype=X.dtype, copy=True), np.array(yp, dtype=np.int64, copy=True)
        if not np.all(np.isfinite(Xp)) or yp.min(initial=0) < 0 or yp.max(initial=0) >= self.cls.label_count:
            return "bad_poison", None
        changed = np.any(Xp.reshape(len(X), -1) != X.reshape(len(X), -1), axis=1) | (yp != y)
        if int(np.count_nonzero(changed)) > rows:
            return "over_poisoned", None
        return "valid", (Xp, yp)

    def _activated(self, x: np.ndarray, x_act: object) -> tuple[np.ndarray, str]:
        """The attacker's activation ``x_act`` of ``x``, as the referee's own plain array,
        and ``"valid"`` if it is within the perturbation budget of x, else
        ``"too_perturbed"`` (also for anything that is not a plain finite numeric array
        of x's shape: a subclass could show the check one point and the defender another)."""
        if type(x_act) is not np.ndarray or x_act.shape != x.shape or not np.issubdtype(x_act.dtype, np.number):
            return x, "too_perturbed"
        x_act = np.array(x_act, copy=True)
        return x_act, self._check_perturbation(x, x_act)

    def _check_perturbation(self, x: np.ndarray, x_act: np.ndarray) -> str:
        """``"valid"`` when ``x_act`` is finite and within the perturbation budget of x
        (l_inf and l2), else ``"too_perturbed"``."""
        if not bool(np.all(np.isfinite(x_act))):
            return "too_perturbed"
        delta = (x_act.astype(np.float64) - np.asarray(x, dtype=np.float64)).reshape(-1)
        linf, l2 = self.budget
        # a relative slack of 1e-9 absorbs float rounding in the attacker's arithmetic
        if float(np.max(np.abs(delta), initial=0.0)) > linf * (1 + 1e-9) or \
                float(np.linalg.norm(delta)) > l2 * (1 + 1e-9):
            return "too_perturbed"
        return "valid"

    def play_rounds(self, seed: int, indices: range | list[int]) -> list[Round]:
        """Play the given rounds; any split of ``range(R)`` gives the same rounds."""
        return [self.play_round(seed, i) for i in indices]

    def play(self, rounds: int = 1000, seed: int = 0) -> "GameResult":
        """Play ``rounds`` rounds and summarise them."""
        check(isinstance(rounds, int) and rounds >= 1, f"rounds must be an integer >= 1, got {rounds}")
        check(isinstance(seed, int) and seed >= 0, f"seed must be an integer >= 0, got {seed}")
        t0 = time.perf_counter()
        played = self.play_rounds(seed, range(rounds))
        return self.summarise(played, seed, time.perf_counter() - t0)

    # -- summary ---------------------------------------------------------------------
    def summarise(self, played: list[Round], seed: int, seconds: float) -> "GameResult":
        """Outcomes, intervals, scores and cost of a list of rounds."""
        kept = [r for r in played if r.clean_reject is not None]
        n = len(kept)
        rejects = sum(r.clean_reject for r in kept)
        accepts = sum(bool(r.backdoor_accept) for r in kept)
        valid = [r for r in kept if r.status == "valid"]
        reasons = Counter(r.status for r in played if r.status != "valid")
        alpha = rejects / n if n else float("nan")
        beta = accepts / n if n else float("nan")
        # beta among valid rounds only: under defender_wins the invalid rounds count as
        # caught, so beta alone says little where few backdoors are valid (THEORY §7)
        valid_accepts = sum(bool(r.backdoor_accept) for r in valid)
        beta_valid = valid_accepts / len(valid) if valid else float("nan")
        win = 1.0 - (alpha + beta) / 2.0 if n else float("nan")
        sum_lo, sum_hi = stats.sum_interval(rejects, n, accepts, n)
        clean_scores = [r.clean_score for r in kept]
        backdoor_scores = [r.backdoor_score for r in valid]
        graded = self.defender.graded
        decisions = sum(r.decisions for r in kept)
        estimated = [r.distance.samples for r in played if r.distance is not None and not r.distance.exact]
        return GameResult(
            alpha=alpha, beta=beta, win_rate=win,
            alpha_ci=stats.wilson(rejects, n), beta_ci=stats.wilson(accepts, n),
            beta_valid=beta_valid, beta_valid_ci=stats.wilson(valid_accepts, len(valid)),
            win_ci=(max(0.0, 1.0 - sum_hi / 2.0), min(1.0, 1.0 - sum_lo / 2.0)),
            error_sum=alpha + beta, error_sum_ci=(sum_lo, sum_hi),
            rounds=len(played), valid_rounds=len(valid), invalid_rounds=len(played) - len(valid),
            void_rounds=len(played) - n, invalid_reasons=dict(sorted(reasons.items())),
            eps=self.eps, vc_dimension=self.cls.vc_dimension, seed=seed, seconds=seconds,
            auroc=stats.auroc(clean_scores, backdoor_scores) if graded else None,
            tpr_at_fpr={str(q): stats.tpr_at_fpr(clean_scores, backdoor_scores, q) for q in (0.01, 0.05)}
            if graded else {},
            cost={
                "decisions": decisions,
                "evaluations_per_decision": sum(r.evaluations for r in kept) / decisions if decisions else 0.0,
                "samples_per_decision": sum(r.samples for r in kept) / decisions if decisions else 0.0,
                "fit_seconds": sum(r.fit_seconds for r in kept),
                "seconds_per_1000_decisions": 1000 * sum(r.fit_seconds + r.decide_seconds for r in kept) / decisions
                if decisions else 0.0,
                "distance_samples_per_check": (sum(estimated) / len(estimated)) if estimated else 0,
                # how each distance check was made (exact or estimated: check_distance)
                "exact_distance_checks": sum(1 for r in played if r.distance is not None and r.distance.exact),
                "estimated_distance_checks": len(estimated),
                # what the attacker spent per round (through the views it is handed)
                "attacker_evaluations_per_round": sum(r.attacker_evaluations for r in played) / len(played),
                "attacker_samples_per_round": sum(r.attacker_samples for r in played) / len(played),
                "attacker_seconds_per_round": sum(r.attacker_seconds for r in played) / len(played),
                # mode predicate: the referee's check of x*, the defender's checks per decision
                "referee_hashes_per_round": sum(r.referee_hashes for r in played) / len(played),
                "predicate_hashes_per_decision": sum(r.predicate_hashes for r in kept) / decisions
                if decisions else 0.0,
                # mode poisoning: the referee learning f and f*
                "referee_seconds_per_round": sum(r.referee_seconds for r in played) / len(played),
            },
            cls=repr(self.cls), attacker=repr(self.attacker), defender=repr(self.defender),
            invalid_policy=self.invalid_policy, trace=self.trace, mode=self.mode, isolate=self.isolate,
            budget=None if self.budget is None else list(self.budget),
            variant={name: getattr(self.rules, name) for name in VARIANT_RULES
                     if getattr(self.rules, name) is not None},
            lower_bound=self.attacker.lower_bound(self.cls, self.eps),
            guarantee=self.defender.guarantee(self.cls, self.eps),
            clean_scores=clean_scores, backdoor_scores=backdoor_scores,
        )


@dataclass
class GameResult:
    """Outcomes of a match.

    ``alpha``: false-alarm rate Pr[REJECT on (f, x)]; ``beta``: miss rate Pr[ACCEPT on
    (f*, x*)] (invalid rounds count as caught under ``defender_wins``); ``win_rate`` =
    1 - (alpha + beta)/2; ``beta_valid``: the miss rate among valid rounds only (``nan``
    without any). ``alpha_ci``, ``beta_ci`` and ``beta_valid_ci`` are 95% Wilson intervals;
    ``error_sum`` = alpha + beta and ``win_ci`` get the interval of
    :func:`stats.sum_interval` (Wilson at 97.5% on each side, union bound), valid
    although a round's two decisions are correlated through the attacker's f. ``auroc`` and ``tpr_at_fpr`` only for graded defenders (higher score =
    more suspicious; the TPR threshold is calibrated on half of the clean scores and the
    FPR realised on the other half). ``lower_bound``: the attacker's theoretical lower
    bound on alpha + beta for every defender; ``guarantee``: the defender's theoretical
    upper bounds on alpha and beta. ``trace``: whether the match gave trace access;
    ``mode`` and ``budget``: the game mode and, in perturbation mode, the (l_inf, l2)
    budget the referee enforced; ``isolate``: whether players ran in processes of their own;
    ``variant``: the rules of the game's variants that were set (``rules.VARIANT_RULES``:
    the predicate, the poisoning, the caps on the attacker).
    """

    alpha: float
    beta: float
    win_rate: float
    alpha_ci: tuple[float, float]
    beta_ci: tuple[float, float]
    beta_valid: float
    beta_valid_ci: tuple[float, float]
    win_ci: tuple[float, float]
    error_sum: float
    error_sum_ci: tuple[float, float]
    rounds: int
    valid_rounds: int
    invalid_rounds: int
    void_rounds: int
    invalid_reasons: dict[str, int]
    eps: float
    vc_dimension: int
    seed: int
    seconds: float
    auroc: float | None
    tpr_at_fpr: dict[str, Any]
    cost: dict[str, float]
    cls: str
    attacker: str
    defender: str
    invalid_policy: str
    trace: bool
    mode: str
    isolate: bool
    budget: list[float] | None
    variant: dict[str, Any]
    lower_bound: float | None
    guarantee: dict[str, float] | None
    clean_scores: list[float] = field(repr=False)
    backdoor_scores: list[float] = field(repr=False)

    def to_dict(self, scores: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (the CLI's ``--json`` object); scores only if asked."""
        out = _nan_to_none(asdict(self))
        out["class"] = out.pop("cls")
        for key in ("alpha_ci", "beta_ci", "beta_valid_ci", "win_ci", "error_sum_ci"):
            out[key] = list(out[key])
        if not scores:
            out.pop("clean_scores")
            out.pop("backdoor_scores")
        return out


def _nan_to_none(value: Any) -> Any:
    """NaN (no rounds kept) as ``None``: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_nan_to_none(v) for v in value)
    return value


def play(cls: FunctionClass | str, attacker: Attacker | str, defender: Defender | str, eps: float | None = None,
         rounds: int = 1000, seed: int = 0, *, rules: Rules | None = None, **options: Any) -> GameResult:
    """Play a match and return its :class:`GameResult`. The rules are ``rules`` (a
    :class:`~defendability.rules.Rules`), or eps and the rules as keywords
    (``invalid_policy``, ``mode``, ``budget``, ``trace``, ``distance_samples``,
    ``isolate``).

    >>> r = play("parities:n=12", "shatter", "vote:learner=span", eps=1/12, rounds=200, seed=0)
    >>> 0.3 < r.win_rate < 0.7
    True
    """
    return Game(cls, attacker, defender, eps, rules=rules, **options).play(rounds=rounds, seed=seed)
