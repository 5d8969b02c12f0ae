"""Tiling many 28x28 weight images into one mosaic array (pure numpy, no Qt).

The heatmap view shows every hidden neuron's incoming weights as one tile; drawing one
image is far cheaper than drawing one image per neuron. These functions do only the
array reshaping and the inverse lookup (mosaic pixel -> neuron index).
"""

from __future__ import annotations

import math

import numpy as np

TILE = (28, 28)


def grid_shape(n: int) -> tuple[int, int]:
    """``(rows, cols)`` of a near-square grid holding ``n`` tiles (cols >= rows).

    >>> grid_shape(30), grid_shape(100), grid_shape(1)
    ((5, 6), (10, 10), (1, 1))
    """
    if n < 1:
        raise ValueError(f"need at least one tile, got {n}")
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    return rows, cols


def mosaic_shape(n: int, tile: tuple[int, int] = TILE, gap: int = 1) -> tuple[int, int]:
    """Pixel shape ``(height, width)`` of the mosaic of ``n`` tiles."""
    rows, cols = grid_shape(n)
    th, tw = tile
    return rows * (th + gap) - gap, cols * (tw + gap) - gap


def tile_mosaic(weights: np.ndarray, tile: tuple[int, int] = TILE, gap: int = 1,
                fill: float = np.nan, out: np.ndarray | None = None) -> np.ndarray:
    """Lay out the rows of ``weights`` ``(n, th*tw)`` as tiles in a ``mosaic_shape(n)`` array.

    Tile ``j`` (neuron ``j``) sits at grid row ``j // cols``, column ``j % cols``, row-major
    inside the tile (the image's own layout). Gaps and unused cells hold ``fill`` (NaN:
    drawn transparent). ``out`` (float, the right shape) is reused when given.
    """
    w = np.asarray(weights)
    n = w.shape[0]
    th, tw = tile
    if w.ndim != 2 or w.shape[1] != th * tw:
        raise ValueError(f"expected weights of shape (n, {th * tw}), got {w.shape}")
    rows, cols = grid_shape(n)
    shape = mosaic_shape(n, tile, gap)
    if out is None or out.shape != shape:
        out = np.empty(shape, dtype=np.float32)
    out.fill(fill)
    # pad to a full grid, then view it as (rows, th, cols, tw) blocks of the mosaic
    full = np.full((rows * cols, th, tw), fill, dtype=out.dtype)
    full[:n] = w.reshape(n, th, tw)
    blocks = full.reshape(rows, cols, th, tw).transpose(0, 2, 1, 3)  # (rows, th, cols, tw)
    padded = np.full((rows, th + gap, cols, tw + gap), fill, dtype=out.dtype)
    padded[:, :th, :, :tw] = blocks
    out[...] = padded.reshape(rows * (th + gap), cols * (tw + gap))[:shape[0], :shape[1]]
    return out


def tile_at(row: float, col: float, n: int, tile: tuple[int, int] = TILE, gap: int = 1) -> int | None:
    """The neuron whose tile holds mosaic pixel ``(row, col)``; None in a gap or outside."""
    if row < 0 or col < 0:
        return None
    th, tw = tile
    r, c = int(row), int(col)
    gr, ir = divmod(r, th + gap)
    gc, ic = divmod(c, tw + gap)
    rows, cols = grid_shape(n)
    if ir >= th or ic >= tw or gr >= rows or gc >= cols:
        return None
    j = gr * cols + gc
    return j if j < n else None


def symmetric_level(weights: np.ndarray, quantile: float = 0.995) -> float:
    """A colour range ``(-m, m)`` centred on zero: ``m`` the ``quantile`` of ``|weights|``
    (so a few outliers do not wash out the picture); 1.0 when all weights are zero."""
    a = np.abs(np.asarray(weights, dtype=np.float64)).ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 1.0
    k = min(a.size - 1, int(quantile * (a.size - 1)))
    m = float(np.partition(a, k)[k])  # the quantile, without sorting everything
    return nice_level(m) if m > 0 else 1.0


NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_level(m: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (x 10^k) that is >= m: a colour
    range that reads well on the colour bar and changes only now and then."""
    if not m > 0 or not np.isfinite(m):
        return 1.0
    scale = 10.0 ** np.floor(np.log10(m))
    for step in NICE_STEPS:
        if step * scale >= m * (1 - 1e-12):
            return float(step * scale)
    return float(10 * scale)  # pragma: no cover - NICE_STEPS ends at 10
