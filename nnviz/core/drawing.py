"""A hand-drawn digit made into the 28x28 input the network sees, the way MNIST was made.

MNIST's digits were scanned ink, size-normalised "to fit in a 20x20 pixel box while
preserving their aspect ratio" (with anti-aliasing, hence the grey edges), then "centered
in a 28x28 image by computing the center of mass of the pixels, and translating the
image so as to position this point at the center of the 28x28 field" (LeCun et al.).
:func:`preprocess` does the same to a drawing:

1. crop to the bounding box of the ink (pixels above :data:`INK_THRESHOLD`);
2. scale by ``20 / max(height, width)``, so the longer side becomes 20 pixels and the
   aspect ratio is kept, by area averaging (each output pixel is the mean of the canvas
   area it covers: a box filter, done as two small matrix products);
3. paste into 28x28 with a **whole-pixel** shift that puts the centre of mass
   (in pixel-index coordinates) nearest to row 14, column 14. MNIST itself used a
   whole-pixel shift: the bundled digits' centres of mass all lie within half a pixel of
   (14, 14). A whole-pixel shift adds no blur, and it makes :func:`paste_digit` exact.

Drawings are float arrays in [0, 1], ink 1, background 0, indexed ``[row, column]``.
:func:`render_stroke` draws into them (the GUI's pad and the tests share it), and
:func:`stroke_width_for` gives a pen that comes out MNIST-thick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "FIT",
    "INK_THRESHOLD",
    "SIZE",
    "centre_of_mass",
    "paste_digit",
    "preprocess",
    "render_stroke",
    "stroke_width_for",
    "to_image",
    "to_input",
]

SIZE = 28          # MNIST images are SIZE x SIZE
FIT = 20           # the digit is scaled to fit a FIT x FIT box
CENTRE = 14.0      # ... and its centre of mass moved to (CENTRE, CENTRE)

# MNIST stores bytes 0..255: anything that would round to 0 there is background. This
# also keeps faint anti-aliasing fringes and float noise out of the bounding box.
INK_THRESHOLD = 0.5 / 255


def _area_matrix(n: int, scale: float) -> np.ndarray:
    """``(m, n)`` matrix resampling a length-``n`` signal by ``scale`` with a box filter.

    Output pixel ``i`` covers input interval ``[i / scale, (i + 1) / scale)``; its value is
    the mean of the input over that interval (the overlap of each input pixel, times
    ``scale``). ``m = ceil(n * scale)``: the last output pixel may be only partly covered,
    and is then as faint as the share it covers, so no ink is invented or lost.
    """
    m = max(1, math.ceil(n * scale - 1e-9))
    lo = np.arange(m)[:, None] / scale           # (m, 1) output pixel edges, input coords
    hi = lo + 1.0 / scale
    j = np.arange(n)[None, :]                    # (1, n) input pixels [j, j + 1)
    overlap = np.minimum(hi, j + 1.0) - np.maximum(lo, j)
    return np.clip(overlap, 0.0, None) * scale


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) centre of mass of ``image`` ``(h, w)`` in pixel-index coordinates
    (pixel ``[r, c]`` sits at ``(r, c)``); ``(nan, nan)`` if it holds no ink."""
    image = np.asarray(image, dtype=np.float64)
    mass = float(image.sum())
    if mass <= 0.0:
        return float("nan"), float("nan")
    rows = image.sum(axis=1) @ np.arange(image.shape[0]) / mass
    cols = image.sum(axis=0) @ np.arange(image.shape[1]) / mass
    return float(rows), float(cols)


def preprocess(canvas: np.ndarray) -> np.ndarray:
    """The network's view of a drawing: ``canvas`` ``(H, W)`` in [0, 1] (ink 1) ->
    ``(28, 28)`` float32 in [0, 1], MNIST-style (see the module docstring).

    Any canvas size works; the digit is scaled up or down to fit 20x20. A canvas with no
    ink gives all zeros. If the centre of mass lies far off the middle of the digit (more
    than 14 pixels from one edge of its box), the part that falls outside 28x28 is cut
    off, as it was in MNIST.
    """
    a = np.asarray(canvas, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"a drawing must be a 2-d array (rows, columns), got shape {a.shape}")
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    ink = a > INK_THRESHOLD
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(ink.any(axis=0))
    crop = np.clip(a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], 0.0, 1.0)
    h, w = crop.shape
    scale = FIT / max(h, w)
    small = _area_matrix(h, scale) @ crop @ _area_matrix(w, scale).T   # (<=20, <=20)
    cy, cx = centre_of_mass(small)
    top = math.floor(CENTRE - cy + 0.5)      # whole-pixel shift, rounding half up
    left = math.floor(CENTRE - cx + 0.5)
    # paste small[., .] at out[top + ., left + .], cutting what falls outside
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + small.shape[0], SIZE), min(left + small.shape[1], SIZE)
    if r0 < r1 and c0 < c1:
        out[r0:r1, c0:c1] = small[r0 - top:r1 - top, c0 - left:c1 - left]
    np.clip(out, 0.0, 1.0, out=out)
    return out


