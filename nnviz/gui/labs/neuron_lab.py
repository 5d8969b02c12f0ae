"""The neuron lab: one perceptron or sigmoid neuron with 2 or 3 inputs, its activation,
the NAND / AND / OR presets with live truth tables, the book's adder of NAND perceptrons,
and "a small change in a weight causes only a small change in the output" (eq. 5).

All the maths is :mod:`nnviz.core.labs.neuron`; this page only shows it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QDoubleSpinBox, QGridLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QRadioButton,
                               QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from nnviz.core.labs.neuron import GATES, PRESETS, Neuron, adder, small_change, truth_table
from nnviz.core.network import sigmoid
from nnviz.gui import style
from nnviz.gui.labs.common import lab_page, lab_plot, note, pen, readout

CAPTION = (
    "A perceptron takes binary inputs x₁, x₂, … and outputs 0 if w·x + b ≤ 0, 1 if w·x + b > 0; "
    "with weights −2, −2 and bias 3 it \"implements a NAND gate!\", and NAND gates can compute anything — "
    "here, two bits added. A sigmoid neuron outputs σ(w·x + b) = 1/(1 + e^−(w·x+b)) (eq. 4), "
    "\"a smoothed out version of a step function\": small changes Δwⱼ and Δb produce a small change "
    "Δoutput ≈ Σⱼ ∂output/∂wⱼ Δwⱼ + ∂output/∂b Δb (eq. 5). A perceptron's output can instead "
    "\"completely flip, say from 0 to 1\" — which is why a network of perceptrons is hard to teach.")

Z_RANGE = 8.0
GOOD = QColor(style.COST)
BAD = QColor(style.ERROR)


def _spin(lo: float, hi: float, step: float, decimals: int, value: float, tip: str) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    s.setValue(value)
    s.setToolTip(tip)
    s.setKeyboardTracking(False)
    s.setAlignment(Qt.AlignRight)
    return s


def _table(columns: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(columns))
    t.setHorizontalHeaderLabels(columns)
    t.verticalHeader().hide()
    t.setEditTriggers(QAbstractItemView.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.NoSelection)
    t.setFocusPolicy(Qt.NoFocus)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    t.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Ignored)   # as tall as there is room for
    t.setMinimumHeight(120)
    return t


def _fill(table: QTableWidget, rows: list[list[str]], ok: list[bool]) -> None:
    table.setRowCount(len(rows))
    for i, (cells, good) in enumerate(zip(rows, ok)):
        for j, text in enumerate(cells):
            item = table.item(i, j)
            if item is None:
                item = QTableWidgetItem()
                item.setTextAlignment(Qt.AlignCenter)
                table.setItem(i, j, item)
            item.setText(text)
            item.setForeground(GOOD if good else BAD)


def _num(v: float) -> str:
    return f"{v:.3g}" if abs(v - round(v)) > 1e-9 else f"{int(round(v))}"


class NeuronLab(QWidget):
    """Controls for x, w, b and the neuron's kind; everything else follows live."""

    neuronChanged = Signal(object)   # the Neuron on show, after every change

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("neuronLab")
        self._updating = False

        # -- the neuron: kind, inputs, weights, bias, presets
        box = QGroupBox("The neuron")
        grid = QGridLayout(box)
        grid.setContentsMargins(8, 8, 8, 6)
        grid.setVerticalSpacing(4)
        self.perceptron_button = QRadioButton("Perceptron (step)")
        self.perceptron_button.setToolTip("output = 0 if w·x + b ≤ 0, 1 if w·x + b > 0; inputs 0 or 1")
        self.sigmoid_button = QRadioButton("Sigmoid neuron")
        self.sigmoid_button.setToolTip("output = σ(w·x + b) = 1/(1 + exp(−w·x − b)) (eq. 4); inputs between 0 and 1")
        self.perceptron_button.setChecked(True)
        self.kind_group = QButtonGroup(self)
        self.kind_group.addButton(self.perceptron_button)
        self.kind_group.addButton(self.sigmoid_button)
        grid.addWidget(self.perceptron_button, 0, 0, 1, 2)
        grid.addWidget(self.sigmoid_button, 0, 2, 1, 2)
        self.inputs_combo = QComboBox()
        self.inputs_combo.addItems(["2 inputs", "3 inputs"])
        self.inputs_combo.setToolTip("How many inputs x₁, x₂, … the neuron has")
        grid.addWidget(self.inputs_combo, 1, 0, 1, 2)
        grid.addWidget(QLabel("input xⱼ"), 1, 2, alignment=Qt.AlignCenter)
        grid.addWidget(QLabel("weight wⱼ"), 1, 3, alignment=Qt.AlignCenter)
        self.x_spins, self.w_spins, self.row_labels = [], [], []
        for j in range(3):
            label = QLabel(f"x{'₁₂₃'[j]}, w{'₁₂₃'[j]}")
            x = _spin(0.0, 1.0, 1.0, 0, 1.0, f"input x{j + 1}: 0 or 1 for a perceptron, 0…1 for a sigmoid neuron")
            w = _spin(-20.0, 20.0, 0.5, 2, 0.0, f"weight w{j + 1}: how much input x{j + 1} matters")
            grid.addWidget(label, 2 + j, 0, 1, 2)
            grid.addWidget(x, 2 + j, 2)
            grid.addWidget(w, 2 + j, 3)
            self.x_spins.append(x)
            self.w_spins.append(w)
            self.row_labels.append(label)
        grid.addWidget(QLabel("bias b"), 5, 0, 1, 2)
        self.b_spin = _spin(-20.0, 20.0, 0.5, 2, 0.0, "the bias b = −threshold: how easy it is to make the neuron fire")
        grid.addWidget(self.b_spin, 5, 3)
        presets = QHBoxLayout()
        presets.setSpacing(4)
        self.preset_buttons = {}
        for name in PRESETS:
            btn = QPushButton(name)
            n = PRESETS[name]
            btn.setToolTip(f"A perceptron computing {name}: weights {n.weights[0]:g}, {n.weights[1]:g}, bias {n.bias:g}")
            btn.clicked.connect(lambda _=False, name=name: self.apply_preset(name))
            presets.addWidget(btn)
            self.preset_buttons[name] = btn
        self.scale_button = QPushButton("w, b × 10")
        self.scale_button.setToolTip("Multiply every weight and the bias by 10: a sigmoid neuron comes closer "
                                     "and closer to a perceptron (z = w·x + b is large and positive, or very negative)")
        self.scale_button.clicked.connect(self.scale_up)
        presets.addWidget(self.scale_button)
        grid.addLayout(presets, 6, 0, 1, 4)
        self.z_label = readout()
        self.z_label.setToolTip("The weighted input z = w·x + b and the neuron's output")
        grid.addWidget(self.z_label, 7, 0, 1, 4)

        # -- the activation over z
        self.plot = lab_plot("z = w·x + b", "output")
        p = self.plot.getPlotItem()
        p.setYRange(-0.08, 1.08, padding=0)
        p.setXRange(-Z_RANGE, Z_RANGE, padding=0)
        legend = p.addLegend(offset=(8, 8), labelTextColor=style.TEXT, brush=pg.mkBrush(29, 31, 36, 210))
        self.step_curve = p.plot([-Z_RANGE, 0, 0, Z_RANGE], [0, 0, 1, 1], pen=pen(style.VALIDATION, 2.5),
                                 name="step (perceptron)")
        zs = np.linspace(-Z_RANGE, Z_RANGE, 401)
        self.sigmoid_curve = p.plot(zs, sigmoid(zs), pen=pen(style.ACCENT, 2.5), name="σ(z) (sigmoid neuron)")
        self.z_line = pg.InfiniteLine(angle=90, movable=False, pen=pen(style.TEXT, 1.5, 170, dash=True))
        p.addItem(self.z_line)
        self.marker = pg.ScatterPlotItem(size=14, pen=pg.mkPen(style.TEXT, width=2), brush=pg.mkBrush(style.ERROR))
        p.addItem(self.marker)
        self.legend = legend
        self.plot.setToolTip("The step and σ together; the dashed line is the current z, the dot the output")
        self.plot.setMinimumSize(260, 200)
        self.plot.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Ignored)

        # -- the truth table and the adder
        table_box = QGroupBox("Truth table")
        tl = QVBoxLayout(table_box)
        tl.setContentsMargins(6, 8, 6, 6)
        row = QHBoxLayout()
        should = QLabel("gate")   # short: whole also in presentation mode's large letters
        should.setToolTip("The logic gate the neuron should compute")
        row.addWidget(should)
        self.gate_combo = QComboBox()
        self.gate_combo.addItems(list(GATES))
        self.gate_combo.setToolTip("The logic gate each row is checked against (green: right, red: wrong)")
        row.addWidget(self.gate_combo, 1)
        tl.addLayout(row)
        self.truth = _table(["x", "z", "output", "gate"])
        self.truth.setToolTip("Every binary input, computed live by the neuron; a red row is one the neuron gets wrong")
        tl.addWidget(self.truth, 1)
        adder_box = QGroupBox("Adding two bits with NANDs")
        al = QVBoxLayout(adder_box)
        al.setContentsMargins(6, 8, 6, 6)
        self.adder_table = _table(["x₁ x₂", "sum", "carry", "x₁ + x₂"])
        self.adder_table.setToolTip(
            "The book's circuit: five perceptrons, each this neuron (a NAND with the preset), compute the "
            "bitwise sum x₁ ⊕ x₂ and the carry bit x₁x₂. Change a weight and watch the sums break.")
        al.addWidget(self.adder_table, 1)
        self.adder_table.setMinimumHeight(100)   # leaves the note below its line at 1024x600
        self.adder_note = note()
        al.addWidget(self.adder_note)

        # -- small change, small change
        change_box = QGroupBox("A small change in a weight… (eq. 5)")
        cl = QGridLayout(change_box)
        cl.setContentsMargins(8, 8, 8, 6)
        cl.addWidget(QLabel("nudge"), 0, 0)
        self.param_combo = QComboBox()
        self.param_combo.setToolTip("The weight (or the bias) to change by Δ")
        cl.addWidget(self.param_combo, 0, 1)
        cl.addWidget(QLabel("by Δ ="), 0, 2)
        self.delta_spin = _spin(-5.0, 5.0, 0.05, 3, 0.1, "The small change Δw (or Δb); halve it and see the error quarter")
        cl.addWidget(self.delta_spin, 0, 3)
        self.half_button = QPushButton("Δ ÷ 2")
        self.half_button.setToolTip("Halve Δ: the perceptron still jumps or stays; the sigmoid's difference from eq. 5 shrinks 4 times")
        self.half_button.clicked.connect(lambda: self.delta_spin.setValue(self.delta_spin.value() / 2))
        cl.addWidget(self.half_button, 0, 4)
        cl.setColumnStretch(5, 1)
        self.change_label = note()   # short lines: not bold, so they stay short on a projector
        self.change_label.setWordWrap(False)
        self.change_label.setTextFormat(Qt.RichText)
        self.change_label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        cl.addWidget(self.change_label, 1, 0, 1, 6)
        self.change_plot = lab_plot("Δ", "Δout")
        self.change_plot.setMinimumHeight(90)
        cp = self.change_plot.getPlotItem()
        self.change_step = cp.plot([], [], pen=pen(style.VALIDATION, 2.0))
        self.change_sigmoid = cp.plot([], [], pen=pen(style.ACCENT, 2.5))
        self.change_linear = cp.plot([], [], pen=pen(style.TEXT, 1.5, 200, dash=True))
        self.change_marker = pg.InfiniteLine(angle=90, movable=False, pen=pen(style.ERROR, 1.5))
        cp.addItem(self.change_marker)
        self.change_plot.setToolTip("Δoutput against the change Δ: the perceptron's jump (orange), the sigmoid "
                                    "neuron's smooth change (blue) and eq. 5's straight line (dashed)")
        cl.addWidget(self.change_plot, 2, 0, 1, 6)
        cl.setRowStretch(2, 1)

        top = QHBoxLayout()
        top.setSpacing(8)
        left = QVBoxLayout()
        left.addWidget(box)
        left.addWidget(change_box, 1)
        for b in (box, change_box):
            b.setMaximumWidth(460)
        top.addLayout(left, 0)
        top.addWidget(self.plot, 1)
        table_box.setMinimumWidth(250)
        adder_box.setMinimumWidth(250)
        side = QVBoxLayout()
        side.addWidget(table_box, 3)
        side.addWidget(adder_box, 2)
        top.addLayout(side, 1)
        self.caption = lab_page(self, top, CAPTION)

        for s in self.x_spins + self.w_spins + [self.b_spin, self.delta_spin]:
            s.valueChanged.connect(self.refresh)
        self.kind_group.buttonToggled.connect(self._on_kind_group_buttonToggled)
        self.inputs_combo.currentIndexChanged.connect(self._on_inputs_combo_currentIndexChanged)
        self.gate_combo.currentIndexChanged.connect(self.refresh)
        self.param_combo.currentIndexChanged.connect(self.refresh)
        self.apply_preset("NAND")
        self._on_inputs_combo_currentIndexChanged(0)

    # ------------------------------------------------------------------ state
    @property
    def kind(self) -> str:
        return "perceptron" if self.perceptron_button.isChecked() else "sigmoid"

    @property
    def n_inputs(self) -> int:
        return 2 + self.inputs_combo.currentIndex()

    def neuron(self) -> Neuron:
        return Neuron([s.value() for s in self.w_spins[:self.n_inputs]], self.b_spin.value(), self.kind)

    def inputs(self) -> tuple[float, ...]:
        return tuple(s.value() for s in self.x_spins[:self.n_inputs])

    def apply_preset(self, name: str) -> None:
        """The book's gate perceptron (two inputs); the truth table checks that gate."""
        n = PRESETS[name]
        self._updating = True
        try:
            self.inputs_combo.setCurrentIndex(0)
            for s, w in zip(self.w_spins, n.weights + (0.0,)):
                s.setValue(w)
            self.b_spin.setValue(n.bias)
            self.gate_combo.setCurrentText(name)
        finally:
            self._updating = False
        self.refresh()

    def scale_up(self) -> None:
        self._updating = True
        try:
            for s in self.w_spins + [self.b_spin]:
                s.setValue(10 * s.value())
        finally:
            self._updating = False
        self.refresh()

    def _on_kind_group_buttonToggled(self, _button, checked: bool) -> None:
        if not checked:
            return
        perceptron = self.kind == "perceptron"
        self._updating = True
        try:
            for s in self.x_spins:
                s.setDecimals(0 if perceptron else 2)
                s.setSingleStep(1.0 if perceptron else 0.05)
                if perceptron:
                    s.setValue(round(s.value()))
        finally:
            self._updating = False
        self.refresh()

    def _on_inputs_combo_currentIndexChanged(self, _index: int) -> None:
        n = self.n_inputs
        self.x_spins[2].setVisible(n == 3)
        self.w_spins[2].setVisible(n == 3)
        self.row_labels[2].setVisible(n == 3)
        current = self.param_combo.currentIndex()
        self.param_combo.blockSignals(True)
        self.param_combo.clear()
        self.param_combo.addItems([f"w{'₁₂₃'[j]}" for j in range(n)] + ["b"])
        self.param_combo.setCurrentIndex(min(max(current, 0), n))
        self.param_combo.blockSignals(False)
        self.refresh()

    # ------------------------------------------------------------------ showing it
    def refresh(self, *_args) -> None:
        if self._updating:
            return
        neuron, x = self.neuron(), self.inputs()
        z, out = float(neuron.z(x)), float(neuron.output(x))
        out_text = f"{out:.0f}" if self.kind == "perceptron" else f"{out:.4f}"
        self.z_label.setText(f"z = w·x + b = {z:.3g} &nbsp;→&nbsp; output = <b>{out_text}</b>")
        reach = max(Z_RANGE, abs(z) * 1.1)
        self.plot.getPlotItem().setXRange(-reach, reach, padding=0)
        self.step_curve.setData([-reach, 0, 0, reach], [0, 0, 1, 1])
        zs = np.linspace(-reach, reach, 401)
        self.sigmoid_curve.setData(zs, sigmoid(zs))
        self.z_line.setValue(z)
        self.marker.setData([z], [out])

        gate = self.gate_combo.currentText()
        rows = truth_table(neuron, gate)
        fmt = (lambda v: f"{v:.0f}") if self.kind == "perceptron" else (lambda v: f"{v:.3f}")
        _fill(self.truth, [["".join(str(b) for b in r.x), _num(r.z), fmt(r.output), str(r.expected)] for r in rows],
              [r.correct for r in rows])
        wrong = sum(not r.correct for r in rows)
        self.truth.setToolTip(f"{len(rows) - wrong} of {len(rows)} rows compute {gate}"
                              + ("" if self.kind == "perceptron" else " (output read as 1 when > 0.5)"))

        if neuron.n_inputs == 2:
            results = [adder(a, b, neuron) for a in (0, 1) for b in (0, 1)]
            _fill(self.adder_table, [[f"{r.x[0]} {r.x[1]}", fmt(r.sum_bit), fmt(r.carry_bit), _num(r.total)]
                                     for r in results],
                  [abs(r.total - sum(r.x)) < 0.5 and round(r.sum_bit) == (r.x[0] ^ r.x[1]) for r in results])
            bad = sum(abs(r.total - sum(r.x)) >= 0.5 for r in results)
            self.adder_note.setText("The circuit adds correctly." if not bad
                                    else f"{bad} of 4 sums are wrong: every gate of the circuit is this neuron.")
        else:
            self.adder_table.setRowCount(0)
            self.adder_note.setText("The adder is built of two-input gates: choose 2 inputs.")

        j = self.param_combo.currentIndex()
        delta = self.delta_spin.value()
        if j < 0 or delta == 0:
            self.change_label.setText("Choose a change Δ ≠ 0.")
        else:
            c = small_change(neuron, x, j, delta)
            p = c.parameter.replace("w1", "w₁").replace("w2", "w₂").replace("w3", "w₃")
            jump = ("Δoutput = 0, it stays" if c.step == 0
                    else f"<span style='color:{style.ERROR}'>Δoutput = {c.step:+.0f}, it flips!</span>")
            span = max(2.0, 1.25 * abs(delta))
            ds = np.linspace(-span, span, 161)
            changes = [small_change(neuron, x, j, d) for d in ds]
            self.change_step.setData(ds, [k.step for k in changes])
            self.change_sigmoid.setData(ds, [k.sigmoid for k in changes])
            self.change_linear.setData(ds, [k.linear for k in changes])
            self.change_plot.getPlotItem().setYRange(-1.05, 1.05, padding=0)
            self.change_marker.setValue(delta)
            self.change_label.setText(
                f"Perceptron: {jump}<br>Sigmoid: Δoutput = {c.sigmoid:+.5f}<br>"
                f"eq. 5: ∂output/∂{p}·Δ{p} = {c.linear:+.5f}<br>"
                f"difference {c.error:+.2e} (∝ Δ{p}²)")
        self.neuronChanged.emit(neuron)
