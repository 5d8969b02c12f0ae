"""The compiled kernel and its numpy fallback against the book's loop; chunks; the stop flag."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from nnviz.core import network as network_module
from nnviz.core.network import Network, kernel_info, load_kernel, sparse_rows

from test_network import assert_params_close, book_update_mini_batch, params

pytestmark = pytest.mark.skipif(load_kernel() is None, reason="numba is not installed")

PATHS = ["kernel", "numpy"]


def mnist_like(rng, n, n_in=784, n_out=10):
    """Images with about 80% zero pixels, like MNIST, and their (x, y) pairs for the book."""
    x = rng.random((n, n_in)) * (rng.random((n, n_in)) < 0.2)
    labels = rng.integers(0, n_out, n)
    pairs = [(x[i].reshape(-1, 1), np.eye(n_out)[labels[i]].reshape(-1, 1)) for i in range(n)]
    return x, labels, pairs


def network(path, sizes=(784, 30, 10), **kw):
    net = Network(list(sizes), **kw)
    net.use_kernel = path == "kernel"
    return net


def test_sparse_rows_lists_each_rows_nonzeros():
    images = np.array([[0, 1.5, 0, 2], [0, 0, 0, 0], [3, 0, 0, 0]])
    indptr, indices, values = sparse_rows(images)
    assert indptr.tolist() == [0, 2, 2, 3]
    assert indices.tolist() == [1, 3, 0] and values.tolist() == [1.5, 2, 3]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("m", [1, 10, 100])
def test_each_mini_batch_matches_the_book_loop(path, cost, m):
    rng = np.random.default_rng(2)
    net = network(path, seed=4, cost=cost)
    x, labels, pairs = mnist_like(rng, 305)
    data = net.prepare(x, labels)
    order = rng.permutation(305)
    w, b = params(net)
    cost_sum = 0.0
    for k in range(0, 305, m):  # the last mini-batch is short for m = 10 and 100
        idx = order[k:k + m]
        cost_sum, done = net.sgd_steps(data, order, k, 1, m, 0.5, cost_sum=cost_sum)
        assert done == 1
        w, b = book_update_mini_batch(w, b, [pairs[i] for i in idx], 0.5, cost)
        assert_params_close(net, w, b, 1e-10)
        w, b = params(net)  # compare each step: chaotic steps would compound the rounding


@pytest.mark.parametrize("path", PATHS)
def test_a_whole_epoch_matches_the_book_loop(path, bundled):
    net = network(path, seed=5)
    x, labels = bundled.train_images[:1000], bundled.train_labels[:1000]
    pairs = [(xi.reshape(-1, 1), np.eye(10)[y].reshape(-1, 1)) for xi, y in zip(x, labels)]
    w, b = params(net)
    order = np.random.default_rng(6).permutation(1000)
    _, done = net.sgd_steps(net.prepare(x, labels), order, 0, 100, 10, 3.0)
    assert done == 100
    for k in range(0, 1000, 10):
        w, b = book_update_mini_batch(w, b, [pairs[i] for i in order[k:k + 10]], 3.0)
    assert_params_close(net, w, b, 1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("path", PATHS)
def test_same_weights_and_cost_at_every_chunk_size(path, dtype, bundled):
    x, labels = bundled.train_images[:995], bundled.train_labels[:995]
    order = np.random.default_rng(7).permutation(995)
    results = []
    for chunk in (1, 7, 100):
        net = network(path, seed=8, dtype=dtype)
        data = net.prepare(x, labels)
        k, cost_sum, calls = 0, 0.0, 0
        while k < 995:
            cost_sum, done = net.sgd_steps(data, order, k, chunk, 10, 3.0, cost_sum=cost_sum)
            k = min(995, k + 10 * done)
            calls += 1
        assert calls == -(-100 // chunk)
        results.append((cost_sum, [wb.tobytes() for wb in net._wb]))
    assert results[0] == results[1] == results[2]


def test_kernel_and_numpy_agree_in_float32():
    rng = np.random.default_rng(9)
    x, labels, _ = mnist_like(rng, 200)
    a, b = network("kernel", seed=7, dtype="float32"), network("numpy", seed=7, dtype="float32")
    order = np.arange(200)
    ca, _ = a.sgd_steps(a.prepare(x, labels), order, 0, 20, 10, 3.0)
    cb, _ = b.sgd_steps(b.prepare(x, labels), order, 0, 20, 10, 3.0)
    assert a.weights[0].dtype == np.float32
    for wa, wb in zip(a._wb, b._wb):
        np.testing.assert_allclose(wa, wb, atol=1e-4)
    assert ca == pytest.approx(cb, rel=1e-5)


@pytest.mark.parametrize("path", PATHS)
def test_a_changed_flag_ends_the_call_after_the_mini_batch(path):
    rng = np.random.default_rng(10)
    x, labels, _ = mnist_like(rng, 50)
    net = network(path, seed=1)
    data = net.prepare(x, labels)
    order = np.tile(np.arange(50), 4000)  # 200,000 mini-batches of 1: seconds of work
    flag = np.zeros(1, dtype=np.int64)
    result = []
    started = threading.Event()

    def work():
        started.set()
        result.append(net.sgd_steps(data, order, 0, order.size, 1, 0.1, stop_flag=flag))

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    while t.is_alive():          # keep changing the flag until the call ends
        flag[0] += 1
        t.join(0.001)
    cost_sum, done = result[0]
    assert 1 <= done < order.size // 10 and np.isfinite(cost_sum)


def test_networks_the_kernel_does_not_cover_use_numpy():
    rng = np.random.default_rng(11)
    x, labels, pairs = mnist_like(rng, 30, n_in=20, n_out=3)
    net = Network([20, 7, 5, 3], seed=3)
    w, b = params(net)
    net.sgd_steps(net.prepare(x, labels), np.arange(30), 0, 3, 10, 1.0)
    for k in range(0, 30, 10):
        w, b = book_update_mini_batch(w, b, pairs[k:k + 10], 1.0)
    assert_params_close(net, w, b, 1e-10)


def test_bad_requests_are_refused_before_the_kernel_runs():
    rng = np.random.default_rng(12)
    x, labels, _ = mnist_like(rng, 20)
    net = Network([784, 30, 10], seed=1)
    data = net.prepare(x, labels)
    with pytest.raises(network_module.ConfigError):
        net.sgd_steps(data, np.arange(20) + 5, 0, 2, 10, 1.0)   # indices beyond the data
    with pytest.raises(network_module.ConfigError):
        net.sgd_steps(data, np.arange(20), 0, 2, 0, 1.0)        # m = 0
    assert net.sgd_steps(data, np.arange(20), 20, 5, 10, 1.0) == (0.0, 0)


def test_sgd_uses_the_kernel_and_matches_numpy(bundled):
    train = [(x.reshape(-1, 1), np.eye(10)[y].reshape(-1, 1))
             for x, y in zip(bundled.train_images[:300], bundled.train_labels[:300])]
    a, b = network("kernel", seed=2), network("numpy", seed=2)
    a.SGD(train, 1, 10, 3.0)
    b.SGD(train, 1, 10, 3.0)
    assert a._kernel_buffers is not None and b._kernel_buffers is None
    assert_params_close(a, *params(b), 1e-10)


def run_python(code, **env):
    full = {**os.environ, **env}
    for k, v in env.items():
        if v is None:
            full.pop(k)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=300)


def test_kernel_info_and_the_numpy_fallback_says_so():
    assert "numba" in kernel_info()
    out = run_python("from nnviz.core.network import kernel_info; print(kernel_info())", NNVIZ_KERNEL="numpy")
    assert out.returncode == 0 and "numpy" in out.stdout and "NNVIZ_KERNEL" in out.stdout


def test_compiled_code_is_cached_in_a_user_directory(tmp_path):
    """Without NUMBA_CACHE_DIR the cache goes to nnviz's user cache directory (so a
    read-only site-packages does not matter), and a second run loads it."""
    code = ("import os, numpy as np\n"
            "from nnviz.core.network import Network\n"
            "net = Network([6, 3, 2], seed=1)\n"
            "data = net.prepare(np.eye(6)[:4], np.array([0, 1, 0, 1]))\n"
            "net.sgd_steps(data, np.arange(4), 0, 2, 2, 1.0)\n"
            "import numba; print(os.environ['NUMBA_CACHE_DIR'])\n")
    env = dict(NUMBA_CACHE_DIR=None, XDG_CACHE_HOME=str(tmp_path))
    first = run_python(code, **env)
    assert first.returncode == 0, first.stderr
    cache = first.stdout.strip()
    assert cache.startswith(str(tmp_path))
    index = [f for _, _, files in os.walk(cache) for f in files if f.endswith(".nbi")]
    assert index, "no numba cache index written"
    data_files = sorted(f for _, _, files in os.walk(cache) for f in files if f.endswith(".nbc"))
    second = run_python(code, **env)
    assert second.returncode == 0, second.stderr
    assert sorted(f for _, _, files in os.walk(cache) for f in files if f.endswith(".nbc")) == data_files


def test_version_names_the_training_kernel():
    out = subprocess.run([sys.executable, "-m", "nnviz", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert out.stdout.splitlines()[0].startswith("nnviz ") and "training kernel: compiled with numba" in out.stdout
    out = subprocess.run([sys.executable, "-m", "nnviz", "--version"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NNVIZ_KERNEL": "numpy"})
    assert out.returncode == 0 and "training kernel: numpy" in out.stdout


def test_a_kernel_that_fails_falls_back_to_numpy_and_says_so(monkeypatch):
    kernel = load_kernel()

    def broken(*args):
        raise RuntimeError("LLVM said no")

    monkeypatch.setattr(kernel, "sgd_epoch_chunk", broken)
    monkeypatch.setattr(network_module, "_kernel_problem", "")
    rng = np.random.default_rng(13)
    x, labels, pairs = mnist_like(rng, 20)
    net = Network([784, 30, 10], seed=1)
    w, b = params(net)
    try:
        cost_sum, done = net.sgd_steps(net.prepare(x, labels), np.arange(20), 0, 2, 10, 1.0)
        assert done == 2 and np.isfinite(cost_sum)
        assert "numpy" in kernel_info() and "LLVM said no" in kernel_info()
    finally:
        network_module._kernel_module = kernel   # the compiled kernel again for later tests
    for k in (0, 10):
        w, b = book_update_mini_batch(w, b, pairs[k:k + 10], 1.0)
    assert_params_close(net, w, b, 1e-10)



def test_train_gives_the_same_history_in_chunks_or_one_mini_batch_at_a_time(bundled):
    from nnviz.core.data import Dataset
    from nnviz.core.history import History
    from nnviz.core.training import Controls, TrainConfig, train

    class OneAtATime(Controls):
        """Controls that count mini-batches themselves get one mini-batch per call."""

        def _may_run(self):
            return super()._may_run()

    small = Dataset(name="small", train_images=bundled.train_images[:995], train_labels=bundled.train_labels[:995],
                    test_images=bundled.test_images, test_labels=bundled.test_labels)
    calls = {}
    histories = []
    for controls, every in ((Controls(eta=3.0), None), (Controls(eta=3.0), 7), (OneAtATime(eta=3.0), None)):
        net = Network([784, 30, 10], seed=5)
        real = net.sgd_steps

        def counted(*args, real=real, key=len(histories), **kw):
            calls[key] = calls.get(key, 0) + 1
            return real(*args, **kw)

        net.sgd_steps = counted
        h = History()
        for snap in train(TrainConfig(epochs=2, seed=5, progress_every=every), small, controls, network=net,
                          schedule={150: [("eta", 1.0)]}):
            h.add(snap)
        histories.append(h)
    assert calls[2] == 200 and calls[0] < 200 // 2    # one mini-batch per call vs chunks
    numbers = [[e.numbers() for e in h.epochs] for h in histories]
    assert numbers[0] == numbers[1] == numbers[2]
    assert [(c.step, c.new) for c in histories[0].changes] == [(150, 1.0)]


def test_numba_is_imported_at_the_first_mini_batch_not_before():
    code = ("import sys, numpy as np\n"
            "from nnviz.core.network import Network\n"
            "net = Network([6, 3, 2], seed=1)\n"
            "data = net.prepare(np.eye(6)[:4], np.array([0, 1, 0, 1]))\n"
            "print('numba' in sys.modules, bool(data._sparse))\n"
            "net.sgd_steps(data, np.arange(4), 0, 2, 2, 1.0)\n"
            "print('numba' in sys.modules)\n")
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "True"]
