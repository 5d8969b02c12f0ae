"""One neuron of chapter 1: a perceptron (step) or a sigmoid neuron, the logic-gate
presets, the book's adder of NAND perceptrons, and the "small change" of eq. 5.

The perceptron rule (eq. 2): output = 0 if w·x + b <= 0, 1 if w·x + b > 0.
The sigmoid neuron (eqs. 3-4): output = σ(w·x + b) = 1 / (1 + exp(−Σ_j w_j x_j − b)).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nnviz.core.network import sigmoid

__all__ = ["GATES", "PRESETS", "AdderResult", "Neuron", "SmallChange", "TruthRow", "adder",
           "small_change", "step", "truth_table"]

KINDS = ("perceptron", "sigmoid")


def step(z: np.ndarray | float) -> np.ndarray:
    """The perceptron's step: 1 where z > 0, else 0 (the book: output 0 when w·x + b = 0)."""
    return (np.asarray(z) > 0).astype(np.float64)


@dataclass(frozen=True)
class Neuron:
    """``weights``: (n,) the w_j; ``bias``: b; ``kind``: 'perceptron' or 'sigmoid'."""

    weights: tuple[float, ...]
    bias: float
    kind: str = "perceptron"

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "bias", float(self.bias))
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def n_inputs(self) -> int:
        return len(self.weights)

    def z(self, x: Sequence[float] | np.ndarray) -> np.ndarray:
        """The weighted input z = w·x + b; ``x``: (n,) or (m, n) -> () or (m,)."""
        return np.asarray(x, dtype=np.float64) @ np.asarray(self.weights) + self.bias

    def activation(self, z: np.ndarray | float) -> np.ndarray:
        return step(z) if self.kind == "perceptron" else sigmoid(np.asarray(z, dtype=np.float64))

    def output(self, x: Sequence[float] | np.ndarray) -> np.ndarray:
        """The neuron's output for ``x``: (n,) -> (), (m, n) -> (m,)."""
        return self.activation(self.z(x))

    def with_kind(self, kind: str) -> Neuron:
        return Neuron(self.weights, self.bias, kind)

    def scaled(self, c: float) -> Neuron:
        """The same neuron with every weight and the bias multiplied by ``c``: as c grows,
        a sigmoid neuron behaves more and more like the perceptron (z ≠ 0)."""
        return Neuron(tuple(c * w for w in self.weights), c * self.bias, self.kind)

    def gradient(self, x: Sequence[float]) -> tuple[np.ndarray, float]:
        """(∂output/∂w_j (n,), ∂output/∂b) of the sigmoid neuron at ``x``: σ'(z) x_j and σ'(z)."""
        s = float(sigmoid(self.z(x)))
        d = s * (1.0 - s)
        return d * np.asarray(x, dtype=np.float64), d


GATES: dict[str, Callable[..., int]] = {
    "NAND": lambda *x: int(not all(x)),
    "AND": lambda *x: int(all(x)),
    "OR": lambda *x: int(any(x)),
}
# Two-input perceptrons for the gates; NAND is the book's: "two inputs, each with
# weight −2, and an overall bias of 3".
PRESETS: dict[str, Neuron] = {
    "NAND": Neuron((-2.0, -2.0), 3.0),
    "AND": Neuron((2.0, 2.0), -3.0),
    "OR": Neuron((2.0, 2.0), -1.0),
}


@dataclass(frozen=True)
class TruthRow:
    """One row of a truth table: the inputs, z, the neuron's output, the gate's answer."""

    x: tuple[int, ...]
    z: float
    output: float
    expected: int

    @property
    def correct(self) -> bool:
        """The neuron's output, read as a bit (> 0.5), is the gate's."""
        return int(self.output > 0.5) == self.expected


