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
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnviz.core.costs import get_cost
from nnviz.core.editor import MAX_EDITS, edits_from_json
from nnviz.core.errors import ConfigError, DataError
from nnviz.core.network import MAX_LAYERS, Network, parse_dtype, parse_sizes
from nnviz.core.safeio import MB, check_regular, npz_keys, open_regular, open_zip, read_npy_member, sniff
from nnviz.core.schema import MAX_EPOCHS, check_config, is_int, is_number, parse_json, shown
from nnviz.core.files import make_ordinary
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
    """Write to a temp file beside ``path``, then rename: no half-written files, and no
    temp file left behind whatever fails (the write, the close, or the rename)."""

    def __init__(self, path: str | os.PathLike, mode: str, **kw: Any) -> None:
        self.path = Path(path)
        self.mode, self.kw = mode, kw

    def __enter__(self):
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent or ".", prefix=f".{self.path.name}.")
        try:
            make_ordinary(self.tmp)  # mkstemp's 0600 -> what the umask gives (0644 usually)
            self.f = os.fdopen(fd, self.mode, **self.kw)
        except BaseException:
            os.close(fd)
            os.unlink(self.tmp)
            raise
        return self.f

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.f.close()
            if exc_type is None:
                os.replace(self.tmp, self.path)
        finally:
            if os.path.lexists(self.tmp):
                os.unlink(self.tmp)


def save_network(path: str | os.PathLike, net: Network, config: TrainConfig | None = None,
                 history: History | None = None, edits: Sequence[Any] = ()) -> None:
    """Save weights, biases, config and per-epoch metrics to ``.npz`` (no pickles);
    ``edits``: the neuron editor's overlay (:class:`nnviz.core.editor.NeuronEdit`), kept
    beside the weights, not written into them."""
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
    if edits:
        arrays["edits"] = np.array(json.dumps([e.as_dict() for e in edits]))
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        arrays[f"w{l}"] = np.ascontiguousarray(w)
        arrays[f"b{l}"] = np.ascontiguousarray(b)
    with atomic_open(path, "wb") as f:
        np.savez(f, **arrays)


MAX_NETWORK_FILE = 200 * MB  # a network of MAX_PARAMETERS float64 numbers is 80 MB
MAX_SAVED_TEXT = 16 * MB  # the config and history JSON inside a saved network
MAX_HISTORY_ROWS = MAX_EPOCHS + 1
NOT_A_NETWORK = "not a saved nnviz network"

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

    Only the members needed are read, each checked (type, shape, size) before its data;
    the layer sizes must stay within ``network.MAX_PARAMETERS``; the config's known fields
    are checked (unknown ones are dropped); anything else is a DataError."""
    path = Path(path)
    name = path.name
    st = check_regular(path, "saved nnviz network")
    if st.st_size > MAX_NETWORK_FILE:
        raise DataError(f"{name} is {st.st_size:,} bytes, more than the {MAX_NETWORK_FILE:,}-byte limit for a saved network")
    with open_regular(path, "saved nnviz network") as f:
        try:
            head = f.read(8)
            f.seek(0)
        except OSError as e:
            raise DataError(f"cannot read {path}: {e.strerror or e}") from None
        if not head.startswith(b"PK"):
            raise DataError(f"{name} is {NOT_A_NETWORK}: it is {sniff(head)}")
        with open_zip(f, name, "a saved nnviz network") as zf:
            keys = set(npz_keys(zf))
            needed = {"format", "sizes", "dtype", "cost"}
            if not needed <= keys:
                raise DataError(f"{name} is {NOT_A_NETWORK} (missing {', '.join(sorted(needed - keys))})")

            def text(key: str, limit: int = 4096) -> str:
                a = read_npy_member(zf, key, name, max_bytes=limit, kinds="U")
                if a.ndim != 0:
                    raise DataError(f"{name}: {key} should be a single text, got shape {a.shape}")
                return str(a)

            if text("format") != "nnviz-network-1":
                raise DataError(f"{name} is {NOT_A_NETWORK} (wrong format tag)")
            sizes = read_npy_member(zf, "sizes", name, max_bytes=8 * MAX_LAYERS, kinds="iu")
            if sizes.ndim != 1:
                raise DataError(f"{name}: bad layer sizes of shape {sizes.shape}")
            try:
                sizes_list = parse_sizes([int(s) for s in sizes])
                dtype = parse_dtype(text("dtype"))
                cost = get_cost(text("cost")).name
            except ConfigError as e:
                raise DataError(f"{name}: {e}") from None
            weights, biases = [], []
            for l, (x, y) in enumerate(zip(sizes_list[:-1], sizes_list[1:])):
                for key, shape, dest in ((f"w{l}", (y, x), weights), (f"b{l}", (y, 1), biases)):
                    if key not in keys:
                        raise DataError(f"{name}: missing {key}")
                    a = read_npy_member(zf, key, name, max_bytes=8 * x * y + 8 * y, kinds="f", shape=shape)
                    if not np.isfinite(a).all():
                        raise DataError(f"{name}: {key} holds infinite or NaN values")
                    dest.append(np.array(a, dtype=dtype, order="C"))
            config_text = text("config", 4 * MAX_SAVED_TEXT // 16) if "config" in keys else "{}"
            rows_text = text("history", 4 * MAX_SAVED_TEXT) if "history" in keys else "[]"
            edits_text = text("edits", 4 * 64 * MAX_EDITS) if "edits" in keys else "[]"
    config = parse_json(config_text, name, "saved network (its config)")
    rows = parse_json(rows_text, name, "saved network (its history)")
    try:
        config = check_config(config, seed_required=False)
        net = Network(sizes_list, seed=0, dtype=dtype, cost=cost, outputs=config.get("outputs"))
    except ConfigError as e:
        raise DataError(f"{name}: its saved settings are damaged: {e}") from None
    net.weights, net.biases = weights, biases
    config["edits"] = _check_edits(parse_json(edits_text, name, "saved network (its neuron edits)"), net.sizes, name)
    return net, config, _check_rows(rows, name)


def _check_edits(doc: Any, sizes: Sequence[int], name: str) -> list:
    """The saved neuron edits as NeuronEdits, each checked against the network's sizes."""
    try:
        return edits_from_json(doc, sizes)
    except ConfigError as e:
        raise DataError(f"{name}: its neuron edits are damaged: {e}") from None


def _check_rows(rows: Any, name: str) -> list[dict[str, Any]]:
    """The saved per-epoch rows: a list of flat objects of numbers and short texts."""
    if not isinstance(rows, list) or len(rows) > MAX_HISTORY_ROWS:
        raise DataError(f"{name}: its saved history is damaged (expected a list of at most {MAX_HISTORY_ROWS:,} epochs)")
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or len(row) > 64:
            raise DataError(f"{name}: its saved history is damaged (epoch row {i} is {shown(row)})")
        for k, v in row.items():
            ok = (v is None or isinstance(v, bool) or (is_int(v) and abs(v) < 2**63)
                  or isinstance(v, float) or (isinstance(v, str) and len(v) <= 100))
            if not ok:
                raise DataError(f"{name}: its saved history is damaged (row {i}, {shown(k)}: {shown(v)})")
    return rows
