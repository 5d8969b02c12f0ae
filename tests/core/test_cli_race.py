"""``nnviz race``: lanes by eta, cost, mini-batch size, hidden size or output coding, headless."""

import re
import subprocess
import sys

import pytest

from nnviz.cli import main
from nnviz.core.data import load_bundled
from nnviz.core.race import race_configs
from nnviz.core.training import EpochSnapshot, TrainConfig, train

LINE = re.compile(r"^lane (\S+)=(\S+) epoch (\d+): (\d+) / (\d+)$")


def test_race_by_hidden_size_prints_a_line_per_lane_per_epoch_and_matches_solo_runs(capsys):
    assert main(["race", "--vary", "hidden", "--lanes", "15,30+10", "--epochs", "2", "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    lines = [LINE.match(l) for l in out.splitlines() if l.startswith("lane ")]
    assert [(m[2], int(m[3])) for m in lines] == [("15", 0), ("30+10", 0), ("15", 1), ("30+10", 1)]
    assert "cannot share initial weights" in err and "seed 3" in err
    # each lane is the solo run with the same seed
    data = load_bundled()
    for cfg, name in zip(race_configs(TrainConfig(epochs=2, seed=3), hidden=[(15,), (30, 10)]), ("15", "30+10")):
        solo = [s for s in train(cfg, data) if isinstance(s, EpochSnapshot) and s.epochs_done]
        got = [int(m[4]) for m in lines if m[2] == name]
        assert got == [s.test_correct for s in solo]
    summary = out.split("summary:")[1]
    assert "hidden=15:" in summary and "after 2 epochs" in summary and "s per epoch" in summary


def test_race_by_outputs(capsys):
    assert main(["race", "--vary", "outputs", "--epochs", "1", "--seed", "4", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert [LINE.match(l)[2] for l in out.splitlines() if l.startswith("lane ")] == ["one-hot", "binary"]


@pytest.mark.parametrize("args, words", [
    (["--vary", "size"], "invalid choice"),
    (["--vary", "hidden", "--lanes", "15,abc"], "whole number"),
    (["--vary", "hidden", "--lanes", "15,0"], "at least 1"),
    (["--vary", "hidden", "--lanes", "15,99999999"], "limit"),
    (["--vary", "eta", "--lanes", "3"], "2 to 4"),
    (["--vary", "eta", "--lanes", "1,2,3,4,5"], "2 to 4"),
    (["--vary", "eta", "--lanes", "1,-2"], "positive"),
    (["--vary", "cost", "--lanes", "quadratic,cubic"], "cross-entropy"),
    (["--vary", "outputs", "--lanes", "one-hot,ternary"], "binary"),
    (["--vary", "batch", "--lanes", "10,x"], "whole number"),
    (["--vary", "eta", "--epochs", "0"], "at least"),
])
def test_bad_race_values_are_one_line_and_exit_2(args, words):
    r = subprocess.run([sys.executable, "-m", "nnviz", "race", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_train_with_binary_outputs_saves_records_and_replays(capsys, tmp_path):
    model, lesson = tmp_path / "b.npz", tmp_path / "b.json"
    assert main(["train", "--outputs", "binary", "--epochs", "2", "--seed", "5", "--save", str(model),
                 "--record", str(lesson), "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the numbers are the 4-output network's, as trained by the core with the binary coding
    solo = [s for s in train(TrainConfig(sizes=(784, 30, 4), epochs=2, seed=5, outputs="binary"), load_bundled())
            if isinstance(s, EpochSnapshot) and s.epochs_done]
    assert lines == [s.book_line() for s in solo]
    assert main(["train", "--load", str(model), "--epochs", "0", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"Loaded network: {solo[-1].test_correct} / 1000"
    assert main(["replay", str(lesson), "--headless", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines() == lines
    # a coding that does not fit: one line, status 2
    assert main(["train", "--load", str(model), "--epochs", "1", "--outputs", "one-hot"]) == 2
    assert "coded binary" in capsys.readouterr().err
    assert main(["train", "--outputs", "binary", "--sizes", "784,30,10", "--epochs", "1"]) == 2
    assert "needs 4 output neurons" in capsys.readouterr().err


def test_editor_codings_and_a_headless_race_load_no_qt():
    code = (
        "import sys, nnviz.core.editor, nnviz.core.codings, nnviz.core.race\n"
        "from nnviz.cli import main\n"
        "assert main(['race', '--vary', 'outputs', '--epochs', '1', '--quiet', '--seed', '0']) == 0\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("lane outputs=one-hot epoch 0: ")
