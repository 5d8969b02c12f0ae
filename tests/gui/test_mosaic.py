"""The mosaic layout is pure array reshaping: checked here without Qt."""

import numpy as np
import pytest

from nnviz.gui.views.mosaic import grid_shape, mosaic_shape, symmetric_level, tile_at, tile_mosaic


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 16, 30, 31, 100, 101])
def test_grid_is_near_square_and_just_big_enough(n):
    rows, cols = grid_shape(n)
    assert rows <= cols <= rows + 1
    assert rows * cols >= n > (rows - 1) * cols


def test_grid_needs_a_tile():
    with pytest.raises(ValueError):
        grid_shape(0)


@pytest.mark.parametrize("n", [1, 7, 30])
def test_each_tile_is_its_neurons_weights_as_an_image(n):
    w = np.random.default_rng(n).standard_normal((n, 784))
    m = tile_mosaic(w)
    rows, cols = grid_shape(n)
    assert m.shape == mosaic_shape(n) == (rows * 29 - 1, cols * 29 - 1)
    for j in range(n):
        r, c = divmod(j, cols)
        tile = m[r * 29:r * 29 + 28, c * 29:c * 29 + 28]
        np.testing.assert_allclose(tile, w[j].reshape(28, 28).astype(np.float32))
    # everything else (1-px gaps, unused cells) is NaN, i.e. transparent
    assert np.isnan(m).sum() == m.size - n * 784


def test_tile_at_inverts_the_layout():
    n = 30
    m = tile_mosaic(np.tile(np.arange(n, dtype=float)[:, None], (1, 784)))
    for row in range(m.shape[0]):
        for col in range(m.shape[1]):
            j = tile_at(row + 0.5, col + 0.5, n)
            if np.isnan(m[row, col]):
                assert j is None
            else:
                assert j == m[row, col]
    assert tile_at(-1, 3, n) is None and tile_at(3, 10_000, n) is None


def test_mosaic_reuses_its_output_array():
    w = np.ones((30, 784))
    out = tile_mosaic(w)
    again = tile_mosaic(2 * w, out=out)
    assert again is out and np.nanmax(out) == 2


def test_wrong_width_is_refused():
    with pytest.raises(ValueError, match="784"):
        tile_mosaic(np.zeros((3, 100)))


def test_symmetric_level_ignores_outliers_and_zero():
    w = np.concatenate([np.linspace(-1, 1, 10_000), [1e6]])
    assert 0.9 < symmetric_level(w) < 1.1
    assert symmetric_level(np.zeros(5)) == 1.0
