"""A compact record of a run (per-epoch metrics, live changes, the running cost curve)
and saving/loading a trained network to ``.npz`` (no pickles)."""

from __future__ import annotations

import csv
import json
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from nnviz.core.errors import DataError
from nnviz.core.files import make_ordinary
from nnviz.core.network import Network, parse_dtype
from nnviz.core.training import EpochSnapshot, ProgressSnapshot, SettingChanged, TrainConfig

CSV_FIELDS = ("epoch", "test_correct", "test_total", "test_accuracy", "validation_correct",
              "validation_total", "validation_accuracy", "training_cost", "test_cost", "eta",
              "cost", "seconds")


@dataclass
class History:
    """What a run has yielded: every epoch snapshot, every live change, and the
    running training cost as ``(position in epochs, cost)`` points.

    ``keep_weights``: "all" keeps every epoch snapshot whole; "last" keeps the weights of
    the latest epoch only (older epochs keep their numbers: a long run then costs a few
    hundred bytes an epoch, and a capped Timeline can hold the weights); "none" keeps
    numbers only."""

    epochs: list[EpochSnapshot] = field(default_factory=list)
    changes: list[SettingChanged] = field(default_factory=list)
    cost_curve: list[tuple[float, float]] = field(default_factory=list)
    keep_weights: str = "all"

    def add(self, snapshot: Any) -> None:
        if isinstance(snapshot, EpochSnapshot):
            if self.keep_weights == "none":
                snapshot = _numbers_only(snapshot)
            elif self.keep_weights == "last" and self.epochs:
                self.epochs[-1] = _numbers_only(self.epochs[-1])
            self.epochs.append(snapshot)
            if snapshot.epochs_done and np.isfinite(snapshot.training_cost):
                self.cost_curve.append((float(snapshot.epochs_done), snapshot.training_cost))
        elif isinstance(snapshot, SettingChanged):
            self.changes.append(snapshot)
        elif isinstance(snapshot, ProgressSnapshot):
            if snapshot.examples_seen:
                self.cost_curve.append((snapshot.epoch + snapshot.fraction, snapshot.running_cost))

    def numbers(self) -> tuple:
        """The run's numbers without wall-clock times: equal runs give equal tuples."""
        return (tuple(e.numbers() for e in self.epochs), tuple(self.changes))

    @property
    def best(self) -> EpochSnapshot | None:
        trained = [e for e in self.epochs if e.epochs_done > 0]
        return max(trained, key=lambda e: e.test_correct) if trained else None

    def rows(self) -> list[dict[str, Any]]:
        """One dict per epoch snapshot, keys :data:`CSV_FIELDS`."""
        return [
            {"epoch": e.epochs_done, "test_correct": e.test_correct, "test_total": e.test_total,
             "test_accuracy": e.test_accuracy, "validation_correct": e.validation_correct,
             "validation_total": e.validation_total, "validation_accuracy": e.validation_accuracy,
             "training_cost": e.training_cost, "test_cost": e.test_cost, "eta": e.eta,
             "cost": e.cost, "seconds": e.seconds}
            for e in self.epochs
        ]

    def write_csv(self, path: str | os.PathLike) -> None:
        """Per-epoch metrics as CSV (epoch 0 is the untrained network)."""
        with atomic_open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(self.rows())

    def write_json(self, path: str | os.PathLike) -> None:
        """Per-epoch metrics and live changes as JSON."""
        doc = {"epochs": self.rows(), "changes": [asdict(c) for c in self.changes]}
        with atomic_open(path, "w") as f:  # strict JSON: a missing number (NaN) is null
            json.dump(_null_for_nan(doc), f, indent=1, allow_nan=False)


def _null_for_nan(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by None."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _null_for_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_null_for_nan(v) for v in value]
    if isinstance(value, np.generic):
        return _null_for_nan(value.item())
    return value


def _numbers_only(snapshot: EpochSnapshot) -> EpochSnapshot:
    return replace(snapshot, weights=(), biases=()) if snapshot.weights else snapshot


class atomic_open:
    """Write to a temp file beside ``path``, then rename: no half-written files."""

    def __init__(self, path: str | os.PathLike, mode: str, **kw: Any) -> None:
        self.path = Path(path)
        self.mode, self.kw = mode, kw

    def __enter__(self):
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent or ".", prefix=f".{self.path.name}.")
        try:
            make_ordinary(self.tmp)  # mkstemp's 0600 -> what the umask gives (0644 usually)
        except OSError:
            os.close(fd)
            os.unlink(self.tmp)
            raise
        self.f = os.fdopen(fd, self.mode, **self.kw)
        return self.f

    def __exit__(self, exc_type, exc, tb) -> None:
        self.f.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            os.unlink(self.tmp)


