"""The neuron editor: what the network does with a hidden neuron switched off, its outgoing
weights scaled, or its bias shifted, without touching the trained weights.

Edits are an overlay: :func:`edited_activations` runs the book's feedforward
``a^l = sigma(w^l a^{l-1} + b^l)`` (eq. 25) and changes the edited neurons on the way:

- ``off``: the neuron's output is held at 0 (the next layer no longer hears it);
- ``scale``: its outgoing weights are multiplied by ``value`` (so the next layer hears
  ``value * a``);
- ``bias``: ``value`` is added to its bias (its weighted input ``z``).

:func:`apply_edits` writes the same edits into a copy of the weights and biases; both give
the same outputs (a test checks it). :func:`rank_neurons` answers "which neurons matter":
the accuracy lost when each hidden neuron alone is switched off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnviz.core.analysis import ErrorAnalysis, _check_params, _weighted_input, activations, analyse_outputs
from nnviz.core.classes import label_name, noun
from nnviz.core.codings import OutputCoding, coding_for
from nnviz.core.errors import ConfigError
from nnviz.core.network import _sigmoid_inplace
from nnviz.core.schema import is_int, is_number, shown

__all__ = ["EDIT_KINDS", "MAX_EDITS", "EditBench", "EditEffect", "NeuronEdit", "apply_edits", "check_edits",
           "edit_effect", "edited_activations", "edits_from_json", "rank_neurons"]

EDIT_KINDS = ("off", "scale", "bias")
MAX_EDIT_VALUE = 1e6
MAX_EDITS = 1000   # edits in one list (a saved network's, a lesson event's)


@dataclass(frozen=True)
class NeuronEdit:
    """One edit of hidden neuron ``neuron`` in hidden layer ``layer`` (1 = the first hidden
    layer, as in the book's ``a^1``). ``kind``: 'off', 'scale' (``value`` multiplies its
    outgoing weights) or 'bias' (``value`` is added to its bias)."""

    layer: int
    neuron: int
    kind: str
    value: float = 0.0

    def describe(self) -> str:
        """In words, e.g. 'neuron 7 off', 'neuron 3: outgoing weights × 0.5'."""
        who = f"neuron {self.neuron}" + (f" (layer {self.layer})" if self.layer != 1 else "")
        if self.kind == "off":
            return f"{who} off"
        if self.kind == "scale":
            return f"{who}: outgoing weights × {self.value:g}"
        return f"{who}: bias {self.value:+g}"

    def as_dict(self) -> dict:
        return {"layer": self.layer, "neuron": self.neuron, "kind": self.kind, "value": self.value}


def check_edits(sizes: Sequence[int], edits: Sequence[NeuronEdit]) -> list[NeuronEdit]:
    """The edits, each checked against layer ``sizes`` (ConfigError otherwise)."""
    out = []
    for e in edits:
        if e.kind not in EDIT_KINDS:
            raise ConfigError(f"unknown neuron edit {str(e.kind)[:20]!r}: choose off, scale or bias")
        if not 1 <= e.layer <= len(sizes) - 2:
            raise ConfigError(f"layer {e.layer} is not a hidden layer (the network has {len(sizes) - 2})")
        if not 0 <= e.neuron < sizes[e.layer]:
            raise ConfigError(f"hidden layer {e.layer} has neurons 0 to {sizes[e.layer] - 1}, not {e.neuron}")
        v = float(e.value)
        if not np.isfinite(v) or abs(v) > MAX_EDIT_VALUE:
            raise ConfigError(f"an edit's value must be a finite number up to {MAX_EDIT_VALUE:g}, got {e.value!r}")
        out.append(NeuronEdit(int(e.layer), int(e.neuron), e.kind, v))
    return out


def edits_from_json(doc: Any, sizes: Sequence[int]) -> list[NeuronEdit]:
    """Edits read from a file (a list of :meth:`NeuronEdit.as_dict` objects), each checked:
    at most MAX_EDITS, whole-number ``layer`` and ``neuron``, a known ``kind``, a number
    ``value`` (may be left out for 'off'), and fitting layer ``sizes``. ConfigError naming
    the first bad edit otherwise."""
    if not isinstance(doc, list) or len(doc) > MAX_EDITS:
        raise ConfigError(f"neuron edits must be a list of at most {MAX_EDITS} edits, got {shown(doc)}")
    edits = []
    for i, e in enumerate(doc):
        if not isinstance(e, dict):
            raise ConfigError(f"neuron edit {i} must be an object, got {shown(e)}")
        for key in ("layer", "neuron"):
            if not is_int(e.get(key)):
                raise ConfigError(f"neuron edit {i}: '{key}' must be a whole number, got {shown(e.get(key))}")
        if e.get("kind") not in EDIT_KINDS if isinstance(e.get("kind"), str) else True:
            raise ConfigError(f"neuron edit {i}: 'kind' must be off, scale or bias, got {shown(e.get('kind'))}")
        if "value" not in e and e["kind"] != "off":
            raise ConfigError(f"neuron edit {i}: a {e['kind']} edit needs a 'value'")
        value = e.get("value", 0.0)
        if not is_number(value):
            raise ConfigError(f"neuron edit {i}: 'value' must be a number, got {shown(value)}")
        if abs(e["layer"]) > 2**31 or abs(e["neuron"]) > 2**31 or not abs(value) <= MAX_EDIT_VALUE:
            raise ConfigError(f"neuron edit {i} is out of range ({shown(e['layer'])}, {shown(e['neuron'])}, "
                              f"{shown(value)})")
        edits.append(NeuronEdit(e["layer"], e["neuron"], e["kind"], float(value)))
    try:
        return check_edits(sizes, edits)
    except ConfigError as exc:
        raise ConfigError(f"neuron edits do not fit the network: {exc}") from None


def _sizes(weights: Sequence[np.ndarray]) -> list[int]:
    return [np.shape(weights[0])[1]] + [np.shape(w)[0] for w in weights]


def _factors(size: int, edits: Sequence[NeuronEdit], layer: int) -> np.ndarray | None:
    """Each neuron's output factor in ``layer``: 0 if off, the product of its scales."""
    f = None
    for e in edits:
        if e.layer == layer and e.kind in ("off", "scale"):
            if f is None:
                f = np.ones(size)
            f[e.neuron] *= 0.0 if e.kind == "off" else e.value
    return f


