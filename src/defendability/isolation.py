"""Players in processes of their own (``isolate=True``): for code the user does not trust.

In one process a player can reach anything in the interpreter (module globals, the
garbage collector, the referee's frames), so the in-process guarantees of the referee
(``docs/referee.md``) hold against players that only use what they are handed. With
``isolate=True`` every player call runs in a fresh process:

- the attacker's round (``setup``, then ``backdoor`` or ``plant`` and ``activate``) in
  one process, which ends with the round;
- each of the defender's decisions (``fit``, then scoring the one input) in a process of
  its own, so that nothing it keeps (module globals included) survives to the other side
  of the round or to a later round.

The processes are forked from a ``multiprocessing`` fork server: a clean interpreter
that has imported the library and nothing of the referee's (no match key, no streams,
no other player's objects). The referee sends each process only what that player is
handed (copies, its own generator); what comes back is read with a restricted unpickler
that builds only plain values (numbers, strings, tuples, lists, dicts, NumPy arrays) and
objects of the library's own types or the game's class's module, so a reply cannot run
code in the referee's process. What is counted in the player's process (evaluations of
g, samples of D) is counted by the library's code there; a defender set on forging its
own cost can, but not its verdicts.

As with ``multiprocessing``, a script that plays with ``isolate=True`` must guard its
entry point with ``if __name__ == "__main__":`` and define its own components at module
level (they are sent to the player's process by reference).
"""

from __future__ import annotations

import io
import multiprocessing as mp
import pickle
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from .classes.base import Counted
from .spaces import Sampler, referee_distribution

#: Modules whose globals a reply may name (besides the game's class's own module).
_SAFE_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                 "numpy._core.numeric")
_SAFE_BUILTINS = {"set", "frozenset", "slice", "range", "complex", "bytearray", "tuple", "list", "dict"}

_context: Any = None


class PlayerError(RuntimeError):
    """A player's process raised, died or sent back something the referee will not read."""


def _ctx() -> Any:
    global _context
    if _context is None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["defendability._preload"])
        _context = ctx
    return _context


class _ReplyUnpickler(pickle.Unpickler):
    """Builds plain values, NumPy arrays and objects of allowed modules' types only."""

    def __init__(self, data: bytes, modules: tuple[str, ...]):
        super().__init__(io.BytesIO(data))
        self._modules = modules

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if module == "copyreg" and name in ("_reconstructor", "__newobj__"):
            return super().find_class(module, name)
        if module in _SAFE_MODULES or module.startswith("numpy.dtypes"):
            return super().find_class(module, name)
        if module == "defendability" or module.startswith("defendability.") or module in self._modules:
            found = super().find_class(module, name)
            if isinstance(found, type):
                return found
        raise PlayerError(f"a player's reply names {module}.{name}, which the referee does not build")


#: What the referee reads where a player's object could not be sent or read back: it is
#: neither a function nor a distribution, so the round is invalid exactly as it would
#: be in one process (``not_a_member``, ``bad_distribution``, ``too_perturbed``).
UNREADABLE = object()


def _pack(value: Any) -> bytes | None:
    """One object a player returns, pickled on its own (``None`` stays ``None``; an
    object that cannot be pickled becomes empty bytes, read back as :data:`UNREADABLE`)."""
    if value is None:
        return None
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - a lambda, a generator...: the referee gets nothing usable
        return b""


def _unpack(blob: bytes | None, modules: tuple[str, ...]) -> Any:
    if blob is None:
        return None
    if type(blob) is not bytes:
        return UNREADABLE
    try:
        return _ReplyUnpickler(blob, modules).load()
    except Exception:  # noqa: BLE001 - a forbidden type or malformed bytes: not a value
        return UNREADABLE


def _send(conn: Connection, value: Any) -> None:
    conn.send_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _reply(conn: Connection, modules: tuple[str, ...], who: str, process: Any) -> Any:
    try:
        data = conn.recv_bytes()
    except (EOFError, OSError):
        process.join(5)
        raise PlayerError(f"the {who}'s process died (exit code {process.exitcode})") from None
    try:
        kind, value = _ReplyUnpickler(data, modules).load()
    except PlayerError:
        raise
    except Exception as err:  # noqa: BLE001 - anything malformed is the player's fault
        raise PlayerError(f"the {who}'s process sent an unreadable reply ({type(err).__name__})") from None
    if kind == "error":
        raise PlayerError(f"the {who} raised in its process: {value}")
    return value


