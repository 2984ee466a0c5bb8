"""Weighted draws: cumulative weights, and indices picked by them."""

from __future__ import annotations

import numpy as np


def cum(weights) -> np.ndarray:
    """The cumulative weights, scaled to end at 1."""
    c = np.cumsum(np.asarray(weights, dtype=float))
    return c / c[-1]


def pick(rng: np.random.Generator, cumulative: np.ndarray, n: int) -> np.ndarray:
    """`n` indices drawn with the weights of `cumulative` (from `cum`)."""
    return np.searchsorted(cumulative, rng.random(n), side="right")
