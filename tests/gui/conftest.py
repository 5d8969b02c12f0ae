"""Fixtures for the GUI tests: small data, an isolated QSettings, a ready window, and a
check that no test leaves a QThread running (after napari's ``_dangling_qthreads``)."""

from __future__ import annotations

import traceback
import weakref
from contextlib import suppress

import pytest

from nnviz.core.data import Dataset


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch, qtbot, request):
    """Fail a test that leaves a QThread running; say where it was started."""
    from PySide6.QtCore import QThread

    base_start = QThread.start
    started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def start_and_remember(self, *args):
        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        return base_start(self, *args)

    monkeypatch.setattr(QThread, "start", start_and_remember)
    yield
    dangling = []
    for thread, where in list(started.items()):
        with suppress(RuntimeError):  # the C++ object is already gone: not running
            if thread.isRunning():
                dangling.append((thread, where))
    for thread, _ in dangling:  # clean up so later tests are not affected
        with suppress(RuntimeError):
            thread.quit()
            thread.wait(2000)
    if dangling:
        report = "\n".join(f"{t.objectName() or t!r} started at:\n{w}" for t, w in dangling)
        pytest.fail(f"{len(dangling)} QThread(s) left running by {request.node.name}:\n{report}")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """QSettings and the download cache go to a temp dir: never the user's."""
    from PySide6.QtCore import QSettings

    settings_dir = tmp_path / "settings"
    settings_dir.mkdir()
    monkeypatch.setenv("NNVIZ_SETTINGS_DIR", str(settings_dir))
    monkeypatch.setenv("NNVIZ_DATA_DIR", str(tmp_path / "cache"))
    for scope in (QSettings.UserScope, QSettings.SystemScope):
        QSettings.setPath(QSettings.IniFormat, scope, str(settings_dir))
        QSettings.setPath(QSettings.NativeFormat, scope, str(settings_dir))
    yield settings_dir


@pytest.fixture(scope="session")
def small_data(bundled) -> Dataset:
    """The first 1,000 bundled training digits and 300 test digits: epochs of ~10 ms."""
    return Dataset(name="small", train_images=bundled.train_images[:1000],
                   train_labels=bundled.train_labels[:1000], test_images=bundled.test_images[:300],
                   test_labels=bundled.test_labels[:300], description="1,000 bundled digits")


@pytest.fixture
def qapp_themed(qapp):
    from nnviz.gui.app import make_app

    return make_app()


@pytest.fixture
def make_window(qtbot, qapp_themed, small_data):
    """``make_window(**kw)``: a shown MainWindow on ``small_data`` with a prepared run."""
    from nnviz.gui.main_window import MainWindow

    windows = []

    def make(*, load=None, settings=None, wait_ready=True, **kw):
        def fake_load(source, progress=None, cancel=None):
            return small_data

        kw.setdefault("speed", None)  # as fast as possible, unless a test asks for a pace
        kw.setdefault("ask_to_save", False)  # closing asks only where a test wants it
        w = MainWindow("bundled", settings=settings, load=load or fake_load, weights_interval=0.02, **kw)
        qtbot.addWidget(w)
        if settings is None:
            w.resize(1280, 720)
        w.show()
        windows.append(w)
        if wait_ready:
            with qtbot.waitSignal(w.dataReady, timeout=60_000):
                w.start()
            qtbot.waitUntil(lambda: bool(w.history.epochs), timeout=60_000)  # the untrained network's snapshot
        return w

    yield make
    for w in windows:
        w.close()


@pytest.fixture
def window(make_window):
    return make_window()
