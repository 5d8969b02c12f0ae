"""The book's ``Network``: sigmoid neurons, mini-batch SGD, backpropagation.

Same interface as ``network.py`` in Nielsen's *Neural Networks and Deep Learning*
(chapter 1), so code written against the book runs unchanged:

- ``weights[l]``: ``(sizes[l+1], sizes[l])``; ``biases[l]``: ``(sizes[l+1], 1)``.
- ``feedforward(a)`` takes a ``(784, 1)`` column, or ``(784, m)`` for m inputs at once.
- ``SGD``, ``update_mini_batch``, ``backprop``, ``evaluate``, ``cost_derivative``.

Inside, a mini-batch is one matrix (the book's chapter-2 "fully matrix-based"
exercise). Each layer's weights and biases live side by side in one array
``[W | b]`` of shape ``(sizes[l+1], sizes[l] + 1)``, so that ``W a + b`` is a single
product with the input extended by a row of ones; ``weights`` and ``biases`` are views
into it.

Two ways to train, with the same results: :meth:`Network.sgd_step` and the book's
methods are readable numpy (the reference, and the fallback where numba is missing);
:meth:`Network.sgd_steps`, which ``SGD`` and the training generator use, runs many
mini-batches in one call of the compiled kernel (:mod:`nnviz.core.kernel`) for networks
with one hidden layer, without Python's GIL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnviz.core.codings import OutputCoding, coding_for
from nnviz.core.costs import CrossEntropyCost, QuadraticCost, get_cost
from nnviz.core.errors import ConfigError

DTYPES = {"float64": np.float64, "float32": np.float32}

# exp(-z) overflows below these z; sigmoid is 0 there to within the type's precision.
_EXP_LIMIT = {np.dtype(np.float64): 700.0, np.dtype(np.float32): 87.0}


# ufuncs bound once: the mini-batch loop calls them tens of thousands of times a second
take, matmul, maximum, negative, exp = np.take, np.matmul, np.maximum, np.negative, np.exp
add, subtract, multiply, reciprocal = np.add, np.subtract, np.multiply, np.reciprocal


def sigmoid(z: np.ndarray) -> np.ndarray:
    """sigma(z) = 1 / (1 + e^-z), elementwise; never overflows or warns."""
    z = np.asarray(z)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    return _sigmoid_inplace(np.array(z, copy=True))


def sigmoid_prime(z: np.ndarray) -> np.ndarray:
    """sigma'(z) = sigma(z) (1 - sigma(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def _sigmoid_inplace(z: np.ndarray) -> np.ndarray:
    """Overwrite ``z`` with sigma(z); five ufunc calls, no temporaries."""
    np.maximum(z, -_EXP_LIMIT[z.dtype], out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)
    return z


