"""The real network's cost on a 2-D plane through weight space.

A network [784, n, 10] has 784·n + n + 10·n + 10 weights and biases (23,860 for n = 30):
a point θ in a space of that many dimensions, and the cost C(θ) a surface over it. A
:class:`Plane` picks a 2-D slice: θ(α, β) = θ₀ + α d₁ + β d₂. Two kinds:

- ``pca``: θ₀ is the last recorded epoch's weights and d₁, d₂ the two main directions
  (principal components) of the recorded trajectory θ_k − θ₀: the slice in which the
  run moved most (after Li et al., "Visualizing the loss landscape of neural nets", 2018).
- ``random``: θ₀ is one network's weights and d₁, d₂ are Gaussian, each neuron's part (its
  incoming weights and bias) scaled to that neuron's own norm in θ₀, so that α = 1 changes
  every neuron by as much as it is long.

:func:`cost_grid` evaluates C on a grid of (α, β) in one vectorised pass per row of the
grid: the first layer's weighted inputs are linear in α and β, so X(W₀ + αD₁ + βD₂)ᵀ is
three matrix products made once. :func:`project` puts recorded weights on the plane.

Parameters are flattened layer by layer, each layer as its ``[W | b]`` rows
``(sizes[l+1], sizes[l] + 1)``: one row per neuron.

It is a slice: a 2-D picture of a surface in tens of thousands of dimensions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nnviz.core.costs import get_cost
from nnviz.core.errors import ConfigError
from nnviz.core.network import _sigmoid_inplace

__all__ = ["Cancelled", "Plane", "Surface", "compute_surface", "cost_grid", "flatten", "network_cost",
           "pca_plane", "project", "random_plane", "timeline_points", "unflatten"]

Params = tuple[Sequence[np.ndarray], Sequence[np.ndarray]]   # (weights, biases)
GRID_BYTES = 64 * 2**20   # the most a grid row's activations may take at once


class Cancelled(Exception):
    """The grid evaluation was cancelled."""


def sizes_of(weights: Sequence[np.ndarray]) -> list[int]:
    """The layer sizes of a network with these ``weights[l]`` ``(sizes[l+1], sizes[l])``."""
    return [int(weights[0].shape[1])] + [int(w.shape[0]) for w in weights]


def flatten(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> np.ndarray:
    """All weights and biases as one float64 vector, layer by layer, neuron by neuron
    (each neuron's incoming weights then its bias)."""
    parts = [np.hstack([np.asarray(w, np.float64), np.asarray(b, np.float64).reshape(-1, 1)]).ravel()
             for w, b in zip(weights, biases)]
    return np.concatenate(parts)


def _layers(theta: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """``theta`` cut into per-layer ``[W | b]`` views ``(sizes[l+1], sizes[l] + 1)``."""
    out, k = [], 0
    for x, y in zip(sizes[:-1], sizes[1:]):
        out.append(theta[k:k + y * (x + 1)].reshape(y, x + 1))
        k += y * (x + 1)
    if k != theta.size:
        raise ConfigError(f"{theta.size} parameters do not make a network of sizes {list(sizes)}")
    return out


def unflatten(theta: np.ndarray, sizes: Sequence[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The inverse of :func:`flatten`: ``(weights, biases)`` copies."""
    layers = _layers(np.asarray(theta, np.float64), sizes)
    return [wb[:, :-1].copy() for wb in layers], [wb[:, -1:].copy() for wb in layers]


@dataclass(frozen=True, eq=False)
class Plane:
    """θ(α, β) = ``origin`` + α ``d1`` + β ``d2`` (flat vectors, see :func:`flatten`).

    ``kind``: 'pca' or 'random'; ``explained``: for PCA, the share of the trajectory's
    spread along d1 and d2 (else None)."""

    sizes: tuple[int, ...]
    origin: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    kind: str
    explained: tuple[float, float] | None = None

    def point(self, alpha: float, beta: float) -> np.ndarray:
        return self.origin + alpha * self.d1 + beta * self.d2

    def params(self, alpha: float, beta: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The network's ``(weights, biases)`` at (α, β)."""
        return unflatten(self.point(alpha, beta), self.sizes)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.flags.writeable = False
    return a


def pca_plane(points: Sequence[Params]) -> Plane:
    """The plane through the last of ``points`` (recorded ``(weights, biases)``, in order)
    spanned by the two principal directions of the others' offsets from it; needs three
    or more distinct points."""
    if len(points) < 3:
        raise ConfigError("the plane of the training trajectory needs the weights of 3 or more "
                          f"epochs (this run has {len(points)}): train longer, or use random directions")
    sizes = sizes_of(points[-1][0])
    origin = flatten(*points[-1])
    offsets = np.stack([flatten(*p) - origin for p in points[:-1]])
    _, s, vt = np.linalg.svd(offsets, full_matrices=False)
    if len(s) < 2 or s[1] <= 1e-12 * max(s[0], 1e-300):
        raise ConfigError("the recorded weights lie on a line (or did not move): "
                          "there is no second direction; use random directions")
    var = s ** 2
    d1, d2 = vt[0], vt[1]
    # sign: the run moves in the +d1 direction (its start has a negative α)
    if offsets[0] @ d1 > 0:
        d1 = -d1
    if offsets[0] @ d2 > 0:
        d2 = -d2
    return Plane(tuple(sizes), _frozen(origin), _frozen(d1), _frozen(d2), "pca",
                 (float(var[0] / var.sum()), float(var[1] / var.sum())))


def random_plane(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], seed: int | None = 0) -> Plane:
    """The plane through ``(weights, biases)`` spanned by two Gaussian directions, each
    neuron's part scaled to that neuron's norm (its incoming weights and bias)."""
    sizes = sizes_of(weights)
    origin = flatten(weights, biases)
    rng = np.random.default_rng(seed)
    dirs = []
    for _ in range(2):
        d = rng.standard_normal(origin.size)
        for dl, tl in zip(_layers(d, sizes), _layers(origin, sizes)):
            dl *= (np.linalg.norm(tl, axis=1) / np.maximum(np.linalg.norm(dl, axis=1), 1e-300))[:, None]
        dirs.append(d)
    return Plane(tuple(sizes), _frozen(origin), _frozen(dirs[0]), _frozen(dirs[1]), "random")


def project(plane: Plane, points: Sequence[Params]) -> np.ndarray:
    """The (α, β) of each of ``points`` on ``plane``: the least-squares coordinates of
    θ − θ₀ in (d1, d2) (exact for points on the plane), shape (k, 2)."""
    if not len(points):
        return np.empty((0, 2))
    d = np.stack([plane.d1, plane.d2], axis=1)           # (P, 2)
    offsets = np.stack([flatten(*p) - plane.origin for p in points])   # (k, P)
    gram = d.T @ d
    return np.linalg.solve(gram, (offsets @ d).T).T


def _one_hot(labels: np.ndarray, n: int) -> np.ndarray:
    y = np.zeros((len(labels), n))
    y[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)] = 1.0
    return y


def cost_grid(plane: Plane, images: np.ndarray, labels: np.ndarray, alphas: Sequence[float],
              betas: Sequence[float], cost: str = "quadratic", *,
              progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], bool] | None = None, dtype=np.float64) -> np.ndarray:
    """The mean cost per example of the network θ(α, β) on ``images`` (n, sizes[0]) with
    ``labels`` (n,), for every α in ``alphas`` and β in ``betas``: shape
    ``(len(betas), len(alphas))`` (rows: β). ``progress(done_rows, rows)`` is called after
    each row; ``cancelled()`` True stops it (raises :class:`Cancelled`)."""
    cost_name = get_cost(cost).name
    images = np.asarray(images)
    n = images.shape[0]
    if n == 0:
        raise ConfigError("the cost surface needs at least one example")
    sizes = plane.sizes
    if images.shape[1] != sizes[0]:
        raise ConfigError(f"the network takes {sizes[0]} inputs, the examples have {images.shape[1]}")
    alphas = np.asarray(alphas, dtype=dtype)
    betas = np.asarray(betas, dtype=dtype)
    origin = [l.astype(dtype) for l in _layers(plane.origin, sizes)]
    d1 = [l.astype(dtype) for l in _layers(plane.d1, sizes)]
    d2 = [l.astype(dtype) for l in _layers(plane.d2, sizes)]
    x = np.hstack([images.astype(dtype, copy=False), np.ones((n, 1), dtype)])   # (n, sizes[0] + 1)
    y = _one_hot(labels, sizes[-1]).astype(dtype)
    # the first layer's weighted inputs z = x (W0 + α D1 + β D2)ᵀ: three products, once
    z0, p, q = x @ origin[0].T, x @ d1[0].T, x @ d2[0].T                    # (n, sizes[1]) each
    per_alpha = n * max(sizes[1:]) * np.dtype(dtype).itemsize * 3
    chunk = max(1, min(len(alphas), GRID_BYTES // max(per_alpha, 1)))
    out = np.empty((len(betas), len(alphas)))
    for i, beta in enumerate(betas):
        if cancelled is not None and cancelled():
            raise Cancelled()
        zb = z0 + beta * q
        for s in range(0, len(alphas), chunk):
            a_ = alphas[s:s + chunk]
            a = _sigmoid_inplace(zb[None] + a_[:, None, None] * p[None])          # (A, n, sizes[1])
            for l in range(1, len(sizes) - 1):
                wb = origin[l][None] + a_[:, None, None] * d1[l][None] + beta * d2[l][None]   # (A, y, x+1)
                a = np.matmul(a, wb[:, :, :-1].transpose(0, 2, 1))
                a += wb[:, None, :, -1]
                _sigmoid_inplace(a)                                                # a' = σ(w a + b)
            out[i, s:s + chunk] = _mean_cost(a, y, cost_name)
        if progress is not None:
            progress(i + 1, len(betas))
    return out


def _mean_cost(a: np.ndarray, y: np.ndarray, cost_name: str) -> np.ndarray:
    """Mean cost per example for each of the A networks: ``a`` (A, n, 10), ``y`` (n, 10)."""
    n = y.shape[0]
    if cost_name == "quadratic":
        d = a - y[None]
        return 0.5 * np.einsum("knj,knj->k", d, d) / n          # C = 1/2n Σ ||y - a||²  (eq. 6)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = -(y * np.log(a) + (1.0 - y) * np.log(1.0 - a))
    return np.nan_to_num(c, nan=0.0, posinf=1e4).sum(axis=(1, 2)) / n


def network_cost(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], images: np.ndarray,
                 labels: np.ndarray, cost: str = "quadratic") -> float:
    """The mean cost per example of the network ``(weights, biases)`` on ``images``
    (n, sizes[0]) with ``labels`` (n,), in float64."""
    a = np.asarray(images, dtype=np.float64)
    for w, b in zip(weights, biases):
        a = _sigmoid_inplace(a @ np.asarray(w, np.float64).T + np.asarray(b, np.float64).reshape(1, -1))
    y = _one_hot(labels, a.shape[1])
    return float(_mean_cost(a[None], y, get_cost(cost).name)[0])


def timeline_points(timeline) -> tuple[list[int], list[Params]]:
    """The epochs of a :class:`~nnviz.core.timeline.Timeline` that kept their weights, and
    those ``(weights, biases)``, in order."""
    epochs, points = [], []
    for entry in timeline:
        if entry.has_weights:
            epochs.append(entry.epochs_done)
            points.append((entry.weights, entry.biases))
    return epochs, points


@dataclass(frozen=True, eq=False)
class Surface:
    """A computed slice: ``costs[i, j]`` = C(θ₀ + alphas[j] d1 + betas[i] d2) on
    ``n_examples`` training digits; ``path`` (k, 2) the recorded epochs' (α, β), ``epochs``
    (k,) which epochs; ``path_costs`` (k,) their cost on the same digits."""

    plane: Plane
    alphas: np.ndarray
    betas: np.ndarray
    costs: np.ndarray
    path: np.ndarray
    epochs: np.ndarray
    path_costs: np.ndarray
    n_examples: int
    cost: str
    seconds: float


def _span(c: np.ndarray, other: float, min_half: float) -> tuple[float, float]:
    """An axis's range: the path's coordinates ``c`` and 0 with a 30 % margin, at least
    35 % of the ``other`` axis's span and ``min_half`` either side of the middle."""
    lo, hi = (float(c.min()), float(c.max())) if c.size else (0.0, 0.0)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    half = max(0.65 * max(hi - lo, 0.35 * other), min_half)
    mid = 0.5 * (lo + hi)
    return mid - half, mid + half


def compute_surface(epochs: Sequence[int], points: Sequence[Params], images: np.ndarray,
                    labels: np.ndarray, *, kind: str = "pca", resolution: int = 41, seed: int | None = 0,
                    cost: str = "quadratic", progress: Callable[[int, int], None] | None = None,
                    cancelled: Callable[[], bool] | None = None, dtype=np.float32) -> Surface:
    """The cost surface around a recorded run: the plane (``kind`` 'pca' through the last
    of ``points``, or 'random' through it), a ``resolution``² grid covering the projected
    trajectory with a margin (computed in ``dtype``: float32 is 2-3 times faster and
    agrees to ~1e-6), and the trajectory's own costs (float64)."""
    if not points:
        raise ConfigError("no recorded weights to look at: train at least one epoch")
    t0 = time.perf_counter()
    if kind == "pca":
        plane = pca_plane(points)
    elif kind == "random":
        plane = random_plane(*points[-1], seed=seed)
    else:
        raise ConfigError(f"plane must be 'pca' or 'random', got {kind!r}")
    path = project(plane, points)
    min_half = 1e-6 if kind == "pca" else 1.0   # random: at least ±1 (each neuron moved by its own norm)
    a_span = float(np.ptp(path[:, 0])) if len(path) else 0.0
    b_span = float(np.ptp(path[:, 1])) if len(path) else 0.0
    a_lo, a_hi = _span(path[:, 0], b_span, min_half)
    b_lo, b_hi = _span(path[:, 1], a_span, min_half)
    alphas = np.linspace(a_lo, a_hi, resolution)
    betas = np.linspace(b_lo, b_hi, resolution)
    costs = cost_grid(plane, images, labels, alphas, betas, cost, progress=progress, cancelled=cancelled,
                      dtype=dtype)
    path_costs = np.array([network_cost(w, b, images, labels, cost) for w, b in points])
    return Surface(plane, alphas, betas, costs, path, np.asarray(epochs, dtype=np.int64), path_costs,
                   int(len(labels)), get_cost(cost).name, time.perf_counter() - t0)
