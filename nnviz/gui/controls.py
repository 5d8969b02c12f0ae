"""The control panel: eta (log slider + spin box), epochs, mini-batch size, hidden
layers, cost, seed, dtype, presets. It only emits what the user changed; the window
decides what that means for the run."""

from __future__ import annotations

import math
import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnviz.core.errors import ConfigError
from nnviz.core.network import parse_sizes
from nnviz.core.training import TrainConfig

ETA_LO, ETA_HI = 0.001, 100.0
ETA_STEP = 1.5          # Up / Down multiply / divide eta by this
SLIDER_STEPS = 500      # slider positions across log10(0.001) .. log10(100)
SEED_MAX = 2**31 - 1
PROGRESS_INTERVAL = 1 / 30  # seconds between progress snapshots: a live cost curve
PROGRESS_PER_EPOCH = 25  # ... and up to this many an epoch when epochs fly by (rate-capped in the core;
                         # the worker sends the GUI at most 20 a second, the rest as curve points)
# the pace, in mini-batches a second (None: as fast as possible); a log scale of notches
SPEED_NOTCHES: tuple[float | None, ...] = (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, None)
DEFAULT_SPEED = 200   # mini-batches a second: the book's 30 epochs on the bundled digits take a minute
LOCKED_TIP = ("Locked while a run is in progress: changing this needs a new network. "
              "Press Reset (R) first.")

PRESETS: dict[str, dict] = {
    "The book's run": {"eta": 3.0, "epochs": 30, "mini_batch_size": 10, "cost": "quadratic",
                       "tip": "Chapter 1's run: 30 epochs, mini-batch size 10, η = 3.0 (about 95% on MNIST)."},
    "Too slow": {"eta": 0.001, "tip": "η = 0.001: gradient descent takes tiny steps and the network "
                                      "barely learns."},
    "Overshoot": {"eta": 100.0, "tip": "η = 100: the steps are so large that gradient descent "
                                       "overshoots the valley and accuracy jumps about or collapses."},
}

TIPS = {
    "eta": ("The learning rate η: how big a step gradient descent takes downhill on the cost, "
            "w → w − η ∂C/∂w. The book uses η = 3.0. Applied at the next mini-batch, even while "
            "training runs. Up/Down arrows multiply/divide it by 1.5."),
    "epochs": ("How many epochs to train. In each epoch the training digits are shuffled and "
               "split into mini-batches until all have been used once. Can be changed while training."),
    "mini_batch_size": ("How many training digits are averaged for each gradient-descent step "
                        "(stochastic gradient descent uses a small random sample). The book uses 10."),
    "hidden": ("The sizes of the hidden layers, e.g. 30 (the book's [784, 30, 10]) or 100 or 60,30. "
               "784 input neurons (one per pixel) and 10 output neurons (one per digit) are fixed."),
    "cost": ("The cost function being minimised: quadratic C = ‖y − a‖²/2 (chapter 1), or "
             "cross-entropy (chapter 3), which learns faster when a neuron is badly wrong. "
             "Can be changed while training."),
    "seed": ("The random seed for the initial weights and biases (Gaussian, mean 0, sd 1) and the "
             "shuffling of each epoch. The same seed and settings give exactly the same run."),
    "speed": ("How fast training runs: at most this many mini-batches a second, or max (as fast as "
              "the computer can). Slow it down to watch single steps of gradient descent (the Step "
              "tab); the speed never changes the numbers, only when they arrive. "
              "[ slower, ] faster."),
    "dtype": "The floating-point precision of the weights: float64 (NumPy's default) or float32 (faster).",
}


