"""Start-up: the QApplication, theme, settings, and ``--screenshot`` mode.

``run_app(args)`` is what ``nnviz`` (no command) calls; it returns the exit status.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from nnviz.core.errors import ConfigError, NnvizError

log = logging.getLogger(__name__)

ORGANIZATION = "nnviz"
APPLICATION = "nnviz"
VIEWS = ("train", "step", "draw", "errors", "saturation", "race", "presentation", "network", "neuron",
         "descent", "surface")
SCREENSHOT_TIMEOUT_S = 600
GIL_SWITCH_INTERVAL = 0.001  # seconds (Python's default: 0.005)
GRAB_SETTLE_MS = 0  # the grab comes at the next turn of the event loop (it draws the views itself)
SETTINGS_ENV = "NNVIZ_SETTINGS_DIR"  # put nnviz.ini here instead of the user's config folder


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (1280, 720); ConfigError otherwise."""
    try:
        w, h = (int(t) for t in str(text).lower().replace("×", "x").split("x"))
    except ValueError:
        raise ConfigError(f"--size must look like 1280x720, got {text!r}") from None
    if not (200 <= w <= 10000 and 200 <= h <= 10000):
        raise ConfigError(f"--size must be between 200x200 and 10000x10000, got {text!r}")
    return w, h


def open_settings():
    """The app's QSettings (an ini file). ``$NNVIZ_SETTINGS_DIR`` moves it (tests use
    that or ``QSettings.setPath``, so they never touch the user's settings)."""
    from PySide6.QtCore import QSettings

    folder = os.environ.get(SETTINGS_ENV)
    if folder:
        return QSettings(str(Path(folder) / f"{APPLICATION}.ini"), QSettings.IniFormat)
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)


def _check_display(screenshot: bool) -> None:
    """Without a display Qt aborts the process: use offscreen for screenshots, or explain."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return
    raise NnvizError("no display found (DISPLAY is not set): run nnviz on a desktop, or use "
                     "'nnviz --screenshot out.png' or 'nnviz train'")


def make_app() -> Any:
    """The QApplication (created once), themed, with pyqtgraph configured."""
    from PySide6.QtWidgets import QApplication

    from nnviz.gui.style import apply_theme, configure_pyqtgraph

    # The window and the training thread take turns at Python's GIL; the training thread
    # needs it only briefly between compiled chunks, so let a waiting thread have it after
    # 1 ms rather than Python's default 5 ms (the window's cost to training: less, steadier).
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setDesktopFileName("nnviz")  # the menu entry of 'nnviz --install-desktop-entry'
    _set_icon(app)
    apply_theme(app)
    configure_pyqtgraph()
    return app


def _set_icon(app: Any) -> None:
    """The window's icon: the same SVG as the desktop menu entry's."""
    from PySide6.QtGui import QIcon

    from nnviz.desktop import ICON_FILE

    if ICON_FILE.is_file():
        app.setWindowIcon(QIcon(str(ICON_FILE)))


def default_size(app: Any, size: tuple[int, int]) -> tuple[int, int]:
    """``size``, made to fit the primary screen's available area."""
    screen = app.primaryScreen().availableGeometry() if app.primaryScreen() else None
    w, h = size
    if screen is not None:
        w, h = min(w, screen.width()), min(h, screen.height())
    return w, h


