"""An eta race: 2 to 4 networks from the same initial weights and the same shuffling
order, differing only in eta (or cost, or mini-batch size), trained in lockstep one
epoch at a time. Architecture races vary the hidden layer's size (15 / 30 / 100 neurons)
or the output coding (10 one-hot outputs vs 4 binary-coded ones): networks of different
shapes cannot share initial weights, so each lane draws its own from the same seed (and
the lanes still see the examples in the same order).

Every lane is an ordinary :func:`nnviz.core.training.train` generator with the same seed,
sizes and dtype, so the lanes start from identical weights and see the examples in the
same order; lanes run in parallel threads (numpy releases the GIL in its matrix
products), and :meth:`Race.epochs` yields after every lane has finished the epoch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from nnviz.core.codings import get_coding
from nnviz.core.errors import ConfigError, NnvizError
from nnviz.core.training import Controls, EpochSnapshot, TrainConfig, train

MIN_LANES, MAX_LANES = 2, 4
BOOK_ETAS = (0.001, 3.0, 100.0)   # "The book's three learning rates"


def lane_label(config: TrainConfig, differing: Sequence[str]) -> str:
    """A short legend label naming what differs, e.g. 'eta = 3' or 'cross-entropy'."""
    parts = []
    if "eta" in differing:
        parts.append(f"η = {config.eta:g}")
    if "cost" in differing:
        parts.append(config.cost)
    if "mini_batch_size" in differing:
        parts.append(f"m = {config.mini_batch_size}")
    if "hidden" in differing:
        parts.append("hidden = " + ",".join(str(s) for s in config.sizes[1:-1]))
    if "outputs" in differing:
        parts.append(f"{config.sizes[-1]} outputs" + (" (binary)" if config.outputs == "binary" else ""))
    return ", ".join(parts) or f"η = {config.eta:g}"


def race_configs(base: TrainConfig, *, etas: Sequence[float] | None = None,
                 costs: Sequence[str] | None = None,
                 batch_sizes: Sequence[int] | None = None,
                 hidden: Sequence[int | Sequence[int]] | None = None,
                 outputs: Sequence[str] | None = None) -> list[TrainConfig]:
    """Configs equal to ``base`` but for one setting varied across lanes. ``hidden``: the
    hidden layer sizes per lane (``30`` or ``(30, 10)`` for two hidden layers); ``outputs``:
    the output coding per lane ('one-hot': 10 outputs, 'binary': 4)."""
    given = [(k, v) for k, v in (("eta", etas), ("cost", costs), ("mini_batch_size", batch_sizes),
                                 ("hidden", hidden), ("outputs", outputs)) if v]
    if len(given) != 1:
        raise ConfigError("a race varies exactly one setting: eta, cost, mini-batch size, hidden size or outputs")
    key, values = given[0]
    n_in, n_out = base.sizes[0], base.sizes[-1]
    if key == "hidden":
        return [dataclasses.replace(base, sizes=(n_in, *((h,) if isinstance(h, int) else tuple(h)), n_out))
                for h in values]
    if key == "outputs":
        out = []
        for name in values:
            coding = get_coding(name)
            out.append(dataclasses.replace(base, sizes=(*base.sizes[:-1], coding.n_outputs), outputs=coding.name))
        return out
    return [dataclasses.replace(base, **{key: v}) for v in values]


class Race:
    """Lanes trained in lockstep. ``configs`` must share seed, dtype and input layer;
    ``shared_start`` is False when their shapes differ (each lane's own weights, same seed)."""

    def __init__(self, configs: Sequence[TrainConfig], data: Any, *, workers: int = 2) -> None:
        if not MIN_LANES <= len(configs) <= MAX_LANES:
            raise ConfigError(f"a race has {MIN_LANES} to {MAX_LANES} lanes, got {len(configs)}")
        first = configs[0].validated()
        seed = first.seed
        self.configs = [dataclasses.replace(c, seed=seed).validated() for c in configs]
        for c in self.configs:
            for key in ("dtype", "epochs"):
                if getattr(c, key) != getattr(first, key):
                    raise ConfigError(f"all lanes of a race need the same {key}")
            if c.sizes[0] != first.sizes[0]:
                raise ConfigError("all lanes of a race need the same input layer")
        differing = [k for k in ("eta", "cost", "mini_batch_size", "outputs")
                     if len({getattr(c, k) for c in self.configs}) > 1]
        if len({c.sizes[1:-1] for c in self.configs}) > 1:
            differing.append("hidden")
        if len({c.sizes[-1] for c in self.configs}) > 1 and "outputs" not in differing:
            differing.append("outputs")
        # lanes of one shape start from the same weights; of different shapes, from the same seed
        self.shared_start = len({c.sizes for c in self.configs}) == 1
        self.labels = [lane_label(c, differing) for c in self.configs]
        self.controls = [Controls(eta=c.eta, cost=c.cost) for c in self.configs]
        self._lanes = [train(c, data, ctl) for c, ctl in zip(self.configs, self.controls)]
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="nnviz-race")
        self._done: list[bool] = [False] * len(self._lanes)

    @property
    def seed(self) -> int:
        return self.configs[0].seed

    def _advance(self, i: int) -> EpochSnapshot | NnvizError | None:
        """Run lane i to its next epoch snapshot (None when it has finished)."""
        if self._done[i]:
            return None
        try:
            for snap in self._lanes[i]:
                if isinstance(snap, EpochSnapshot):
                    return snap
        except NnvizError as e:   # e.g. TrainingDiverged: this lane stops, the others go on
            self._done[i] = True
            return e
        self._done[i] = True
        return None

    def epochs(self) -> Iterator[list[EpochSnapshot | NnvizError | None]]:
        """One list per epoch (the first: the untrained networks), a result per lane."""
        try:
            while not all(self._done):
                results = list(self._pool.map(self._advance, range(len(self._lanes))))
                if all(r is None for r in results):
                    return
                yield results
        finally:
            self.close()

    def stop(self) -> None:
        """Ask every lane to stop after its current mini-batch (thread-safe)."""
        for c in self.controls:
            c.stop()

    def close(self) -> None:
        self.stop()
        self._pool.shutdown(wait=True)
        for lane in self._lanes:
            lane.close()