def save_network(path: str | os.PathLike, net: Network, config: TrainConfig | None = None,
                 history: History | None = None) -> None:
    """Save weights, biases, config and per-epoch metrics to ``.npz`` (no pickles)."""
    path = Path(path)
    if not path.parent.exists():
        raise DataError(f"cannot save to {path}: folder {path.parent} does not exist")
    arrays: dict[str, np.ndarray] = {
        "format": np.array("nnviz-network-1"),
        "sizes": np.array(net.sizes, dtype=np.int64),
        "dtype": np.array(net.dtype.name),
        "cost": np.array(net.cost.name),
        "config": np.array(json.dumps(asdict(config) if config else {})),
        "history": np.array(json.dumps(history.rows() if history else [])),
        # the live changes of eta and the cost, so an opened network shows its markers again
        "changes": np.array(json.dumps([asdict(c) for c in history.changes] if history else [])),
    }
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"w{l}"] = np.ascontiguousarray(w)
        arrays[f"b{l}"] = np.ascontiguousarray(b)
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


MAX_SAVED_CHANGES = 100_000


def load_changes(path: str | os.PathLike) -> list[SettingChanged]:
    """The live changes saved with a network by :func:`save_network` (older files have
    none). They only mark the plots: anything malformed gives an empty list, not an error."""
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            if "changes" not in z.files:
                return []
            items = json.loads(str(z["changes"]))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        return []
    if not isinstance(items, list) or len(items) > MAX_SAVED_CHANGES:
        return []
    out = []
    for d in items:
        try:
            c = SettingChanged(name=str(d["name"]), old=d["old"], new=d["new"], epoch=int(d["epoch"]),
                               batch=int(d["batch"]), step=int(d["step"]), examples_seen=int(d["examples_seen"]),
                               n_train=int(d["n_train"]))
        except (TypeError, KeyError, ValueError, OverflowError):
            return []
        ok_value = (isinstance(c.new, (int, float)) and np.isfinite(c.new) and c.new > 0 if c.name == "eta"
                    else c.name == "cost" and isinstance(c.new, str) and len(c.new) < 40)
        if not ok_value or min(c.epoch, c.batch, c.step, c.examples_seen, c.n_train) < 0:
            return []
        out.append(c)
    return out


def load_network(path: str | os.PathLike) -> tuple[Network, dict[str, Any], list[dict[str, Any]]]:
    """Load a network saved by :func:`save_network`: ``(network, config dict, history rows)``.
    Every shape and type is checked; anything else is a DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no such file: {path}")
    try:
        # open the file ourselves: np.load leaks its handle when the zip is damaged
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            files = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise DataError(f"{path.name} is not a saved nnviz network (or it is truncated): {e}") from None
    needed = {"format", "sizes", "dtype", "cost"}
    if not needed <= files.keys() or str(files["format"]) != "nnviz-network-1":
        raise DataError(f"{path.name} is not a saved nnviz network (missing {sorted(needed - files.keys()) or 'format tag'})")
    sizes = files["sizes"]
    if sizes.dtype.kind not in "iu" or sizes.ndim != 1 or len(sizes) < 2 or (sizes < 1).any():
        raise DataError(f"{path.name}: bad layer sizes {sizes!r}")
    try:
        net = Network([int(s) for s in sizes], seed=0, dtype=parse_dtype(str(files["dtype"])),
                      cost=str(files["cost"]))
    except Exception as e:  # ConfigError from bad dtype/cost strings
        raise DataError(f"{path.name}: {e}") from None
    weights, biases = [], []
    for l, (x, y) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
        for key, shape, dest in ((f"w{l}", (y, x), weights), (f"b{l}", (y, 1), biases)):
            a = files.get(key)
            if a is None:
                raise DataError(f"{path.name}: missing {key}")
            if a.dtype.kind != "f" or a.shape != shape:
                raise DataError(f"{path.name}: {key} should be {shape} floats, got {a.shape} {a.dtype}")
            if not np.isfinite(a).all():
                raise DataError(f"{path.name}: {key} holds infinite or NaN values")
            dest.append(a)
    net.weights, net.biases = weights, biases
    try:
        config = json.loads(str(files.get("config", "{}")))
        rows = json.loads(str(files.get("history", "[]")))
    except json.JSONDecodeError as e:
        raise DataError(f"{path.name}: its config is damaged ({e})") from None
    if not isinstance(config, dict) or not isinstance(rows, list):
        raise DataError(f"{path.name}: its config is damaged")
    return net, config, rows
