"""An eta race: 2 to 4 networks from the same initial weights and the same shuffling
order, differing only in eta (or cost, or mini-batch size), trained in lockstep one
epoch at a time.

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
    return ", ".join(parts) or f"η = {config.eta:g}"


def race_configs(base: TrainConfig, *, etas: Sequence[float] | None = None,
                 costs: Sequence[str] | None = None,
                 batch_sizes: Sequence[int] | None = None) -> list[TrainConfig]:
    """Configs equal to ``base`` but for one setting varied across lanes."""
    given = [(k, v) for k, v in (("eta", etas), ("cost", costs), ("mini_batch_size", batch_sizes)) if v]
    if len(given) != 1:
        raise ConfigError("a race varies exactly one setting: eta, cost or mini-batch size")
    key, values = given[0]
    return [dataclasses.replace(base, **{key: v}) for v in values]


class Race:
    """Lanes trained in lockstep. ``configs`` must share sizes, seed and dtype."""

    def __init__(self, configs: Sequence[TrainConfig], data: Any, *, workers: int = 2) -> None:
        if not MIN_LANES <= len(configs) <= MAX_LANES:
            raise ConfigError(f"a race has {MIN_LANES} to {MAX_LANES} lanes, got {len(configs)}")
        first = configs[0].validated()
        seed = first.seed
        self.configs = [dataclasses.replace(c, seed=seed).validated() for c in configs]
        for c in self.configs:
            for key in ("sizes", "dtype", "epochs"):
                if getattr(c, key) != getattr(first, key):
                    raise ConfigError(f"all lanes of a race need the same {key}")
        differing = [k for k in ("eta", "cost", "mini_batch_size")
                     if len({getattr(c, k) for c in self.configs}) > 1]
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
