"""Drawing a digit: MNIST-style preprocessing, the stroke rasterizer, pasting a digit."""

import numpy as np
import pytest

from nnviz.core.drawing import (
    centre_of_mass,
    paste_digit,
    preprocess,
    render_stroke,
    stroke_width_for,
    to_image,
    to_input,
)
from nnviz.core.network import Network
from nnviz.core.training import EpochSnapshot, TrainConfig, train

S = 280


def extent(img, level=0.05):
    """(rows, columns) spanned by pixels brighter than ``level``."""
    rows = np.flatnonzero(img.max(axis=1) > level)
    cols = np.flatnonzero(img.max(axis=0) > level)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def drawn(*strokes, size=S, width=None):
    canvas = np.zeros((size, size), dtype=np.float32)
    for pts in strokes:
        render_stroke(canvas, pts, stroke_width_for(size) if width is None else width)
    return canvas


@pytest.fixture(scope="module")
def net(bundled):
    """A network trained 3 epochs on the bundled digits (about 84% right)."""
    *_, last = (s for s in train(TrainConfig(epochs=3, seed=1), bundled) if isinstance(s, EpochSnapshot))
    network = Network([784, 30, 10])
    network.weights, network.biases = last.weights, last.biases
    return network


# ---- preprocess ------------------------------------------------------------------------
def test_offset_vertical_bar_is_centred_and_20_tall():
    canvas = drawn([(40, 20), (40, 110)])            # top-left corner of the pad
    img = preprocess(canvas)
    assert img.shape == (28, 28) and img.dtype == np.float32
    assert img.min() >= 0.0 and img.max() <= 1.0 and img.max() > 0.9
    cy, cx = centre_of_mass(img)
    # a whole-pixel shift (as MNIST): within half a pixel of (14, 14)
    assert abs(cy - 14) <= 0.5 + 1e-9 and abs(cx - 14) <= 0.5 + 1e-9
    h, w = extent(img)
    assert h == 20
    assert w <= 6                                    # a thin bar stays thin


def test_aspect_ratio_kept_for_a_wide_bar():
    img = preprocess(drawn([(150, 250), (270, 250)]))   # bottom-right, 120 wide
    h, w = extent(img)
    assert w == 20 and h <= 5
    cy, cx = centre_of_mass(img)
    assert abs(cy - 14) <= 0.5 + 1e-9 and abs(cx - 14) <= 0.5 + 1e-9


def test_small_canvas_and_non_square_canvas():
    small = preprocess(drawn([(10, 5), (10, 20)], size=28, width=2.8))   # upscaled to 20 tall
    assert extent(small)[0] == 20
    wide = np.zeros((100, 300))
    render_stroke(wide, [(200, 10), (200, 90)], 10)
    assert extent(preprocess(wide))[0] == 20


def test_empty_and_faint_canvas_give_zeros():
    for canvas in (np.zeros((S, S)), np.full((S, S), 1e-4), np.zeros((1, 1))):
        img = preprocess(canvas)
        assert img.shape == (28, 28) and not img.any()


def test_preprocess_rejects_non_2d():
    with pytest.raises(ValueError, match="2-d"):
        preprocess(np.zeros((28, 28, 3)))


def test_stroke_is_mnist_thick(bundled):
    """A 1 drawn 0.7 of the pad tall with stroke_width_for comes out about as thick as
    MNIST's 1s (ink per row: a bar gives about 2.4, MNIST's often slanted 1s about 3)."""
    img = preprocess(drawn([(140, 42), (140, 238)]))
    ones = bundled.test_images[bundled.test_labels == 1]
    mnist_ink_per_row = np.mean(ones.sum(axis=1) / 20)
    assert 0.6 * mnist_ink_per_row < img.sum() / 20 < 1.2 * mnist_ink_per_row
    assert extent(img, 0.5)[1] in (2, 3)