def run_app(args: Any, recipe: Any = None) -> int:
    """Open the main window (``args.data``: None -> last used or bundled). With
    ``args.screenshot``: train ``args.epochs`` (default 1) epochs, save the window and exit.
    With ``recipe`` (``nnviz replay``): load its data and play it back, each recorded
    pause held ``args.pause`` seconds. ``args.speed`` (if given): the pace, digits a second."""
    size = parse_size(getattr(args, "size", "1280x720") or "1280x720")
    screenshot = getattr(args, "screenshot", None)
    view = getattr(args, "view", "train") or "train"
    if view not in VIEWS:
        raise ConfigError(f"--view must be one of {', '.join(VIEWS)}, got {view!r}")
    _check_display(bool(screenshot))
    source = getattr(args, "data", None) or "bundled"
    preload = Preload(source) if screenshot and source == "bundled" else None
    app = make_app()
    from nnviz.gui.main_window import MainWindow

    if screenshot:
        kw = {} if preload is None else {"load": preload}
        window = MainWindow(source, settings=None, speed=getattr(args, "speed", None),
                            ask_to_save=False, **kw)  # max unless --speed is given
        shooter = Screenshot(window, Path(screenshot), getattr(args, "epochs", None), size, view=view)
        try:
            return shooter.run(app)
        finally:
            tear_down(app, window)

    source = recipe.data if recipe is not None else getattr(args, "data", None)
    kw = {"speed": args.speed} if hasattr(args, "speed") else {}
    window = MainWindow(source, settings=open_settings(), **kw)
    if not window.restored_geometry:  # no saved geometry, or it does not fit this screen
        window.resize(*default_size(app, size))
    app.aboutToQuit.connect(window.close_now)  # however the app quits, threads stop first
    window.show()
    settle_heap()
    if recipe is not None:  # plays once the recipe's data is loaded
        from nnviz.gui.dialogs.lesson import PAUSE_SECONDS

        pause = getattr(args, "pause", None)
        window.lesson.play(recipe, pause_scale=1.0 if pause is None else pause / PAUSE_SECONDS)
    window.start()
    try:
        return app.exec()
    finally:
        tear_down(app, window)


