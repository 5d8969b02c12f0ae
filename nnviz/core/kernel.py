"""The compiled training kernel: many mini-batches of SGD in one call, without the GIL.

The same arithmetic as :meth:`Network.update_mini_batch` (the book's chapter 1: sigmoid
neurons, backpropagation, w -> w - (eta/m) sum nabla_w), for a network with one hidden
layer, written as plain loops that numba compiles to machine code:

- the first layer only looks at the **nonzero pixels** of each example (about 1 in 5 on
  MNIST): each example's nonzero pixel indices and values are listed once per dataset
  (:func:`nnviz.core.network.sparse_rows`);
- the first layer's weights are kept transposed, one row of ``hp`` hidden weights per
  pixel, so that both the forward sum and the weight update are runs over contiguous
  memory; ``hp`` is the hidden layer padded to a multiple of 8 with units whose weights
  stay exactly 0. These runs are written as explicit 8-wide vector operations
  (:func:`axpy`: one 512-bit instruction in float64): left to itself the compiler cannot
  tell that the activations and the weights do not overlap in memory, and wraps every
  short loop in run-time overlap checks that cost as much as the arithmetic;
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
from llvmlite import ir  # noqa: E402
from numba import types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

if not numba.config.CACHE_DIR:  # numba was imported before the variable was set
    numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]

LANES = 8  # the hidden and output layers are padded to a multiple of this


def padded(n: int) -> int:
    """``n`` rounded up to a multiple of :data:`LANES`."""
    return -(-n // LANES) * LANES


# ---- 8-wide vector operations on slices of 1-d arrays (the caller keeps them in bounds) -----
def _lanes(context, builder, arrty, arr, offset):
    """A pointer to ``LANES`` elements of ``arr`` from ``offset``, and their vector type."""
    vec = ir.VectorType(context.get_data_type(arrty.dtype), LANES)
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.bitcast(builder.gep(data, [offset]), vec.as_pointer()), vec


def _splat(context, builder, value, fromty, arrty, vec):
    x = context.cast(builder, value, fromty, arrty.dtype)
    v = builder.insert_element(ir.Constant(vec, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(v, ir.Constant(vec, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES))


def _fma(builder, vec, a, x, y):
    """a * x + y, rounded once (llvm.fma)."""
    kind = "f64" if vec.element == ir.DoubleType() else "f32"
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec, vec, vec]),
                                        f"llvm.fma.v{LANES}{kind}")
    return builder.call(fn, [a, x, y])


@intrinsic
def axpy(typingctx, y, yoff, a, x, xoff):
    """``y[yoff:yoff+8] += a * x[xoff:xoff+8]``: one vector multiply-add."""
    def codegen(context, builder, sig, args):
        yp, vec = _lanes(context, builder, sig.args[0], args[0], args[1])
        xp, _ = _lanes(context, builder, sig.args[3], args[3], args[4])
        av = _splat(context, builder, args[2], sig.args[2], sig.args[0], vec)
        result = _fma(builder, vec, av, builder.load(xp, align=1), builder.load(yp, align=1))
        builder.store(result, yp, align=1)
        return context.get_dummy_value()
    return types.void(y, yoff, a, x, xoff), codegen


@intrinsic
def axpy4(typingctx, y, yoff, a0, x0, a1, x1, a2, x2, a3, x3, xoff):
    """``y[yoff:yoff+8] += (a0 x0 + a1 x1) + (a2 x2 + a3 x3)`` over ``x_i[xoff:xoff+8]``:
    four rows into one running sum, with one load and one store of it."""
    def codegen(context, builder, sig, args):
        yp, vec = _lanes(context, builder, sig.args[0], args[0], args[1])
        terms = []
        for i in range(4):
            xp, _ = _lanes(context, builder, sig.args[3 + 2 * i], args[3 + 2 * i], args[10])
            terms.append((_splat(context, builder, args[2 + 2 * i], sig.args[2 + 2 * i], sig.args[0], vec),
                          builder.load(xp, align=1)))
        (av0, xv0), (av1, xv1), (av2, xv2), (av3, xv3) = terms
        p = _fma(builder, vec, av1, xv1, builder.fmul(av0, xv0))
        q = _fma(builder, vec, av3, xv3, builder.fmul(av2, xv2))
        builder.store(builder.fadd(builder.load(yp, align=1), builder.fadd(p, q)), yp, align=1)
        return context.get_dummy_value()
    return types.void(y, yoff, a0, x0, a1, x1, a2, x2, a3, x3, xoff), codegen


@intrinsic
def prefetch(typingctx, arr, index):
    """Ask the CPU to start loading ``arr[index]`` into its cache (never faults)."""
    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        ptr = builder.bitcast(builder.gep(data, [args[1]]), i8p)
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])  # read, keep
        return context.get_dummy_value()
    return types.void(arr, index), codegen


@numba.njit(nogil=True, cache=True, error_model="numpy")
def sgd_epoch_chunk(indptr, indices, values, labels, order, start, n_batches, m,
                    w1t, b1, w2t, w2, b2, n_hidden, n_out, eta, quadratic, consts,
                    flag, flag0, a1, d1, d2, cost_sum):
    """Run up to ``n_batches`` mini-batches of ``m`` examples, the first starting at
    position ``start`` of ``order`` (the last one of the epoch may be short).

    Parameters (updated in place): ``w1t (n_in, hp)`` first-layer weights, transposed;
    ``b1 (hp,)``; ``w2t (hp, op)`` second-layer weights, transposed, and ``w2 (op, hp)``
    the same weights untransposed; ``b2 (op,)``. Padding units hold 0; ``hp`` and ``op``
    are multiples of :data:`LANES`, every array C-contiguous.
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
            # the examples come in random order: fetch the next one's pixels from memory
            # while this one is computed, and where the one after that starts
            if pos + i + 2 < n:
                prefetch(indptr, order[pos + i + 2])
            if pos + i + 1 < n:
                e_next = order[pos + i + 1]
                for q in range(indptr[e_next], indptr[e_next + 1], 8):
                    prefetch(indices, q)
                    prefetch(values, q)
            z = a1[i]
            z[:] = b1
            # z^1 = w^1 x + b^1 over the nonzero pixels x_k only: z += x_k (row k of w1t)
            p = indptr[e]
            end = indptr[e + 1]
            while p + 4 <= end:
                r0, r1, r2, r3 = w1t[indices[p]], w1t[indices[p + 1]], w1t[indices[p + 2]], w1t[indices[p + 3]]
                v0, v1, v2, v3 = values[p], values[p + 1], values[p + 2], values[p + 3]
                for j in range(0, hp, LANES):
                    axpy4(z, j, v0, r0, v1, r1, v2, r2, v3, r3, j)
                p += 4
            while p < end:
                row = w1t[indices[p]]
                for j in range(0, hp, LANES):
                    axpy(z, j, values[p], row, j)
                p += 1
            for j in range(n_hidden):
                z[j] = one / (one + np.exp(-max(z[j], lo)))  # a^1 = sigma(z^1)
            for j in range(n_hidden, hp):
                z[j] = zero
            o = d2[i]
            o[:] = b2
            for j in range(0, hp, 4):                         # z^2 = w^2 a^1 + b^2 (padding: 0)
                for q in range(0, op, LANES):
                    axpy4(o, q, z[j], w2t[j], z[j + 1], w2t[j + 1], z[j + 2], w2t[j + 2], z[j + 3], w2t[j + 3], q)
            label = labels[e]
            for q in range(n_out):
                a = one / (one + np.exp(-max(o[q], lo)))      # a^2 = sigma(z^2)
                diff = a - one if q == label else a           # a - y
                if quadratic:
                    batch_cost += 0.5 * float(diff) * float(diff)
                    o[q] = diff * (a * (one - a)) * c         # delta^2 (BP1), times eta/m
                else:
                    batch_cost -= np.log(float(max(one - abs(diff), tiny)))
                    o[q] = diff * c
            for q in range(n_out, op):
                o[q] = zero
            d = d1[i]
            d[:] = zero
            for q in range(0, op, 4):                         # (w^2)^T delta^2 ...
                for j in range(0, hp, LANES):
                    axpy4(d, j, o[q], w2[q], o[q + 1], w2[q + 1], o[q + 2], w2[q + 2], o[q + 3], w2[q + 3], j)
            for j in range(n_hidden):
                d[j] *= z[j] * (one - z[j])                   # ... * sigma'(z^1)   (BP2)
        # ---- the update: w -> w - (eta/m) sum delta a^T, b -> b - (eta/m) sum delta
        for i in range(mb):
            e = order[pos + i]
            d = d1[i]
            for p in range(indptr[e], indptr[e + 1]):
                row = w1t[indices[p]]
                v = -values[p]
                for j in range(0, hp, LANES):
                    axpy(row, j, v, d, j)
            for j in range(0, hp, LANES):
                axpy(b1, j, -one, d, j)
            o = d2[i]
            z = a1[i]
            for j in range(n_hidden):
                row2 = w2t[j]
                for q in range(0, op, LANES):
                    axpy(row2, q, -z[j], o, q)
            for q in range(0, op, LANES):
                axpy(b2, q, -one, o, q)
        for q in range(op):
            for j in range(hp):
                w2[q, j] = w2t[j, q]
        cost_sum += batch_cost
        done += 1
        pos += mb
        if flag[0] != flag0:
            break
    return cost_sum, done
