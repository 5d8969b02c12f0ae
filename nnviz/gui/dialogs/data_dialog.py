"""Choosing the data, and loading it (or downloading full MNIST) off the GUI thread
with a progress dialog that shows MB done/total and can be cancelled."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from nnviz.core.data import load_dataset
from nnviz.core.download import NO_NETWORK, DownloadCancelled
from nnviz.core.errors import NnvizError

log = logging.getLogger(__name__)

Loader = Callable[..., Any]  # load_dataset(source, progress=, cancel=) -> Dataset
PROGRESS_INTERVAL = 0.05     # seconds between progress signals from a download
# the core's words name a command-line flag; in the window, say where to click
GUI_NO_NETWORK = ("there is no network connection. Choose a copy of MNIST on this computer "
                  "with File → Choose data… (Ctrl+D), or keep the bundled digits")


def in_gui_words(message: str) -> str:
    """A loading error as the window says it."""
    return message.replace(NO_NETWORK, GUI_NO_NETWORK)


EXTRA_NAMES = {"fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}


def describe_source(source: str) -> str:
    """A short name for a data source, for labels and the window title."""
    if source == "bundled":
        return "bundled MNIST subset"
    if source == "mnist":
        return "full MNIST"
    if source in EXTRA_NAMES:
        return EXTRA_NAMES[source]
    return source


class DataLoadWorker(QObject):
    """Runs ``load(source, progress=, cancel=)`` once, in its thread."""

    progressed = Signal(object, object)  # bytes done, bytes total (None: unknown)
    loaded = Signal(object)              # the Dataset
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, source: str, load: Loader, cancel: threading.Event) -> None:
        super().__init__()
        self.source = source
        self.load = load
        self.cancel = cancel
        self._last = 0.0

    def _progress(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_INTERVAL or (total is not None and done >= total):
            self._last = now
            self.progressed.emit(done, total)

    @Slot()
    def run(self) -> None:
        try:
            data = self.load(self.source, progress=self._progress, cancel=self.cancel)
        except DownloadCancelled:
            self.cancelled.emit()
        except NnvizError as e:
            if self.cancel.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(in_gui_words(str(e)))
        except Exception as e:  # a bug, or e.g. MemoryError: say so, keep the app alive
            log.exception("loading %s failed", self.source)
            self.failed.emit(f"loading {self.source} failed: {type(e).__name__}: {e}")
        else:
            if self.cancel.is_set():
                self.cancelled.emit()
            else:
                self.loaded.emit(data)
        finally:
            self.finished.emit()


class DataLoader(QObject):
    """Loads one data source at a time on a QThread; lives in the GUI thread."""

    progressed = Signal(object, object)
    loaded = Signal(str, object)   # source, Dataset
    failed = Signal(str, str)      # source, message
    cancelled = Signal(str)
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, load: Loader = load_dataset) -> None:
        super().__init__(parent)
        self.load_function = load
        self._thread: QThread | None = None
        self._worker: DataLoadWorker | None = None
        self._cancel = threading.Event()
        self.source: str | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def load(self, source: str) -> bool:
        """Start loading ``source``; False if a load is already under way."""
        if self.busy:
            return False
        self.source = source
        self._cancel = threading.Event()
        thread = QThread()
        thread.setObjectName("nnviz-data")
        worker = DataLoadWorker(source, self.load_function, self._cancel)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progressed)
        worker.loaded.connect(self._on_loaded)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self._thread, self._worker = thread, worker
        thread.start()
        self.busyChanged.emit(True)
        return True

    def cancel(self) -> None:
        """Ask the download to stop; ``cancelled`` follows."""
        self._cancel.set()

    def shutdown(self) -> None:
        """Cancel and wait for the thread (a download notices within one chunk)."""
        self._cancel.set()
        self._join()

    def _join(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.quit()
            if not thread.wait(10000):  # a starved machine, or a load that ignores cancel
                log.error("the data thread did not stop within 10 s; waiting for it")
                thread.wait()  # a QThread destroyed while running aborts the whole process
            self._worker = None
            self.busyChanged.emit(False)

    @Slot(object, object)
    def _on_progressed(self, done: int, total: int | None) -> None:
        self.progressed.emit(done, total)

    @Slot(object)
    def _on_loaded(self, data: Any) -> None:
        self._join()
        self.loaded.emit(self.source, data)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._join()
        self.failed.emit(self.source, message)

    @Slot()
    def _on_cancelled(self) -> None:
        self._join()
        self.cancelled.emit(self.source)


class DownloadProgressDialog(QProgressDialog):
    """'Downloading MNIST: 3.2 / 17.1 MB' with a Cancel button."""

    def __init__(self, source: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("nnviz: getting the data")
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumDuration(0)
        self.setMinimumWidth(380)
        self.setRange(0, 0)  # busy until the size is known
        self.setWindowModality(Qt.WindowModal)
        what = "full MNIST" if source == "mnist" else describe_source(source)
        self._what = what
        self.setLabelText(f"Loading {what}…")

    def set_progress(self, done: int, total: int | None) -> None:
        mb = done / 1e6
        if total:
            self.setRange(0, 1000)
            self.setValue(min(1000, int(1000 * done / total)))
            self.setLabelText(f"Downloading {self._what}: {mb:.1f} / {total / 1e6:.1f} MB")
        else:
            self.setLabelText(f"Downloading {self._what}: {mb:.1f} MB")


class DataChooser(QDialog):
    """Bundled digits, full MNIST (downloaded once), or a local file/folder."""

    def __init__(self, current: str = "bundled", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose the data")
        self.bundled = QRadioButton("Bundled: 5,000 real MNIST digits (4,000 train / 1,000 test). Works offline.")
        self.mnist = QRadioButton("Full MNIST: 50,000 train / 10,000 validation / 10,000 test digits, "
                                  "as in the book.\nDownloaded once (about 17 MB), then kept in nnviz's cache.")
        self.fashion = QRadioButton("Fashion-MNIST: 28×28 pictures of clothes in 10 classes (T-shirt/top … Ankle boot;\n"
                                    "the views number them 0–9). Downloaded once (about 30 MB).")
        self.kmnist = QRadioButton("KMNIST: 10 cursive Japanese characters, 28×28 (numbered 0–9). Downloaded once.")
        self.file = QRadioButton("A file on this computer: the book's mnist.pkl.gz, Keras' mnist.npz, "
                                 "a folder of the four IDX files,\na CSV of digits (label, 784 pixels) or a "
                                 "folder of your own digits' pictures (0/ … 9/).")
        self.extra = {"fashion-mnist": self.fashion, "kmnist": self.kmnist}
        self.group = QButtonGroup(self)
        for b in (self.bundled, self.mnist, self.fashion, self.kmnist, self.file):
            self.group.addButton(b)
        self.path = QLineEdit()
        self.path.setPlaceholderText("path to mnist.pkl.gz, mnist.npz or an IDX folder")
        browse = QPushButton("File…")
        folder = QPushButton("Folder…")
        browse.clicked.connect(self._on_browse_clicked)
        folder.clicked.connect(self._on_folder_clicked)
        row = QHBoxLayout()
        row.addSpacing(24)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        row.addWidget(folder)
        licence = QLabel("MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
                         "CC BY-SA 3.0.")
        licence.setObjectName("caption")
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (self.bundled, self.mnist, self.fashion, self.kmnist, self.file):
            layout.addWidget(w)
        layout.addLayout(row)
        layout.addWidget(licence)
        layout.addWidget(self.buttons)
        if current == "mnist":
            self.mnist.setChecked(True)
        elif current in self.extra:
            self.extra[current].setChecked(True)
        elif current not in ("bundled", "", None):
            self.file.setChecked(True)
            self.path.setText(current)
        else:
            self.bundled.setChecked(True)
        self.path.textEdited.connect(lambda _t: self.file.setChecked(True))

    def source(self) -> str | None:
        """"bundled", "mnist" or a path; None if "file" is chosen with no path."""
        if self.bundled.isChecked():
            return "bundled"
        if self.mnist.isChecked():
            return "mnist"
        for name, button in self.extra.items():
            if button.isChecked():
                return name
        text = self.path.text().strip()
        return text or None

    def accept(self) -> None:
        if self.source() is None:
            self.path.setPlaceholderText("choose a file or folder first")
            self.path.setFocus()
            return
        super().accept()

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "MNIST file", "", "MNIST (*.pkl.gz *.pkl *.npz);;CSV of digits (*.csv);;All files (*)")
        if path:
            self.path.setText(path)
            self.file.setChecked(True)

    def _on_folder_clicked(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of MNIST IDX files, or of your digits (0/ … 9/)")
        if path:
            self.path.setText(path)
            self.file.setChecked(True)
