"""Lesson recipes in the window: recording the current run, and playing a recipe back.

:class:`Lesson` feeds every snapshot of the window's run to a core
:class:`~nnviz.core.recipe.RecipeRecorder` (in the GUI thread: it is cheap) and records
the pacing (pause, resume, single steps) from the controller's commands. File → Save
lesson… writes the recipe; File → Open lesson… (or ``nnviz replay lesson.json``) plays
one back with :class:`LessonPlayer`: the recorded η and cost changes are applied at
exactly their mini-batch (so the numbers are those of the recorded session), and the
pauses and single steps are played as short holds (scaled by ``pause_scale``).

The Network tab's neuron editor is recorded too: its edit list after every change (an
``edits`` event at the step training had reached), laid over the network again at that
step on replay (a replay holds there for a moment to do it; the numbers do not change),
and edits written into the weights (an ``apply`` event), which the replay repeats the way
the session did it: a new run from the same epoch's weights with the same edits, so the
numbers after it are the session's, bit for bit. Edits written into weights trained
part-way through an epoch cannot be replayed (that run starts the epoch again from them):
the lesson then refuses to be saved, and says why.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from nnviz.core.errors import ConfigError, NnvizError
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
        self._applying: int | None = None  # edits written into the weights: the new run starts at this step
        c = window.controller
        c.epochFinished.connect(self._on_epochFinished)
        c.progressed.connect(self._on_progressed)
        c.settingChanged.connect(self._on_settingChanged)
        c.paced.connect(self._on_paced)
        self.network_tab = getattr(window, "network_tab", None)   # the neuron editor, if the window has one
        if self.network_tab is not None:
            self.network_tab.view.editsChanged.connect(self._on_editsChanged)
            self.network_tab.editsApplied.connect(self._on_editsApplied)

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
        applied, self._applying = self._applying, None
        if applied is not None and self.recorder is not None and snap.step == applied:
            self._last = snap   # the run from the edited weights (recorded by _on_editsApplied)
        elif snap.epochs_done == 0:  # a new network from the seed
            config = self.window.controller.config
            self.recorder = RecipeRecorder(self.window.source or "bundled", config) if config else None
            self.invalid = None
            self._last = None
            self._step = 0
            self._paused, self._pause_pending = True, False
            if self.recorder is not None and self.network_tab is not None and self.network_tab.view.edits:
                self._on_editsChanged(tuple(self.network_tab.view.edits))   # edits kept from the run before
        elif self.recorder is None:
            return
        elif self._last is not None and snap.epochs_done == self._last.epochs_done and snap.step == self._last.step:
            self._continued(snap)   # a finished run continued
            return  # the window skips this repeated epoch too
        elif self._last is None or snap.epochs_done != self._last.epochs_done + 1:
            self.invalid = self.invalid or "the run does not follow on from the recorded one"
        self.recorder.add(snap)
        self._last = snap
        self._step = snap.step

    def _continued(self, snap: EpochSnapshot) -> None:
        """A run goes on from the recorded one's last epoch: a setting changed in between
        starts the new part."""
        for name in ("eta", "cost"):
            if getattr(snap, name) != getattr(self._last, name):
                self.recorder.recipe.events.append(Event(snap.step, name, getattr(snap, name)))

    def _on_editsChanged(self, edits: tuple) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder.edits(self._step, edits)
        except ConfigError as e:   # edits of another network, on their way out
            log.info("neuron edits not recorded: %s", e)

    def _on_editsApplied(self, edits: tuple, epoch: EpochSnapshot, exact: bool) -> None:
        """The edits were written into ``epoch``'s weights (``exact``: into exactly that
        epoch's weights, else into weights trained part-way through the next epoch)."""
        if self.recorder is None:
            return
        self._applying = self._step = epoch.step
        if not exact:
            self.invalid = self.invalid or (
                f"neuron edits were written into weights trained part-way through epoch {epoch.epochs_done + 1}, "
                f"which a lesson cannot replay (to record it, press E to finish the epoch, then apply the edits)")
            return
        controls = self.window.controller.controls   # the new run's: it starts with the live settings
        for name in ("eta", "cost"):
            if controls is not None and getattr(controls, name) != getattr(epoch, name):
                self.recorder.recipe.events.append(Event(epoch.step, name, getattr(controls, name)))
        self.recorder.applied(epoch.step, edits)

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
    """``{step: seconds}``: how long the replay holds before each step (pauses and single
    steps; a neuron edit holds for no time, just long enough to be made at its step)."""
    holds: dict[int, float] = {}
    for e in recipe.events:
        seconds = {"pause": PAUSE_SECONDS, "step": STEP_SECONDS}.get(e.name)
        if seconds:
            holds[e.step] = min(holds.get(e.step, 0.0) + seconds, 2 * PAUSE_SECONDS)
        elif e.name in ("edits", "apply"):
            holds.setdefault(e.step, 0.0)
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
        self._next_edit = 0   # the first of the recipe's events not yet played by _play_edits

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
        batches = math.ceil(len(w.data.train_labels) / c.mini_batch_size)
        odd = [e.step for e in self.recipe.events if e.name == "apply" and e.step % batches]
        if odd:
            w.show_error("Could not play the lesson",
                         f"The lesson writes neuron edits into the weights before mini-batch {odd[0]:,}, which is not "
                         f"between epochs of this data ({batches:,} mini-batches an epoch).")
            return
        config = dataclasses.replace(c, progress_interval=PROGRESS_INTERVAL, progress_per_epoch=PROGRESS_PER_EPOCH)
        w.panel.set_values(eta=c.eta, cost=c.cost, epochs=c.epochs, mini_batch_size=c.mini_batch_size,
                           hidden=c.sizes[1:-1], seed=c.seed, dtype=c.dtype, emit=False)
        self.controls = PacedControls(eta=c.eta, cost=c.cost, epochs=c.epochs, paused=True,
                                      holds=holds_from(self.recipe), on_hold=self.held.emit)
        tab = getattr(w, "network_tab", None)
        if tab is not None:
            tab.view.set_edits([])   # the lesson's own edits come at their steps
        # edits written into the weights are made here, as the session made them (see _play_edits)
        if not w.prepare_run(config, schedule=self.recipe.schedule(applies=False), controls=self.controls):
            self.controls = None
            return
        w.controller.runFinished.connect(self._on_runFinished)
        self._finish_connected = True
        n_edits = sum(e.name in ("edits", "apply") for e in self.recipe.events)
        w.statusBar().showMessage(f"Replaying the lesson: {c.epochs} epochs, "
                                  f"{sum(e.name in ('eta', 'cost') for e in self.recipe.events)} live changes"
                                  + (f", {n_edits} neuron-editor changes" if n_edits else ""), 6000)
        w.controller.resume()

    def _mine(self) -> bool:
        return self.controls is not None and self.window.controller.controls is self.controls

    def _on_held(self, step: int, seconds: float) -> None:
        if not self._mine():
            return
        self.window.controller.pause()
        if self._play_edits(step):
            self.timer.start(max(1, int(1000 * seconds * self.pause_scale)))

    def _on_timer_timeout(self) -> None:
        if self._mine() and self.window.controller.state in ("paused", "ready"):
            self.window.controller.resume()

    def _play_edits(self, step: float) -> bool:
        """Play the neuron editor's events up to ``step``: lay each ``edits`` event's list
        over the network; make each ``apply`` as the session did (a new run from this epoch's
        weights with the edits written in, going on with these controls' settings and the
        holds still to come). False if an apply could not be made (the replay stops)."""
        tab = getattr(self.window, "network_tab", None)
        events = self.recipe.events
        while self._next_edit < len(events) and events[self._next_edit].step <= step:
            e = events[self._next_edit]
            self._next_edit += 1
            if tab is None or e.name not in ("edits", "apply"):
                continue
            if e.name == "edits":
                tab.view.set_edits(e.value)
                tab.render()
                continue
            old = self.controls
            # the new run starts with the settings in force at its step (changes recorded
            # before the apply; those after it are changes within the new run)
            before = [x for x in events[:self._next_edit] if x.step == e.step and x.name in ("eta", "cost")]
            settings = {"eta": old.eta, "cost": old.cost} | {x.name: x.value for x in before}
            self.controls = PacedControls(
                **settings, epochs=old.epochs, paused=True, start_step=e.step,
                holds={s: t for s, t in holds_from(self.recipe).items() if s > e.step}, on_hold=self.held.emit)
            if not tab.apply_edits(e.value, controls=self.controls, schedule=self.recipe.schedule(applies=False)):
                self.controls = old
                self.stop()
                self.window.statusBar().showMessage(
                    "The lesson stopped: it could not write its neuron edits into the weights "
                    "(go back to the latest epoch and open the lesson again).", 10000)
                return False
        return True

    _finish_connected = False

    def _disconnect_finish(self) -> None:
        if self._finish_connected:
            self._finish_connected = False
            self.window.controller.runFinished.disconnect(self._on_runFinished)

    def _on_runFinished(self) -> None:
        controls = self.controls
        if self._play_edits(math.inf) and self.controls is not controls:
            return   # edits written into the weights after the last epoch: a new run, finished at once
        self._disconnect_finish()
        self.timer.stop()
        self.finished.emit()


__all__ = ["Lesson", "LessonPlayer", "PacedControls", "holds_from"]
