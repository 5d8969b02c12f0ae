"""Looking inside a network: every layer's activations, error analysis, saturation.

All functions take the book's ``weights`` / ``biases`` (``weights[l]``: ``(sizes[l+1],
sizes[l])``, ``biases[l]``: ``(sizes[l+1], 1)``, e.g. an ``EpochSnapshot``'s) and
``images`` ``(n, sizes[0])``, one example per row, and work on all examples at once:
:func:`analyse` of 10,000 test digits takes about 10 ms, a few per cent of a
50,000-example training epoch (``benchmarks/bench_analysis.py``). Arithmetic is in the weights' dtype (float64 weights: the same numbers
as :meth:`Network.accuracy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnviz.core.classes import label_name
from nnviz.core.codings import OutputCoding, coding_for
from nnviz.core.costs import get_cost
from nnviz.core.errors import ConfigError
from nnviz.core.network import _sigmoid_inplace

__all__ = [
    "CONFIDENT_MISTAKES_EXPLAINED",
    "CONFUSION_EXPLAINED",
    "SATURATION_EXPLAINED",
    "SATURATION_THRESHOLD",
    "ErrorAnalysis",
    "Saturation",
    "activations",
    "analyse",
    "analyse_outputs",
    "confident_mistakes_explained",
    "confusion_caption",
    "confusion_explained",
    "saturation",
    "saturation_caption",
]

# A neuron counts as saturated when sigma'(z) = a (1 - a) < 0.01, i.e. a < 0.0101 or
# a > 0.9899 (|z| > 4.6): its weights then learn at under 4% of the fastest rate (0.25).
SATURATION_THRESHOLD = 0.01

SATURATION_EXPLAINED = (
    "A sigmoid neuron is saturated when its output is close to 0 or 1: there the curve σ(z) "
    "is nearly flat, so σ′(z) is nearly 0. Backpropagation multiplies each neuron's error δ "
    "by σ′(z), so the weights and biases of a saturated neuron learn very slowly: the "
    "learning slowdown. With the cross-entropy cost the output layer's σ′(z) cancels "
    "(δ = a − y), so a saturated but wrong output neuron still learns fast."
)

CONFUSION_EXPLAINED = (
    "Rows are the true digit, columns the network's answer (its most active output "
    "neuron). The diagonal counts the digits it got right; every other cell is one kind "
    "of mistake. Click a cell to see those digits, most confident first."
)

CONFIDENT_MISTAKES_EXPLAINED = (
    "Test digits the network got wrong, sorted by how strongly its winning output "
    "neuron fired. Some are sloppy handwriting even a person would misread; others show "
    "what the network has not learned yet."
)


def confusion_explained(class_names: Sequence[str] | None = None) -> str:
    """:data:`CONFUSION_EXPLAINED`, or its words for a dataset whose classes have names."""
    if class_names is None:
        return CONFUSION_EXPLAINED
    return ("Rows are the true class, columns the network's answer (its most active output "
            "neuron). The diagonal counts the items it got right; every other cell is one kind "
            "of mistake. Click a cell to see those items, most confident first.")


def confident_mistakes_explained(class_names: Sequence[str] | None = None) -> str:
    """:data:`CONFIDENT_MISTAKES_EXPLAINED`, or its words for a dataset of named classes."""
    if class_names is None:
        return CONFIDENT_MISTAKES_EXPLAINED
    return ("Test items the network got wrong, sorted by how strongly its winning output "
            "neuron fired. Some are ambiguous even to a person (a shirt or a T-shirt?); others "
            "show what the network has not learned yet.")


def _check_params(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
    if len(weights) != len(biases) or not weights:
        raise ConfigError(f"need as many weight matrices as bias vectors, got {len(weights)} and {len(biases)}")
    for l, (w, b) in enumerate(zip(weights, biases)):
        if np.ndim(w) != 2 or np.size(b) != np.shape(w)[0]:
            raise ConfigError(f"layer {l + 1}: weights of shape {np.shape(w)} do not fit biases of shape {np.shape(b)}")
        if l and np.shape(w)[1] != np.shape(weights[l - 1])[0]:
            raise ConfigError(f"layer {l + 1}: weights of shape {np.shape(w)} do not follow "
                              f"a layer of {np.shape(weights[l - 1])[0]} neurons")


def activations(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], images: np.ndarray
) -> list[np.ndarray]:
    """Every layer's activations for ``images`` ``(n, sizes[0])``, as in the book's
    ``backprop``: ``activations[0]`` is the input (as given), ``activations[l]`` is
    ``(n, sizes[l])``, the last is the output. ``a^l = sigma(w^l a^{l-1} + b^l)`` (eq. 25),
    one row per example, computed in the weights' dtype (at least float32).
    """
    _check_params(weights, biases)
    dtype = np.result_type(np.float32, *[np.asarray(p).dtype for p in (*weights, *biases)])
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != np.shape(weights[0])[1]:
        raise ConfigError(
            f"the network's input layer has {np.shape(weights[0])[1]} neurons but the images have shape {images.shape}")
    layers = [images]
    a = images
    for w, b in zip(weights, biases):
        z = _weighted_input(a, np.asarray(w, dtype=dtype))   # (n, sizes[l])
        z += np.asarray(b, dtype=dtype).reshape(-1)
        a = _sigmoid_inplace(z)
        layers.append(a)
    return layers


def _weighted_input(a: np.ndarray, w: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """``a @ w.T`` in ``w``'s dtype: ``(n, x)`` times ``(y, x)`` -> ``(n, y)``.

    If ``a`` has another dtype (float32 images, float64 weights), it is converted a
    chunk of rows at a time into a small buffer that stays in the cache: the same
    numbers as converting it all first, in about half the time for 10,000 digits.
    """
    z = np.empty((a.shape[0], w.shape[0]), dtype=w.dtype)
    if a.dtype == w.dtype or a.shape[0] <= chunk:
        np.matmul(a.astype(w.dtype, copy=False), w.T, out=z)
        return z
    buffer = np.empty((chunk, a.shape[1]), dtype=w.dtype)
    for k in range(0, a.shape[0], chunk):
        part = a[k:k + chunk]
        b = buffer[:len(part)]
        b[...] = part
        np.matmul(b, w.T, out=z[k:k + chunk])
    return z


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _check_labels(labels: np.ndarray, n: int, n_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ConfigError(f"{n} images but labels of shape {labels.shape}")
    if labels.size and labels.dtype.kind not in "iu":
        raise ConfigError(f"labels must be whole numbers, got {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ConfigError(
            f"labels run from {labels.min()} to {labels.max()}, but the output layer has {n_classes} neurons")
    return labels


@dataclass(frozen=True, eq=False)
class ErrorAnalysis:
    """How a network does on ``n`` labelled digits (``k`` output neurons, 10 for MNIST).

    ``confusion``: ``(k, k)`` int64, ``confusion[t, p]`` = how many digits labelled ``t``
    the network answered ``p`` (rows true, columns predicted); ``predicted``, ``labels``:
    ``(n,)`` int64; ``confidence``: ``(n,)``, the winning output activation;
    ``per_class_accuracy``: ``(k,)``, the share of each true digit answered right (nan for a
    digit with no examples). All arrays are read-only.
    """

    confusion: np.ndarray
    predicted: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    per_class_accuracy: np.ndarray
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """correct / total (nan for no examples)."""
        return self.correct / self.total if self.total else float("nan")

    def _by_confidence(self, idx: np.ndarray) -> np.ndarray:
        """``idx`` reordered most confident first; ties keep index order."""
        return idx[np.argsort(-self.confidence[idx], kind="stable")]

    def cell(self, true: int, pred: int) -> np.ndarray:
        """Indices ``(m,)`` of the digits labelled ``true`` and answered ``pred``
        (``m = confusion[true, pred]``), most confident first."""
        return self._by_confidence(np.flatnonzero((self.labels == true) & (self.predicted == pred)))

    def confident_mistakes(self, k: int | None = 20) -> np.ndarray:
        """Indices of up to ``k`` wrongly answered digits (all of them for ``k=None``),
        most confident first."""
        wrong = self._by_confidence(np.flatnonzero(self.predicted != self.labels))
        return wrong if k is None else wrong[:max(0, int(k))]


def analyse(
    weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], images: np.ndarray, labels: np.ndarray,
    coding: OutputCoding | str | None = None,
) -> ErrorAnalysis:
    """Error analysis of the network ``(weights, biases)`` on ``images`` ``(n, sizes[0])``
    with integer ``labels`` ``(n,)``: the answer is the most active output neuron (or
    what ``coding`` reads from the outputs, e.g. the nearest 4-bit code)."""
    return analyse_outputs(activations(weights, biases, images)[-1], labels, coding)


def analyse_outputs(output: np.ndarray, labels: np.ndarray,
                    coding: OutputCoding | str | None = None) -> ErrorAnalysis:
    """Error analysis from output activations ``(n, sizes[-1])`` (e.g. of an edited
    network, :mod:`nnviz.core.editor`) and integer ``labels`` ``(n,)``."""
    coding = coding_for(output.shape[1], coding)
    n, k = output.shape[0], coding.n_classes
    labels = _check_labels(labels, n, k)
    predicted = coding.decode(output)
    confidence = coding.confidence(output)
    confusion = np.bincount(labels * k + predicted, minlength=k * k).reshape(k, k).astype(np.int64)
    diagonal = np.diagonal(confusion)
    per_true = confusion.sum(axis=1)
    per_class = np.full(k, np.nan)
    np.divide(diagonal, per_true, out=per_class, where=per_true > 0)
    return ErrorAnalysis(
        confusion=_frozen(confusion), predicted=_frozen(predicted.astype(np.int64)), labels=_frozen(labels),
        confidence=_frozen(confidence), per_class_accuracy=_frozen(per_class),
        correct=int(diagonal.sum()), total=n)


@dataclass(frozen=True)
class Saturation:
    """How saturated the network's neurons are on ``examples`` labelled digits.

    ``per_layer_saturated[l-1]``: the share of layer ``l``'s weighted inputs ``z`` (over
    all its neurons and the examples) with ``sigma'(z) < 0.01``, for layers 1 (the first
    hidden) to L (the output); ``hidden_saturated``: the same over all hidden neurons
    together (nan without a hidden layer); ``output_saturated``: the output layer's.
    ``mean_abs_delta[l-1]``: the mean ``|delta^l_j|`` of layer ``l`` under ``cost``
    (BP1 at the output, BP2 below), i.e. how big ``dC/db^l_j`` is on average.
    """

    hidden_saturated: float
    output_saturated: float
    per_layer_saturated: tuple[float, ...]
    mean_abs_delta: tuple[float, ...]
    cost: str
    examples: int


def _sample(n: int, sample: int | None, seed: int) -> np.ndarray | slice:
    """The indices of at most ``sample`` of ``n`` examples, in order, fixed by ``seed``."""
    if sample is None or n <= sample:
        return slice(None)
    return np.sort(np.random.default_rng(seed).choice(n, size=max(0, int(sample)), replace=False))


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else float("nan")


def saturation(
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    cost: str = "quadratic",
    sample: int | None = 1000,
    seed: int = 0,
) -> Saturation:
    """How many neurons are saturated, and how small that makes the errors delta.

    Uses a fixed sample of at most ``sample`` of the examples (``images`` ``(n, sizes[0])``,
    ``labels`` ``(n,)``), chosen by ``seed``: the same call always gives the same numbers.
    ``sample=None`` uses them all.

    Why it matters (chapters 2 and 3 of the book): a neuron whose output is near 0 or 1 is
    saturated; there sigma'(z) is close to 0. The error delta^l = (w^{l+1})^T delta^{l+1} *
    sigma'(z^l) (BP2) is then small, and since dC/db = delta (BP3) and dC/dw = a_in delta
    (BP4), the weights and biases of a saturated neuron learn slowly: the *learning
    slowdown*. For the quadratic cost the output error delta^L = (a - y) sigma'(z^L) (BP1)
    carries the same factor, so even a confidently *wrong* output learns slowly; the
    cross-entropy cost's delta^L = a - y has no sigma'(z^L), which is why chapter 3
    introduces it.
    """
    cost_class = get_cost(cost)
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 2 or len(images) != len(labels):
        raise ConfigError(f"images of shape {images.shape} do not match labels of shape {labels.shape}")
    pick = _sample(len(labels), sample, seed)
    layers = activations(weights, biases, images[pick])
    labels = _check_labels(labels[pick], len(layers[0]), layers[-1].shape[1])
    output = layers[-1]
    y = np.zeros_like(output)
    y[np.arange(len(labels)), labels] = 1.0
    primes = [a * (1.0 - a) for a in layers[1:]]             # sigma'(z^l) = a^l (1 - a^l)
    saturated = [p < SATURATION_THRESHOLD for p in primes]
    hidden = saturated[:-1]
    hidden_size = sum(s.size for s in hidden)
    hidden_share = sum(int(np.count_nonzero(s)) for s in hidden) / hidden_size if hidden_size else float("nan")
    # backpropagate the error, one example per row
    delta = cost_class.delta(None, output, y)                # BP1
    deltas = [delta]
    for l in range(len(weights) - 1, 0, -1):
        delta = (delta @ np.asarray(weights[l], dtype=delta.dtype)) * primes[l - 1]   # BP2
        deltas.append(delta)
    deltas.reverse()
    return Saturation(
        hidden_saturated=float(hidden_share),
        output_saturated=_mean(saturated[-1]),
        per_layer_saturated=tuple(_mean(s) for s in saturated),
        mean_abs_delta=tuple(_mean(np.abs(d)) for d in deltas),
        cost=cost_class.name,
        examples=len(labels),
    )


def confusion_caption(analysis: ErrorAnalysis, class_names: Sequence[str] | None = None) -> str:
    """One line for under the confusion matrix, e.g. ``"912 / 1,000 right (91.2%);
    most common mistake: 4 taken for 9 (12 times)"`` (``class_names``: "Shirt taken for
    T-shirt/top")."""
    if not analysis.total:
        return "no test digits" if class_names is None else "no test items"
    text = f"{analysis.correct:,} / {analysis.total:,} right ({100 * analysis.accuracy:.1f}%)"
    off = analysis.confusion.copy()
    np.fill_diagonal(off, 0)
    if off.any():
        t, p = np.unravel_index(int(off.argmax()), off.shape)
        n = int(off[t, p])
        text += (f"; most common mistake: {label_name(t, class_names)} taken for {label_name(p, class_names)} "
                 f"({n} time{'s' if n != 1 else ''})")
    return text


def saturation_caption(sat: Saturation) -> str:
    """One line summing up a :class:`Saturation`, e.g. ``"saturated (σ′ < 0.01): hidden
    64%, output 12%; mean |δ| at the output 0.0031 (quadratic cost)"``."""
    parts = []
    if not np.isnan(sat.hidden_saturated):
        parts.append(f"hidden {100 * sat.hidden_saturated:.0f}%")
    parts.append(f"output {100 * sat.output_saturated:.0f}%")
    return (f"saturated (σ′ < {SATURATION_THRESHOLD:g}): {', '.join(parts)}; "
            f"mean |δ| at the output {sat.mean_abs_delta[-1]:.2g} ({sat.cost} cost)")