class Preload:
    """The data a window will ask for first, loaded in a thread started before the
    window's imports (a third of a second, mostly holding the GIL only briefly): calling
    it as the window's loader hands that data over, and loads any other as usual."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = threading.Thread(target=self._run, name="nnviz-preload",
                                                                 daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from nnviz.core.data import load_dataset

        try:
            self._result = load_dataset(self.source)
        except BaseException as e:   # handed to the loader, which reports it
            self._error = e

    def __call__(self, source: str, progress: Any = None, cancel: Any = None) -> Any:
        from nnviz.core.data import load_dataset

        if source == self.source and self._thread is not None:
            self._thread.join()
            self._thread = None   # once: a later load of the same source reads it again
            if self._error is not None:
                raise self._error
            return self._result
        return load_dataset(source, progress=progress, cancel=cancel)


def settle_heap() -> None:
    """Take what exists now (the modules, the window) out of Python's garbage collector's
    full collections: a full collection walks every object, and with Qt, pyqtgraph and
    numpy loaded that stalled the window (and training) for 40-70 ms every so often. Called
    once the window is built, and again once the training kernel is loaded (no collection
    first: that would itself be the stall)."""
    import gc

    gc.freeze()


def tear_down(app: Any, window: Any) -> None:
    """Close and delete ``window`` now, while Python is whole.

    Otherwise the window outlives ``app.exec()`` (signal connections and lambdas hold it in
    reference cycles) and is deleted by PySide's atexit hook, which destroys the remaining
    Python-owned Qt objects in no particular order during interpreter shutdown: a graphics
    item deleted after its plot's Python half is gone calls back into Python
    (QGraphicsWidget's destructor re-lays out its parent) and the process dies with SIGSEGV
    after having done its work. Deleting the window from the top lets Qt delete every
    widget, scene and graphics item in its own order; the garbage collector then frees what
    Python still holds (items taken out of a plot) while every module is still there."""
    import gc

    import shiboken6
    from PySide6.QtCore import QEvent

    if shiboken6.isValid(window):
        window.close()  # stops the threads and saves the settings, if not done yet
        app.sendPostedEvents(None, QEvent.DeferredDelete)
        shiboken6.delete(window)
    app.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()


class Screenshot:
    """Drives the window for ``--screenshot``: load, train N epochs, grab, quit."""

    def __init__(self, window: Any, path: Path, epochs: int | None, size: tuple[int, int],
                 view: str = "train") -> None:
        self.window = window
        self.view = view
        self.path = path
        self.epochs = 1 if epochs is None else int(epochs)
        self.size = size
        self.error: str | None = None
        self._started = False
        self._grabbing = False

    def run(self, app: Any) -> int:
        from PySide6.QtCore import QTimer

        if not self.path.parent.exists():
            raise NnvizError(f"cannot save the screenshot: folder {self.path.parent} does not exist")
        w = self.window
        w.resize(*self.size)
        w.loader.failed.connect(self._on_load_failed)
        w.dataReady.connect(self._on_dataReady)
        w.controller.epochFinished.connect(self._on_epochFinished)
        w.controller.runFinished.connect(self._on_runFinished)
        w.controller.failed.connect(self._on_failed)
        timeout = QTimer()
        timeout.setSingleShot(True)
        timeout.timeout.connect(self._on_timeout)
        timeout.start(SCREENSHOT_TIMEOUT_S * 1000)
        quit_on_close = app.quitOnLastWindowClosed()
        app.setQuitOnLastWindowClosed(False)  # we quit ourselves, with a status
        try:
            w.show()
            w.start()
            status = app.exec()
        finally:
            timeout.stop()
            app.setQuitOnLastWindowClosed(quit_on_close)
        if self.error:
            raise NnvizError(self.error)
        return status

    def _on_dataReady(self) -> None:
        if self._started:
            return
        self._started = True
        if self.view == "race":  # the book's three learning rates, raced for --epochs epochs
            self.window.race.screenshot(max(1, self.epochs), self._grab_soon)
            return
        if self.view in ("neuron", "descent"):   # toy labs: no training needed
            self.window.labs.prepare_screenshot(self.view, self._grab_soon)
            return
        if self.view == "surface":   # the plane of the training path needs 3 recorded epochs
            self.epochs = max(self.epochs, 2)
        if self.view == "presentation":
            self.window.presenter.enter(fullscreen=False)
        if self.epochs > 0:
            self.window.panel.set_values(epochs=self.epochs)
            self.window.toggle_run()

    def _on_epochFinished(self, snap: Any) -> None:
        if self.epochs == 0 and snap.epochs_done == 0 and self.view == "step":
            self.epochs = -1  # once
            self.window.controller.stepRecorded.connect(self._on_stepRecorded)
            self.window.step()
        elif self.epochs == 0 and snap.epochs_done == 0 and self.view != "race":
            self._grab_soon()

    def _on_runFinished(self) -> None:
        if self.epochs > 0 and self.view == "step":  # then one more mini-batch, in slow motion
            w = self.window
            w.controller.stepRecorded.connect(self._on_stepRecorded)
            w.panel.set_values(epochs=self.epochs + 1)
            w.step()
        elif self.epochs > 0 and self.view == "surface":
            self.window.labs.prepare_screenshot("surface", self._grab_soon)
        elif self.epochs > 0:
            self._grab_soon()

    def _on_stepRecorded(self, _record: Any) -> None:
        self._grab_soon()

    def _on_failed(self, message: str) -> None:
        self._grab_soon()  # the picture shows the message; still a valid screenshot

    def _grab_soon(self) -> None:
        from PySide6.QtCore import QTimer

        if self._grabbing:
            return
        self._grabbing = True
        if self.view == "network":  # the diagram, a neuron selected and an edit in the editor
            self.window.network_tab.prepare_screenshot(lambda: QTimer.singleShot(GRAB_SETTLE_MS, self._grab))
            return
        if self.view in ("draw", "errors", "saturation"):  # the inspector's tabs: wait for the analysis
            self.window.inspector.prepare_screenshot(self.view, lambda: QTimer.singleShot(GRAB_SETTLE_MS, self._grab))
            return
        QTimer.singleShot(GRAB_SETTLE_MS, self._grab)

    def _grab(self) -> None:
        from PySide6.QtWidgets import QApplication

        w = self.window
        w.render_views()
        QApplication.processEvents()
        if not w.grab().save(str(self.path)):
            self.error = f"could not write the screenshot to {self.path}"
        w.close()
        QApplication.exit(0 if self.error is None else 1)

    def _on_load_failed(self, source: str, message: str) -> None:
        from PySide6.QtWidgets import QApplication

        self.error = f"could not load {source}: {message}"
        self.window.close()
        QApplication.exit(2)

    def _on_timeout(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.error = f"the screenshot timed out after {SCREENSHOT_TIMEOUT_S} s"
        self.window.close()
        QApplication.exit(1)
