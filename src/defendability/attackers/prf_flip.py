"""The prf-flip attacker: one bit of a PRF, flipped at the trigger with a punctured key
(THEORY.md §3, §4.2, §5)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..budget import within_budget
from ..circuits.prf import (
    MAX_LAM,
    MIN_LAM,
    MIN_N,
    GoldreichGGM,
    prf_circuit,
    prf_gate_count,
    punctured_circuit,
    punctured_gate_count,
)
from ..classes.base import Function, FunctionClass
from ..classes.prf_oracles import PRFOracle, PuncturedPRFOracle
from ..crypto.ggm import GGM, PRGS, SEED_BYTES
from ..errors import IncompatibleError, UserError, check
from ..registry import Match, register
from ..spaces import Distribution, UniformCube
from .base import Attacker

#: Heuristic stand-ins the attacker can apply to both circuits ("none": the raw netlists).
STANDINS = ("none", "rerandomise", "pad", "mask")

#: The classes it plays on, and the form f takes on each.
MODES = {"prf-oracles": "oracle", "circuits": "circuit", "threshold-networks": "threshold"}

#: Functions made by ``setup`` whose secret the attacker keeps for ``backdoor`` (the
#: referee calls ``backdoor`` right after ``setup``; a replayed trace does the same).


@register("attackers", "prf-flip")
class PRFFlip(Attacker):
    """f = one bit of a PRF, f* = f XOR [x = x*] built with a punctured key; D uniform.

    D = uniform on {0,1}^n (n from the class). The form follows the class:

    - ``prf-oracles`` (oracle mode, the one with real guarantees): f =
      ``PRFOracle(K)``, a GGM PRF with a 128-bit key and the PRG ``prg``; f* =
      ``PuncturedPRFOracle(K{x*}, 1 - F_K(x*))``.
    - ``circuits`` (white box): f = ``CircuitFunction(prf_circuit(K))``, the GGM PRF
      over Goldreich's local PRG with a ``lam``-bit key in constant wires; f* =
      ``CircuitFunction(punctured_circuit(K, x*))``, which holds the sibling seeds of x*'s
      path, a "still on x*'s path" flag and the flipped bit, and not K. With
      ``standin`` other than ``"none"``, the same heuristic stand-in
      (``circuits.standins.apply_standin``) is applied to both netlists with independent
      randomness from the attacker's rng; ``pad`` pads both to the larger of the two
      sizes, known before x* is drawn.
    - ``threshold-networks``: the same two netlists (after the stand-in, if any)
      compiled by ``circuits.threshold.compile_threshold``.

    Any other class raises :class:`IncompatibleError`, from ``check_class`` before any
    round (with the sizes of the raw circuits, which need no randomness). ``lam``
    applies to the circuit forms only, ``prg`` to the oracle form only. f and f* differ
    exactly at x* (distance 2^-n); the attacker returns no backdoor when 2^-n > eps. Key material is
    drawn from the rng, so the attacker is deterministic given its random tape (a
    replayed trace rebuilds K, f and f*). ``setup`` returns the key as the round's state
    (``(D, f, key)``): the referee keeps it from the defender and hands it back to
    ``backdoor``.

    No bound on alpha + beta holds for every defender (``lower_bound`` is ``None``): the
    hardness is computational (PRF security, and for white boxes iO, which the library
    does not have).
    """

    test_match = Match(cls="prf-oracles:n=8", eps=0.01)

    def __init__(self, standin: str = "none", lam: int = 64, prg: str = "aes"):
        check(standin in STANDINS, f"prf-flip: standin must be one of {', '.join(STANDINS)}, got {standin!r}")
        check(isinstance(lam, int) and not isinstance(lam, bool) and MIN_LAM <= lam <= MAX_LAM,
              f"prf-flip: lam must be an integer in [{MIN_LAM}, {MAX_LAM}], got {lam!r}")
        check(prg in PRGS, f"prf-flip: prg must be one of {', '.join(PRGS)}, got {prg!r}")
        self.standin, self.lam, self.prg = standin, lam, prg

    # -- the protocol ---------------------------------------------------------------
    @staticmethod
    def mode(fclass: FunctionClass) -> str:
        """``"oracle"``, ``"circuit"`` or ``"threshold"``, from the class's registered name."""
        mode = MODES.get(getattr(fclass, "name", ""))
        if mode is None:
            raise IncompatibleError(f"prf-flip plays on {', '.join(MODES)}; not on class {fclass.name!r}")
        return mode

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` on a class it does not play on, and, in the circuit
        forms, when n < :data:`MIN_N` or the raw netlists exceed the class's
        ``max_gates`` (the checks of ``setup`` that need no randomness; the sizes after a
        stand-in, and of compiled networks, are known only in ``setup``)."""
        if self.mode(cls) != "oracle":
            self._check_circuits(cls)

    def _check_circuits(self, cls: FunctionClass) -> None:
        n = cls.n
        if n < MIN_N:
            raise IncompatibleError(f"prf-flip: the PRF circuits need n >= {MIN_N}, the class has n={n}")
        self._check_size(cls, self.padded_size(n), "the PRF circuits")

    def setup(self, cls: FunctionClass, eps: float,
              rng: np.random.Generator) -> tuple[Distribution, Function, Any]:  # type: ignore[override]
        """``(uniform D, f, key)``: the key is the round's state (see :class:`Attacker`)."""
        mode = self.mode(cls)
        n = cls.n
        if mode == "oracle":
            prf = GGM(rng.bytes(SEED_BYTES), n, self.prg)
            return UniformCube(n), PRFOracle(prf), prf
        self._check_circuits(cls)
        key = GoldreichGGM.random(n, self.lam, rng)
        return UniformCube(n), self._wrap(cls, mode, self._disguise(cls, prf_circuit(key), n, rng)), key

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator, state: Any = None) -> Function | None:
        mode = self.mode(cls)
        n = cls.n
        if not within_budget(2.0 ** -n, eps):
            return None  # the cheapest flip of a PRF is one point: 2^-n under uniform D
        if state is None:
            raise UserError("prf-flip: backdoor() needs the key its setup() returned (state=...): the key is "
                            "the attacker's secret")
        secret = state
        x_star = np.asarray(x_star, dtype=np.uint8).reshape(-1)
        if mode == "oracle":
            flipped = 1 - int(secret.evaluate(x_star[None])[0])
            return PuncturedPRFOracle(secret.puncture(x_star), flipped)
        return self._wrap(cls, mode, self._disguise(cls, punctured_circuit(secret, x_star), n, rng))

    # -- circuit forms --------------------------------------------------------------
    def padded_size(self, n: int) -> int:
        """Gates both netlists are padded to by ``pad``: the larger raw size."""
        return max(prf_gate_count(n, self.lam), punctured_gate_count(n, self.lam))

    def _check_size(self, cls: FunctionClass, gates: int, what: str) -> None:
        """Refuse, with the sizes in the message, a netlist the class's ``max_gates``
        (where it has one) would not admit: the referee would void every round."""
        max_gates = getattr(cls, "max_gates", None)
        if max_gates is not None and gates > max_gates:
            raise IncompatibleError(f"prf-flip: {what} for n={cls.n}, lam={self.lam}, standin={self.standin} "
                                    f"need {gates} gates, the class allows max_gates={max_gates}")

    def _disguise(self, cls: FunctionClass, circuit: Any, n: int, rng: np.random.Generator) -> Any:
        """The stand-in, if any, applied to one netlist with fresh randomness from ``rng``."""
        if self.standin == "none":
            return circuit
        from ..circuits.standins import apply_standin

        if self.standin == "pad":
            out = apply_standin("pad", circuit, rng, size=self.padded_size(n))
        else:
            out = apply_standin(self.standin, circuit, rng)
        self._check_size(cls, out.n_gates, f"the circuits after the stand-in {self.standin!r}")
        return out

    def _wrap(self, cls: FunctionClass, mode: str, circuit: Any) -> Function:
        """The member holding ``circuit``: the netlist itself, or its threshold network."""
        if mode == "circuit":
            from ..classes.circuits import CircuitFunction

            return CircuitFunction(circuit)
        from ..circuits.threshold import compile_threshold
        from ..classes.threshold_networks import ThresholdNetworkFunction

        network = compile_threshold(circuit)
        max_units = getattr(cls, "max_units", None)
        if max_units is not None and network.n_units > max_units:
            raise IncompatibleError(f"prf-flip: the compiled networks for n={cls.n}, lam={self.lam}, "
                                    f"standin={self.standin} need {network.n_units} units, the class allows "
                                    f"max_units={max_units}")
        return ThresholdNetworkFunction(network)