def truth_table(neuron: Neuron, gate: str) -> list[TruthRow]:
    """Every binary input of ``neuron`` (00, 01, 10, 11 for two inputs) with what it
    outputs and what ``gate`` ('NAND', 'AND', 'OR') should output."""
    fn = GATES[gate]
    rows = []
    for x in itertools.product((0, 1), repeat=neuron.n_inputs):
        rows.append(TruthRow(x, float(neuron.z(x)), float(neuron.output(x)), fn(*x)))
    return rows


@dataclass(frozen=True)
class AdderResult:
    """The book's circuit of NAND perceptrons adding the bits x1 and x2: ``gates`` are
    the outputs of its five gates in order (g1 = NAND(x1, x2), g2 = NAND(x1, g1),
    g3 = NAND(x2, g1), sum g4 = NAND(g2, g3), carry g5 = NAND(g1, g1)), ``sum_bit`` is
    x1 ⊕ x2 and ``carry_bit`` x1 x2 when every gate is a NAND."""

    x: tuple[int, int]
    gates: tuple[float, float, float, float, float]

    @property
    def sum_bit(self) -> float:
        return self.gates[3]

    @property
    def carry_bit(self) -> float:
        return self.gates[4]

    @property
    def total(self) -> float:
        """2 × carry + sum: x1 + x2 when the circuit works."""
        return 2 * self.carry_bit + self.sum_bit


# the adder's wiring: each gate's two inputs, by name ('x1', 'x2' or an earlier gate)
ADDER_WIRING = (("x1", "x2"), ("x1", "g1"), ("x2", "g1"), ("g2", "g3"), ("g1", "g1"))


def adder(x1: int, x2: int, gate: Neuron = PRESETS["NAND"]) -> AdderResult:
    """Add the bits ``x1`` and ``x2`` with the book's five perceptrons, each one ``gate``
    (a two-input neuron: the NAND preset, or one a student has edited)."""
    if gate.n_inputs != 2:
        raise ValueError("the adder's gates have two inputs")
    values: dict[str, float] = {"x1": float(x1), "x2": float(x2)}
    out = []
    for i, (a, b) in enumerate(ADDER_WIRING, start=1):
        v = float(gate.output((values[a], values[b])))
        values[f"g{i}"] = v
        out.append(v)
    return AdderResult((int(x1), int(x2)), tuple(out))  # type: ignore[arg-type]


@dataclass(frozen=True)
class SmallChange:
    """What nudging one parameter by ``delta`` does to the output (eq. 5).

    ``step``: Δoutput of the perceptron (0, or a jump of ±1); ``sigmoid``: Δoutput of the
    sigmoid neuron; ``linear``: the book's estimate ∂output/∂p · Δp; ``error``:
    ``sigmoid − linear``, which shrinks like Δp²."""

    parameter: str
    delta: float
    step: float
    sigmoid: float
    linear: float

    @property
    def error(self) -> float:
        return self.sigmoid - self.linear


def small_change(neuron: Neuron, x: Sequence[float], j: int, delta: float) -> SmallChange:
    """Nudge weight ``w_j`` (``j`` < n) or the bias (``j`` == n) of ``neuron`` by ``delta``
    at input ``x``; compare the step and sigmoid neurons' Δoutput with eq. 5's estimate."""
    n = neuron.n_inputs
    if not 0 <= j <= n:
        raise ValueError(f"j must be 0..{n} ({n} is the bias), got {j}")
    w = list(neuron.weights)
    b = neuron.bias
    if j < n:
        w[j] += delta
    else:
        b += delta
    after = Neuron(w, b)
    before_z, after_z = float(neuron.z(x)), float(after.z(x))
    d_step = float(step(after_z) - step(before_z))
    d_sigmoid = float(sigmoid(np.float64(after_z)) - sigmoid(np.float64(before_z)))
    grad_w, grad_b = neuron.gradient(x)
    slope = float(grad_w[j]) if j < n else grad_b
    name = f"w{j + 1}" if j < n else "b"
    return SmallChange(name, float(delta), d_step, d_sigmoid, slope * delta)
