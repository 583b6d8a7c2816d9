"""Static distinguishers on a model's behaviour: compare a suspect model with clean
models trained afresh (THEORY.md §6, the static mode; GKVZ's black-box checks).

A defender who can train the clean model itself (same data, same recipe, fresh coins)
asks whether the suspect behaves like one more draw of that recipe: is its accuracy on
held-out data, or its agreement with the fresh clean models, inside the spread the
clean models show among themselves? Both tests take predictions, not models, so they
apply to any classifier (RFF, random ReLU, a scikit-learn estimator, a signature-wrapped
model).

**Null law (derived, both tests).** Under the null the suspect is one more model of the
clean recipe, trained with independent randomness, so the suspect and the r reference
models are r + 1 exchangeable draws; any statistic computed symmetrically from all of
them (here, each model's accuracy, or its mean agreement with the r others) is then
exchangeable too, and the suspect's rank among the r + 1 values is uniform. The p-value
#{j : t_j <= t_suspect}/(r + 1) (the suspect counted, ties counted against it) therefore
satisfies P(p <= a) <= a for every a: exact up to ties, conservative with them. Its
resolution is 1/(r + 1).

**What it cannot see.** A backdoor that changes no prediction on natural inputs
(the signature backdoor: a wrong verification has probability about 2^-128) gives the
suspect exactly its base model's predictions, so both statistics, and hence the scores
and p-values, equal those of the clean model it wraps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import check
from .weights import Evidence


def _stack(suspect: np.ndarray, references: np.ndarray, who: str) -> np.ndarray:
    """Suspect first, then the references: ``(r + 1, n)`` labels."""
    s = np.asarray(suspect)
    refs = np.asarray(references)
    check(s.ndim == 1 and len(s) >= 1, f"{who}: suspect predictions must have shape (n,) with n >= 1, got {s.shape}")
    check(refs.ndim == 2 and refs.shape[1] == len(s) and refs.shape[0] >= 2,
          f"{who}: reference predictions must have shape (r, {len(s)}) with r >= 2, got {refs.shape}")
    return np.vstack([s[None, :], refs])


def _rank_evidence(values: np.ndarray) -> Evidence:
    """``values`` ``(r + 1,)``, the suspect's first, lower = more suspicious: the score
    is the references' mean minus the suspect's value, the p-value its rank (module
    docstring)."""
    own = values[0]
    score = float(np.mean(values[1:]) - own)
    return Evidence(score, float(np.count_nonzero(values <= own)) / len(values))


def agreement_test(suspect: np.ndarray, references: np.ndarray) -> Evidence:
    """Is the suspect's agreement with fresh clean models inside the clean-vs-clean spread?

    ``suspect``: its labels on n held-out natural inputs, ``(n,)``; ``references``: the
    labels of r >= 2 clean models trained with fresh randomness on the same inputs,
    ``(r, n)``. For each of the r + 1 models, its mean agreement (fraction of equal
    labels) with the r others. ``score``: the references' mean of that statistic minus
    the suspect's (higher = the suspect agrees less than clean models agree with each
    other); ``p_value``: the suspect's rank, exact under the null of the module
    docstring (derived).
    """
    labels = _stack(suspect, references, "agreement_test")
    count = len(labels)
    # agreement[i, j] = fraction of inputs where models i and j give the same label
    agreement = np.array([np.mean(labels == labels[i], axis=1) for i in range(count)])
    mean_agreement = (agreement.sum(axis=1) - 1.0) / (count - 1)  # the diagonal is 1
    return _rank_evidence(mean_agreement)


def accuracy_test(suspect: np.ndarray, references: np.ndarray, truth: np.ndarray) -> Evidence:
    """Is the suspect's held-out accuracy inside the spread of fresh clean models'?

    ``suspect`` ``(n,)`` and ``references`` ``(r, n)`` as in :func:`agreement_test`;
    ``truth``: the true labels ``(n,)``. ``score``: the references' mean accuracy minus
    the suspect's; ``p_value``: the suspect's rank among the r + 1 accuracies, exact
    under the null of the module docstring (derived).
    """
    labels = _stack(suspect, references, "accuracy_test")
    y = np.asarray(truth)
    check(y.shape == (labels.shape[1],), f"accuracy_test: truth must have shape ({labels.shape[1]},), got {y.shape}")
    return _rank_evidence(np.mean(labels == y[None, :], axis=1))


def reference_predictions(train: Callable[[np.random.Generator], Any], x: np.ndarray, count: int,
                          rng: np.random.Generator) -> np.ndarray:
    """Labels of ``count`` clean models on ``x``: ``(count, n)``.

    ``train(rng)`` must train one clean model from the given coins and return an object
    with ``predict(x)`` (or a callable on ``x``); each model gets its own child stream of
    ``rng`` (``Generator.spawn``), so no model's coins depend on another's.
    """
    check(isinstance(count, (int, np.integer)) and not isinstance(count, bool) and count >= 2,
          f"reference_predictions: count must be an integer >= 2, got {count!r}")
    check(isinstance(rng, np.random.Generator), "reference_predictions: rng must be a numpy Generator")
    out = []
    for child in rng.spawn(int(count)):
        model = train(child)
        predict = model.predict if hasattr(model, "predict") else model
        out.append(np.asarray(predict(x)).reshape(-1))
    return np.vstack(out)


__all__ = ["accuracy_test", "agreement_test", "reference_predictions"]
