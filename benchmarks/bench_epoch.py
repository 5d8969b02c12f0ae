"""Seconds per 50,000-example epoch: the book's per-example loop vs nnviz, in one run.

    python benchmarks/bench_epoch.py               # bundled digits tiled to 50,000
    python benchmarks/bench_epoch.py --data mnist  # full MNIST, if downloaded (nnviz download)
    python benchmarks/bench_epoch.py --book-run    # also the book's whole 30-epoch run
    python benchmarks/bench_epoch.py --numpy       # also the numpy path (1 and 2 BLAS threads)

Judge speed with the machine's OpenBLAS overrides unset, e.g.
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_epoch.py``.
Prints ratios (book seconds / nnviz seconds); absolute seconds depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np

from nnviz.core import network as network_module
from nnviz.core.data import Dataset, load_dataset
from nnviz.core.network import warm_up
from nnviz.core.training import Controls, EpochSnapshot, TrainConfig, build_network, epoch_order, train


# ---- the book's network.py (chapter 1), as published, for the reference timing -----------
def book_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def book_sigmoid_prime(z):
    return book_sigmoid(z) * (1 - book_sigmoid(z))


class BookNetwork:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [np.random.randn(y, 1) for y in sizes[1:]]
        self.weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation = x
        activations = [x]
        zs = []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = book_sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * book_sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = book_sigmoid_prime(z)
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)

    def epoch(self, training_data, mini_batch_size, eta):
        random.shuffle(training_data)
        n = len(training_data)
        for k in range(0, n, mini_batch_size):
            self.update_mini_batch(training_data[k:k + mini_batch_size], eta)


# -------------------------------------------------------------------------------------------
def tiled(data: Dataset, n: int) -> Dataset:
    reps = -(-n // data.n_train)
    return Dataset(name=f"{data.name} x{reps}",
                   train_images=np.tile(data.train_images, (reps, 1))[:n],
                   train_labels=np.tile(data.train_labels, reps)[:n],
                   test_images=data.test_images, test_labels=data.test_labels)


def nnviz_epoch_seconds(data: Dataset, dtype: str, m: int, repeats: int,
                        kernel: bool = True) -> tuple[float, float, float]:
    """Best-of-``repeats`` (training seconds, wall seconds incl. evaluation, CPU seconds of
    this thread incl. evaluation) of one epoch through the training generator, as the app
    and the CLI run it (``kernel=False``: the numpy path)."""
    best_train, best_wall, best_cpu = float("inf"), float("inf"), float("inf")
    for r in range(repeats):
        cfg = TrainConfig(epochs=1, mini_batch_size=m, eta=3.0, seed=r, dtype=dtype)
        net = build_network(cfg.validated())
        net.use_kernel = kernel
        t0 = time.perf_counter()
        c0 = time.thread_time()
        for snap in train(cfg, data, Controls(eta=3.0), network=net):
            if isinstance(snap, EpochSnapshot) and snap.epochs_done == 0:
                t0 = time.perf_counter()  # exclude building the arrays and evaluating the start
                c0 = time.thread_time()
            if isinstance(snap, EpochSnapshot) and snap.epochs_done == 1:
                best_train = min(best_train, snap.seconds)
                best_wall = min(best_wall, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.thread_time() - c0)
    return best_train, best_wall, best_cpu


class _NoPin:
    """Stands in for network._blas_threads: leaves BLAS's threads as they are."""

    def __init__(self, n):
        pass

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def numpy_path_seconds(data: Dataset, m: int, repeats: int, threads: int) -> float:
    """The numpy path's training seconds per epoch with BLAS at ``threads`` threads."""
    from threadpoolctl import threadpool_limits

    pin = network_module._blas_threads
    network_module._blas_threads = _NoPin
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            return nnviz_epoch_seconds(data, "float64", m, repeats, kernel=False)[0]
    finally:
        network_module._blas_threads = pin