def paste_digit(img28: np.ndarray, canvas_size: int = 280) -> np.ndarray:
    """A 28x28 digit (``(28, 28)`` or ``(784,)``) enlarged onto a ``(canvas_size,
    canvas_size)`` float32 canvas, the way it would look drawn on the pad.

    Each digit pixel becomes a solid ``f x f`` block, ``f = canvas_size // 28``, and the
    enlarged field is centred (a margin of ``canvas_size % 28`` pixels is left blank). So
    ``preprocess(paste_digit(x))`` gives back ``x`` exactly for MNIST digits (longer side
    20 pixels, centre of mass within half a pixel of (14, 14)), whatever the pad's size.
    A canvas smaller than 28 gets the digit shrunk by area averaging.
    """
    img = to_image(img28).astype(np.float32)
    canvas_size = int(canvas_size)
    if canvas_size < 1:
        raise ValueError(f"canvas_size must be at least 1, got {canvas_size}")
    f = canvas_size // SIZE
    if f == 0:
        r = _area_matrix(SIZE, canvas_size / SIZE)[:canvas_size]   # (canvas_size, 28)
        return np.clip(r @ img @ r.T, 0.0, 1.0).astype(np.float32)
    canvas = np.zeros((canvas_size, canvas_size), dtype=np.float32)
    m = (canvas_size - f * SIZE) // 2
    canvas[m:m + f * SIZE, m:m + f * SIZE] = np.kron(img, np.ones((f, f), dtype=np.float32))
    return np.clip(canvas, 0.0, 1.0, out=canvas)


def to_input(img28: np.ndarray) -> np.ndarray:
    """A ``(28, 28)`` image as the ``(784, 1)`` column :meth:`Network.feedforward` takes
    (a copy, same dtype)."""
    img = np.asarray(img28)
    if img.size != SIZE * SIZE:
        raise ValueError(f"expected a 28x28 image, got shape {img.shape}")
    return np.array(img, copy=True).reshape(SIZE * SIZE, 1)


def to_image(x: np.ndarray) -> np.ndarray:
    """An input ``(784,)`` or ``(784, 1)`` (or already ``(28, 28)``) as a ``(28, 28)``
    image, row-major like MNIST (a copy, same dtype)."""
    x = np.asarray(x)
    if x.size != SIZE * SIZE:
        raise ValueError(f"expected 784 pixels, got shape {x.shape}")
    return np.array(x, copy=True).reshape(SIZE, SIZE)


def stroke_width_for(canvas_size: float) -> float:
    """Pen width (pixels) for a ``canvas_size`` square pad: ``canvas_size / 10``.

    MNIST strokes are about 2-3 pixels wide on a digit 20 pixels tall. People draw a digit
    about 0.7 of the pad's height, which :func:`preprocess` scales by
    ``20 / (0.7 * canvas_size)``; a pen of ``canvas_size / 10`` then becomes
    at most ``20 / 7 = 2.9`` pixels, MNIST's thickness. (A straight vertical stroke
    drawn so comes out with about 2.4 pixels of ink per row; MNIST's 1s, many of them
    slanted, have about 3.)
    """
    return float(canvas_size) / 10.0


def render_stroke(
    canvas: np.ndarray,
    points: Sequence[Sequence[float]] | np.ndarray,
    width: float,
) -> tuple[slice, slice] | None:
    """Draw a polyline of ink into ``canvas`` ``(H, W)`` (float, modified in place).

    ``points``: ``(k, 2)`` as ``(x, y)``, x to the right and y down in pixel units, pixel
    ``[r, c]`` covering ``[c, c+1) x [r, r+1)`` (widget coordinates on a 1:1 pad); one
    point draws a dot. The stroke is ``width`` wide with round caps and joins; its edge is
    anti-aliased over one pixel (coverage ``clip(width/2 + 1/2 - distance, 0, 1)``, distance
    from the pixel centre to the nearest segment). Ink is combined by maximum, so strokes
    never exceed 1. Only the pixels near each segment are computed.

    Returns the ``(rows, columns)`` slices of the region that may have changed (for a
    partial repaint), or None if the stroke lies entirely off the canvas.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if canvas.ndim != 2:
        raise ValueError(f"the canvas must be 2-d, got shape {canvas.shape}")
    if len(pts) == 0 or width <= 0:
        return None
    if len(pts) == 1:
        pts = np.vstack([pts, pts])
    height, width_px = canvas.shape
    reach = width / 2.0 + 0.5          # beyond this distance a pixel gets no ink
    region = [height, 0, width_px, 0]  # touched rows [r0, r1), columns [c0, c1)
    for (px, py), (qx, qy) in zip(pts[:-1], pts[1:]):
        r0 = max(math.floor(min(py, qy) - reach), 0)
        r1 = min(math.ceil(max(py, qy) + reach) + 1, height)
        c0 = max(math.floor(min(px, qx) - reach), 0)
        c1 = min(math.ceil(max(px, qx) + reach) + 1, width_px)
        if r0 >= r1 or c0 >= c1:
            continue
        yy = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5 - py   # pixel centres
        xx = np.arange(c0, c1, dtype=np.float64)[None, :] + 0.5 - px   # relative to p
        dx, dy = qx - px, qy - py
        length2 = dx * dx + dy * dy
        if length2 > 0.0:
            t = np.clip((xx * dx + yy * dy) / length2, 0.0, 1.0)   # nearest point p + t (q - p)
            ex, ey = xx - t * dx, yy - t * dy
        else:
            ex, ey = xx, yy
        coverage = np.clip(reach - np.sqrt(ex * ex + ey * ey), 0.0, 1.0)
        view = canvas[r0:r1, c0:c1]
        np.maximum(view, coverage, out=view)
        region = [min(region[0], r0), max(region[1], r1), min(region[2], c0), max(region[3], c1)]
    if region[0] >= region[1]:
        return None
    return slice(region[0], region[1]), slice(region[2], region[3])
