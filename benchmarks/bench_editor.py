"""The neuron editor's speed on 10,000 test digits (the bundled 1,000 tiled), in one run.

    python benchmarks/bench_editor.py
    python benchmarks/bench_editor.py --hidden 100 --repeats 10

Trains a [784, hidden, 10] network for one epoch on the bundled digits, then times:
``edit_effect`` with one neuron switched off (accuracy, per-digit accuracy, confusion
matrix of the edited network; target < 100 ms), the same with the unedited analysis
already known (what the window does), and ``rank_neurons`` ("which neurons matter": every
hidden neuron switched off in turn; target < 1 s for 30 neurons), for the one-hot and the
binary output coding; and the same through ``EditBench`` (what the window uses: the
unedited analysis and the first layer's weighted inputs computed once per network). Judge speed with the machine otherwise idle.
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_analysis import best_ms   # this folder is on the path when run as a script

from nnviz.core.analysis import analyse
from nnviz.core.data import load_bundled
from nnviz.core.editor import EditBench, NeuronEdit, edit_effect, rank_neurons
from nnviz.core.training import EpochSnapshot, TrainConfig, train


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    data = load_bundled()
    images = np.tile(data.test_images, (10, 1))
    labels = np.tile(data.test_labels, 10)
    print(f"{len(labels):,} test digits, [784, {args.hidden}, 10/4], best of {args.repeats}")
    for outputs, n_out in (("one-hot", 10), ("binary", 4)):
        cfg = TrainConfig(sizes=(784, args.hidden, n_out), epochs=1, seed=1, outputs=outputs)
        snap = [s for s in train(cfg, data) if isinstance(s, EpochSnapshot)][-1]
        w, b = snap.weights, snap.biases
        edits = [NeuronEdit(1, 0, "off")]
        before = analyse(w, b, images, labels, outputs)
        t_effect = best_ms(lambda: edit_effect(w, b, images, labels, edits, outputs), args.repeats)
        t_known = best_ms(lambda: edit_effect(w, b, images, labels, edits, outputs, before=before), args.repeats)
        t_rank = best_ms(lambda: rank_neurons(w, b, images, labels, coding=outputs), args.repeats)
        t_bench = best_ms(lambda: EditBench(w, b, images, labels, outputs), args.repeats)
        bench = EditBench(w, b, images, labels, outputs)
        t_bench_effect = best_ms(lambda: bench.effect(edits), args.repeats)
        t_bench_rank = best_ms(lambda: bench.rank(), args.repeats)
        print(f"{outputs:8s} edit_effect {t_effect:6.1f} ms (before known: {t_known:6.1f} ms), "
              f"rank_neurons ({args.hidden} neurons) {t_rank:7.1f} ms")
        print(f"{'':8s} EditBench: set up {t_bench:6.1f} ms once, then effect {t_bench_effect:5.1f} ms, "
              f"rank {t_bench_rank:6.1f} ms")


if __name__ == "__main__":
    main()
