"""Choosing and loading data: off the GUI thread, with progress, cancel and errors."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from nnviz.core.download import NO_NETWORK, DownloadCancelled
from nnviz.core.errors import DownloadError
from nnviz.gui.dialogs.data_dialog import DataChooser, DataLoader

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds
TOTAL = 17_051_982  # bytes: about the size of mnist.pkl.gz


def fake_download(started: threading.Event | None = None):
    """A load function that 'downloads' slowly, reporting progress, until cancelled."""
    def load(source, progress=None, cancel=None):
        assert threading.current_thread() is not threading.main_thread()
        if started is not None:
            started.set()
        done = 0
        while True:
            if cancel.is_set():
                raise DownloadCancelled("download cancelled")
            done = min(TOTAL, done + 65_536)
            progress(done, TOTAL)
            time.sleep(0.002)  # the fake server's pace (not an assertion)
    return load


@pytest.fixture
def switch(small_data):
    """bundled -> the small data at once; anything else -> the given fake."""
    def make(other):
        def load(source, progress=None, cancel=None):
            if source == "bundled":
                return small_data
            return other(source, progress=progress, cancel=cancel)
        return load
    return make


def test_download_shows_mb_and_can_be_cancelled(qtbot, make_window, switch, small_data):
    w = make_window(load=switch(fake_download()))
    w.load_data("mnist")
    dialog = w.progress_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: "MB" in dialog.labelText() and dialog.value() > 0, timeout=TIMEOUT)
    assert "/ 17.1 MB" in dialog.labelText()
    assert not w.data_action.isEnabled()  # one load at a time
    from PySide6.QtWidgets import QPushButton

    with qtbot.waitSignal(w.loader.cancelled, timeout=TIMEOUT):
        dialog.findChild(QPushButton).click()  # Cancel
    assert w.progress_dialog is None and not w.loader.busy
    assert w.data is small_data and w.controller.state == "ready"  # still usable
    w.toggle_run()
    assert w.controller.state == "running"


def test_closing_during_a_download_cancels_it(qtbot, make_window, switch):
    started = threading.Event()
    w = make_window(load=switch(fake_download(started)))
    w.load_data("mnist")
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT)
    thread = w.loader._thread
    t0 = time.perf_counter()
    w.close()
    assert time.perf_counter() - t0 < 1.0 and thread.isFinished()


def test_a_failed_download_says_why_and_leaves_the_app_usable(qtbot, make_window, switch, small_data):
    def no_network(source, progress=None, cancel=None):
        raise DownloadError(NO_NETWORK)

    w = make_window(load=switch(no_network))
    with qtbot.waitSignal(w.loader.failed, timeout=TIMEOUT):
        w.load_data("mnist")
    box = w.error_box
    assert box is not None and box.isVisible()
    assert "no network" in box.text() and "full MNIST" in box.text()
    assert "--data" not in box.text() and "File → Choose data… (Ctrl+D)" in box.text()  # the window's words
    box.accept()
    qtbot.waitUntil(lambda: w.error_box is None, timeout=TIMEOUT)
    assert w.data is small_data and w.data_action.isEnabled()
    with qtbot.waitSignal(w.controller.epochFinished, timeout=TIMEOUT):
        w.step_epoch()


def test_a_bad_first_data_source_falls_back_to_the_bundled_digits(qtbot, qapp_themed, small_data, tmp_path, switch):
    from nnviz.gui.main_window import MainWindow

    missing = str(tmp_path / "nothing.pkl.gz")
    w = MainWindow(missing, load=switch(lambda s, **kw: (_ for _ in ()).throw(DownloadError(f"no such file: {s}"))))
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.dataReady, timeout=TIMEOUT):
        w.start()
    assert w.data is small_data and w.source == "bundled"
    assert "no such file" in w.error_box.text()
    w.error_box.accept()
    w.close()


def test_a_local_file_loads_for_real(qtbot, make_window, small_data, tmp_path):
    from nnviz.core.data import load_dataset

    path = tmp_path / "digits.npz"
    np.savez(path, train_images=(small_data.train_images[:200] * 255).astype(np.uint8),
             train_labels=small_data.train_labels[:200],
             test_images=(small_data.test_images[:50] * 255).astype(np.uint8),
             test_labels=small_data.test_labels[:50])
    w = make_window(load=load_dataset)  # the real loader, off the GUI thread
    with qtbot.waitSignal(w.dataReady, timeout=TIMEOUT):
        w.load_data(str(path))
    assert w.data.n_train == 200 and w.source == str(path)
    assert "200 train" in w.panel.data_label.text()
    qtbot.waitUntil(lambda: bool(w.history.epochs) and w.history.epochs[0].test_total == 50, timeout=TIMEOUT)


def test_loader_reports_a_bug_as_a_message(qtbot, qapp):
    def broken(source, progress=None, cancel=None):
        raise RuntimeError("boom")

    loader = DataLoader(load=broken)
    with qtbot.waitSignal(loader.failed, timeout=TIMEOUT) as blocker:
        assert loader.load("bundled")
    assert "boom" in blocker.args[1]
    assert not loader.busy


def test_data_chooser_offers_the_three_sources(qtbot, qapp_themed, tmp_path):
    d = DataChooser("bundled")
    qtbot.addWidget(d)
    assert d.source() == "bundled"
    d.mnist.setChecked(True)
    assert d.source() == "mnist"
    d.file.setChecked(True)
    assert d.source() is None  # no path yet: OK refuses
    d.accept()
    assert d.result() != DataChooser.Accepted
    d.path.setText(str(tmp_path))
    assert d.source() == str(tmp_path)
    assert DataChooser(str(tmp_path)).file.isChecked()


def test_data_chooser_offers_fashion_mnist_and_kmnist(qtbot, qapp_themed):
    from nnviz.gui.dialogs.data_dialog import describe_source

    for name, title in (("fashion-mnist", "Fashion-MNIST"), ("kmnist", "KMNIST")):
        d = DataChooser(name)
        qtbot.addWidget(d)
        assert d.extra[name].isChecked() and d.source() == name
        assert describe_source(name) == title
    d.fashion.setChecked(True)
    assert d.source() == "fashion-mnist"


def test_a_folder_of_your_digits_loads_in_the_window_and_names_skipped_files(qtbot, make_window, small_data, tmp_path):
    from PIL import Image

    from nnviz.core.data import load_dataset
    from nnviz.core.drawing import paste_digit

    root = tmp_path / "class_digits"
    for i in range(30):
        label = int(small_data.test_labels[i])
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        picture = (255 * (1 - paste_digit(small_data.test_images[i], 112))).astype(np.uint8)
        Image.fromarray(picture).save(root / str(label) / f"{i:03d}.png")
    (root / "0" / "notes.txt").write_text("not a digit")
    w = make_window(load=load_dataset)
    with qtbot.waitSignal(w.dataReady, timeout=TIMEOUT):
        w.load_data(str(root))
    assert w.data.n_train + w.data.n_test == 30 and w.source == str(root)
    assert "1 file skipped: 0/notes.txt" in w.statusBar().currentMessage()
