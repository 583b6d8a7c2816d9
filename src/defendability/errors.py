"""Errors a user can cause, each with a one-line message naming what is wrong.

The CLI prints these as one line and exits with status 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input from a user: a SPEC, a parameter value, a configuration."""


class SpecError(UserError):
    """A component SPEC (``name:key=value,...``) that cannot be parsed or built."""


class ParameterError(UserError):
    """A parameter outside its valid range (``eps`` outside (0, 1), ``d > N``, ...)."""


def check(condition: bool, message: str) -> None:
    """Raise :class:`ParameterError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ParameterError(message)


class IncompatibleError(UserError, TypeError):
    """A component that does not apply to the chosen class (the closure learner on a
    class that is not intersection-closed, the shattering attackers on a class with no
    known shattered set, ...). A ``TypeError`` too, as it is a mismatch of kinds."""


class RunError(UserError):
    """A sweep that cannot be run as asked (a changed config under the same name, a run
    already in progress, an unknown backend, a bad worker count or Ray address, Ray
    missing or unreachable)."""


class ReportError(UserError):
    """A report that cannot be made: no run directory, no store, no finished cell, or
    matplotlib missing."""