def _bias_shifts(size: int, edits: Sequence[NeuronEdit], layer: int) -> np.ndarray | None:
    s = None
    for e in edits:
        if e.layer == layer and e.kind == "bias":
            if s is None:
                s = np.zeros(size)
            s[e.neuron] += e.value
    return s


def edited_activations(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], images: np.ndarray,
                       edits: Sequence[NeuronEdit], first_z: np.ndarray | None = None) -> list[np.ndarray]:
    """Every layer's activations ``(n, sizes[l])`` for ``images`` ``(n, sizes[0])`` with
    ``edits`` laid over the network (``[0]`` the input, ``[-1]`` the output). An edited
    layer's entry is what the next layer hears (0 for a neuron switched off).
    ``first_z``: the first hidden layer's weighted inputs ``w^1 x + b^1`` ``(n, sizes[1])``
    if already known (edits never change them; they are most of the work)."""
    _check_params(weights, biases)
    edits = check_edits(_sizes(weights), edits)
    if not edits and first_z is None:
        return activations(weights, biases, images)
    dtype = np.result_type(np.float32, *[np.asarray(p).dtype for p in (*weights, *biases)])
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != np.shape(weights[0])[1]:
        raise ConfigError(f"the network's input layer has {np.shape(weights[0])[1]} neurons "
                          f"but the images have shape {images.shape}")
    layers = [images]
    a = images
    for l, (w, b) in enumerate(zip(weights, biases), start=1):
        if l == 1 and first_z is not None:
            z = np.array(first_z, dtype=dtype, copy=True)
        else:
            z = _weighted_input(a, np.asarray(w, dtype=dtype))
            z += np.asarray(b, dtype=dtype).reshape(-1)
        shift = _bias_shifts(z.shape[1], edits, l)
        if shift is not None:
            z += shift.astype(dtype)
        a = _sigmoid_inplace(z)
        factor = _factors(a.shape[1], edits, l)
        if factor is not None:
            a *= factor.astype(dtype)
        layers.append(a)
    return layers


def apply_edits(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray],
                edits: Sequence[NeuronEdit]) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """New ``(weights, biases)`` with ``edits`` written into them (copies; the inputs are
    not changed): off sets the neuron's outgoing weights to 0, scale multiplies them,
    bias adds to its bias."""
    _check_params(weights, biases)
    edits = check_edits(_sizes(weights), edits)
    new_w = [np.array(w, copy=True) for w in weights]
    new_b = [np.array(b, copy=True) for b in biases]
    for l in range(1, len(weights)):          # hidden layer l feeds weights[l]
        factor = _factors(new_w[l].shape[1], edits, l)
        if factor is not None:
            new_w[l] *= factor.astype(new_w[l].dtype)[None, :]
        shift = _bias_shifts(new_b[l - 1].shape[0], edits, l)
        if shift is not None:
            new_b[l - 1] += shift.astype(new_b[l - 1].dtype)[:, None]
    return tuple(new_w), tuple(new_b)


@dataclass(frozen=True, eq=False)
class EditEffect:
    """How the edits change the network on labelled digits: ``before`` / ``after``
    error analyses (accuracy, per-digit accuracy, confusion)."""

    before: ErrorAnalysis
    after: ErrorAnalysis

    @property
    def change(self) -> float:
        """Accuracy after minus before, as a fraction (negative: the edits hurt)."""
        return self.after.accuracy - self.before.accuracy

    @property
    def per_digit_change(self) -> np.ndarray:
        return self.after.per_class_accuracy - self.before.per_class_accuracy

    def caption(self, edits: Sequence[NeuronEdit], class_names: Sequence[str] | None = None) -> str:
        """E.g. '−3.1 % with neuron 7 off; digit 2 suffers most (−9.0 %)' (``class_names``:
        'Pullover suffers most')."""
        if not edits:
            return (f"Unedited network: {self.before.accuracy:.1%} of {self.before.total:,} "
                    f"test {noun(class_names, plural=True)} right.")
        what = edits[0].describe() if len(edits) == 1 else f"{len(edits)} edits"
        text = f"{self.change * 100:+.1f} % with {what} ({self.after.accuracy:.1%} right)".replace("-", "−")
        d = self.per_digit_change
        if np.isfinite(d).any():
            worst = int(np.nanargmin(d))
            if d[worst] < 0:
                who = f"digit {worst}" if class_names is None else label_name(worst, class_names)
                text += f"; {who} suffers most ({d[worst] * 100:+.1f} %)".replace("(-", "(−")
        return text + "."


