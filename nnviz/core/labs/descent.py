"""Gradient descent on toy cost functions C(v1, v2): "a ball rolling down the slope of
the valley".

Each toy cost is a quadratic C(v) = ½ (v − c)ᵀ A (v − c) with A symmetric positive
definite: a round **bowl** (A = I) or an **elongated valley** (eigenvalues 1 and 20,
turned by 30°). A step of gradient descent is eq. (10): Δv = −η∇C, with ∇C = A (v − c).
On a quadratic the steps shrink the distance to the minimum along each eigenvector by the
factor |1 − η λ|: they converge for η < 2/λ_max and diverge above it. On the valley that
limit is 2/20 = 0.1, while along the valley floor (λ = 1) such an η crawls: "η matters".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TOY_COSTS", "ToyCost", "descend", "descent_step", "make_quadratic"]

DIVERGED = 1e6   # a path stops once |v| passes this: it has diverged


@dataclass(frozen=True, eq=False)
class ToyCost:
    """C(v) = ½ (v − c)ᵀ A (v − c). ``matrix``: A (2, 2); ``centre``: c (2,), the minimum;
    ``extent``: (v_min, v_max) of the square shown; ``title`` and ``caption`` for the lab."""

    name: str
    title: str
    matrix: np.ndarray
    centre: np.ndarray
    extent: tuple[float, float]
    caption: str = ""

    def __call__(self, v1: np.ndarray | float, v2: np.ndarray | float) -> np.ndarray:
        """C at (v1, v2), elementwise over arrays of any (equal) shape."""
        d1 = np.asarray(v1, dtype=np.float64) - self.centre[0]
        d2 = np.asarray(v2, dtype=np.float64) - self.centre[1]
        a = self.matrix
        return 0.5 * (a[0, 0] * d1 * d1 + 2.0 * a[0, 1] * d1 * d2 + a[1, 1] * d2 * d2)

    def cost(self, v: np.ndarray) -> float:
        return float(self(v[0], v[1]))

    def gradient(self, v: np.ndarray) -> np.ndarray:
        """∇C = (∂C/∂v1, ∂C/∂v2) = A (v − c), shape (2,)."""
        return self.matrix @ (np.asarray(v, dtype=np.float64) - self.centre)

    @property
    def eigenvalues(self) -> np.ndarray:
        """The curvatures λ of the valley's two axes, ascending."""
        return np.linalg.eigvalsh(self.matrix)

    @property
    def lambda_max(self) -> float:
        return float(self.eigenvalues[-1])

    @property
    def eta_limit(self) -> float:
        """2 / λ_max: gradient descent converges for η below it and diverges above."""
        return 2.0 / self.lambda_max

    def grid(self, n: int = 201) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(v, v, C) on an n×n grid over ``extent``: C[i, j] = C(v[j], v[i]) (rows: v2)."""
        v = np.linspace(*self.extent, n)
        return v, v, self(v[None, :], v[:, None])


def make_quadratic(name: str, title: str, eigenvalues: tuple[float, float], angle_deg: float = 0.0,
                   centre: tuple[float, float] = (0.0, 0.0), extent: tuple[float, float] = (-3.0, 3.0),
                   caption: str = "") -> ToyCost:
    """A quadratic valley whose axes have curvatures ``eigenvalues``, turned by ``angle_deg``."""
    t = math.radians(angle_deg)
    r = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    a = r @ np.diag(np.asarray(eigenvalues, dtype=np.float64)) @ r.T
    a = 0.5 * (a + a.T)
    a.flags.writeable = False
    c = np.asarray(centre, dtype=np.float64)
    c.flags.writeable = False
    return ToyCost(name, title, a, c, extent, caption)


TOY_COSTS: dict[str, ToyCost] = {
    "bowl": make_quadratic(
        "bowl", "A bowl", (1.0, 1.0),
        caption="C(v₁, v₂) = ½(v₁² + v₂²): every step Δv = −η∇C points straight at the bottom."),
    "valley": make_quadratic(
        "valley", "An elongated valley", (1.0, 20.0), angle_deg=30.0,
        caption="Steep walls (curvature 20), a nearly flat floor (curvature 1): above η = 2/20 = 0.1 "
                "the ball overshoots from wall to wall and flies off; well below it, it crawls along the floor."),
}


def descent_step(cost: ToyCost, v: np.ndarray, eta: float) -> np.ndarray:
    """One step of gradient descent, eq. (10): v → v' = v − η∇C."""
    v = np.asarray(v, dtype=np.float64)
    return v - eta * cost.gradient(v)


def descend(cost: ToyCost, start: np.ndarray, eta: float, steps: int) -> np.ndarray:
    """The ball's path: ``start`` and then up to ``steps`` steps of eq. (10), shape
    (k + 1, 2); it stops early once it has diverged (|v| > 1e6), never overflowing."""
    path = [np.asarray(start, dtype=np.float64)]
    for _ in range(int(steps)):
        v = descent_step(cost, path[-1], eta)
        path.append(v)
        if not np.all(np.isfinite(v)) or float(np.abs(v).max()) > DIVERGED:
            break
    return np.array(path)
