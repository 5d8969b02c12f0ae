"""A compact record of a run for the time slider: every epoch's numbers, and the weights
of as many epochs as fit in a memory cap.

A :class:`Timeline` keeps, per epoch, the metrics of its ``EpochSnapshot`` (accuracy,
costs, eta, cost function, seconds) and copies of the weights and biases in the run's own
precision, so that rewinding shows exactly that epoch and "continue from here" reproduces
the run bit for bit; plus the live setting changes and where it branched from an earlier
timeline.

Memory: the default network [784, 30, 10] has 784*30 + 30 + 30*10 + 10 = 23,860
parameters: 95,440 bytes (about 93 KiB) per epoch in float32, 186 KiB in float64. The
book's 30 epochs take about 2.8 MiB (float32) or 5.5 MiB (float64), and the default cap of
64 MiB holds about 700 (float32) or 350 (float64) epochs. When adding an epoch would go
over ``cap_bytes``, older epochs lose their weights (never their numbers) by thinning: the
first epoch and the latest always keep theirs, and in between only every ``stride``-th
epoch does, ``stride`` doubling (1, 2, 4, ...) each time the cap is reached. So the kept
epochs stay evenly spread, ``nbytes <= cap_bytes`` always holds, and between half the cap
and the cap is in use once thinning has begun. (If the cap cannot hold even two epochs,
the first epoch's weights go, then the latest's.)
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from nnviz.core.training import EpochSnapshot, ProgressSnapshot, SettingChanged

__all__ = ["DEFAULT_CAP_BYTES", "Entry", "Timeline"]

DEFAULT_CAP_BYTES = 64 * 2**20


def _frozen_copy(arrays: Any) -> tuple[np.ndarray, ...]:
    """Read-only copies in the arrays' own (floating-point) precision."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        c = np.array(a, dtype=a.dtype if a.dtype.kind == "f" else np.float64, copy=True, order="C")
        c.flags.writeable = False
        out.append(c)
    return tuple(out)


@dataclass(frozen=True, eq=False)
class Entry:
    """One epoch of a :class:`Timeline`: the network after ``epochs_done`` epochs.

    The metrics are an ``EpochSnapshot``'s. ``weights[l]``: ``(sizes[l+1], sizes[l])``,
    ``biases[l]``: ``(sizes[l+1], 1)``, read-only, in the run's precision, or both None
    once thinned away.
    """

    epochs_done: int
    test_correct: int
    test_total: int
    validation_correct: int
    validation_total: int
    training_cost: float
    test_cost: float
    eta: float
    cost: str
    seconds: float
    step: int
    weights: tuple[np.ndarray, ...] | None = field(default=None, repr=False)
    biases: tuple[np.ndarray, ...] | None = field(default=None, repr=False)

    @classmethod
    def from_snapshot(cls, snapshot: EpochSnapshot) -> Entry:
        """The snapshot's metrics and exact copies of its weights and biases."""
        return cls(
            epochs_done=int(snapshot.epochs_done), test_correct=snapshot.test_correct,
            test_total=snapshot.test_total, validation_correct=snapshot.validation_correct,
            validation_total=snapshot.validation_total, training_cost=float(snapshot.training_cost),
            test_cost=float(snapshot.test_cost), eta=float(snapshot.eta), cost=snapshot.cost,
            seconds=float(snapshot.seconds), step=int(snapshot.step),
            weights=_frozen_copy(snapshot.weights), biases=_frozen_copy(snapshot.biases))

    @property
    def has_weights(self) -> bool:
        return self.weights is not None

    @property
    def nbytes(self) -> int:
        """Bytes held by the weights and biases (0 once thinned)."""
        if self.weights is None or self.biases is None:
            return 0
        return sum(a.nbytes for a in self.weights) + sum(a.nbytes for a in self.biases)

    @property
    def test_accuracy(self) -> float:
        return self.test_correct / self.test_total if self.test_total else float("nan")

    @property
    def validation_accuracy(self) -> float:
        return self.validation_correct / self.validation_total if self.validation_total else float("nan")


