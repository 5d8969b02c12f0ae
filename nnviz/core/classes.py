"""What a dataset's 10 labels are called, for the views' ticks, captions and status lines.

The book's labels are digits: label 7 *is* the digit 7, and a dataset of digits (MNIST,
the bundled subset, a CSV, your own digits) has no class names (``class_names`` None).
Fashion-MNIST and KMNIST keep the labels 0..9 but name them: label 7 is a "Sneaker".
Everything here takes ``class_names`` (a tuple of 10 names, or None for digits).
"""

from __future__ import annotations

from collections.abc import Sequence

from nnviz.core.errors import DataError

__all__ = ["DIGITS", "check_class_names", "label_name", "noun", "short_name"]

N_CLASSES = 10
DIGITS = tuple(str(d) for d in range(N_CLASSES))

# Fashion-MNIST's names that are too long for a tick under a bar or a 28x28 tile's caption
_SHORT = {"T-shirt/top": "T-shirt", "Ankle boot": "Boot"}
SHORT_WIDTH = 8   # a short name's most characters (two bars' width, or a tile's, at 1280x720)


def check_class_names(names: Sequence[str] | None) -> tuple[str, ...] | None:
    """``names`` as a tuple of 10 non-empty, distinct one-line texts (None stays None:
    the labels are digits). Anything else is a DataError."""
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise DataError(f"class names must be a list of {N_CLASSES} names, got {type(names).__name__}")
    names = tuple(names)
    if len(names) != N_CLASSES:
        raise DataError(f"class names must name the {N_CLASSES} labels 0-9, got {len(names)} names")
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n.strip() or "\n" in n or len(n) > 40:
            raise DataError(f"class name {i} must be a short one-line text, got {n!r:.50}")
    if len(set(names)) != N_CLASSES:
        raise DataError("class names must be distinct")
    return names


def label_name(label: int, class_names: Sequence[str] | None = None) -> str:
    """The name of ``label`` (0..9): "7" for digits, "Sneaker" for Fashion-MNIST's 7."""
    label = int(label)
    if class_names is None or not 0 <= label < len(class_names):
        return str(label)
    return class_names[label]


def short_name(label: int, class_names: Sequence[str] | None = None) -> str:
    """``label``'s name in at most :data:`SHORT_WIDTH` characters, for ticks and tiles:
    "7" for digits, "Sneaker" for Fashion-MNIST's 7, "Boot" for its 9."""
    name = label_name(label, class_names)
    name = _SHORT.get(name, name)
    return name if len(name) <= SHORT_WIDTH else name[:SHORT_WIDTH - 1] + "."


def noun(class_names: Sequence[str] | None = None, plural: bool = False) -> str:
    """What one example is called in a caption: "digit" (or "digits"), else "item(s)"."""
    word = "digit" if class_names is None else "item"
    return word + "s" if plural else word
