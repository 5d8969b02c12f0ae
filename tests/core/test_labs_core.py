"""The chapter-1 labs' core: neurons and gates, the adder, eq. 5, toy descent, the real
cost surface."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from nnviz.core.data import Dataset
from nnviz.core.errors import ConfigError
from nnviz.core.labs import descent, surface
from nnviz.core.labs.neuron import PRESETS, Neuron, adder, small_change, truth_table
from nnviz.core.network import Network
from nnviz.core.timeline import Timeline
from nnviz.core.training import TrainConfig, train


# ---- neurons, gates, the adder ------------------------------------------------------------
def test_the_books_nand_perceptron_reproduces_the_truth_table():
    nand = PRESETS["NAND"]
    assert nand.weights == (-2.0, -2.0) and nand.bias == 3.0
    rows = truth_table(nand, "NAND")
    assert [(r.x, r.z, r.output) for r in rows] == [((0, 0), 3.0, 1.0), ((0, 1), 1.0, 1.0),
                                                      ((1, 0), 1.0, 1.0), ((1, 1), -1.0, 0.0)]
    assert all(r.correct for r in rows)


@pytest.mark.parametrize("gate", ["NAND", "AND", "OR"])
def test_each_preset_computes_its_gate_and_not_the_others(gate):
    assert all(r.correct for r in truth_table(PRESETS[gate], gate))
    for other in {"NAND", "AND", "OR"} - {gate}:
        assert not all(r.correct for r in truth_table(PRESETS[gate], other))


def test_changing_a_weight_breaks_the_rows_it_should():
    # NAND with w1 = -4: input 10 now gives z = -1, output 0 — that row breaks, the others hold
    rows = truth_table(Neuron((-4.0, -2.0), 3.0), "NAND")
    assert [r.x for r in rows if not r.correct] == [(1, 0)]


def test_perceptron_outputs_zero_at_z_zero_as_the_book_says():
    assert float(Neuron((1.0,), -1.0).output((1.0,))) == 0.0
    assert float(Neuron((1.0,), -0.999).output((1.0,))) == 1.0


@pytest.mark.parametrize("x1,x2", list(itertools.product((0, 1), repeat=2)))
def test_the_nand_adder_adds_all_four_input_pairs(x1, x2):
    r = adder(x1, x2)
    assert r.sum_bit == (x1 ^ x2) and r.carry_bit == (x1 & x2) and r.total == x1 + x2


def test_the_adder_breaks_with_a_broken_gate():
    results = [adder(a, b, Neuron((-2.0, -2.0), 1.0)) for a, b in itertools.product((0, 1), repeat=2)]
    assert any(r.total != sum(r.x) for r in results)


def test_sigmoid_tends_to_the_step_as_the_weights_grow():
    """The book's point: with w and b scaled by c -> ∞, σ(w·x + b) -> the perceptron's output."""
    sig = Neuron((0.7, -1.3, 0.4), 0.25, "sigmoid")
    xs = np.array(list(itertools.product((0.0, 0.5, 1.0), repeat=3)))
    z = sig.z(xs)
    xs = xs[np.abs(z) > 1e-9]            # z = 0 is the one point where they differ
    gaps = []
    for c in (1, 10, 100, 1000):
        s = sig.scaled(c)
        gaps.append(float(np.max(np.abs(s.output(xs) - s.with_kind("perceptron").output(xs)))))
    assert gaps == sorted(gaps, reverse=True) and gaps[0] > 0.1 and gaps[-1] < 1e-6


def test_small_change_step_jumps_or_stays_the_sigmoid_moves_a_little():
    n = Neuron((-2.0, -2.0), 3.0)
    x = (1.0, 1.0)                                # z = -1
    assert small_change(n, x, 0, 0.5).step == 0.0      # z = -0.5: still 0
    assert small_change(n, x, 0, 1.5).step == 1.0      # z = 0.5: a jump
    c = small_change(n, x, 2, 0.01)                    # the bias
    assert c.parameter == "b" and 0 < c.sigmoid < 0.01


def test_the_linearised_change_is_the_books_eq5_and_its_error_shrinks_quadratically():
    n = Neuron((0.8, -1.1, 0.3), 0.2, "sigmoid")
    x = (0.9, 0.4, 0.7)
    for j in range(4):
        errors = []
        for dw in (0.1, 0.05, 0.025, 0.0125):
            c = small_change(n, x, j, dw)
            # eq. 5 with the partial derivative taken by finite differences
            h = 1e-6
            p = list(n.weights) + [n.bias]
            p[j] += h
            slope = (float(Neuron(p[:3], p[3], "sigmoid").output(x)) - float(n.output(x))) / h
            assert c.linear == pytest.approx(slope * dw, rel=1e-4)
            errors.append(abs(c.error))
        ratios = [a / b for a, b in zip(errors, errors[1:])]
        assert all(3.6 < r < 4.4 for r in ratios), ratios   # halving Δw quarters the error


# ---- toy gradient descent -------------------------------------------------------------------
@pytest.mark.parametrize("name", list(descent.TOY_COSTS))
def test_toy_gradients_match_finite_differences(name):
    cost = descent.TOY_COSTS[name]
    rng = np.random.default_rng(1)
    for v in rng.uniform(-3, 3, size=(10, 2)):
        h = 1e-6
        fd = [(cost.cost(v + h * e) - cost.cost(v - h * e)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(cost.gradient(v), fd, rtol=1e-6, atol=1e-8)


def test_descent_with_a_small_eta_decreases_the_cost_monotonically_on_the_bowl():
    bowl = descent.TOY_COSTS["bowl"]
    path = descent.descend(bowl, np.array([2.5, -1.5]), eta=0.1, steps=50)
    costs = [bowl.cost(v) for v in path]
    assert len(path) == 51 and all(b < a for a, b in zip(costs, costs[1:])) and costs[-1] < 1e-4 * costs[0]


def test_each_step_is_eq10():
    valley = descent.TOY_COSTS["valley"]
    v = np.array([1.0, 2.0])
    np.testing.assert_allclose(descent.descent_step(valley, v, 0.05), v - 0.05 * valley.matrix @ v)


def test_descent_converges_below_two_over_lambda_max_and_diverges_above():
    valley = descent.TOY_COSTS["valley"]
    assert valley.lambda_max == pytest.approx(20.0) and valley.eta_limit == pytest.approx(0.1)
    start = np.array([2.0, 1.0])
    below = descent.descend(valley, start, 0.95 * valley.eta_limit, 400)
    above = descent.descend(valley, start, 1.05 * valley.eta_limit, 400)
    assert valley.cost(below[-1]) < 1e-6 * valley.cost(start)
    assert valley.cost(above[-1]) > 1e6 * valley.cost(start)
    assert len(above) < 401 and np.all(np.isfinite(above))      # stopped once diverged


def test_valley_shows_that_eta_matters_a_small_eta_crawls():
    valley = descent.TOY_COSTS["valley"]
    start = np.array([-2.5, 2.0])
    slow = descent.descend(valley, start, 0.005, 40)
    good = descent.descend(valley, start, 0.09, 40)
    assert valley.cost(slow[-1]) > 100 * valley.cost(good[-1])


# ---- the real network's cost surface ------------------------------------------------------
@pytest.fixture(scope="module")
def run(bundled):
    """A short real run: 4 epochs on 1,000 digits with its Timeline."""
    data = Dataset(name="small", train_images=bundled.train_images[:1000],
                   train_labels=bundled.train_labels[:1000], test_images=bundled.test_images[:200],
                   test_labels=bundled.test_labels[:200])
    timeline = Timeline()
    for snap in train(TrainConfig(sizes=(784, 12, 10), epochs=4, seed=3), data):
        timeline.add(snap)
    return data, timeline


def test_the_surface_at_the_planes_origin_is_the_networks_own_total_cost(run):
    data, timeline = run
    x, y = data.train_images[:500], data.train_labels[:500]
    last = timeline.latest
    net = Network([784, 12, 10])
    net.weights, net.biases = last.weights, last.biases
    for plane in (surface.pca_plane(surface.timeline_points(timeline)[1]),
                  surface.random_plane(last.weights, last.biases, seed=5)):
        grid = surface.cost_grid(plane, x, y, [-0.5, 0.0, 0.7], [0.0, 0.3])
        assert grid.shape == (2, 3)
        assert grid[0, 1] == pytest.approx(net.total_cost(x, y), rel=1e-12)
        # and anywhere else on the plane: the network with those weights
        other = Network([784, 12, 10])
        other.weights, other.biases = plane.params(0.7, 0.3)
        assert grid[1, 2] == pytest.approx(other.total_cost(x, y), rel=1e-12)
        ce = surface.cost_grid(plane, x, y, [0.7], [0.3], cost="cross-entropy")[0, 0]
        other.set_cost("cross-entropy")
        assert ce == pytest.approx(other.total_cost(x, y), rel=1e-12)


def test_float32_grid_agrees_with_float64(run):
    data, timeline = run
    plane = surface.pca_plane(surface.timeline_points(timeline)[1])
    a, b = np.linspace(-3, 3, 7), np.linspace(-1, 1, 5)
    g64 = surface.cost_grid(plane, data.train_images[:300], data.train_labels[:300], a, b)
    g32 = surface.cost_grid(plane, data.train_images[:300], data.train_labels[:300], a, b, dtype=np.float32)
    np.testing.assert_allclose(g32, g64, rtol=1e-5)


def test_the_pca_plane_holds_three_epochs_exactly_and_projection_gives_their_coordinates(run):
    _, timeline = run
    epochs, points = surface.timeline_points(timeline)
    assert epochs == [0, 1, 2, 3, 4]
    three = points[-3:]
    plane = surface.pca_plane(three)
    assert abs(plane.d1 @ plane.d2) < 1e-10 and plane.d1 @ plane.d1 == pytest.approx(1.0)
    coords = surface.project(plane, three)
    for (a, b), p in zip(coords, three):       # the plane through 3 points contains them
        np.testing.assert_allclose(plane.point(a, b), surface.flatten(*p), atol=1e-10)
    np.testing.assert_allclose(coords[-1], [0.0, 0.0], atol=1e-12)
    # with more epochs: the coordinates are the offsets' components along d1, d2 (PCA scores)
    plane = surface.pca_plane(points)
    coords = surface.project(plane, points)
    offsets = np.stack([surface.flatten(*p) for p in points]) - plane.origin
    np.testing.assert_allclose(coords, offsets @ np.stack([plane.d1, plane.d2]).T, atol=1e-9)
    assert plane.explained[0] >= plane.explained[1] > 0 and sum(plane.explained) <= 1 + 1e-12
    assert coords[0, 0] < 0           # the run starts on the negative side of its main direction


def test_random_directions_are_scaled_per_neuron(run):
    _, timeline = run
    last = timeline.latest
    plane = surface.random_plane(last.weights, last.biases, seed=0)
    for d in (plane.d1, plane.d2):
        for dl, tl in zip(surface._layers(d, plane.sizes), surface._layers(plane.origin, plane.sizes)):
            np.testing.assert_allclose(np.linalg.norm(dl, axis=1), np.linalg.norm(tl, axis=1))
    w, b = surface.unflatten(plane.origin, plane.sizes)
    for u, v in zip(w + b, list(last.weights) + list(last.biases)):
        np.testing.assert_array_equal(u, v)


def test_compute_surface_covers_the_trajectory_reports_progress_and_can_be_cancelled(run):
    data, timeline = run
    epochs, points = surface.timeline_points(timeline)
    seen = []
    s = surface.compute_surface(epochs, points, data.train_images[:200], data.train_labels[:200],
                                resolution=9, progress=lambda i, n: seen.append((i, n)))
    assert seen == [(i, 9) for i in range(1, 10)]
    assert s.costs.shape == (9, 9) and np.all(np.isfinite(s.costs))
    assert s.alphas[0] < s.path[:, 0].min() and s.alphas[-1] > s.path[:, 0].max()
    assert s.betas[0] < s.path[:, 1].min() and s.betas[-1] > s.path[:, 1].max()
    assert list(s.epochs) == epochs
    # training lowered the cost along the recorded path; the last point is the origin
    assert s.path_costs[-1] < s.path_costs[0]
    for e, c in zip(epochs, s.path_costs):   # the recorded networks' own costs (off the plane, too)
        net = Network([784, 12, 10])
        net.weights, net.biases = timeline.at(e).weights, timeline.at(e).biases
        assert c == pytest.approx(net.total_cost(data.train_images[:200], data.train_labels[:200]), rel=1e-12)
    at_origin = surface.cost_grid(s.plane, data.train_images[:200], data.train_labels[:200], [0.0], [0.0])
    assert s.path_costs[-1] == pytest.approx(at_origin[0, 0], rel=1e-12)
    np.testing.assert_allclose(s.path[-1], 0.0, atol=1e-12)
    calls = []
    with pytest.raises(surface.Cancelled):
        surface.compute_surface(epochs, points, data.train_images[:50], data.train_labels[:50],
                                resolution=9, cancelled=lambda: calls.append(1) or len(calls) > 2)
    r = surface.compute_surface(epochs, points, data.train_images[:50], data.train_labels[:50],
                                kind="random", resolution=5)
    assert r.plane.kind == "random" and r.alphas[-1] - r.alphas[0] >= 2 - 1e-9   # at least ±1


def test_too_few_epochs_for_pca_is_a_clear_error(run):
    _, timeline = run
    points = surface.timeline_points(timeline)[1]
    with pytest.raises(ConfigError, match="3 or more"):
        surface.pca_plane(points[:2])


def test_the_labs_core_does_not_import_qt():
    code = ("import sys; import nnviz.core.labs.neuron, nnviz.core.labs.descent, nnviz.core.labs.surface; "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt loaded'")
    subprocess.run([sys.executable, "-c", code], check=True)
