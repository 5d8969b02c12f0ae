"""The compiled training kernel: many mini-batches of SGD in one call, without the GIL.

The same arithmetic as :meth:`Network.update_mini_batch` (the book's chapter 1: sigmoid
neurons, backpropagation, w -> w - (eta/m) sum nabla_w), for a network with one hidden
layer, written as plain loops that numba compiles to machine code:

- the first layer only looks at the **nonzero pixels** of each example (about 1 in 5 on
  MNIST): each example's nonzero pixel indices and values are listed once per dataset
  (:func:`nnviz.core.network.sparse_rows`);
- the first layer's weights are kept transposed, one row of ``hp`` hidden weights per
  pixel, so that both the forward sum and the weight update are runs over contiguous
  memory that the compiler turns into vector instructions; ``hp`` is the hidden layer
  padded to a multiple of 8 with units whose weights stay exactly 0;
- all forward and backward passes of a mini-batch use the weights from before it, then
  the weights are updated once (as in the book);
- ``nogil=True``: while a chunk of mini-batches runs, the window (another thread) keeps
  Python to itself; ``cache=True``: compiled once per machine, loaded from a cache after.

Importing this module imports numba (about half a second): :mod:`nnviz.core.network`
imports it lazily, on the first training call, and falls back to numpy if numba is
missing. The cache lives in ``NUMBA_CACHE_DIR``, or else in nnviz's user cache directory
(so that it works when site-packages is read-only).
"""

from __future__ import annotations

import os


def _cache_dir() -> str:
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("nnviz", appauthor=False), "numba")


if not os.environ.get("NUMBA_CACHE_DIR"):
    os.environ["NUMBA_CACHE_DIR"] = _cache_dir()

import numba  # noqa: E402
import numpy as np  # noqa: E402

if not numba.config.CACHE_DIR:  # numba was imported before the variable was set
    numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]

LANES = 8  # hidden/output layers are padded to a multiple of this (one 512-bit vector of float64)


def padded(n: int) -> int:
    """``n`` rounded up to a multiple of :data:`LANES`."""
    return -(-n // LANES) * LANES


@numba.njit(nogil=True, cache=True, fastmath={"contract"}, error_model="numpy")
def sgd_epoch_chunk(indptr, indices, values, labels, order, start, n_batches, m,
                    w1t, b1, w2t, w2, b2, n_hidden, n_out, eta, quadratic, consts,
                    flag, flag0, a1, d1, d2, cost_sum):
    """Run up to ``n_batches`` mini-batches of ``m`` examples, the first starting at
    position ``start`` of ``order`` (the last one of the epoch may be short).

    Parameters (updated in place): ``w1t (n_in, hp)`` first-layer weights, transposed;
    ``b1 (hp,)``; ``w2t (hp, op)`` second-layer weights, transposed, and ``w2 (op, hp)``
    the same weights untransposed; ``b2 (op,)``. Padding units hold 0.
    ``consts``: ``[lowest z for sigma, 1, smallest positive]`` in the weights' dtype.
    Scratch: ``a1 (m, hp)``, ``d1 (m, hp)``, ``d2 (m, op)``.
    Stops early, after a whole mini-batch, when ``flag[0] != flag0``.
    Returns ``(cost_sum, batches_done)``: ``cost_sum`` plus each mini-batch's summed cost,
    added one mini-batch at a time (the same total whatever the chunk size).
    """
    n = order.shape[0]
    hp = w1t.shape[1]
    op = w2t.shape[1]
    lo = consts[0]
    one = consts[1]
    tiny = consts[2]
    zero = one - one
    scale = consts[1:2].copy()
    done = 0
    pos = start
    while done < n_batches and pos < n:
        mb = min(m, n - pos)
        scale[0] = eta / mb
        c = scale[0]
        batch_cost = 0.0
        # ---- forward and backward pass of every example, with the weights from before the batch
        for i in range(mb):
            e = order[pos + i]
            z = a1[i]
            for j in range(hp):
                z[j] = b1[j]
            # z^1 = w^1 x + b^1 over the nonzero x only, four pixels at a time (four
            # products per store: the running sum z waits less on its own last store)
            p = indptr[e]
            end = indptr[e + 1]
            while p + 4 <= end:
                v0, v1, v2, v3 = values[p], values[p + 1], values[p + 2], values[p + 3]
                r0, r1 = w1t[indices[p]], w1t[indices[p + 1]]
                r2, r3 = w1t[indices[p + 2]], w1t[indices[p + 3]]
                for j in range(hp):
                    z[j] += (v0 * r0[j] + v1 * r1[j]) + (v2 * r2[j] + v3 * r3[j])
                p += 4
            while p < end:
                v = values[p]
                row = w1t[indices[p]]
                for j in range(hp):
                    z[j] += v * row[j]
                p += 1
            for j in range(n_hidden):
                z[j] = one / (one + np.exp(-max(z[j], lo)))  # a^1 = sigma(z^1)
            for j in range(n_hidden, hp):
                z[j] = zero
            o = d2[i]
            for q in range(op):
                o[q] = b2[q]
            for j in range(n_hidden):
                aj = z[j]
                row2 = w2t[j]
                for q in range(op):
                    o[q] += aj * row2[q]                    # z^2 = w^2 a^1 + b^2
            label = labels[e]
            for q in range(n_out):
                a = one / (one + np.exp(-max(o[q], lo)))    # a^2 = sigma(z^2)
                diff = a - one if q == label else a         # a - y
                if quadratic:
                    batch_cost += 0.5 * float(diff) * float(diff)
                    o[q] = diff * (a * (one - a)) * c       # delta^2 (BP1), times eta/m
                else:
                    batch_cost -= np.log(float(max(one - abs(diff), tiny)))
                    o[q] = diff * c
            for q in range(n_out, op):
                o[q] = zero
            d = d1[i]
            for j in range(hp):
                d[j] = zero
            for q in range(n_out):
                dq = o[q]
                row2 = w2[q]
                for j in range(hp):
                    d[j] += dq * row2[j]                    # (w^2)^T delta^2 ...
            for j in range(n_hidden):
                d[j] *= z[j] * (one - z[j])                 # ... * sigma'(z^1)   (BP2)
        # ---- the update: w -> w - (eta/m) sum delta a^T, b -> b - (eta/m) sum delta
        for i in range(mb):
            e = order[pos + i]
            d = d1[i]
            for p in range(indptr[e], indptr[e + 1]):
                v = values[p]
                row = w1t[indices[p]]
                for j in range(hp):
                    row[j] -= v * d[j]
            for j in range(hp):
                b1[j] -= d[j]
            o = d2[i]
            z = a1[i]
            for j in range(n_hidden):
                aj = z[j]
                row2 = w2t[j]
                for q in range(op):
                    row2[q] -= aj * o[q]
            for q in range(op):
                b2[q] -= o[q]
        for q in range(op):
            for j in range(hp):
                w2[q, j] = w2t[j, q]
        cost_sum += batch_cost
        done += 1
        pos += mb
        if flag[0] != flag0:
            break
    return cost_sum, done
