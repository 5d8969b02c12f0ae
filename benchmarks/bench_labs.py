"""The chapter-1 labs' heavy part: the real network's cost surface on a grid.

    python benchmarks/bench_labs.py
    python benchmarks/bench_labs.py --resolution 41 --examples 1000 --repeats 3

Trains [784, 30, 10] for 3 epochs on the bundled digits (recording a Timeline), then times
``cost_grid`` on a resolution x resolution grid of the PCA plane on ``--examples`` training
digits, in float32 (what the lab uses) and float64, and the whole ``compute_surface``
(plane, projection, grid). Target: 41 x 41 on 1,000 digits in about a second.
Judge speed with the machine otherwise idle and the OpenBLAS overrides unset.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nnviz.core.data import load_bundled
from nnviz.core.labs import surface
from nnviz.core.timeline import Timeline
from nnviz.core.training import TrainConfig, train


def best_s(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=41)
    p.add_argument("--examples", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    data = load_bundled()
    timeline = Timeline()
    for snap in train(TrainConfig(epochs=3, seed=1), data):
        timeline.add(snap)
    epochs, points = surface.timeline_points(timeline)
    x, y = data.train_images[:args.examples], data.train_labels[:args.examples]
    plane = surface.pca_plane(points)
    grid = np.linspace(-1.0, 1.0, args.resolution)
    n = args.resolution
    print(f"cost surface of [784, 30, 10]: {n} x {n} grid on {len(y):,} digits (best of {args.repeats})")
    for dtype in (np.float32, np.float64):
        s = best_s(lambda: surface.cost_grid(plane, x, y, grid, grid, dtype=dtype), args.repeats)
        print(f"  cost_grid {np.dtype(dtype).name}: {s:6.2f} s   ({1e6 * s / (n * n):6.0f} µs a grid point)")
    s = best_s(lambda: surface.compute_surface(epochs, points, x, y, resolution=n), args.repeats)
    print(f"  compute_surface (PCA plane, projection, float32 grid): {s:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