def edit_effect(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], images: np.ndarray,
                labels: np.ndarray, edits: Sequence[NeuronEdit], coding: OutputCoding | str | None = None,
                before: ErrorAnalysis | None = None) -> EditEffect:
    """The edits' effect on ``images`` / ``labels`` (``before``: the unedited analysis, if
    already known). For many edits of one network, :class:`EditBench` is faster."""
    if before is None:
        before = analyse_outputs(activations(weights, biases, images)[-1], labels, coding)
    after = analyse_outputs(edited_activations(weights, biases, images, edits)[-1], labels, coding)
    return EditEffect(before, after)


class EditBench:
    """The editor's workbench for one network and one set of labelled digits: the unedited
    analysis and the first hidden layer's weighted inputs are computed once, so each change
    of the edits costs only the layers above (a few ms for 10,000 digits)."""

    def __init__(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], images: np.ndarray,
                 labels: np.ndarray, coding: OutputCoding | str | None = None) -> None:
        _check_params(weights, biases)
        self.weights, self.biases = tuple(weights), tuple(biases)
        self.sizes = _sizes(weights)
        self.coding = coding_for(self.sizes[-1], coding)
        self.images, self.labels = images, np.asarray(labels)
        dtype = np.result_type(np.float32, *[np.asarray(p).dtype for p in (*weights, *biases)])
        self.first_z = _weighted_input(np.asarray(images), np.asarray(weights[0], dtype=dtype))
        self.first_z += np.asarray(biases[0], dtype=dtype).reshape(-1)
        self.first_z.flags.writeable = False
        self.activations = edited_activations(weights, biases, images, [], self.first_z)
        self.before = analyse_outputs(self.activations[-1], self.labels, self.coding)

    def outputs(self, edits: Sequence[NeuronEdit]) -> np.ndarray:
        """The edited network's outputs ``(n, sizes[-1])``."""
        return edited_activations(self.weights, self.biases, self.images, edits, self.first_z)[-1]

    def effect(self, edits: Sequence[NeuronEdit]) -> EditEffect:
        return EditEffect(self.before, analyse_outputs(self.outputs(edits), self.labels, self.coding))

    def rank(self, layer: int = 1) -> np.ndarray:
        """:func:`rank_neurons` for this network and these digits."""
        return rank_neurons(self.weights, self.biases, self.images, self.labels, layer, self.coding,
                            activations_=self.activations)


def rank_neurons(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], images: np.ndarray,
                 labels: np.ndarray, layer: int = 1, coding: OutputCoding | str | None = None,
                 activations_: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """"Which neurons matter": ``(sizes[layer],)``, for each neuron of hidden layer
    ``layer`` the number of ``images`` answered right with it alone switched off, minus
    the number right with none off (so mostly negative: the digits lost).

    The layers below ``layer`` are computed once; switching neuron j off removes
    ``w^{l+1}[:, j] a_j`` from the next layer's weighted input, so each neuron costs one
    small update and the layers above it."""
    _check_params(weights, biases)
    sizes = _sizes(weights)
    check_edits(sizes, [NeuronEdit(layer, 0, "off")])
    coding = coding_for(sizes[-1], coding)
    acts = activations_ if activations_ is not None else activations(weights, biases, images)
    labels = np.asarray(labels)
    base = int(np.count_nonzero(coding.decode(acts[-1]) == labels))
    dtype = acts[-1].dtype
    a = acts[layer]                                       # (n, sizes[layer])
    w_next = np.asarray(weights[layer], dtype=dtype)      # (sizes[layer+1], sizes[layer])
    b_next = np.asarray(biases[layer], dtype=dtype).reshape(-1)
    z_next = _weighted_input(a, w_next) + b_next          # (n, sizes[layer+1])
    out = np.empty(sizes[layer], dtype=np.int64)
    z = np.empty_like(z_next)
    for j in range(sizes[layer]):
        np.subtract(z_next, np.multiply.outer(a[:, j], w_next[:, j]), out=z)
        h = _sigmoid_inplace(z)
        for w, b in zip(weights[layer + 1:], biases[layer + 1:]):
            h = _sigmoid_inplace(_weighted_input(h, np.asarray(w, dtype=dtype)) + np.asarray(b, dtype=dtype).reshape(-1))
        out[j] = int(np.count_nonzero(coding.decode(h) == labels)) - base
    return out
