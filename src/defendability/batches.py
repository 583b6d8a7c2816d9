"""Training batches for ensembles of learners, stored once per distinct point.

A defender such as `vote` trains V learners on V independent batches of k draws from
D. :class:`Batches` holds them as indices into one array of points, in one of two
equivalent forms:

- ``index``: a ``(V, k)`` array of row numbers into ``points`` (any distribution);
- ``counts``: a ``(V, u)`` array, how often batch v drew distinct point u (finite
  supports). Drawing the counts from a multinomial has exactly the law of tabulating
  k i.i.d. draws, costs O(V*u) instead of O(V*k), and lets g label each distinct point
  once: the sufficient statistic for every learner that is a function of the multiset
  of its examples, as all prediction strategies here are.
"""

from __future__ import annotations

import numpy as np


class Batches:
    """V batches of k examples, as rows of ``points`` (shape ``(u, *point_shape)``)."""

    def __init__(self, points: np.ndarray, *, index: np.ndarray | None = None, counts: np.ndarray | None = None):
        if (index is None) == (counts is None):
            raise ValueError("Batches needs exactly one of index and counts")
        self.points = points
        self._index = index
        self._counts = counts
        if counts is not None:
            totals = counts.sum(axis=1)
            if len(totals) and not np.all(totals == totals[0]):
                raise ValueError("every batch must hold the same number of examples")
            self.V, self.k = counts.shape[0], int(totals[0]) if len(totals) else 0
        else:
            self.V, self.k = index.shape

    def indices(self) -> np.ndarray:
        """``(V, k)`` row numbers into ``points``: each batch with its repeats (grouped by
        point when stored as counts; learners do not depend on the order of examples)."""
        if self._index is not None:
            return self._index
        u = self._counts.shape[1]
        return np.repeat(np.tile(np.arange(u), self.V), self._counts.ravel()).reshape(self.V, self.k)

    def distinct(self) -> np.ndarray:
        """Row numbers of each batch's distinct points, for learners that depend only on
        the set of examples: ``(V, u)`` with counts storage (a point the batch lacks is
        replaced by the batch's first point, a repeat that changes no set), and the
        ``(V, k)`` batches themselves with index storage (repeats included)."""
        if self._index is not None:
            return self._index
        present = self._counts > 0
        first = np.argmax(present, axis=1)[:, None]
        return np.where(present, np.arange(present.shape[1])[None, :], first)