# ---- render_stroke ---------------------------------------------------------------------
def test_render_stroke_dot_area_and_region():
    canvas = np.zeros((100, 100))
    region = render_stroke(canvas, [(50, 40)], 20)
    assert canvas.sum() == pytest.approx(np.pi * 10**2, rel=0.01)   # anti-aliased disc
    assert canvas.max() == 1.0 and canvas.min() == 0.0
    outside = canvas.copy()
    outside[region] = 0
    assert not outside.any()                                         # only the region changed
    cy, cx = centre_of_mass(canvas)
    assert (cy, cx) == pytest.approx((39.5, 49.5))                   # pixel centres at +0.5


def test_render_stroke_segment_is_a_capsule():
    canvas = np.zeros((60, 100))
    render_stroke(canvas, [(20, 30), (80, 30)], 10)
    assert canvas.sum() == pytest.approx(60 * 10 + np.pi * 5**2, rel=0.01)
    assert np.allclose(canvas, canvas[:, ::-1]) and np.allclose(canvas, canvas[::-1, :])


def test_render_stroke_combines_by_maximum_and_clips_to_canvas():
    canvas = np.zeros((50, 50), dtype=np.float32)
    render_stroke(canvas, [(10, 10), (40, 40), (10, 40)], 6)
    once = canvas.copy()
    render_stroke(canvas, [(10, 10), (40, 40), (10, 40)], 6)
    assert np.array_equal(canvas, once) and canvas.max() == 1.0
    assert render_stroke(canvas, [(-50, -50), (-30, -40)], 4) is None
    region = render_stroke(canvas, [(-5, 25), (55, 25)], 4)            # crosses the whole pad
    assert region == (slice(22, 29), slice(0, 50))
    assert render_stroke(canvas, [], 4) is None


def test_to_input_and_back():
    img = np.arange(784, dtype=np.float32).reshape(28, 28) / 784
    x = to_input(img)
    assert x.shape == (784, 1) and x[29, 0] == img[1, 1]
    assert np.array_equal(to_image(x), img) and np.array_equal(to_image(x.ravel()), img)
    with pytest.raises(ValueError):
        to_input(np.zeros((20, 20)))


def test_stroke_width_for():
    assert stroke_width_for(280) == 28.0
    assert stroke_width_for(28) == pytest.approx(2.8)


# ---- a bundled digit on the pad ----------------------------------------------------------
def test_upscaled_digit_is_classified_as_the_original(bundled, net):
    digits = bundled.test_images[:100].reshape(-1, 28, 28)
    redrawn = np.stack([preprocess(np.kron(d, np.ones((10, 10)))) for d in digits])
    same = net.outputs(redrawn.reshape(100, 784)).argmax(1) == net.outputs(digits.reshape(100, 784)).argmax(1)
    assert same.sum() >= 90


@pytest.mark.parametrize("size", [280, 300])
def test_paste_digit_round_trips(bundled, net, size):
    digits = bundled.test_images[:100].reshape(-1, 28, 28)
    canvases = [paste_digit(d, size) for d in digits]
    assert canvases[0].shape == (size, size) and canvases[0].dtype == np.float32
    back = np.stack([preprocess(c) for c in canvases])
    same = net.outputs(back.reshape(100, 784)).argmax(1) == net.outputs(digits.reshape(100, 784)).argmax(1)
    assert same.sum() >= 98
    assert np.abs(back - digits).mean() < 1e-3    # exact but for rare digits 19 px tall


def test_paste_digit_centres_with_a_margin_and_small_canvases():
    digit = np.zeros((28, 28), dtype=np.float32)
    digit[5:25, 12:18] = 1.0                           # centre of mass (14.5, 14.5)
    canvas = paste_digit(digit, 300)                  # 10x blocks, a 10 px margin each side
    assert extent(canvas) == (200, 60)
    assert np.flatnonzero(canvas.max(axis=0))[0] == 10 + 120
    assert np.array_equal(preprocess(canvas), digit)
    assert paste_digit(digit.ravel(), 14).shape == (14, 14)
