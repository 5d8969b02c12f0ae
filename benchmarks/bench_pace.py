"""The pace: what it costs at full speed, how exactly it paces, how fast it wakes.

    python benchmarks/bench_pace.py

1. Full speed: one 50,000-digit epoch (bundled digits tiled, mini-batch 10) through the
   training generator with no pace, vs the same mini-batches in one ``Network.sgd_steps``
   call (the floor), best of --repeats: what the generator adds (controls, the pace check,
   progress snapshots, chunks) should be small.
2. Paced: N digits a second for a few seconds of training; the wall time must be
   N-consistent (within 10 %).
3. Wake-up: how long a slow (1,000 s a mini-batch) or paused run takes to end after stop().
Judge speed with the machine's OpenBLAS overrides unset
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_pace.py``).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np

from nnviz.core.data import Dataset, load_dataset
from nnviz.core.training import Controls, TrainConfig, build_network, epoch_order, train


def tiled(n: int) -> Dataset:
    b = load_dataset("bundled")
    reps = -(-n // b.n_train)
    return Dataset(name="tiled", train_images=np.tile(b.train_images, (reps, 1))[:n],
                   train_labels=np.tile(b.train_labels, reps)[:n], test_images=b.test_images[:1000],
                   test_labels=b.test_labels[:1000])


def generator_epoch(data: Dataset, speed) -> float:
    cfg = TrainConfig(epochs=1, seed=1)
    gen = train(cfg, data, Controls(speed=speed))
    next(gen)   # the untrained network's snapshot (evaluation) is not timed
    t0 = time.perf_counter()
    for snap in gen:
        if getattr(snap, "epochs_done", 0) == 1:
            return time.perf_counter() - t0 - _evaluation_seconds(data)
    raise RuntimeError("no epoch")


_eval_cache: dict[int, float] = {}


def _evaluation_seconds(data: Dataset) -> float:
    """What the epoch's end costs (accuracy and cost on the test digits), to leave it out."""
    if id(data) not in _eval_cache:
        net = build_network(TrainConfig(seed=1).validated())
        t0 = time.perf_counter()
        for _ in range(5):
            net.accuracy(data.test_images, data.test_labels)
            net.total_cost(data.test_images, data.test_labels)
            net.copy_params()
        _eval_cache[id(data)] = (time.perf_counter() - t0) / 5
    return _eval_cache[id(data)]


def bare_epoch(data: Dataset) -> float:
    """The floor: the whole epoch in one call of the network's training kernel."""
    net = build_network(TrainConfig(seed=1).validated())
    prepared = net.prepare(data.train_images, data.train_labels)
    order = epoch_order(1, 0, data.n_train)
    net.sgd_steps(prepared, order, 0, 1, 10, 3.0)   # compiled and warm
    t0 = time.perf_counter()
    net.sgd_steps(prepared, order, 0, data.n_train // 10, 10, 3.0)
    return time.perf_counter() - t0


def paced_seconds(data: Dataset, digits_per_second: float, digits: int) -> tuple[float, float]:
    """(measured, expected) wall seconds to train ``digits`` digits at the pace."""
    small = Dataset(name="paced", train_images=data.train_images[:digits], train_labels=data.train_labels[:digits],
                    test_images=data.test_images[:10], test_labels=data.test_labels[:10])
    gen = train(TrainConfig(epochs=1, seed=1, progress_every=1), small, Controls(speed=digits_per_second))
    next(gen)
    t0 = time.perf_counter()
    for snap in gen:
        if getattr(snap, "epochs_done", 0) == 1:
            break
    measured = time.perf_counter() - t0
    batches = digits // 10
    return measured, (batches - 1) * 10 / digits_per_second   # the first mini-batch starts at once


def wake_seconds(data: Dataset, paused: bool) -> float:
    controls = Controls(speed=0.01, paused=paused)
    seen = []
    thread = threading.Thread(target=lambda: seen.extend(train(TrainConfig(epochs=1, seed=1, progress_every=1),
                                                               data, controls)))
    thread.start()
    while len(seen) < 2:
        time.sleep(0.002)
    time.sleep(0.05)   # let it settle into its wait
    t0 = time.perf_counter()
    controls.stop()
    thread.join()
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    data = tiled(50_000)
    print("1. full speed, 50,000 digits, mini-batch 10, float64 (best of %d)" % args.repeats)
    bare = min(bare_epoch(data) for _ in range(args.repeats))
    gen = min(generator_epoch(data, None) for _ in range(args.repeats))
    print(f"   one sgd_steps call {bare:.3f} s · training generator, no pace {gen:.3f} s · "
          f"generator / floor {gen / bare:.3f}")
    print("2. paced runs (wall time vs N-consistent time)")
    for speed, digits in ((200, 400), (1000, 3000), (5000, 20000)):
        measured, expected = paced_seconds(data, speed, digits)
        print(f"   {speed:>5,} digits/s, {digits:>6,} digits: {measured:.3f} s, expected {expected:.3f} s, "
              f"ratio {measured / expected:.3f} ({'within' if abs(measured / expected - 1) <= 0.10 else 'OUTSIDE'} ±10 %)")
    print("3. wake-up on stop (median of 10)")
    small = Dataset(name="w", train_images=data.train_images[:200], train_labels=data.train_labels[:200],
                    test_images=data.test_images[:10], test_labels=data.test_labels[:10])
    for paused in (False, True):
        times = [wake_seconds(small, paused) for _ in range(10)]
        print(f"   {'paused' if paused else 'slow (1,000 s a mini-batch)'}: median {1000 * statistics.median(times):.2f} ms, "
              f"max {1000 * max(times):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
