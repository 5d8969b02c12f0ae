"""The network against the book: a plain per-example oracle, finite differences, learning."""

import warnings

import numpy as np
import pytest

from nnviz.core.costs import CrossEntropyCost, QuadraticCost
from nnviz.core.errors import ConfigError
from nnviz.core.network import Network, sigmoid, sigmoid_prime


# ---- the book's per-example loop, written plainly (the oracle) ---------------------
def book_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def book_backprop(weights, biases, x, y, cost="quadratic"):
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    activation = x
    activations = [x]
    zs = []
    for b, w in zip(biases, weights):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = book_sigmoid(z)
        activations.append(activation)
    sp = book_sigmoid(zs[-1]) * (1 - book_sigmoid(zs[-1]))
    delta = (activations[-1] - y) * (sp if cost == "quadratic" else 1.0)
    nabla_b[-1] = delta
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())
    for l in range(2, len(weights) + 1):
        z = zs[-l]
        sp = book_sigmoid(z) * (1 - book_sigmoid(z))
        delta = np.dot(weights[-l + 1].transpose(), delta) * sp
        nabla_b[-l] = delta
        nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
    return nabla_b, nabla_w


def book_update_mini_batch(weights, biases, mini_batch, eta, cost="quadratic"):
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for x, y in mini_batch:
        dnb, dnw = book_backprop(weights, biases, x, y, cost)
        nabla_b = [nb + d for nb, d in zip(nabla_b, dnb)]
        nabla_w = [nw + d for nw, d in zip(nabla_w, dnw)]
    weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def random_batch(rng, m, n_in=784, n_out=10):
    x = rng.random((m, n_in))
    labels = rng.integers(0, n_out, m)
    pairs = [(x[i].reshape(-1, 1), np.eye(n_out)[labels[i]].reshape(-1, 1)) for i in range(m)]
    return x, labels, pairs


def params(net):
    return [np.array(w) for w in net.weights], [np.array(b) for b in net.biases]


def assert_params_close(net, weights, biases, tol):
    for w, w_ref in zip(net.weights, weights):
        np.testing.assert_allclose(w, w_ref, rtol=0, atol=tol)
    for b, b_ref in zip(net.biases, biases):
        np.testing.assert_allclose(b, b_ref, rtol=0, atol=tol)


# ---- interface --------------------------------------------------------------------
def test_book_interface_shapes():
    net = Network([784, 30, 10], seed=0)
    assert net.sizes == [784, 30, 10] and net.num_layers == 3
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.biases] == [(30, 1), (10, 1)]
    assert net.feedforward(np.zeros((784, 1))).shape == (10, 1)
    assert net.feedforward(np.zeros((784, 7))).shape == (10, 7)
    # initialised N(0, 1)
    w = net.weights[0]
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_seed_none_uses_numpy_global_state_like_the_book():
    np.random.seed(5)
    a = Network([4, 3, 2])
    np.random.seed(5)
    b = Network([4, 3, 2])
    np.random.seed(5)
    biases = [np.random.randn(y, 1) for y in [3, 2]]
    weights = [np.random.randn(y, x) for x, y in [(4, 3), (3, 2)]]
    assert_params_close(a, *params(b), tol=0)
    assert_params_close(a, weights, biases, tol=0)


def test_weights_are_live_views_and_setters_check_shapes():
    net = Network([3, 2, 1], seed=0)
    net.weights[0][0, 0] = 42.0
    assert net.weights[0][0, 0] == 42.0
    net.biases = [np.ones((2, 1)), np.ones((1, 1))]
    assert np.all(net.biases[0] == 1)
    with pytest.raises(ConfigError, match="shapes"):
        net.weights = [np.zeros((3, 3)), np.zeros((1, 2))]


@pytest.mark.parametrize("bad", [[784], [784, 0, 10], "784,x,10", [784, 2.5, 10]])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ConfigError):
        Network(bad)


# ---- the oracle: matrix form == the book's per-example loop -----------------------------
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("sizes", [[784, 30, 10], [20, 7, 5, 3], [6, 4]])
def test_update_mini_batch_matches_book_loop(sizes, cost):
    rng = np.random.default_rng(1)
    net = Network(sizes, seed=3, cost=cost)
    w0, b0 = params(net)
    _, _, batch = random_batch(rng, 13, sizes[0], sizes[-1])
    net.update_mini_batch(batch, 3.0)
    w_ref, b_ref = book_update_mini_batch(w0, b0, batch, 3.0, cost)
    assert_params_close(net, w_ref, b_ref, 1e-10)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("m", [1, 10, 100])
def test_fast_sgd_step_matches_book_loop(m, cost):
    rng = np.random.default_rng(2)
    net = Network([784, 30, 10], seed=4, cost=cost)
    x, labels, pairs = random_batch(rng, 305)
    data = net.prepare(x, labels)
    w, b = params(net)
    order = rng.permutation(305)
    for k in range(0, 305, m):  # the last mini-batch is short for m = 10 and 100
        idx = order[k:k + m]
        net.sgd_step(data, idx, 0.5)
        w, b = book_update_mini_batch(w, b, [pairs[i] for i in idx], 0.5, cost)
        # each update agrees to 1e-10; continue from the network's own weights so that
        # rounding differences do not compound over hundreds of chaotic steps
        assert_params_close(net, w, b, 1e-10)
        w, b = params(net)