def torch_epoch_seconds(data: Dataset, m: int, dtype: str, repeats: int) -> float | None:
    """PyTorch CPU (one thread, manual backprop: the same math) seconds per epoch, or None
    if torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    dt = {"float64": torch.float64, "float32": torch.float32}[dtype]
    x = torch.tensor(data.train_images, dtype=dt)
    y = torch.nn.functional.one_hot(torch.tensor(data.train_labels, dtype=torch.long), 10).to(dt)
    best = float("inf")
    for r in range(repeats):
        g = torch.Generator().manual_seed(r)
        w1, b1 = torch.randn(784, 30, generator=g, dtype=dt), torch.randn(30, generator=g, dtype=dt)
        w2, b2 = torch.randn(30, 10, generator=g, dtype=dt), torch.randn(10, generator=g, dtype=dt)
        order = torch.randperm(x.shape[0], generator=g)
        t0 = time.perf_counter()
        with torch.no_grad():
            for k in range(0, x.shape[0], m):
                idx = order[k:k + m]
                xb, yb = x[idx], y[idx]
                a1 = torch.sigmoid(xb @ w1 + b1)
                a2 = torch.sigmoid(a1 @ w2 + b2)
                d2 = (a2 - yb) * a2 * (1 - a2) * (3.0 / len(idx))
                d1 = (d2 @ w2.T) * a1 * (1 - a1)
                w2 -= a1.T @ d2
                b2 -= d2.sum(0)
                w1 -= xb.T @ d1
                b1 -= d1.sum(0)
        best = min(best, time.perf_counter() - t0)
    return best


def book_epoch_seconds(data: Dataset, m: int, repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` (wall seconds, CPU seconds of this thread) of the book's epoch."""
    training_data = [(x.reshape(-1, 1), np.eye(10)[y].reshape(-1, 1))
                     for x, y in zip(data.train_images, data.train_labels)]
    best, best_cpu = float("inf"), float("inf")
    for r in range(repeats):
        np.random.seed(r)
        random.seed(r)
        net = BookNetwork([784, 30, 10])
        t0, c0 = time.perf_counter(), time.thread_time()
        net.epoch(training_data, m, 3.0)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.thread_time() - c0)
    return best, best_cpu


