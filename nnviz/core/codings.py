"""Output codings: how a digit is written on the output layer, and read back.

The book uses 10 output neurons, one per digit (one-hot: digit 3 is ``(0,0,0,1,0,...)``).
Its section "Why not binary?" asks about 4 output neurons holding the digit's 4-bit code
(digit 3 is ``0011``) and argues the 10-output network learns better. Both are codings:

- ``targets(labels)``: the desired outputs ``y``, ``(n_outputs, n)``, one column per digit;
- ``decode(outputs)``: the network's answer for outputs ``(n, n_outputs)``, ``(n,)``.

One-hot: the answer is the most active output neuron (the book's ``argmax``). Binary: each
output is read as a bit (``a >= 0.5``) and the answer is the digit whose code is nearest
in Hamming distance (ties: the smaller digit), so codes 10-15 still give a digit.
Training, evaluation and analysis all go through a coding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnviz.core.errors import ConfigError

__all__ = ["BINARY", "CODINGS", "ONE_HOT", "OutputCoding", "coding_for", "get_coding"]


@dataclass(frozen=True)
class OutputCoding:
    """A way to write ``n_classes`` digits on ``n_outputs`` output neurons.

    ``codes``: ``(n_classes, n_outputs)``, row d is the target output for digit d."""

    name: str
    title: str
    codes: np.ndarray

    @property
    def n_outputs(self) -> int:
        return self.codes.shape[1]

    @property
    def n_classes(self) -> int:
        return self.codes.shape[0]

    @property
    def one_hot(self) -> bool:
        return self.name == "one-hot"

    def targets(self, labels: np.ndarray, dtype: object = np.float64) -> np.ndarray:
        """The desired outputs ``y`` for integer ``labels`` ``(n,)``: ``(n_outputs, n)``."""
        labels = np.asarray(labels, dtype=np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise ConfigError(f"labels run from {labels.min()} to {labels.max()}, "
                              f"but the {self.title} coding writes digits 0 to {self.n_classes - 1}")
        return np.ascontiguousarray(self.codes[labels].T, dtype=dtype)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """The answers ``(n,)`` int64 for output activations ``(n, n_outputs)``."""
        outputs = np.asarray(outputs)
        if self.one_hot:
            return outputs.argmax(axis=1).astype(np.int64)
        pattern = (outputs >= 0.5) @ (1 << np.arange(self.n_outputs - 1, -1, -1))   # (n,): the bits as a number
        return self._nearest[pattern]

    @property
    def _nearest(self) -> np.ndarray:
        """For each of the 2**n_outputs bit patterns, the digit whose code is nearest
        (Hamming distance; ties: the smaller digit)."""
        k = self.n_outputs
        patterns = (np.arange(2 ** k)[:, None] >> np.arange(k - 1, -1, -1)) & 1   # (2**k, k)
        distance = np.abs(patterns[:, None, :] - self.codes[None, :, :]).sum(axis=2)
        return distance.argmin(axis=1).astype(np.int64)

    def confidence(self, outputs: np.ndarray) -> np.ndarray:
        """How sure the answer is, 0-1, ``(n,)``: the winning activation (one-hot) or the
        least certain bit's closeness to its 0/1 (binary)."""
        outputs = np.asarray(outputs)
        if self.one_hot:
            return outputs.max(axis=1)
        return (np.abs(outputs - 0.5) * 2).min(axis=1)

    def code_text(self, digit: int) -> str:
        """Digit ``digit``'s target as text, e.g. '0011' (binary) or 'neuron 3' (one-hot)."""
        if self.one_hot:
            return f"neuron {digit}"
        return "".join(str(int(b)) for b in self.codes[digit])


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


ONE_HOT = OutputCoding("one-hot", "10 outputs (one per digit)", _frozen(np.eye(10)))
# digit d -> its 4 bits, most significant first (output neuron 0 holds the 8s)
BINARY = OutputCoding("binary", "4 outputs (binary code)",
                      _frozen(np.array([[(d >> k) & 1 for k in (3, 2, 1, 0)] for d in range(10)], dtype=np.float64)))
CODINGS = {c.name: c for c in (ONE_HOT, BINARY)}


def get_coding(name: object) -> OutputCoding:
    """The coding called ``name`` ('one-hot' or 'binary'; an OutputCoding passes through)."""
    if isinstance(name, OutputCoding):
        return name
    key = str(name).strip().lower()[:40]
    aliases = {"onehot": "one-hot", "one_hot": "one-hot", "10": "one-hot", "bin": "binary", "4": "binary"}
    key = aliases.get(key, key)
    if key not in CODINGS:
        raise ConfigError(f"unknown output coding {str(name)[:40]!r}: choose 'one-hot' (10 outputs) or 'binary' (4 outputs)")
    return CODINGS[key]


def coding_for(n_outputs: int, name: object = None) -> OutputCoding:
    """The coding of a network with ``n_outputs`` output neurons: ``name``'s if given
    (checked against ``n_outputs``), else one-hot with one neuron per class."""
    if name is None or (get_coding(name).one_hot and n_outputs != ONE_HOT.n_outputs):
        return ONE_HOT if n_outputs == ONE_HOT.n_outputs else _argmax_coding(n_outputs)
    coding = get_coding(name)
    if coding.n_outputs != n_outputs:
        raise ConfigError(f"the {coding.name} output coding needs {coding.n_outputs} output neurons, "
                          f"the network has {n_outputs}")
    return coding


def _argmax_coding(n_outputs: int) -> OutputCoding:
    return OutputCoding("one-hot", f"{n_outputs} outputs (one per class)", _frozen(np.eye(n_outputs)))
