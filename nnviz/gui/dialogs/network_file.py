"""Saving and opening a trained network (``.npz``: weights, biases, config, per-epoch
history) in the window, with the core's :func:`save_network` / :func:`load_network`.

Opening a network shows it at once (its heatmaps, its accuracy on the data loaded, the
saved accuracy curve before it) and prepares a run that continues training from it.
A damaged or foreign file is refused with a dialog; the app carries on as before.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from nnviz.core.errors import NnvizError
from nnviz.core.history import load_changes, load_network, save_network
from nnviz.core.training import EpochSnapshot, TrainConfig, build_network, check_data_fits
from nnviz.gui.widgets import ask_save_path

log = logging.getLogger(__name__)

NETWORK_FILTER = "nnviz network (*.npz)"
MORE_EPOCHS = 10  # a loaded network that has reached its target trains this many more


def _num(row: dict, key: str, default: float = math.nan) -> float:
    try:
        return float(row.get(key, default))
    except (TypeError, ValueError):
        return default


def _int(row: dict, key: str) -> int:
    try:
        return int(row.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def row_snapshot(row: dict) -> EpochSnapshot:
    """An epoch of a saved history as an EpochSnapshot without weights (for the plots)."""
    return EpochSnapshot(
        epochs_done=_int(row, "epoch"), test_correct=_int(row, "test_correct"), test_total=_int(row, "test_total"),
        validation_correct=_int(row, "validation_correct"), validation_total=_int(row, "validation_total"),
        training_cost=_num(row, "training_cost"), test_cost=_num(row, "test_cost"),
        seconds=_num(row, "seconds", 0.0), eta=_num(row, "eta"), cost=str(row.get("cost", "")), step=0,
        weights=(), biases=())


class NetworkFiles:
    """File → Save network… / Open network… for ``window`` (a MainWindow)."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self._last_folder = str(Path.home())
        self.save_action = QAction("Save network…", window)
        self.save_action.setShortcut(QKeySequence("Ctrl+S"))
        self.save_action.setToolTip("Save the network after its last epoch, with its settings and "
                                    "history, to a .npz file (Ctrl+S)")
        self.save_action.triggered.connect(self.ask_save)
        self.open_action = QAction("Open network…", window)
        self.open_action.setShortcut(QKeySequence("Ctrl+O"))
        self.open_action.setToolTip("Open a saved network: see it, and train on from it (Ctrl+O)")
        self.open_action.triggered.connect(self.ask_open)
        for a in (self.save_action, self.open_action):
            window.addAction(a)

    # ---------------------------------------------------------------- saving
    def save(self, path: str | os.PathLike) -> bool:
        """Save the last epoch's network; False (and a dialog) if that is impossible."""
        w = self.window
        last = next((e for e in reversed(w.history.epochs) if e.weights), None)
        config = w.controller.config
        if last is None or config is None:
            w.show_error("Nothing to save", "There is no network yet: wait until the data is loaded.")
            return False
        try:
            net = build_network(config)
            net.weights, net.biases = last.weights, last.biases
            net.set_cost(last.cost)
            saved = dataclasses.replace(config, eta=last.eta, cost=last.cost,
                                        epochs=max(config.epochs, last.epochs_done))
            tab = getattr(w, "network_tab", None)   # the neuron editor's overlay is kept with it
            save_network(path, net, saved, w.history, edits=tab.view.edits if tab is not None else ())
        except (NnvizError, OSError) as e:
            w.show_error("Could not save the network", str(e))
            return False
        w.saved_epochs = last.epochs_done
        w.statusBar().showMessage(f"Saved the network after epoch {last.epochs_done} to {Path(path).name}", 5000)
        return True

    def ask_save(self) -> None:
        path = ask_save_path(self.window, "Save network", self._last_folder, "network.npz", NETWORK_FILTER)
        if path:
            self._last_folder = str(Path(path).parent)
            self.save(path)

    # ---------------------------------------------------------------- opening
    def open(self, path: str | os.PathLike) -> bool:
        """Show the saved network and prepare to train on from it; False (and a dialog) if the
        file is not a valid nnviz network or does not fit the data loaded."""
        w = self.window
        name = Path(path).name
        if w.data is None:
            w.show_error("Could not open the network", "Wait until the data is loaded, then try again.")
            return False
        try:
            net, saved, rows = load_network(path)
            check_data_fits(tuple(net.sizes), w.data)
        except NnvizError as e:
            w.show_error("Could not open the network", f"{e}\n\nnnviz carries on with the network it has.")
            return False
        history = [row_snapshot(r) for r in rows if isinstance(r, dict)]
        done = history[-1].epochs_done if history else 0
        panel = w.panel.config(n_pixels=net.sizes[0])

        def get(key: str, default: Any) -> Any:
            v = saved.get(key)
            return default if v is None else v

        target = panel.epochs if panel.epochs > done else done + MORE_EPOCHS
        try:
            config = TrainConfig(
                sizes=tuple(net.sizes), epochs=target, mini_batch_size=get("mini_batch_size", panel.mini_batch_size),
                eta=get("eta", panel.eta), cost=net.cost.name, seed=get("seed", panel.seed),
                dtype=net.dtype.name, progress_interval=panel.progress_interval,
                progress_per_epoch=panel.progress_per_epoch).validated()
        except (NnvizError, TypeError, ValueError) as e:
            w.show_error("Could not open the network", f"{name}: its settings are damaged ({e})")
            return False
        if w.controller.in_progress:
            w.controller.stop()
        w.panel.set_values(eta=config.eta, cost=config.cost, epochs=config.epochs,
                           mini_batch_size=config.mini_batch_size, hidden=config.sizes[1:-1],
                           seed=config.seed, dtype=config.dtype, emit=False)
        start = dataclasses.replace(row_snapshot(rows[-1]) if rows else row_snapshot({}), epochs_done=done,
                                    weights=tuple(net.weights), biases=tuple(net.biases))
        earlier = [s for s in history if s.epochs_done < done]
        undoable = w.undo_stack.count()
        if not w.prepare_run(config, start=start, earlier=earlier, why=f"Opening {name}"):
            return False
        undo_note = " Ctrl+Z brings back the run it replaced." if w.undo_stack.count() > undoable else ""
        if done > 0:
            w.heatmaps.forget_baseline()  # its epoch-0 weights are not in the file
        for change in load_changes(path):  # its eta and cost markers, as when it was trained
            if change.position <= done:
                w.history.add(change)
                w.accuracy.add_change(change)
                w.cost.add_change(change)
        tab = getattr(w, "network_tab", None)
        if tab is not None:   # the neuron editor's edits saved with the network, laid over it again
            tab.view.set_edits(saved.get("edits") or [])
        lesson = getattr(w, "lesson", None)
        if lesson is not None:
            lesson.invalidate(f"the run continues the network opened from {name}")
        w.statusBar().showMessage(f"Opened {name}: trained {done} epoch{'s' if done != 1 else ''}; "
                                  f"Start trains on to epoch {config.epochs}.{undo_note}", 8000)
        return True

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open network", self._last_folder, NETWORK_FILTER)
        if path:
            self._last_folder = str(Path(path).parent)
            self.open(path)


__all__ = ["NetworkFiles", "row_snapshot"]