def parse_dtype(dtype: Any) -> np.dtype:
    """``'float64'`` / ``'float32'`` (or the numpy types) as a numpy dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ConfigError(f"unknown dtype {dtype!r}: choose 'float64' or 'float32'")
    return dt


MAX_PARAMETERS = 10_000_000  # weights + biases; [784, 30, 10] has 23,860
MAX_LAYERS = 32
ROW_BLOCK = 1024  # rows per numpy call when laying out a dataset (the GIL is let go between calls)


def parse_sizes(sizes: Any) -> list[int]:
    """Layer sizes as a list of positive ints, e.g. '784,30,10' or [784, 30, 10]; at most
    MAX_LAYERS layers and MAX_PARAMETERS weights and biases."""
    if isinstance(sizes, (str, bytes)) and len(sizes) > 400:
        raise ConfigError(f"sizes are too long ({len(sizes)} characters)")
    if isinstance(sizes, str):
        parts = [p.strip() for p in sizes.replace(" ", ",").split(",") if p.strip()]
    else:
        try:
            parts = list(sizes)
        except TypeError:
            raise ConfigError(f"sizes must be whole numbers like 784,30,10, got {type(sizes).__name__}") from None
    if len(parts) > MAX_LAYERS:
        raise ConfigError(f"at most {MAX_LAYERS} layers, got {len(parts)}")
    try:
        out = [int(p) for p in parts]
        if any(isinstance(p, bool) or float(p) != int(p) for p in parts):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        try:
            shown = repr(str(sizes)[:80])
        except ValueError:  # an integer too long to print
            shown = "a huge number"
        raise ConfigError(f"sizes must be whole numbers like 784,30,10, got {shown}") from None
    if len(out) < 2:
        raise ConfigError(f"sizes need at least an input and an output layer, got {sizes!r}")
    if any(s < 1 for s in out):
        raise ConfigError(f"every layer needs at least one neuron, got {sizes!r}")
    n = sum(x * y + y for x, y in zip(out[:-1], out[1:]))
    if n > MAX_PARAMETERS:
        shown = str(out) if max(out) < 10**12 else f"with a layer of {max(out):.3g} neurons"
        raise ConfigError(f"sizes {shown} need more than the limit of {MAX_PARAMETERS:,} weights and biases"
                          + (f" ({n:,})" if n < 10**15 else ""))
    return out


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Training data laid out for fast mini-batches.

    ``x``: ``(n, sizes[0] + 1)``, one example per row, last column all ones (the bias
    input); ``y``: ``(sizes[-1], n)`` one-hot targets, one example per column;
    ``labels``: ``(n,)`` integer labels.
    """

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    _sparse: list = field(default_factory=list, repr=False)

    @property
    def n(self) -> int:
        return self.x.shape[0]

    @property
    def sparse(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each example's nonzero pixels, listed once (made on first use):
        ``(indptr (n+1,), indices, values)``; example i's pixel indices are
        ``indices[indptr[i]:indptr[i+1]]`` and their values ``values[...]`` (the bias
        column is left out)."""
        if not self._sparse:
            self._sparse.append(sparse_rows(self.x[:, :-1]))
        return self._sparse[0]

    def _set_sparse(self, rows: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        self._sparse[:] = [rows]


def sparse_rows(images: np.ndarray, dtype: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nonzero entries of each row of ``images``, listed once (compressed sparse
    rows): ``(indptr (n+1,) int64, indices int32, values)``, the values in ``dtype``
    (default: the images' own).

    Made block by block (:data:`ROW_BLOCK` rows), so that the thread doing it lets go of
    Python's GIL between blocks: a window beside it never waits for the whole dataset."""
    images = np.asarray(images)
    n, width = images.shape
    indptr = np.zeros(n + 1, dtype=np.int64)
    for lo in range(0, n, ROW_BLOCK):
        indptr[lo + 1:lo + ROW_BLOCK + 1] = np.count_nonzero(images[lo:lo + ROW_BLOCK], axis=1)
    np.cumsum(indptr, out=indptr)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    values = np.empty(int(indptr[-1]), dtype=dtype or images.dtype)
    for lo in range(0, n, ROW_BLOCK):
        block = images[lo:lo + ROW_BLOCK].reshape(-1)
        flat = np.flatnonzero(block)
        a, b = indptr[lo], indptr[min(lo + ROW_BLOCK, n)]
        indices[a:b] = flat % width if width else flat
        values[a:b] = block[flat]
    for a in (indptr, indices, values):
        a.flags.writeable = False
    return indptr, indices, values


# ---- the compiled kernel (nnviz.core.kernel), loaded on first use --------------------------
_kernel_module: Any = None     # the module once loaded, False if it cannot be
_kernel_problem = ""           # why not, in words


def load_kernel() -> Any:
    """The compiled kernel module, or None if numba is unavailable (or ``NNVIZ_KERNEL=numpy``).
    Importing it imports numba (about half a second), so this happens on first use."""
    global _kernel_module, _kernel_problem
    if _kernel_module is None:
        if os.environ.get("NNVIZ_KERNEL", "").lower() == "numpy":
            _kernel_module, _kernel_problem = False, "NNVIZ_KERNEL=numpy is set"
        else:
            try:
                from nnviz.core import kernel
                _kernel_module = kernel
            except Exception as e:  # no numba wheel for this Python, a broken install, ...
                _kernel_module = False
                _kernel_problem = f"numba is unavailable ({type(e).__name__}: {e})".splitlines()[0]
    return _kernel_module or None


def _kernel_failed(error: Exception) -> None:
    global _kernel_module, _kernel_problem
    _kernel_module = False
    _kernel_problem = f"the compiled kernel failed ({type(error).__name__}: {error})".splitlines()[0]


def warm_up(dtype: Any = "float64") -> str:
    """Load (or, the first time on a machine, compile) the kernel for ``dtype`` now,
    e.g. in a worker thread before training starts; returns :func:`kernel_info`."""
    net = Network([2, 1, 1], seed=0, dtype=dtype)
    if net._kernel() is not None:
        data = net.prepare(np.eye(2), np.zeros(2, dtype=np.int64))
        net.sgd_steps(data, np.arange(2), 0, 1, 2, 0.1)
    return kernel_info()


def _numba_installed() -> bool:
    """Whether numba can be imported, found without importing it."""
    import importlib.util

    return os.environ.get("NNVIZ_KERNEL", "").lower() != "numpy" and importlib.util.find_spec("numba") is not None


def kernel_info() -> str:
    """One line: which training kernel runs (the compiled one, or numpy and why)."""
    kernel = load_kernel()
    if kernel is None:
        return f"training kernel: numpy (slower; {_kernel_problem})"
    import numba

    return f"training kernel: compiled with numba {numba.__version__} (cache: {os.environ.get('NUMBA_CACHE_DIR')})"


@dataclass(eq=False)
class _StepBuffers:
    """Scratch arrays and views for :meth:`Network.sgd_step` on mini-batches of ``m``,
    made once per size. ``forward``: per layer ``([W | b], input with a ones row, output)``;
    ``backward``: per layer, last first, ``(delta, input^T, gradient, hidden)`` where
    ``hidden`` is ``(W^T, activation, sigma' scratch, previous delta)`` (None for the first
    layer); ``updates``: ``([W | b], gradient)`` pairs; ``lo``: the lowest z for sigma."""

    xb: np.ndarray        # the gathered inputs (m, sizes[0] + 1), ones column last
    yb: np.ndarray        # the targets (sizes[-1], m)
    out: np.ndarray       # the output activations (sizes[-1], m)
    delta: np.ndarray     # the output error (sizes[-1], m)
    p_out: np.ndarray     # sigma'(z^L) scratch (sizes[-1], m)
    forward: tuple
    backward: tuple
    updates: tuple
    lo: float


@dataclass(eq=False)
class _KernelBuffers:
    """The compiled kernel's layout of a one-hidden-layer network (see
    :mod:`nnviz.core.kernel`): first-layer weights transposed ``w1t (n_in, hp)``, ``b1
    (hp,)``, second-layer weights transposed ``w2t (hp, op)`` and as they are ``w2 (op,
    hp)``, ``b2 (op,)``, with the hidden and output layers padded to ``hp``/``op`` units
    whose weights stay 0; ``consts``: [lowest z for sigma, 1, smallest positive number];
    scratch for mini-batches of ``m``: ``a1 (m, hp)``, ``d1 (m, hp)``, ``d2 (m, op)``."""

    w1t: np.ndarray
    b1: np.ndarray
    w2t: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    consts: np.ndarray
    a1: np.ndarray
    d1: np.ndarray
    d2: np.ndarray


class Network:
    """A feedforward network of sigmoid neurons (the book's ``Network``).

    ``Network([784, 30, 10])`` draws weights and biases from N(0, 1), like the book's
    ``np.random.randn``. Keyword-only extras: ``seed`` (reproducible initial weights and
    shuffling; None uses numpy's global random state, as the book does), ``dtype``
    ('float64' or 'float32'), ``cost`` ('quadratic', the book's, or 'cross-entropy') and
    ``outputs``, the output coding (:mod:`nnviz.core.codings`: 'one-hot', the book's, or
    'binary' for a 4-output network; default one-hot).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        seed: int | None = None,
        dtype: Any = "float64",
        cost: str = "quadratic",
        outputs: str | OutputCoding | None = None,
    ) -> None:
        self.sizes = parse_sizes(sizes)
        self.coding = coding_for(self.sizes[-1], outputs)
        self.num_layers = len(self.sizes)
        self.dtype = parse_dtype(dtype)
        self.cost = get_cost(cost)
        self.seed = seed
        rng = np.random if seed is None else np.random.default_rng(seed)
        self._rng = rng
        # The book's order: all biases, then all weights.
        biases = [rng.standard_normal((y, 1)) for y in self.sizes[1:]]
        weights = [rng.standard_normal((y, x)) for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self._wb = [np.empty((y, x + 1), dtype=self.dtype) for x, y in zip(self.sizes[:-1], self.sizes[1:])]
        self.weights = weights
        self.biases = biases
        self._plans: dict[int, _StepBuffers] = {}
        self._kernel_buffers: _KernelBuffers | None = None
        # False: always the readable numpy path (the reference; also where numba is missing)
        self.use_kernel = True

    # -- parameters -----------------------------------------------------------------
    @property
    def weights(self) -> list[np.ndarray]:
        """``weights[l]``: ``(sizes[l+1], sizes[l])`` views (writing to them updates the net)."""
        return [wb[:, :-1] for wb in self._wb]

    @weights.setter
    def weights(self, values: Sequence[np.ndarray]) -> None:
        values = list(values)
        self._check_params(values, [wb[:, :-1].shape for wb in self._wb], "weights")
        for wb, w in zip(self._wb, values):
            wb[:, :-1] = w

    @property
    def biases(self) -> list[np.ndarray]:
        """``biases[l]``: ``(sizes[l+1], 1)`` views."""
        return [wb[:, -1:] for wb in self._wb]

    @biases.setter
    def biases(self, values: Sequence[np.ndarray]) -> None:
        values = list(values)
        self._check_params(values, [wb[:, -1:].shape for wb in self._wb], "biases")
        for wb, b in zip(self._wb, values):
            wb[:, -1:] = b

    @staticmethod
    def _check_params(values: list, shapes: list, what: str) -> None:
        got = [np.shape(v) for v in values]
        if got != shapes:
            raise ConfigError(f"{what} have shapes {got}, the network needs {shapes}")

    def copy_params(self, dtype: Any = None) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Read-only copies ``(weights, biases)``, safe to hand to another thread."""
        def frozen(a: np.ndarray) -> np.ndarray:
            c = np.array(a, dtype=dtype or a.dtype, copy=True, order="C")
            c.flags.writeable = False
            return c
        return tuple(frozen(w) for w in self.weights), tuple(frozen(b) for b in self.biases)

    def set_cost(self, cost: str) -> None:
        self.cost = get_cost(cost)

    # -- the book's methods ------------------------------------------------------------
    def feedforward(self, a: np.ndarray) -> np.ndarray:
        """Output for input ``a``: ``(sizes[0], m)`` -> ``(sizes[-1], m)`` (m = 1: a column)."""
        a = np.asarray(a, dtype=self.dtype)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        for w, b in zip(self.weights, self.biases):
            a = _sigmoid_inplace(w @ a + b)  # a' = sigma(w a + b)   (eq. 22)
        return a

    def SGD(  # noqa: N802 (the book's name)
        self,
        training_data: Sequence[tuple[np.ndarray, np.ndarray]],
        epochs: int,
        mini_batch_size: int,
        eta: float,
        test_data: Sequence[tuple[np.ndarray, int]] | None = None,
    ) -> None:
        """Mini-batch stochastic gradient descent, printing the book's progress lines.

        ``training_data``: ``(x, y)`` pairs, x ``(784, 1)``, y one-hot ``(10, 1)``.
        ``test_data``: ``(x, label)`` pairs; if given, each epoch prints
        ``Epoch j: n / N``, otherwise ``Epoch j complete``.
        """
        train = self.prepare(*_stack_pairs(training_data))
        test = None
        if test_data is not None:
            test_x, test_labels = _stack_pairs(test_data)
            test = (test_x, test_labels)
        for j in range(epochs):
            order = self._rng.permutation(train.n)
            self.sgd_steps(train, order, 0, train.n, mini_batch_size, eta, track_cost=False)
            if test is not None:
                print(f"Epoch {j}: {self.accuracy(*test)} / {len(test[1])}")
            else:
                print(f"Epoch {j} complete")

    def update_mini_batch(self, mini_batch: Sequence[tuple[np.ndarray, np.ndarray]], eta: float) -> None:
        """One gradient-descent step on ``mini_batch``, a list of ``(x, y)`` columns:
        w -> w - (eta / m) sum nabla_w, b -> b - (eta / m) sum nabla_b   (eqs. 20, 21)."""
        x = np.hstack([np.asarray(x, dtype=self.dtype).reshape(-1, 1) for x, _ in mini_batch])
        y = np.hstack([np.asarray(y, dtype=self.dtype).reshape(-1, 1) for _, y in mini_batch])
        nabla_b, nabla_w = self.backprop(x, y)
        k = eta / len(mini_batch)
        for wb, nw, nb in zip(self._wb, nabla_w, nabla_b):
            wb[:, :-1] -= k * nw
            wb[:, -1:] -= k * nb

    def backprop(self, x: np.ndarray, y: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradient of the cost: ``(nabla_b, nabla_w)`` shaped like ``biases``/``weights``.

        ``x``: ``(784, m)``, ``y``: ``(10, m)``; for m > 1 the gradients are summed over
        the m examples (the matrix form of backpropagation).
        """
        x = np.asarray(x, dtype=self.dtype)
        y = np.asarray(y, dtype=self.dtype)
        if x.ndim == 1:
            x, y = x.reshape(-1, 1), y.reshape(-1, 1)
        # feedforward, keeping every layer's activation
        activation = x
        activations = [x]
        for w, b in zip(self.weights, self.biases):
            activation = _sigmoid_inplace(w @ activation + b)
            activations.append(activation)
        nabla_b = [np.zeros(b.shape, dtype=self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, dtype=self.dtype) for w in self.weights]
        # output error (BP1); z is not needed since sigma'(z) = a (1 - a)
        delta = self.cost.delta(None, activations[-1], y)
        nabla_b[-1] = delta.sum(axis=1, keepdims=True)       # BP3
        nabla_w[-1] = delta @ activations[-2].T              # BP4
        for l in range(2, self.num_layers):
            a = activations[-l]
            delta = (self.weights[-l + 1].T @ delta) * (a * (1.0 - a))   # BP2
            nabla_b[-l] = delta.sum(axis=1, keepdims=True)  # BP3
            nabla_w[-l] = delta @ activations[-l - 1].T     # BP4
        return nabla_b, nabla_w

    def evaluate(self, test_data: Sequence[tuple[np.ndarray, int]]) -> int:
        """Number of ``(x, label)`` pairs whose output's largest activation is ``label``."""
        return self.accuracy(*_stack_pairs(test_data))

    def cost_derivative(self, output_activations: np.ndarray, y: np.ndarray) -> np.ndarray:
        """dC_x/da for the quadratic cost: a - y."""
        return output_activations - y

    # -- fast paths (arrays instead of lists of tuples) ----------------------------------
    def prepare(self, images: np.ndarray, labels: np.ndarray) -> PreparedData:
        """Lay out ``images`` ``(n, sizes[0])`` and integer ``labels`` ``(n,)`` for
        :meth:`sgd_step` (one copy in the network's dtype, bias column appended)."""
        images = np.asarray(images)
        labels = np.asarray(labels)
        n_in, n_out = self.sizes[0], self.sizes[-1]
        if images.ndim != 2 or images.shape[1] != n_in:
            raise ConfigError(
                f"the network's input layer has {n_in} neurons but the images have "
                f"{images.shape[1] if images.ndim == 2 else images.shape} pixels"
            )
        if labels.shape != (images.shape[0],):
            raise ConfigError(f"{images.shape[0]} images but labels of shape {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() >= self.coding.n_classes):
            raise ConfigError(
                f"labels run from {labels.min()} to {labels.max()}, but the output layer has {n_out} neurons"
                + ("" if self.coding.one_hot else f" coding digits 0 to {self.coding.n_classes - 1}"))
        n = images.shape[0]
        x = np.empty((n, n_in + 1), dtype=self.dtype)
        for lo in range(0, n, ROW_BLOCK):   # in blocks: the GIL is let go between them
            x[lo:lo + ROW_BLOCK, :n_in] = images[lo:lo + ROW_BLOCK]
        x[:, n_in] = 1.0
        if self.coding.one_hot:
            y = np.zeros((n_out, n), dtype=self.dtype)
            y[labels, np.arange(n)] = 1.0
        else:
            y = self.coding.targets(labels, self.dtype)
        lab = labels.astype(np.int64)
        for arr in (x, y, lab):
            arr.flags.writeable = False
        data = PreparedData(x, y, lab)
        if self._kernel_applies() and _kernel_module is not False and _numba_installed():
            # the compiled kernel reads only the nonzero pixels (listed here without
            # importing numba: that waits for the first mini-batch)
            data._set_sparse(sparse_rows(images, self.dtype))
        return data

    def _plan(self, m: int) -> _StepBuffers:
        """Scratch arrays and views for mini-batches of ``m``, made once per size: the
        gathered inputs ``xb (m, sizes[0]+1)``, each hidden layer's activations with a
        ones row appended ``(sizes[l]+1, m)``, the output, the targets, the deltas, the
        sigma' scratch and the gradients, wired into per-layer tuples for :meth:`sgd_step`."""
        plan = self._plans.get(m)
        if plan is None:
            dt = self.dtype
            xb = np.empty((m, self.sizes[0] + 1), dtype=dt)
            acts = []
            for s in self.sizes[1:-1]:
                a = np.empty((s + 1, m), dtype=dt)
                a[s] = 1.0  # the bias input
                acts.append(a)
            out = np.empty((self.sizes[-1], m), dtype=dt)
            yb = np.empty((self.sizes[-1], m), dtype=dt)
            deltas = [np.empty((s, m), dtype=dt) for s in self.sizes[1:]]
            primes = [np.empty((s, m), dtype=dt) for s in self.sizes[1:]]
            grads = [np.empty_like(wb) for wb in self._wb]
            inputs = [xb.T] + acts                    # a^{l-1}, ones row included
            outputs = [a[:-1] for a in acts] + [out]  # a^l
            forward = tuple(zip(self._wb, inputs, outputs))
            backward = tuple(
                (deltas[l], inputs[l].T, grads[l],
                 (self._wb[l][:, :-1].T, outputs[l - 1], primes[l - 1], deltas[l - 1]) if l else None)
                for l in range(len(self._wb) - 1, -1, -1))
            plan = _StepBuffers(xb=xb, yb=yb, out=out, delta=deltas[-1], p_out=primes[-1], forward=forward,
                                backward=backward, updates=tuple(zip(self._wb, grads)), lo=-_EXP_LIMIT[dt])
            self._plans[m] = plan
        return plan

    def sgd_step(self, data: PreparedData, idx: np.ndarray, eta: float, track_cost: bool = True) -> float:
        """One mini-batch of SGD on the examples ``data.x[idx]``; returns the cost summed
        over the mini-batch (0.0 if ``track_cost`` is false).

        The same arithmetic as :meth:`update_mini_batch`, written for speed: every
        buffer is reused, sigma is computed in place, and eta/m is folded into the
        output error once so that the gradients come out as steps.
        """
        m = len(idx)
        plan = self._plan(m)
        xb, yb, out, delta, p_out, lo = plan.xb, plan.yb, plan.out, plan.delta, plan.p_out, plan.lo
        # mode='clip' lets numpy write straight into the buffer (idx is always in range)
        take(data.x, idx, 0, xb, "clip")
        take(data.y, idx, 1, yb, "clip")
        # feedforward: a^l = sigma(w^l a^{l-1} + b^l), the biases folded into [W | b]
        for wb, a_in, a in plan.forward:
            matmul(wb, a_in, out=a)
            maximum(a, lo, out=a)   # sigma, in place, without overflow
            negative(a, out=a)
            exp(a, out=a)
            add(a, 1.0, out=a)
            reciprocal(a, out=a)
        # output error delta^L (BP1), scaled by eta/m
        subtract(out, yb, out=delta)
        cost = self._batch_cost(delta, p_out) if track_cost else 0.0
        if self.cost is QuadraticCost:
            subtract(1.0, out, out=p_out)
            multiply(p_out, out, out=p_out)      # sigma'(z^L) = a^L (1 - a^L)
            multiply(delta, p_out, out=delta)
        multiply(delta, eta / m, out=delta)
        # backward pass
        for d, a_in_t, grad, hidden in plan.backward:
            matmul(d, a_in_t, out=grad)                  # BP3 + BP4 (ones row -> biases)
            if hidden is not None:
                w_t, h, p, d_prev = hidden
                matmul(w_t, d, out=d_prev)               # BP2: (w^{l+1})^T delta^{l+1} ...
                subtract(1.0, h, out=p)
                multiply(p, h, out=p)
                multiply(d_prev, p, out=d_prev)          # ... * sigma'(z^l)
        for wb, grad in plan.updates:
            subtract(wb, grad, out=wb)
        return cost

    def sgd_steps(self, data: PreparedData, order: np.ndarray, start: int, n_batches: int, m: int,
                  eta: float, stop_flag: np.ndarray | None = None, cost_sum: float = 0.0,
                  track_cost: bool = True) -> tuple[float, int]:
        """Up to ``n_batches`` mini-batches of SGD, the first on the examples
        ``order[start:start + m]``, the next on ``order[start + m:start + 2 m]``, ...,
        to the end of ``order`` at most (the last mini-batch may be short).

        Returns ``(cost_sum, batches_done)``: ``cost_sum`` plus the cost of each
        mini-batch, added one at a time (so the total does not depend on how a run is cut
        into calls). ``stop_flag``: a numpy integer array; the call ends after the
        mini-batch during which ``stop_flag[0]`` changed (another thread changes it).

        With the compiled kernel (numba; a network with one hidden layer) the whole call
        runs without Python's GIL; otherwise it runs :meth:`sgd_step` mini-batch by
        mini-batch. Either way the same numbers for the same calls, at any ``n_batches``.
        """
        order = np.ascontiguousarray(order, dtype=np.int64)
        n = order.shape[0]
        m = int(m)
        start = int(start)
        if order.ndim != 1 or m < 1 or not 0 <= start <= n:
            raise ConfigError(f"bad mini-batch request: start {start}, m {m}, order of shape {order.shape}")
        n_batches = max(0, min(int(n_batches), -(-(n - start) // m)))
        used = order[start:start + n_batches * m]
        if used.size and (used.min() < 0 or used.max() >= data.n):
            raise ConfigError(f"example indices must lie in 0..{data.n - 1}")
        if not n_batches:
            return cost_sum, 0
        if not order.flags.writeable:
            order = order.copy()  # one compiled version of the kernel, not one per flag
        flag = stop_flag if stop_flag is not None else np.zeros(1, dtype=np.int64)
        if not (isinstance(flag, np.ndarray) and flag.dtype == np.int64 and flag.shape == (1,)):
            raise ConfigError("stop_flag must be a numpy int64 array of one element")
        flag0 = int(flag[0])
        kernel = self._kernel()
        if kernel is not None:
            buf = self._pack_kernel(m)
            indptr, indices, values = data.sparse
            try:
                cost, done = kernel.sgd_epoch_chunk(
                    indptr, indices, values, data.labels, order, start, n_batches, m,
                    buf.w1t, buf.b1, buf.w2t, buf.w2, buf.b2, self.sizes[1], self.sizes[2],
                    float(eta), self.cost is QuadraticCost, buf.consts, flag, flag0,
                    buf.a1, buf.d1, buf.d2, float(cost_sum))
            except Exception as e:  # numba failed to compile or load: numpy from now on
                _kernel_failed(e)
            else:
                self._unpack_kernel(buf)
                return (cost if track_cost else cost_sum), int(done)
        done = 0
        with _blas_threads(1):
            while done < n_batches:
                idx = order[start + done * m:start + (done + 1) * m]
                cost_sum += self.sgd_step(data, idx, eta, track_cost)
                done += 1
                if flag[0] != flag0:
                    break
        return cost_sum, done

    def _kernel_applies(self) -> bool:
        """True if the compiled kernel covers this network: one hidden layer, the quadratic
        or cross-entropy cost, one-hot outputs (the kernel builds one-hot targets from the
        labels; and ``use_kernel`` is on)."""
        return (self.use_kernel and self.num_layers == 3 and self.cost in (QuadraticCost, CrossEntropyCost)
                and self.coding.one_hot)

    def _kernel(self) -> Any:
        """The compiled kernel if it applies to this network and is available; else None."""
        return load_kernel() if self._kernel_applies() else None

    def _pack_kernel(self, m: int) -> _KernelBuffers:
        """The weights copied into the kernel's layout (scratch for mini-batches of ``m``)."""
        kernel = load_kernel()
        buf = self._kernel_buffers
        n_in, h, n_out = self.sizes
        dt = self.dtype
        if buf is None or buf.a1.shape[0] != m:
            hp, op = kernel.padded(h), kernel.padded(n_out)
            buf = _KernelBuffers(
                w1t=np.zeros((n_in, hp), dt), b1=np.zeros(hp, dt), w2t=np.zeros((hp, op), dt),
                w2=np.zeros((op, hp), dt), b2=np.zeros(op, dt),
                consts=np.array([-_EXP_LIMIT[dt], 1.0, np.finfo(dt).tiny], dt),
                a1=np.zeros((m, hp), dt), d1=np.zeros((m, hp), dt), d2=np.zeros((m, op), dt))
            self._kernel_buffers = buf
        wb1, wb2 = self._wb
        buf.w1t[:, :h] = wb1[:, :-1].T
        buf.b1[:h] = wb1[:, -1]
        buf.w2t[:h, :n_out] = wb2[:, :-1].T
        buf.w2[:n_out, :h] = wb2[:, :-1]
        buf.b2[:n_out] = wb2[:, -1]
        return buf

    def _unpack_kernel(self, buf: _KernelBuffers) -> None:
        n_in, h, n_out = self.sizes
        wb1, wb2 = self._wb
        wb1[:, :-1] = buf.w1t[:, :h].T
        wb1[:, -1] = buf.b1[:h]
        wb2[:, :-1] = buf.w2t[:h, :n_out].T
        wb2[:, -1] = buf.b2[:n_out]

    def _batch_cost(self, diff: np.ndarray, scratch: np.ndarray) -> float:
        """Cost summed over a mini-batch, from ``diff = a - y`` (every y is 0 or 1)."""
        if self.cost is CrossEntropyCost:
            # y is 0 or 1, so y ln a + (1-y) ln(1-a) = ln(1 - |a - y|)
            np.abs(diff, out=scratch)
            np.subtract(1.0, scratch, out=scratch)
            np.maximum(scratch, np.finfo(self.dtype).tiny, out=scratch)
            np.log(scratch, out=scratch)
            return -float(scratch.sum())
        return 0.5 * float(np.vdot(diff, diff))

    def forward_all(self, images: np.ndarray, chunk: int = 10000) -> list[np.ndarray]:
        """Every layer's activations for ``images`` ``(n, sizes[0])``: a list of
        ``(n, sizes[l])`` arrays, layer 1 (first hidden) to the output."""
        images = np.asarray(images)
        layers: list[list[np.ndarray]] = [[] for _ in self._wb]
        for k in range(0, images.shape[0], chunk):
            a = images[k:k + chunk].astype(self.dtype, copy=False)
            for l, wb in enumerate(self._wb):
                a = a @ wb[:, :-1].T
                a += wb[:, -1]
                _sigmoid_inplace(a)
                layers[l].append(a)
        return [np.concatenate(p) if p else np.empty((0, s), self.dtype)
                for p, s in zip(layers, self.sizes[1:])]

    def outputs(self, images: np.ndarray) -> np.ndarray:
        """Output activations ``(n, sizes[-1])`` for ``images`` ``(n, sizes[0])``."""
        return self.forward_all(images)[-1]

    def accuracy(self, images: np.ndarray, labels: np.ndarray) -> int:
        """How many of ``images`` ``(n, sizes[0])`` are classified as ``labels``."""
        if len(labels) == 0:
            return 0
        return int(np.count_nonzero(self.coding.decode(self.outputs(images)) == np.asarray(labels)))

    def total_cost(self, images: np.ndarray, labels: np.ndarray) -> float:
        """Mean cost per example on ``images`` with the coding's targets for ``labels``."""
        if len(labels) == 0:
            return float("nan")
        a = self.outputs(images)
        if self.coding.one_hot:
            y = np.zeros_like(a)
            y[np.arange(len(labels)), np.asarray(labels)] = 1.0
        else:
            y = self.coding.targets(labels, a.dtype).T
        return self.cost.fn(a, y) / len(labels)


class _blas_threads:
    """Limit BLAS to ``n`` threads within a ``with`` block (if threadpoolctl is installed):
    the numpy path's small matrix products are slower with more threads, much slower when
    other programs load the CPU."""

    _controller: Any = None

    def __init__(self, n: int) -> None:
        self.n = n
        self._limiter = None

    @staticmethod
    def limit(n: int) -> Any:
        """Limit BLAS to ``n`` threads now; the limiter (to restore), or None if
        threadpoolctl is missing or unable."""
        try:
            if _blas_threads._controller is None:
                from threadpoolctl import ThreadpoolController
                _blas_threads._controller = ThreadpoolController()
            return _blas_threads._controller.limit(limits=n, user_api="blas")
        except Exception:  # run as is
            return None

    def __enter__(self) -> None:
        self._limiter = self.limit(self.n)

    def __exit__(self, *exc: Any) -> None:
        if self._limiter is not None:
            self._limiter.restore_original_limits()


def pin_blas_threads(n: int = 1) -> None:
    """Limit BLAS to ``n`` threads for the rest of the process (if threadpoolctl can), e.g.
    in the window, where every matrix product is small (evaluation, analyses, the editor)
    and a second BLAS thread only spins against the window and the training thread when
    other programs load the CPU."""
    _blas_threads.limit(n)


def _stack_pairs(data: Sequence[tuple[np.ndarray, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The book's list of ``(x, y)`` pairs as ``images (n, 784)`` and integer ``labels (n,)``.
    y may be an int or a one-hot column (argmax taken)."""
    data = list(data)
    if not data:
        return np.empty((0, 0)), np.empty((0,), dtype=np.int64)
    images = np.stack([np.asarray(x).reshape(-1) for x, _ in data])
    labels = np.array([int(np.argmax(y)) if np.ndim(y) else int(y) for _, y in data], dtype=np.int64)
    return images, labels