def test_fast_path_handles_a_short_last_batch_and_reports_cost():
    rng = np.random.default_rng(3)
    net = Network([784, 30, 10], seed=4)
    x, labels, pairs = random_batch(rng, 23)
    data = net.prepare(x, labels)
    w, b = params(net)
    net.sgd_step(data, np.arange(10), 3.0)
    net.sgd_step(data, np.arange(10, 20), 3.0)
    w, b = book_update_mini_batch(w, b, pairs[:10], 3.0)
    w, b = book_update_mini_batch(w, b, pairs[10:20], 3.0)
    outputs = [book_sigmoid(w[1] @ book_sigmoid(w[0] @ p[0] + b[0]) + b[1]) for p in pairs[20:]]
    expected_cost = sum(0.5 * float(np.sum((a - p[1]) ** 2)) for a, p in zip(outputs, pairs[20:]))
    got = net.sgd_step(data, np.arange(20, 23), 3.0)
    w, b = book_update_mini_batch(w, b, pairs[20:], 3.0)
    assert got == pytest.approx(expected_cost, rel=1e-12)
    assert_params_close(net, w, b, 1e-10)


def test_cross_entropy_batch_cost_matches_formula():
    rng = np.random.default_rng(4)
    net = Network([784, 30, 10], seed=4, cost="cross-entropy")
    x, labels, pairs = random_batch(rng, 10)
    a = net.feedforward(x.T)
    y = np.eye(10)[labels].T
    expected = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))
    got = net.sgd_step(net.prepare(x, labels), np.arange(10), 1.0)
    assert got == pytest.approx(expected, rel=1e-10)
    assert CrossEntropyCost.fn(a, y) == pytest.approx(expected, rel=1e-12)


def test_backprop_single_example_matches_book():
    rng = np.random.default_rng(5)
    net = Network([784, 30, 10], seed=6)
    _, _, pairs = random_batch(rng, 1)
    nb, nw = net.backprop(*pairs[0])
    weights, biases = params(net)
    rb, rw = book_backprop(weights, biases, *pairs[0])
    for a, b in zip(nb + nw, rb + rw):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_float32_tracks_float64():
    rng = np.random.default_rng(6)
    x, labels, _ = random_batch(rng, 200)
    n64 = Network([784, 30, 10], seed=7)
    n32 = Network([784, 30, 10], seed=7, dtype="float32")
    assert n32.weights[0].dtype == np.float32
    d64, d32 = n64.prepare(x, labels), n32.prepare(x, labels)
    for k in range(0, 200, 10):
        n64.sgd_step(d64, np.arange(k, k + 10), 3.0)
        n32.sgd_step(d32, np.arange(k, k + 10), 3.0)
    for a, b in zip(n64.weights, n32.weights):
        np.testing.assert_allclose(a, b, atol=1e-3)


# ---- finite differences ------------------------------------------------------------------
@pytest.mark.parametrize("cost", [QuadraticCost, CrossEntropyCost])
def test_gradient_matches_finite_differences(cost):
    rng = np.random.default_rng(8)
    net = Network([12, 6, 4], seed=9, cost=cost.name)
    x = rng.random((12, 5))
    y = np.eye(4)[rng.integers(0, 4, 5)].T

    def total_cost():
        return cost.fn(net.feedforward(x), y)

    nabla_b, nabla_w = net.backprop(x, y)
    h = 1e-6
    for grads, arrays in ((nabla_w, net.weights), (nabla_b, net.biases)):
        for g, arr in zip(grads, arrays):
            for idx in [tuple(rng.integers(0, s) for s in arr.shape) for _ in range(12)]:
                old = arr[idx]
                arr[idx] = old + h
                up = total_cost()
                arr[idx] = old - h
                down = total_cost()
                arr[idx] = old
                numeric = (up - down) / (2 * h)
                assert g[idx] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


# ---- sigmoid ------------------------------------------------------------------------------
def test_sigmoid_never_overflows_or_warns():
    z = np.array([-1e6, -800.0, -30.0, 0.0, 30.0, 800.0, 1e6])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(z)
        s32 = sigmoid(z.astype(np.float32))
        sp = sigmoid_prime(z)
    assert s[0] == pytest.approx(0.0, abs=1e-300) and s[-1] == 1.0 and s[3] == 0.5
    assert s32.dtype == np.float32 and s32[0] == pytest.approx(0, abs=1e-30)
    assert np.all(sp >= 0) and sp[3] == 0.25
    np.testing.assert_allclose(sigmoid(np.linspace(-30, 30, 61)), book_sigmoid(np.linspace(-30, 30, 61)), rtol=1e-15)


# ---- SGD with the book's data format ------------------------------------------------------
def test_sgd_prints_book_lines_and_learns(capsys, bundled):
    train = [(x.reshape(-1, 1), np.eye(10)[y].reshape(-1, 1))
             for x, y in zip(bundled.train_images[:2000], bundled.train_labels[:2000])]
    test = [(x.reshape(-1, 1), int(y)) for x, y in zip(bundled.test_images, bundled.test_labels)]
    net = Network([784, 30, 10], seed=1)
    before = net.evaluate(test)
    net.SGD(train, 3, 10, 3.0, test_data=test)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for j, line in enumerate(lines):
        head, tail = line.split(": ")
        assert head == f"Epoch {j}" and tail.endswith(f" / {len(test)}")
    final = int(lines[-1].split(": ")[1].split(" / ")[0])
    assert final == net.evaluate(test)
    assert final > 0.75 * len(test) and final > before + 300   # chance is 10%
    net.SGD(train[:50], 1, 10, 3.0)
    assert capsys.readouterr().out == "Epoch 0 complete\n"