class EtaControl(QWidget):
    """η on a logarithmic slider plus a spin box (0.001 to 100), kept in step."""

    etaChanged = Signal(float)

    def __init__(self, eta: float = 3.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setPageStep(SLIDER_STEPS // 20)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(ETA_LO, ETA_HI)
        self.spin.setDecimals(3)
        self.spin.setStepType(QDoubleSpinBox.AdaptiveDecimalStepType)
        self.spin.setKeyboardTracking(False)
        self.spin.setMinimumWidth(80)
        for w in (self.slider, self.spin):
            w.setToolTip(TIPS["eta"])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self._eta = float("nan")
        self.set_eta(eta, emit=False)
        self.slider.valueChanged.connect(self._on_slider_valueChanged)
        self.spin.valueChanged.connect(self._on_spin_valueChanged)

    @property
    def eta(self) -> float:
        return self._eta

    @staticmethod
    def to_slider(eta: float) -> int:
        lo, hi = math.log10(ETA_LO), math.log10(ETA_HI)
        return round((math.log10(eta) - lo) / (hi - lo) * SLIDER_STEPS)

    @staticmethod
    def from_slider(pos: int) -> float:
        lo, hi = math.log10(ETA_LO), math.log10(ETA_HI)
        return float(f"{10 ** (lo + (hi - lo) * pos / SLIDER_STEPS):.3g}")  # 3 significant digits

    def set_eta(self, eta: float, emit: bool = True) -> None:
        eta = min(max(float(eta), ETA_LO), ETA_HI)
        eta = round(eta, 3) or ETA_LO
        changed = eta != self._eta
        self._eta = eta
        for w, value in ((self.slider, self.to_slider(eta)), (self.spin, eta)):
            w.blockSignals(True)
            w.setValue(value)
            w.blockSignals(False)
        if changed and emit:
            self.etaChanged.emit(eta)

    def _on_slider_valueChanged(self, pos: int) -> None:
        self.set_eta(self.from_slider(pos))

    def _on_spin_valueChanged(self, value: float) -> None:
        self.set_eta(value)


def speed_text(batches: float | None, m: int, compact: bool = False, examples: str = "digits") -> str:
    """'5 mini-batches/s · 50 digits/s', '2,000 digits/s', or 'max' (``compact``: without
    the digits at slow speeds; ``examples``: what the data's examples are called)."""
    if batches is None:
        return "max"
    digits = batches * m
    if batches < 100:
        unit = "mini-batch" if batches == 1 else "mini-batches"
        return f"{batches:,.3g} {unit}/s" + ("" if compact else f" · {digits:,.4g} {examples}/s")
    return f"{digits:,.0f} {examples}/s"


def nearest_notch(batches: float | None) -> int:
    """The index of the notch closest to ``batches`` on a log scale."""
    if batches is None:
        return len(SPEED_NOTCHES) - 1
    finite = SPEED_NOTCHES[:-1]
    return min(range(len(finite)), key=lambda i: abs(math.log(finite[i]) - math.log(batches)))


class SpeedControl(QWidget):
    """The pace on a logarithmic slider of notches (1 mini-batch a second ... max) and its
    value in words. ``speed`` is in mini-batches a second, None for max."""

    speedChanged = Signal(object)  # float (mini-batches a second) or None (max)

    def __init__(self, speed: float | None = DEFAULT_SPEED, *, compact: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._m = 10
        self._examples = "digits"
        self._speed: float | None = speed
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, len(SPEED_NOTCHES) - 1)
        self.slider.setPageStep(1)
        self.slider.setTickPosition(QSlider.NoTicks)
        self.label = QLabel()
        self.label.setObjectName("caption")
        self.compact = compact
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance(
            "20 mini-batches/s" if compact else "20 mini-batches/s · 200 digits/s"))
        for w in (self.slider, self.label):
            w.setToolTip(TIPS["speed"])
        layout = (QHBoxLayout if compact else QVBoxLayout)(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6 if compact else 2)
        if compact:
            self.slider.setFixedWidth(110)
            name = QLabel("Speed")
            name.setToolTip(TIPS["speed"])
            layout.addWidget(name)
        layout.addWidget(self.slider)
        layout.addWidget(self.label)
        self.set_speed(speed, emit=False)
        self.slider.valueChanged.connect(self._on_slider_valueChanged)

    @property
    def speed(self) -> float | None:
        return self._speed

    def set_batch_size(self, m: int) -> None:
        self._m = max(1, int(m))
        self.label.setText(speed_text(self._speed, self._m, self.compact, self._examples))

    def set_examples(self, examples: str) -> None:
        """What the data's examples are called, plural ("digits", "items")."""
        self._examples = examples
        self.label.setText(speed_text(self._speed, self._m, self.compact, examples))

    def set_speed(self, speed: float | None, emit: bool = True) -> None:
        changed = speed != self._speed
        self._speed = speed
        self.slider.blockSignals(True)
        self.slider.setValue(nearest_notch(speed))
        self.slider.blockSignals(False)
        self.label.setText(speed_text(speed, self._m, self.compact, self._examples))
        if changed and emit:
            self.speedChanged.emit(speed)

    def slower(self) -> None:
        i = nearest_notch(self._speed)
        if self._speed is not None and SPEED_NOTCHES[i] < self._speed:
            i += 1  # between notches: the next one down is this one
        self.set_speed(SPEED_NOTCHES[max(0, i - 1)])

    def faster(self) -> None:
        i = nearest_notch(self._speed)
        if self._speed is not None and SPEED_NOTCHES[i] > self._speed:
            i -= 1
        self.set_speed(SPEED_NOTCHES[min(len(SPEED_NOTCHES) - 1, i + 1)])

    def _on_slider_valueChanged(self, pos: int) -> None:
        self.set_speed(SPEED_NOTCHES[pos])


class ControlPanel(QWidget):
    """All training settings. Live ones (η, cost, epochs) emit their own signals;
    the ones that need a new network emit ``networkSettingsChanged``."""

    etaChanged = Signal(float)
    costChanged = Signal(str)
    epochsChanged = Signal(int)
    networkSettingsChanged = Signal()
    presetApplied = Signal(str)
    dataChooseRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._locked = False
        self._hidden_sizes: tuple[int, ...] = (30,)

        # data
        data_box = QGroupBox("Data")
        self.data_label = QLabel("bundled: 4,000 train / 1,000 test digits")
        self.data_label.setWordWrap(True)
        self.data_label.setObjectName("caption")
        self.data_button = QPushButton("Choose data…")
        self.data_button.setToolTip("Train on the bundled 5,000 MNIST digits, full MNIST (downloaded "
                                    "once), or a file of your own.")
        data_layout = QVBoxLayout(data_box)
        data_layout.addWidget(self.data_label)
        data_layout.addWidget(self.data_button)

        # presets
        preset_box = QGroupBox("Presets")
        preset_layout = QGridLayout(preset_box)  # the first on a row of its own: a narrow panel fits
        preset_layout.setSpacing(4)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, (name, preset) in enumerate(PRESETS.items()):
            b = QPushButton(name)
            b.setToolTip(preset["tip"])
            b.clicked.connect(lambda _=False, n=name: self.apply_preset(n))
            if i == 0:
                preset_layout.addWidget(b, 0, 0, 1, 2)
            else:
                preset_layout.addWidget(b, 1 + (i - 1) // 2, (i - 1) % 2)
            self.preset_buttons[name] = b

        # live settings
        live_box = QGroupBox("Learning (live)")
        live = QFormLayout(live_box)
        live.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        live.setRowWrapPolicy(QFormLayout.WrapLongRows)  # a narrow panel puts a field under its label
        self.eta = EtaControl(3.0)
        self.cost = QComboBox()
        self.cost.addItem("quadratic", "quadratic")
        self.cost.addItem("cross-entropy", "cross-entropy")
        self.cost.setToolTip(TIPS["cost"])
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(30)
        self.epochs.setKeyboardTracking(False)
        self.epochs.setToolTip(TIPS["epochs"])
        live.addRow(self._label("η", TIPS["eta"]), self.eta)
        live.addRow(self._label("Cost", TIPS["cost"]), self.cost)
        live.addRow(self._label("Epochs", TIPS["epochs"]), self.epochs)
        self.speed = SpeedControl(DEFAULT_SPEED)
        live.addRow(self._label("Speed", TIPS["speed"]), self.speed)

        # network settings
        net_box = QGroupBox("Network (new run)")
        net = QFormLayout(net_box)
        net.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        net.setRowWrapPolicy(QFormLayout.WrapLongRows)
        self.hidden = QLineEdit("30")
        self.hidden.setValidator(QRegularExpressionValidator(r"^\s*\d{1,4}(\s*,\s*\d{1,4}){0,4}\s*,?\s*$"))
        self.hidden.setPlaceholderText("e.g. 30 or 100,30")
        self.batch = QSpinBox()
        self.batch.setRange(1, 10000)
        self.batch.setValue(10)
        self.batch.setKeyboardTracking(False)
        self.seed = QSpinBox()
        self.seed.setRange(0, SEED_MAX)
        self.seed.setValue(1)
        self.seed.setKeyboardTracking(False)
        self.new_seed = QToolButton()
        self.new_seed.setText("New")
        self.new_seed.setToolTip("Pick a new random seed: new initial weights.")
        seed_row = QWidget()
        seed_layout = QHBoxLayout(seed_row)
        seed_layout.setContentsMargins(0, 0, 0, 0)
        seed_layout.addWidget(self.seed, 1)
        seed_layout.addWidget(self.new_seed)
        self.dtype = QComboBox()
        self.dtype.addItems(["float64", "float32"])
        self.net_labels = {
            "hidden": self._label("Hidden layers", TIPS["hidden"]),
            "mini_batch_size": self._label("Mini-batch size", TIPS["mini_batch_size"]),
            "seed": self._label("Seed", TIPS["seed"]),
            "dtype": self._label("Precision", TIPS["dtype"]),
        }
        self.net_widgets = {"hidden": self.hidden, "mini_batch_size": self.batch, "seed": seed_row,
                            "dtype": self.dtype}
        for key, widget in self.net_widgets.items():
            net.addRow(self.net_labels[key], widget)
        self.message = QLabel("")
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        for w in (data_box, preset_box, live_box, net_box):
            layout.addWidget(w)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.set_locked(False)

        self.data_button.clicked.connect(self.dataChooseRequested)
        self.eta.etaChanged.connect(self.etaChanged)
        self.cost.currentIndexChanged.connect(self._on_cost_currentIndexChanged)
        self.epochs.valueChanged.connect(self.epochsChanged)
        self.hidden.editingFinished.connect(self._on_hidden_editingFinished)
        self.batch.valueChanged.connect(self._on_network_setting_changed)
        self.batch.valueChanged.connect(self.speed.set_batch_size)
        self.seed.valueChanged.connect(self._on_network_setting_changed)
        self.dtype.currentIndexChanged.connect(self._on_network_setting_changed)
        self.new_seed.clicked.connect(self._on_new_seed_clicked)

    @staticmethod
    def _label(text: str, tip: str) -> QLabel:
        label = QLabel(text)
        label.setToolTip(tip)
        return label

    # ---------------------------------------------------------------- values
    def hidden_sizes(self) -> tuple[int, ...]:
        return self._hidden_sizes

    def config(self, n_pixels: int = 784, n_outputs: int = 10) -> TrainConfig:
        """The settings as a TrainConfig (validated by the core when a run starts)."""
        return TrainConfig(
            sizes=(n_pixels, *self._hidden_sizes, n_outputs), epochs=self.epochs.value(),
            mini_batch_size=self.batch.value(), eta=self.eta.eta, cost=self.cost.currentData(),
            seed=self.seed.value(), dtype=self.dtype.currentText(), progress_interval=PROGRESS_INTERVAL,
            progress_per_epoch=PROGRESS_PER_EPOCH)

    def set_values(self, *, eta: float | None = None, cost: str | None = None, epochs: int | None = None,
                   mini_batch_size: int | None = None, hidden: tuple[int, ...] | None = None,
                   seed: int | None = None, dtype: str | None = None, emit: bool = True) -> None:
        """Set any of the settings (e.g. from a preset or QSettings)."""
        self.blockSignals(not emit)
        try:
            if eta is not None:
                self.eta.set_eta(eta)
            if cost is not None and self.cost.findData(cost) >= 0:
                self.cost.setCurrentIndex(self.cost.findData(cost))
            if epochs is not None:
                self.epochs.setValue(int(epochs))
            if not self._locked:
                if mini_batch_size is not None:
                    self.batch.setValue(int(mini_batch_size))
                    self.speed.set_batch_size(int(mini_batch_size))
                if hidden is not None:
                    self.hidden.setText(",".join(str(h) for h in hidden))
                    self._on_hidden_editingFinished()
                if seed is not None:
                    self.seed.setValue(int(seed))
                if dtype is not None and self.dtype.findText(dtype) >= 0:
                    self.dtype.setCurrentText(dtype)
        finally:
            self.blockSignals(False)

    def apply_preset(self, name: str) -> None:
        preset = PRESETS[name]
        self.set_values(eta=preset.get("eta"), epochs=preset.get("epochs"), cost=preset.get("cost"),
                        mini_batch_size=preset.get("mini_batch_size"))
        if self._locked and preset.get("mini_batch_size") not in (None, self.batch.value()):
            self.show_message(f"Mini-batch size {preset['mini_batch_size']} applies after Reset (R).")
        else:
            self.show_message("")
        self.presetApplied.emit(name)

    # ---------------------------------------------------------------- locking and messages
    @property
    def locked(self) -> bool:
        return self._locked

    def set_locked(self, locked: bool) -> None:
        """Disable the settings that need a new network (while a run is in progress)."""
        self._locked = locked
        for key, widget in self.net_widgets.items():
            widget.setEnabled(not locked)
            tip = TIPS[key] if key in TIPS else TIPS["seed"]
            widget.setToolTip(f"{LOCKED_TIP}\n\n{tip}" if locked else tip)
            self.net_labels[key].setEnabled(not locked)
        self.data_button.setEnabled(not locked)
        self.data_button.setToolTip(LOCKED_TIP if locked else
                                    "Train on the bundled 5,000 MNIST digits, full MNIST (downloaded "
                                    "once), or a file of your own.")

    def show_message(self, text: str) -> None:
        """A visible note under the settings (e.g. why an entry was refused); '' hides it."""
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_data_text(self, text: str) -> None:
        self.data_label.setText(text)

    # ---------------------------------------------------------------- slots
    def _on_cost_currentIndexChanged(self, _index: int) -> None:
        self.costChanged.emit(self.cost.currentData())

    def _on_hidden_editingFinished(self) -> None:
        text = self.hidden.text().strip().strip(",")
        try:
            sizes = tuple(parse_sizes([784, *[int(t) for t in text.split(",") if t.strip()], 10]))[1:-1]
            if not text:
                raise ConfigError("give at least one hidden layer, e.g. 30")
        except (ConfigError, ValueError) as e:
            self.show_message(f"Hidden layers not changed: {e}")
            self.hidden.setText(",".join(str(h) for h in self._hidden_sizes))
            return
        self.hidden.setText(",".join(str(h) for h in sizes))
        self.show_message("")
        if sizes != self._hidden_sizes:
            self._hidden_sizes = sizes
            self.networkSettingsChanged.emit()

    def _on_network_setting_changed(self, *_args) -> None:
        self.networkSettingsChanged.emit()

    def _on_new_seed_clicked(self) -> None:
        self.seed.setValue(random.randrange(SEED_MAX))  # a UI choice, not part of the maths
