"""The Labs tab: chapter 1 taught step by step before the real network takes over.

One tab "Labs" with a page per lab: the neuron (perceptrons, NAND, the adder, sigmoid vs
step, eq. 5), gradient descent on a toy valley (eq. 10), and the real network's cost
surface with its training path. Each page lives in its own module; the maths is in
:mod:`nnviz.core.labs`.

The window adds it with ``install_labs(window)``; the labs read the window's loaded data
and the run's Timeline (``window.inspector.timeline``), and never change the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from nnviz.gui.labs.descent_lab import DescentLab
    from nnviz.gui.labs.neuron_lab import NeuronLab
    from nnviz.gui.labs.surface_lab import SurfaceLab

__all__ = ["LabsView", "install_labs"]

PAGES = {"neuron": "Neuron", "descent": "Gradient descent", "surface": "Cost surface"}
TIPS = {
    "neuron": "Perceptrons and NAND, the adder, sigmoid vs step, and eq. 5's small changes",
    "descent": "A ball rolling down a valley: Δv = −η∇C (eq. 10), η too small or too large",
    "surface": "The real network's cost on a plane through its weights, with its training path",
}


def _scroll_area() -> QScrollArea:
    """A scroll area for a page: it fits 1280×720 as it is; the scroll bars appear only
    when something bigger (presentation mode's fonts, a small window) needs them."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    return area


def _make_neuron() -> NeuronLab:
    from nnviz.gui.labs.neuron_lab import NeuronLab
    return NeuronLab()


def _make_descent() -> DescentLab:
    from nnviz.gui.labs.descent_lab import DescentLab
    return DescentLab()


def _make_surface(timeline, data) -> SurfaceLab:
    from nnviz.gui.labs.surface_lab import SurfaceLab
    return SurfaceLab(timeline, data)


class LabsView(QWidget):
    """The Labs tab: a tab widget of lab pages (``neuron``, ``descent``, ``surface``).

    Each page is built the first time it is shown (or asked for), so the labs cost the
    window's start-up nothing."""

    def __init__(self, timeline=lambda: None, data=lambda: None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labsView")
        self._makers = {"neuron": _make_neuron, "descent": _make_descent,
                        "surface": lambda: _make_surface(timeline, data)}
        self._built: dict[str, QWidget] = {}
        self.tabs = QTabWidget()
        self.tabs.setObjectName("labTabs")
        self.tabs.setDocumentMode(True)
        self.pages: dict[str, QScrollArea] = {}
        for key in PAGES:
            area = _scroll_area()
            i = self.tabs.addTab(area, PAGES[key])
            self.tabs.setTabToolTip(i, TIPS[key])
            self.pages[key] = area
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_tabs_currentChanged)

    def page(self, name: str) -> QWidget:
        """The lab page ``name``, built now if it was not yet."""
        if name not in self._built:
            page = self._makers[name]()
            self._built[name] = page
            self.pages[name].setWidget(page)
        return self._built[name]

    @property
    def neuron(self) -> NeuronLab:
        return self.page("neuron")

    @property
    def descent(self) -> DescentLab:
        return self.page("descent")

    @property
    def surface(self) -> SurfaceLab:
        return self.page("surface")

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._on_tabs_currentChanged(self.tabs.currentIndex())
        super().showEvent(event)

    def _on_tabs_currentChanged(self, index: int) -> None:
        if index >= 0 and self.isVisible():
            self.page(list(PAGES)[index])

    def show_page(self, name: str) -> None:
        self.tabs.setCurrentWidget(self.pages[name])

    def prepare_screenshot(self, name: str, done) -> None:
        """Show lab ``name`` in a telling state for ``nnviz --screenshot --view NAME``, then
        call ``done()`` (for the cost surface: once it is computed)."""
        window = self.window()
        tabs = getattr(window, "tabs", None)
        if tabs is not None:
            tabs.setCurrentWidget(self)
        self.show_page(name)
        self.page(name)
        if name == "neuron":             # the book's NAND; a nudge of w1 that flips the perceptron
            self.neuron.apply_preset("NAND")
            self.neuron.param_combo.setCurrentIndex(0)
            self.neuron.delta_spin.setValue(1.5)
            done()
        elif name == "descent":          # the valley: near 2/λ_max it zigzags; far below, it crawls
            d = self.descent
            d.set_cost("valley")
            for eta in (0.095, 0.02):
                d.set_eta(eta)
                d.start_at(-2.5, 1.2)
                for _ in range(40):
                    d.step()
            done()
        else:
            def finished(*_args) -> None:
                self.surface.surfaceReady.disconnect(finished)
                self.surface.surfaceFailed.disconnect(finished)
                done()
            self.surface.surfaceReady.connect(finished)
            self.surface.surfaceFailed.connect(finished)
            if not self.surface.compute():
                return   # surfaceFailed was emitted: the page shows why

    def shutdown(self) -> None:
        """Stop the running ball and any cost-surface computation (waits for it)."""
        if "descent" in self._built:
            self.descent.run_button.setChecked(False)
        if "surface" in self._built:
            self.surface.shutdown()


class _CloseWatcher(QObject):
    """Shuts the labs down when the window closes (before its widgets go)."""

    def __init__(self, labs: LabsView, window: QObject) -> None:
        super().__init__(labs)
        self.labs = labs

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Close:
            self.labs.shutdown()
        return False


def install_labs(window: Any) -> LabsView:
    """Add the Labs tab to ``window`` (a MainWindow) and return it."""
    labs = LabsView(lambda: window.inspector.timeline, lambda: window.data)
    labs.tab_index = window.add_view_tab(labs, "Labs")
    window.tabs.setTabToolTip(labs.tab_index, "Chapter 1 step by step: the neuron, gradient descent, "
                                              "the real cost surface")
    labs._watcher = _CloseWatcher(labs, window)
    window.installEventFilter(labs._watcher)
    return labs
