"""The referee's copies: what a player is handed shares nothing with what the referee keeps.

- :func:`private_copy`: a deep copy for one player (or for the referee), made by
  :func:`_replica`, which runs no copying hook an object might carry and is faster than
  ``copy.deepcopy`` on the small objects of a round.
- :func:`member_copy`: the referee's own copy of a function a player returned.
- :func:`frozen`: arrays no Python code can write to (read-only over ``bytes``), which
  copies share instead of copying (the referee's distribution holds its arrays so).
- :func:`fingerprint`: the content of a library distribution as plain values, so that
  the referee rebuilds D only when an attacker's D changes.

See ``docs/referee.md`` for what these copies guarantee.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np

from .classes.base import Function
from .spaces import Augmented, Empirical, FiniteDistribution, Gaussian, UniformCube, UniformDiscrete, UniformInterval


def private_copy(obj: Any) -> Any:
    """A deep copy of ``obj`` for one player (or for the referee): nothing reachable from
    it is shared with the original, so a player that changes what it is handed changes
    only its own copy. (:func:`_replica`: faster than ``copy.deepcopy`` on the small
    objects of a round, and it runs no copying hook an object might carry.)"""
    return _replica(obj, {})


def member_copy(f: object) -> Function | None:
    """The referee's own copy of a function a player returned, or ``None`` if it is not a
    :class:`Function` with a plain instance dictionary.

    A replica (:func:`_replica`): a new object of each object's exact type with copies of
    its attributes, arrays copied with their writeable flag, without calling any
    ``__deepcopy__`` or ``__reduce__`` that the objects might carry. The referee then
    checks and uses this copy, so nothing the attacker keeps a reference to can change
    what was checked."""
    if not isinstance(f, Function) or type(getattr(f, "__dict__", None)) is not dict:
        return None
    return _replica(f, {})


_IMMUTABLE = (int, float, complex, bool, str, bytes, type(None), np.generic)


def _immutable(array: np.ndarray) -> bool:
    """Whether no Python code can write to ``array``: read-only all the way down to an
    immutable ``bytes`` buffer (NumPy refuses to make such an array writeable again)."""
    base: Any = array
    while isinstance(base, np.ndarray):
        if base.flags.writeable:
            return False
        base = base.base
    return type(base) is bytes


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array`` over an immutable ``bytes`` buffer (see
    :func:`_immutable`): safe to share with every player."""
    array = np.ascontiguousarray(array)
    return np.frombuffer(array.tobytes(), dtype=array.dtype).reshape(array.shape)


def freeze_arrays(obj: Any) -> Any:
    """``obj`` with every array attribute replaced by a :func:`frozen` copy."""
    for name, value in vars(obj).items():
        if type(value) is np.ndarray:
            setattr(obj, name, frozen(value))
    return obj


@functools.lru_cache(maxsize=1024)
def _plain_type(kind: type) -> bool:
    """Whether an instance of ``kind`` is wholly its ``__dict__``: made by
    ``object.__new__``, with no slots anywhere in its type's MRO (an empty ``__slots__``,
    as mixins declare, holds nothing)."""
    slots = {name for klass in kind.__mro__ for name in getattr(klass, "__dict__", {}).get("__slots__", ())}
    return kind.__new__ is object.__new__ and not (slots - {"__dict__", "__weakref__"})


def _replica(value: Any, memo: dict[int, Any]) -> Any:
    """A copy of ``value`` that shares nothing mutable with it (see :func:`member_copy`)."""
    if type(value) in _IMMUTABLE or isinstance(value, np.generic):
        return value
    if id(value) in memo:
        return memo[id(value)]
    if type(value) is np.ndarray:
        if _immutable(value):  # nobody can write to it: shared, not copied
            return value
        twin = value.copy()
        twin.flags.writeable = value.flags.writeable
    elif type(value) in (list, tuple, set, frozenset):
        twin = type(value)(_replica(v, memo) for v in value)
    elif type(value) is dict:
        twin = {_replica(k, memo): _replica(v, memo) for k, v in value.items()}
    elif type(getattr(value, "__dict__", None)) is dict and not isinstance(value, type) \
            and _plain_type(type(value)):
        twin = object.__new__(type(value))
        memo[id(value)] = twin
        twin.__dict__.update({k: _replica(v, memo) for k, v in vars(value).items()})
    else:  # no plain instance dictionary (a C type, a builtin's subclass): the ordinary deep copy
        twin = copy.deepcopy(value)
    memo[id(value)] = twin
    return twin


def fingerprint(dist: object) -> tuple | None:
    """The content of a distribution of an exact library type, as plain values (its
    type and every attribute; arrays by dtype, shape and bytes), or ``None``."""
    own = getattr(dist, "__dict__", None)
    if type(dist) not in _FINGERPRINTED or type(own) is not dict:
        return None
    parts: list[Any] = [type(dist)]
    for name, value in sorted(own.items()):
        if type(value) is np.ndarray:
            parts.append((name, value.dtype.str, value.shape, value.tobytes()))
        elif type(value) in (int, float, str, bool) or (type(value) is tuple and all(type(v) is int for v in value)):
            parts.append((name, value))  # exact builtin types: == cannot be rigged
        else:
            return None
    return tuple(parts)


_FINGERPRINTED = (Augmented, FiniteDistribution, UniformDiscrete, UniformCube, Gaussian, UniformInterval, Empirical)
