"""Cost functions, shaped like ``network2.py``'s ``QuadraticCost`` / ``CrossEntropyCost``.

``a`` and ``y`` are ``(10, m)`` arrays (one column per example) or ``(10, 1)`` columns.
``fn`` is the cost summed over the examples given; ``delta`` is the output error
``delta^L`` (equation BP1) for output activations ``a = sigmoid(z)``.
"""

from __future__ import annotations

import numpy as np

from nnviz.core.errors import ConfigError


class QuadraticCost:
    """C = 1/2 ||a - y||^2: the book's chapter-1 cost."""

    name = "quadratic"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        d = a - y
        return 0.5 * float(np.vdot(d, d))

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """BP1: delta^L = (a - y) * sigma'(z), with sigma'(z) = a (1 - a)."""
        return (a - y) * (a * (1.0 - a))


class CrossEntropyCost:
    """C = -sum[y ln a + (1 - y) ln(1 - a)]: chapter 3's cure for learning slowdown."""

    name = "cross-entropy"

    @staticmethod
    def fn(a: np.ndarray, y: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            c = -(y * np.log(a) + (1.0 - y) * np.log(1.0 - a))
        # 0 * log(0) is 0; a saturated wrong output costs a large, finite amount.
        return float(np.sum(np.nan_to_num(c, nan=0.0, posinf=1e4)))

    @staticmethod
    def delta(z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """delta^L = a - y: the sigma'(z) factor cancels."""
        return a - y


COSTS = {c.name: c for c in (QuadraticCost, CrossEntropyCost)}


def get_cost(name: str) -> type[QuadraticCost] | type[CrossEntropyCost]:
    """The cost class called ``name`` ('quadratic' or 'cross-entropy')."""
    key = name.strip().lower().replace("_", "-")
    if key in ("crossentropy", "ce"):
        key = "cross-entropy"
    try:
        return COSTS[key]
    except KeyError:
        raise ConfigError(
            f"unknown cost {name!r}: choose 'quadratic' or 'cross-entropy'"
        ) from None
