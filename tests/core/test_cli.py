"""The headless command line: book lines, saving, and one-line errors with exit status 2."""

import gzip
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from nnviz.cli import main
from nnviz.core.history import load_network, save_network
from nnviz.core.network import Network


def run_cli(*args, env=None):
    """Run ``python -m nnviz`` in a subprocess (as a user would)."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "nnviz", *args], capture_output=True, text=True,
                          timeout=300, env=e)


def test_train_prints_book_lines(capsys, tmp_path):
    code = main(["train", "--epochs", "2", "--seed", "1", "--history", str(tmp_path / "h.csv"),
                 "--save", str(tmp_path / "m.npz")])
    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 0: ") and lines[1].startswith("Epoch 1: ")
    correct = int(lines[1].split(": ")[1].split(" / ")[0])
    assert lines[1].endswith(" / 1000") and correct > 750
    assert "seed 1" in err
    assert len((tmp_path / "h.csv").read_text().splitlines()) == 4
    net, config, rows = load_network(tmp_path / "m.npz")
    assert config["seed"] == 1 and rows[-1]["test_correct"] == correct
    # the saved network is the trained one, and --load --epochs 0 evaluates it
    assert main(["train", "--load", str(tmp_path / "m.npz"), "--epochs", "0"]) == 0
    assert capsys.readouterr().out == f"Loaded network: {correct} / 1000\n"


def test_same_seed_prints_the_same_lines(capsys):
    outs = []
    for _ in range(2):
        assert main(["train", "--epochs", "1", "--seed", "5", "--quiet", "--dtype", "float32",
                     "--batch-size", "20", "--cost", "cross-entropy"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0].startswith("Epoch 0: ")


@pytest.mark.parametrize("args,needle", [
    (["train", "--eta", "0"], "eta"),
    (["train", "--eta", "-2"], "eta"),
    (["train", "--eta", "fast"], "eta"),
    (["train", "--epochs", "many"], "whole number"),
    (["train", "--batch-size", "0"], "at least 1"),
    (["train", "--sizes", "784,x,10"], "sizes"),
    (["train", "--sizes", "100,30,10"], "784"),
    (["train", "--cost", "hinge"], "invalid choice"),
    (["train", "--data", "/no/such/file.pkl.gz"], "no such file"),
    (["train", "--epochs", "0"], "--load"),
    (["train", "--load", "/no/such/model.npz"], "no such file"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_values_give_one_line_and_status_2(args, needle):
    r = run_cli(*args)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(r"nnviz( train)?: error: ", lines[0]), r.stderr
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_malformed_files_give_one_line(tmp_path):
    bad = tmp_path / "mnist.pkl.gz"
    bad.write_bytes(gzip.compress(b"not a pickle at all")[:10])
    r = run_cli("train", "--data", str(bad))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    model = tmp_path / "model.npz"
    model.write_bytes(b"PK\x03\x04 truncated")
    r = run_cli("train", "--load", str(model), "--epochs", "0")
    assert r.returncode == 2 and "not a saved nnviz network" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_download_without_network_says_so(tmp_path):
    # no network here: every source fails to connect; nothing is left in the cache
    env = {"NNVIZ_DATA_DIR": str(tmp_path), "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    r = run_cli("download", "--quiet", env=env)
    assert r.returncode == 2
    assert "no network" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_saved_network_round_trip_and_refusals(tmp_path):
    net = Network([784, 20, 10], seed=3, dtype="float32", cost="cross-entropy")
    save_network(tmp_path / "n.npz", net)
    back, _, _ = load_network(tmp_path / "n.npz")
    assert back.sizes == [784, 20, 10] and back.dtype == np.float32 and back.cost.name == "cross-entropy"
    for a, b in zip(net.weights + net.biases, back.weights + back.biases):
        np.testing.assert_array_equal(a, b)
    # wrong shapes, object arrays, missing keys are refused
    good = dict(np.load(tmp_path / "n.npz"))
    cases = {
        "shape": {**good, "w0": np.zeros((20, 100), np.float32)},
        "missing": {k: v for k, v in good.items() if k != "b1"},
        "object": {**good, "w1": np.array([object()] * 3, dtype=object)},
        "nan": {**good, "b0": np.full((20, 1), np.nan, np.float32)},
    }
    for name, arrays in cases.items():
        path = tmp_path / f"{name}.npz"
        np.savez(path, **arrays)
        with pytest.raises(Exception) as info:
            load_network(path)
        assert type(info.value).__name__ == "DataError", name


def test_core_and_headless_run_load_no_qt():
    code = (
        "import sys, nnviz.core, nnviz.core.network, nnviz.core.training, nnviz.core.data, "
        "nnviz.core.download, nnviz.core.history\n"
        "from nnviz.cli import main\n"
        "assert main(['train', '--epochs', '1', '--quiet', '--seed', '0']) == 0\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Epoch 0: ")


def test_truncated_model_is_refused_without_leaking_a_file(tmp_path):
    net = Network([784, 10, 10], seed=1)
    save_network(tmp_path / "ok.npz", net)
    data = (tmp_path / "ok.npz").read_bytes()
    for cut in (20, len(data) // 2, len(data) - 30):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(Exception) as info:   # filterwarnings=error turns a leaked handle into a failure
            load_network(bad)
        assert type(info.value).__name__ == "DataError"
