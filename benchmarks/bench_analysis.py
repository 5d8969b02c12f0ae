"""What looking inside the network costs, next to one training epoch, in one run.

    python benchmarks/bench_analysis.py
    python benchmarks/bench_analysis.py --repeats 10

Trains one 50,000-example epoch (the bundled digits tiled) through ``train`` and takes
its ``EpochSnapshot.seconds``; then times, on 10,000 test digits (the bundled 1,000
tiled), ``analyse`` (confusion matrix etc.) and ``saturation`` with the epoch's weights,
in float64 (the snapshot's) and float32 (a ``Timeline`` entry's), plus ``preprocess`` of
a 280x280 drawing and ``Timeline.add`` of a snapshot. Prints each as milliseconds and as
a percentage of the epoch. Judge speed with the machine otherwise idle.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np

from nnviz.core.analysis import analyse, saturation
from nnviz.core.data import Dataset, load_bundled
from nnviz.core.drawing import paste_digit, preprocess
from nnviz.core.timeline import Timeline
from nnviz.core.training import EpochSnapshot, TrainConfig, train


def best_ms(fn: Callable[[], object], repeats: int) -> float:
    """Best of ``repeats`` wall-clock times of ``fn()``, in milliseconds."""
    fn()  # warm up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return 1e3 * best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5, help="best of this many runs (default 5)")
    p.add_argument("--n-train", type=int, default=50000, help="training examples in the epoch (default 50,000)")
    p.add_argument("--n-test", type=int, default=10000, help="test digits analysed (default 10,000)")
    args = p.parse_args()

    bundled = load_bundled()
    reps = -(-args.n_train // bundled.n_train)
    data = Dataset(name="bundled tiled", train_images=np.tile(bundled.train_images, (reps, 1))[:args.n_train],
                   train_labels=np.tile(bundled.train_labels, reps)[:args.n_train],
                   test_images=bundled.test_images, test_labels=bundled.test_labels)
    reps = -(-args.n_test // bundled.n_test)
    images = np.tile(bundled.test_images, (reps, 1))[:args.n_test]
    labels = np.tile(bundled.test_labels, reps)[:args.n_test]

    epoch = None
    for snap in train(TrainConfig(epochs=1, seed=0), data):
        if isinstance(snap, EpochSnapshot) and snap.epochs_done == 1:
            epoch = snap
    assert epoch is not None
    epoch_ms = 1e3 * epoch.seconds
    w64, b64 = epoch.weights, epoch.biases
    w32 = tuple(w.astype(np.float32) for w in w64)
    b32 = tuple(b.astype(np.float32) for b in b64)
    canvas = paste_digit(bundled.test_images[0], 280)

    def add_to_timeline() -> None:
        Timeline().add(epoch)

    rows = [
        ("analyse, float64 weights", args.n_test, lambda: analyse(w64, b64, images, labels)),
        ("analyse, float32 weights", args.n_test, lambda: analyse(w32, b32, images, labels)),
        ("saturation, sample=1000", 1000, lambda: saturation(w64, b64, images, labels)),
        ("saturation, sample=None", args.n_test, lambda: saturation(w64, b64, images, labels, sample=None)),
        ("saturation, float32, sample=None", args.n_test,
         lambda: saturation(w32, b32, images, labels, sample=None)),
        ("preprocess a 280x280 drawing", 1, lambda: preprocess(canvas)),
        ("Timeline.add (float32 copy)", 1, add_to_timeline),
    ]
    print(f"numpy {np.__version__}; one epoch of {data.n_train:,} examples (mini-batch 10, float64): "
          f"{epoch_ms:.0f} ms, {epoch.test_correct} / {epoch.test_total} right after it")
    print(f"{'':34} {'examples':>9} {'ms':>8} {'% of epoch':>11}")
    for name, n, fn in rows:
        ms = best_ms(fn, args.repeats)
        print(f"{name:34} {n:>9,} {ms:>8.2f} {100 * ms / epoch_ms:>10.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
