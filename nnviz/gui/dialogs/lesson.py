"""Lesson recipes in the window: recording the current run, and playing a recipe back.

:class:`Lesson` feeds every snapshot of the window's run to a core
:class:`~nnviz.core.recipe.RecipeRecorder` (in the GUI thread: it is cheap) and records
the pacing (pause, resume, single steps) from the controller's commands. File → Save
lesson… writes the recipe; File → Open lesson… (or ``nnviz replay lesson.json``) plays
one back with :class:`LessonPlayer`: the recorded η and cost changes are applied at
exactly their mini-batch (so the numbers are those of the recorded session), and the
pauses and single steps are played as short holds (scaled by ``pause_scale``).
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from nnviz.core.errors import NnvizError
from nnviz.core.recipe import Event, Recipe, RecipeRecorder, load_recipe
from nnviz.core.training import Controls, EpochSnapshot, ProgressSnapshot, SettingChanged
from nnviz.gui.widgets import ask_save_path

log = logging.getLogger(__name__)

LESSON_FILTER = "nnviz lesson (*.json)"
PAUSE_SECONDS = 3.0   # a recorded pause is replayed as a hold this long (times pause_scale)
STEP_SECONDS = 0.6    # ... and each single mini-batch step as a hold this long


# ---------------------------------------------------------------------- recording
class Lesson(QObject):
    """Records the window's current run as a recipe (a new recorder for every new network)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.recorder: RecipeRecorder | None = None
        self.invalid: str | None = None   # why the run cannot be replayed from a recipe
        self._last: EpochSnapshot | None = None
        self._step = 0
        self._paused = True               # a new run starts paused
        self._pause_pending = False       # a pause asked for, recorded when it takes effect
        c = window.controller
        c.epochFinished.connect(self._on_epochFinished)
        c.progressed.connect(self._on_progressed)
        c.settingChanged.connect(self._on_settingChanged)
        c.paced.connect(self._on_paced)

        self.save_action = QAction("Save lesson…", window)
        self.save_action.setToolTip("Save this run as a lesson recipe (data, settings, seed and every "
                                    "live change), to replay with File → Open lesson or 'nnviz replay'")
        self.save_action.triggered.connect(self.ask_save)
        self.open_action = QAction("Open lesson…", window)
        self.open_action.setToolTip("Replay a lesson recipe: the same numbers as the recorded session")
        self.open_action.triggered.connect(self.ask_open)
        self.player: LessonPlayer | None = None
        self._last_folder = str(Path.home())

    @property
    def recipe(self) -> Recipe | None:
        """The recipe of the current run so far (None: nothing recordable)."""
        if self.recorder is None or self.invalid:
            return None
        recipe = self.recorder.recipe
        recipe.events.sort(key=lambda e: e.step)  # stable: same-step events keep their order
        return recipe

    def invalidate(self, reason: str) -> None:
        """The current run cannot be rebuilt from a recipe (e.g. it starts from a loaded network)."""
        self.invalid = reason

    def _on_epochFinished(self, snap: EpochSnapshot) -> None:
        if snap.epochs_done == 0:  # a new network from the seed
            config = self.window.controller.config
            self.recorder = RecipeRecorder(self.window.source or "bundled", config) if config else None
            self.invalid = None
            self._last = None
            self._step = 0
            self._paused, self._pause_pending = True, False
        elif self.recorder is None:
            return
        elif self._last is not None and snap.epochs_done == self._last.epochs_done and snap.step == self._last.step:
            # a finished run continued: a setting changed in between starts the new part
            for name in ("eta", "cost"):
                if getattr(snap, name) != getattr(self._last, name):
                    self.recorder.recipe.events.append(Event(snap.step, name, getattr(snap, name)))
            return  # the window skips this repeated epoch too
        elif self._last is None or snap.epochs_done != self._last.epochs_done + 1:
            self.invalid = self.invalid or "the run does not follow on from the recorded one"
        self.recorder.add(snap)
        self._last = snap
        self._step = snap.step

    def _on_progressed(self, snap: ProgressSnapshot) -> None:
        self._step = snap.step
        if snap.paused and self._pause_pending and self.recorder is not None:
            self._pause_pending = False
            self.recorder.pacing(snap.step, "pause")

    def _on_settingChanged(self, change: SettingChanged) -> None:
        if self.recorder is not None:
            self.recorder.add(change)
            self._step = change.step

    def _on_paced(self, what: str) -> None:
        if self.recorder is None:
            return
        if what == "pause":
            self._pause_pending, self._paused = True, True
        elif what in ("resume", "step_epoch"):
            if self._paused and self._step > 0:
                self.recorder.pacing(self._step, "resume")
            self._paused = what != "resume"
            self._pause_pending = what == "step_epoch"
        elif what == "step":
            self.recorder.pacing(self._step, "step")
            self._paused = True

    # ---------------------------------------------------------------- saving
    def save(self, path: str | os.PathLike) -> bool:
        w = self.window
        recipe = self.recipe
        if recipe is None or self._last is None or self._last.epochs_done == 0:
            why = self.invalid or "train at least one epoch first"
            w.show_error("Nothing to save as a lesson", f"This run cannot be saved as a lesson: {why}.")
            return False
        try:
            recipe.save(path)
        except OSError as e:
            w.show_error("Could not save the lesson", f"{path}: {e}")
            return False
        n = sum(e.name in ("eta", "cost") for e in recipe.events)
        w.statusBar().showMessage(f"Saved the lesson ({recipe.config.epochs} epochs, {n} live change"
                                  f"{'s' if n != 1 else ''}) to {Path(path).name}", 5000)
        return True

    def ask_save(self) -> None:
        path = ask_save_path(self.window, "Save lesson", self._last_folder, "lesson.json", LESSON_FILTER)
        if path:
            self._last_folder = str(Path(path).parent)
            self.save(path)

    # ---------------------------------------------------------------- replaying
    def open(self, path: str | os.PathLike, pause_scale: float = 1.0) -> bool:
        """Replay the recipe at ``path``; False (and a dialog) if it is not a valid recipe."""
        try:
            recipe = load_recipe(path)
        except NnvizError as e:
            self.window.show_error("Could not open the lesson", str(e))
            return False
        self.play(recipe, pause_scale)
        return True

    def play(self, recipe: Recipe, pause_scale: float = 1.0) -> LessonPlayer:
        if self.player is not None:
            self.player.stop()
        else:  # the user's own settings, remembered before the first lesson replaces them
            self.window.save_train_settings()
        self.player = LessonPlayer(self.window, recipe, pause_scale=pause_scale)
        self.player.start()
        return self.player

    def ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open lesson", self._last_folder, LESSON_FILTER)
        if path:
            self._last_folder = str(Path(path).parent)
            self.open(path)

    def shutdown(self) -> None:
        if self.player is not None:
            self.player.stop()