class _Process:
    """One fresh player process (forked from the server, it has served no one before),
    talked to by messages."""

    def __init__(self, target: Any, who: str, modules: tuple[str, ...]):
        ctx = _ctx()
        self._conn, child = ctx.Pipe()
        self.who, self.modules = who, modules
        self.process = ctx.Process(target=target, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def ask(self, value: Any) -> Any:
        _send(self._conn, value)
        return _reply(self._conn, self.modules, self.who, self.process)

    def close(self) -> None:
        """Hang up: the process ends by itself after its last reply, or on seeing the
        pipe closed; multiprocessing reaps it when the next process starts (no wait here)."""
        self._conn.close()


def _guarded(conn: Connection, work: Any) -> None:
    try:
        work()
    except (EOFError, BrokenPipeError):  # the referee hung up (the round ended): nothing to say
        pass
    except Exception as err:  # noqa: BLE001 - reported to the referee as the player's failure
        last = traceback.extract_tb(err.__traceback__)[-1]
        try:
            _send(conn, ("error", f"{type(err).__name__}: {err} ({last.filename}:{last.lineno})"))
        except OSError:
            pass


#: The calls of an attacker's round the referee may ask its process for, and how many
#: objects each returns (each packed on its own, :func:`_pack`).
_ATTACKER_CALLS = {"backdoor": 1, "plant": 2, "choose_trigger": 1, "poison": 1}


def _attacker_main(conn: Connection) -> None:
    """The attacker's round in its own process (see :class:`IsolatedAttacker`): the same
    :class:`~defendability.attacker_round.AttackerRound` as in one process, driven by
    messages; the attacker's state and its own D and f stay here."""
    from .attacker_round import AttackerRound

    def work() -> None:
        attacker, cls_bytes, eps, rng = pickle.loads(conn.recv_bytes())
        cls = pickle.loads(cls_bytes)  # the attacker's copy of the class for the round
        play = AttackerRound(attacker, cls, eps, rng)
        dist, f = play.setup()
        # the referee rebuilds D itself; a type it would not unpickle is converted here,
        # by the same rule it applies in its own process
        _send(conn, ("ok", (_pack(referee_distribution(dist)), _pack(f))))
        while True:
            name, args = pickle.loads(conn.recv_bytes())
            if name == "usage":
                _send(conn, ("ok", play.usage()))
                continue
            if name not in _ATTACKER_CALLS:  # "stop": the round is over
                return
            answer = getattr(play, name)(*args)
            packed = _pack(answer) if _ATTACKER_CALLS[name] == 1 else tuple(_pack(v) for v in answer)
            _send(conn, ("ok", packed))

    _guarded(conn, work)


def _defender_main(conn: Connection) -> None:
    """One decision of the defender in its own process (see :func:`isolated_decision`)."""
    def work() -> None:
        defender, cls, g, dist, eps, rng, x, extra = pickle.loads(conn.recv_bytes())
        counted, sampler = Counted(g), Sampler(dist, rng)
        t0 = time.perf_counter()
        detector = defender.fit(cls, counted, sampler, eps, rng, **extra)
        t1 = time.perf_counter()
        scores, decisions = detector.score_and_decide(x)
        t2 = time.perf_counter()
        predicate = extra.get("predicate")
        _send(conn, ("ok", (bool(np.asarray(decisions)[0]), float(np.asarray(scores)[0]), int(counted.evaluations),
                            int(sampler.drawn), t1 - t0, t2 - t1, 0 if predicate is None else int(predicate.hashes))))

    _guarded(conn, work)


class IsolatedAttacker:
    """The attacker's side of one round, played in a fresh process.

    ``setup()`` returns what the attacker returned (D, already reduced to a library type,
    and f), read as values; then the calls of the round's mode, as
    :class:`~defendability.attacker_round.AttackerRound` has them. The attacker's own
    objects (its D and f) stay in its process. ``usage()``: the evaluations and samples
    its process counted, and the seconds the referee measured around its calls (the
    process's own clock could be forged)."""

    def __init__(self, attacker: Any, cls: Any, eps: float, rng: np.random.Generator, modules: tuple[str, ...]):
        self._process = _Process(_attacker_main, "attacker", modules)
        self._start = (attacker, pickle.dumps(cls, protocol=pickle.HIGHEST_PROTOCOL), eps, rng)
        self._seconds = 0.0

    def _ask(self, message: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._process.ask(message)
        finally:
            self._seconds += time.perf_counter() - t0

    def setup(self) -> tuple[Any, Any]:
        return self._pair(self._ask(self._start))

    def backdoor(self, x_star: np.ndarray) -> Any:
        return _unpack(self._ask(("backdoor", (x_star,))), self._process.modules)

    def plant(self, x: np.ndarray) -> tuple[Any, Any]:
        return self._pair(self._ask(("plant", (x,))))

    def choose_trigger(self, predicate: Any) -> Any:
        return _unpack(self._ask(("choose_trigger", (predicate,))), self._process.modules)

    def poison(self, X: np.ndarray, y: np.ndarray, x_star: np.ndarray, rows: int) -> Any:
        return _unpack(self._ask(("poison", (X, y, x_star, rows))), self._process.modules)

    def usage(self) -> dict[str, float]:
        counted = self._process.ask(("usage", ()))
        ok = type(counted) is dict and all(type(counted.get(k)) is int and counted[k] >= 0
                                           for k in ("evaluations", "samples"))
        if not ok:
            raise PlayerError("the attacker's process sent back something other than its usage")
        return {"evaluations": counted["evaluations"], "samples": counted["samples"], "seconds": self._seconds}

    def _pair(self, reply: Any) -> tuple[Any, Any]:
        if not (type(reply) is tuple and len(reply) == 2):
            raise PlayerError("the attacker's process sent back something other than two objects")
        return _unpack(reply[0], self._process.modules), _unpack(reply[1], self._process.modules)

    def close(self) -> None:
        self._process.close()


def isolated_decision(defender: Any, cls: Any, g: Any, dist: Any, eps: float, rng: np.random.Generator,
                      x: np.ndarray, extra: dict[str, Any],
                      modules: tuple[str, ...]) -> tuple[bool, float, int, int, float, float, int]:
    """One decision (REJECT?, score, evaluations, samples, fit and decide seconds, hashes
    of the predicate) made in
    a fresh process by the defender, handed copies (they travel as pickles)."""
    process = _Process(_defender_main, "defender", modules)
    try:
        out = process.ask((defender, cls, g, dist, eps, rng, x, extra))
    finally:
        process.close()
    ok = (isinstance(out, tuple) and len(out) == 7 and type(out[0]) is bool and type(out[1]) is float
          and all(type(v) is int and v >= 0 for v in (*out[2:4], out[6])) and all(type(v) is float for v in out[4:6]))
    if not ok:
        raise PlayerError("the defender's process sent back something other than a decision")
    return out