def check_same_weights(data: Dataset, batches: int = 200) -> float:
    """Max |difference| between nnviz float64 and the book's loop after ``batches``
    mini-batches from the same start and in the same order."""
    cfg = TrainConfig(seed=0).validated()
    from nnviz.core.training import build_network

    net = build_network(cfg)
    book = BookNetwork([784, 30, 10])
    book.weights = [np.array(w) for w in net.weights]
    book.biases = [np.array(b) for b in net.biases]
    prep = net.prepare(data.train_images, data.train_labels)
    order = epoch_order(0, 0, data.n_train)
    pairs = [(x.reshape(-1, 1), np.eye(10)[y].reshape(-1, 1)) for x, y in zip(data.train_images, data.train_labels)]
    worst = 0.0
    for k in range(batches):
        idx = order[10 * k:10 * k + 10]
        net.sgd_steps(prep, order, 10 * k, 1, 10, 3.0, track_cost=False)  # as train() runs it
        book.update_mini_batch([pairs[i] for i in idx], 3.0)
        for a, b in zip(net.weights + net.biases, book.weights + book.biases):
            worst = max(worst, float(np.abs(a - b).max()))
        # continue from nnviz's weights: each step is compared, rounding does not compound
        book.weights = [np.array(w) for w in net.weights]
        book.biases = [np.array(b) for b in net.biases]
    return worst


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="bundled", help="bundled (tiled to --n) or mnist (must be downloaded)")
    p.add_argument("--n", type=int, default=50000, help="training examples per epoch (default 50,000)")
    p.add_argument("--repeats", type=int, default=3, help="best of this many epochs (default 3)")
    p.add_argument("--book-run", action="store_true", help="also run the book's 30 epochs, mini-batch 10, eta 3.0 with nnviz")
    p.add_argument("--numpy", action="store_true", help="also time the numpy path (no numba) with 1 and 2 BLAS threads")
    args = p.parse_args()

    data = load_dataset(args.data)
    if data.n_train < args.n:
        data = tiled(data, args.n)
    else:
        data = Dataset(name=data.name, train_images=data.train_images[:args.n], train_labels=data.train_labels[:args.n],
                       test_images=data.test_images, test_labels=data.test_labels,
                       validation_images=data.validation_images, validation_labels=data.validation_labels)
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i['version']} {i.get('architecture', '')} x{i['num_threads']}"
                         for i in threadpool_info())
    except ImportError:
        blas = "unknown (pip install threadpoolctl to see)"
    print(f"data: {data.name}, {data.n_train} training examples; numpy {np.__version__}; BLAS: {blas}")
    t0 = time.perf_counter()
    for dtype in ("float64", "float32"):
        info = warm_up(dtype)
    print(f"{info}; loaded in {time.perf_counter() - t0:.2f} s")
    print("BLAS while training: the compiled kernel calls no BLAS; the numpy path pins BLAS to 1 thread "
          "(threadpoolctl; --numpy measures 1 vs 2)")
    print(f"float64 nnviz vs book loop, max |weight difference| per mini-batch: {check_same_weights(data):.1e}")
    print()
    rows = []
    for m in (10, 100):
        book, book_cpu = book_epoch_seconds(data, m, 1 if m == 100 else args.repeats)
        for dtype in ("float64", "float32"):
            t_train, t_wall, t_cpu = nnviz_epoch_seconds(data, dtype, m, args.repeats)
            rows.append((m, dtype, book, t_train, t_wall, book_cpu, t_cpu))
    print(f"{'mini-batch':>10} {'dtype':>8} {'book s/epoch':>13} {'nnviz s/epoch':>14} {'ratio':>7} {'with eval':>10}"
          f" {'CPU ratio':>10}")
    for m, dtype, book, t_train, t_wall, book_cpu, t_cpu in rows:
        print(f"{m:>10} {dtype:>8} {book:>13.3f} {t_train:>14.3f} {book / t_train:>6.1f}x {book / t_wall:>9.1f}x"
              f" {book_cpu / t_cpu:>9.1f}x")
    print("(ratio: wall-clock training seconds; with eval: wall-clock including the end-of-epoch evaluation; "
          "CPU ratio: this thread's CPU seconds, evaluation included, which other processes disturb less)")
    book10 = rows[0][2]
    for dtype in ("float64", "float32"):
        t = torch_epoch_seconds(data, 10, dtype, args.repeats)
        if t is None:
            print("PyTorch: not installed (skipped)")
            break
        mine = next(r[3] for r in rows if r[0] == 10 and r[1] == dtype)
        print(f"PyTorch CPU 1 thread, the same math, mini-batch 10, {dtype}: {t:.3f} s/epoch "
              f"({book10 / t:.1f}x the book; nnviz {t / mine:.1f}x faster)")
    if args.numpy:
        for threads in (1, 2):
            t = numpy_path_seconds(data, 10, args.repeats, threads)
            print(f"numpy path (no numba), float64, mini-batch 10, BLAS {threads} thread(s): {t:.3f} s/epoch "
                  f"({book10 / t:.1f}x the book)")
    if args.book_run:
        print()
        cfg = TrainConfig(epochs=30, mini_batch_size=10, eta=3.0, seed=0)
        t0 = time.perf_counter()
        best = None
        for snap in train(cfg, data, Controls(eta=3.0)):
            if isinstance(snap, EpochSnapshot) and snap.epochs_done:
                print(snap.book_line(), flush=True)
                best = snap if best is None or snap.test_correct > best.test_correct else best
        wall = time.perf_counter() - t0
        print(f"the book's run (30 epochs, mini-batch 10, eta 3.0) with nnviz float64: {wall:.1f} s end to end, "
              f"best {best.test_correct} / {best.test_total} (epoch {best.epoch}); "
              f"the book's loop would need about {30 * book10:.0f} s for the training alone ({30 * book10 / wall:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