# ---------------------------------------------------------------------- replaying
class PacedControls(Controls):
    """Controls that also hold (pause) by themselves just before given global mini-batch
    steps, counting the mini-batches they let run; ``on_hold(step, seconds)`` is called
    (in the training thread) at each hold."""

    def __init__(self, *, holds: dict[int, float], on_hold: Callable[[int, float], None],
                 start_step: int = 0, **kw: Any) -> None:
        super().__init__(**kw)
        self._holds = dict(holds)
        self._hold_steps = sorted(self._holds)
        self._next = bisect.bisect_left(self._hold_steps, start_step)
        self._at = start_step
        self._on_hold = on_hold
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        """Mini-batches run so far (the global step)."""
        return self._at

    def _may_run(self) -> bool:
        with self._lock:
            if (not self._stop and self._next < len(self._hold_steps)
                    and self._hold_steps[self._next] <= self._at):
                step = self._hold_steps[self._next]
                self._next += 1
                self.pause()
                self._on_hold(step, self._holds[step])
                return False
            ok = super()._may_run()
            if ok:
                self._at += 1
            return ok


def holds_from(recipe: Recipe) -> dict[int, float]:
    """``{step: seconds}``: how long the replay holds before each step (pauses and single steps)."""
    holds: dict[int, float] = {}
    for e in recipe.events:
        seconds = {"pause": PAUSE_SECONDS, "step": STEP_SECONDS}.get(e.name)
        if seconds:
            holds[e.step] = min(holds.get(e.step, 0.0) + seconds, 2 * PAUSE_SECONDS)
    return holds