class Timeline:
    """Per-epoch history of one run (or branch) within ``cap_bytes`` of weights.

    Epochs are added in order; re-adding the latest epoch replaces it (a resumed run
    first re-reports the epoch it starts from; its NaN training cost and zero seconds do
    not overwrite what is known about how that epoch was trained). Live changes
    (``SettingChanged`` or anything with a ``position`` in epochs) are kept in order.
    """

    def __init__(self, cap_bytes: int = DEFAULT_CAP_BYTES) -> None:
        if cap_bytes < 0:
            raise ValueError(f"cap_bytes must be 0 or more, got {cap_bytes}")
        self.cap_bytes = int(cap_bytes)
        self._entries: dict[int, Entry] = {}   # in increasing epochs_done
        self._changes: list[Any] = []
        self._nbytes = 0
        self._stride = 1
        self.branched_at: int | None = None
        self._parent: weakref.ref[Timeline] | None = None

    # -- adding ---------------------------------------------------------------------------
    def add(self, snapshot: Any) -> None:
        """Record what training yielded: an ``EpochSnapshot`` becomes an epoch, a
        ``SettingChanged`` a change; a ``ProgressSnapshot`` is ignored."""
        if isinstance(snapshot, EpochSnapshot):
            self._add_entry(Entry.from_snapshot(snapshot))
        elif isinstance(snapshot, SettingChanged):
            self.add_change(snapshot)
        elif not isinstance(snapshot, ProgressSnapshot):
            raise TypeError(f"a Timeline records training snapshots, not {type(snapshot).__name__}")

    def add_change(self, change: Any) -> None:
        """Record a live change of a setting (e.g. a ``SettingChanged``)."""
        self._changes.append(change)

    def _add_entry(self, entry: Entry) -> None:
        k = entry.epochs_done
        last = self.latest
        if last is not None and k < last.epochs_done:
            raise ValueError(
                f"epoch {k} comes before the latest epoch {last.epochs_done}: "
                f"to go back, start a new branch with branch_from({k})")
        if last is not None and k == last.epochs_done:
            if math.isnan(entry.training_cost):
                entry = replace(entry, training_cost=last.training_cost, seconds=last.seconds)
            self._nbytes -= last.nbytes
        self._entries[k] = entry
        self._nbytes += entry.nbytes
        self._thin()

    def _drop_weights(self, k: int) -> None:
        entry = self._entries[k]
        if entry.has_weights:
            self._nbytes -= entry.nbytes
            self._entries[k] = replace(entry, weights=None, biases=None)

    def _thin(self) -> None:
        """Drop weights until ``nbytes <= cap_bytes`` (see the module docstring)."""
        epochs = list(self._entries)
        first, latest = epochs[0], epochs[-1]
        for k in epochs[1:-1]:   # the previous latest may be off the stride
            if (k - first) % self._stride:
                self._drop_weights(k)
        while self._nbytes > self.cap_bytes:
            inner = [k for k in epochs[1:-1] if self._entries[k].has_weights]
            if inner:
                self._stride *= 2      # once stride > latest - first, every inner epoch goes
                for k in inner:
                    if (k - first) % self._stride:
                        self._drop_weights(k)
            elif first != latest and self._entries[first].has_weights:
                self._drop_weights(first)
            else:
                self._drop_weights(latest)

    # -- reading --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def __contains__(self, epochs_done: object) -> bool:
        return epochs_done in self._entries

    def epochs(self) -> list[int]:
        """The recorded ``epochs_done``, in order."""
        return list(self._entries)

    def epochs_with_weights(self) -> list[int]:
        """The recorded epochs that still have their weights, in order."""
        return [k for k, e in self._entries.items() if e.has_weights]

    @property
    def latest(self) -> Entry | None:
        return self._entries[next(reversed(self._entries))] if self._entries else None

    @property
    def changes(self) -> tuple[Any, ...]:
        return tuple(self._changes)

    @property
    def nbytes(self) -> int:
        """Bytes held by the kept weights and biases (always <= ``cap_bytes``)."""
        return self._nbytes

    @property
    def stride(self) -> int:
        """Every ``stride``-th epoch keeps its weights (1 until the cap is reached)."""
        return self._stride

    @property
    def parent(self) -> Timeline | None:
        """The timeline this one branched from, while something else keeps it alive."""
        return self._parent() if self._parent is not None else None

    def at(self, epochs_done: int) -> Entry:
        """The entry of exactly ``epochs_done`` (KeyError if not recorded); its weights
        are None if thinned away: see :meth:`nearest`."""
        try:
            return self._entries[int(epochs_done)]
        except KeyError:
            raise KeyError(f"epoch {epochs_done} is not in this timeline") from None

    def nearest(self, epochs_done: float) -> Entry:
        """The entry with weights closest to ``epochs_done`` (the earlier one on a tie);
        LookupError if no entry has weights."""
        kept = self.epochs_with_weights()
        if not kept:
            raise LookupError("no epoch of this timeline has its weights")
        return self._entries[min(kept, key=lambda k: (abs(k - epochs_done), k))]

    def branch_from(self, epochs_done: int) -> Timeline:
        """A new timeline holding this one's epochs up to ``epochs_done`` and the changes
        before it, to continue training from there; this timeline is left as it is (the
        old branch). ``epochs_done`` must still have its weights (see :meth:`nearest`)."""
        k = int(epochs_done)
        entry = self.at(k)
        if not entry.has_weights:
            near = self.nearest(k).epochs_done
            raise ValueError(
                f"epoch {k} no longer has its weights (thinned to stay within the memory cap); "
                f"branch from epoch {near} instead")
        branch = Timeline(self.cap_bytes)
        branch._entries = {e: v for e, v in self._entries.items() if e <= k}
        branch._nbytes = sum(v.nbytes for v in branch._entries.values())
        branch._changes = [c for c in self._changes if c.position < k]
        branch._stride = self._stride
        branch.branched_at = k
        branch._parent = weakref.ref(self)
        return branch

    def copy(self) -> Timeline:
        """An independent timeline with the same epochs and changes (the entries are immutable)."""
        other = Timeline(self.cap_bytes)
        other._entries = dict(self._entries)
        other._nbytes = self._nbytes
        other._changes = list(self._changes)
        other._stride = self._stride
        other.branched_at = getattr(self, "branched_at", None)
        other._parent = getattr(self, "_parent", None)
        return other

    def metrics_arrays(self) -> dict[str, np.ndarray]:
        """Per-epoch numbers for plotting, each ``(len(self),)``: ``epochs`` (int64),
        ``test_accuracy`` and ``validation_accuracy`` (percent; nan without such data),
        ``training_cost`` (nan for the untrained start), ``test_cost``, ``eta``,
        ``seconds`` and ``has_weights`` (bool)."""
        entries = list(self._entries.values())
        return {
            "epochs": np.array([e.epochs_done for e in entries], dtype=np.int64),
            "test_accuracy": np.array([100.0 * e.test_accuracy for e in entries], dtype=np.float64),
            "validation_accuracy": np.array([100.0 * e.validation_accuracy for e in entries], dtype=np.float64),
            "training_cost": np.array([e.training_cost for e in entries], dtype=np.float64),
            "test_cost": np.array([e.test_cost for e in entries], dtype=np.float64),
            "eta": np.array([e.eta for e in entries], dtype=np.float64),
            "seconds": np.array([e.seconds for e in entries], dtype=np.float64),
            "has_weights": np.array([e.has_weights for e in entries], dtype=bool),
        }