class LessonPlayer(QObject):
    """Plays a recipe in ``window``: its data, its settings, its changes at their steps."""

    held = Signal(int, float)   # emitted from the training thread: (step, seconds)
    finished = Signal()

    def __init__(self, window: Any, recipe: Recipe, *, pause_scale: float = 1.0) -> None:
        super().__init__(window)
        self.window = window
        self.recipe = recipe
        self.pause_scale = max(0.0, float(pause_scale))  # holds last this many times their length
        self.controls: PacedControls | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._on_timer_timeout)
        self.held.connect(self._on_held)
        self._waiting = False

    def start(self) -> None:
        """Load the recipe's data if needed, then play."""
        w = self.window
        if w.data is not None and w.source == self.recipe.data and not w.loader.busy:
            self._begin()
            return
        self._waiting = True
        w.dataReady.connect(self._on_dataReady)
        w.loader.failed.connect(self._on_load_failed)
        if w.data is not None or w.loader.busy or w.source is not None:
            w.load_data(self.recipe.data)
        # else: the window's start() loads the recipe's data (the window was opened with it)

    def stop(self) -> None:
        self.timer.stop()
        self._disconnect()
        self._disconnect_finish()
        if self.controls is not None and self.window.controller.controls is self.controls:
            self.window.controller.stop()
        self.controls = None

    def _disconnect(self) -> None:
        if self._waiting:
            self._waiting = False
            self.window.dataReady.disconnect(self._on_dataReady)
            self.window.loader.failed.disconnect(self._on_load_failed)

    def _on_dataReady(self) -> None:
        self._disconnect()
        self._begin()

    def _on_load_failed(self, _source: str, _message: str) -> None:
        self._disconnect()  # the window has shown why

    def _begin(self) -> None:
        from nnviz.gui.controls import PROGRESS_INTERVAL, PROGRESS_PER_EPOCH

        w = self.window
        c = self.recipe.config
        config = dataclasses.replace(c, progress_interval=PROGRESS_INTERVAL, progress_per_epoch=PROGRESS_PER_EPOCH)
        w.panel.set_values(eta=c.eta, cost=c.cost, epochs=c.epochs, mini_batch_size=c.mini_batch_size,
                           hidden=c.sizes[1:-1], seed=c.seed, dtype=c.dtype, emit=False)
        self.controls = PacedControls(eta=c.eta, cost=c.cost, epochs=c.epochs, paused=True,
                                      holds=holds_from(self.recipe), on_hold=self.held.emit)
        if not w.prepare_run(config, schedule=self.recipe.schedule(), controls=self.controls):
            self.controls = None
            return
        w.controller.runFinished.connect(self._on_runFinished)
        self._finish_connected = True
        w.statusBar().showMessage(f"Replaying the lesson: {c.epochs} epochs, "
                                  f"{sum(e.name in ('eta', 'cost') for e in self.recipe.events)} live changes", 6000)
        w.controller.resume()

    def _mine(self) -> bool:
        return self.controls is not None and self.window.controller.controls is self.controls

    def _on_held(self, step: int, seconds: float) -> None:
        if not self._mine():
            return
        self.window.controller.pause()
        self.timer.start(max(1, int(1000 * seconds * self.pause_scale)))

    def _on_timer_timeout(self) -> None:
        if self._mine() and self.window.controller.state == "paused":
            self.window.controller.resume()

    _finish_connected = False

    def _disconnect_finish(self) -> None:
        if self._finish_connected:
            self._finish_connected = False
            self.window.controller.runFinished.disconnect(self._on_runFinished)

    def _on_runFinished(self) -> None:
        self._disconnect_finish()
        self.timer.stop()
        self.finished.emit()


__all__ = ["Lesson", "LessonPlayer", "PacedControls", "holds_from"]
