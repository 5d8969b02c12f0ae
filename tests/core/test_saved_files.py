"""Files nnviz writes are ordinary files (mode per the umask) and strict JSON (issue 9, item 10)."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from nnviz.core.download import download_file
from nnviz.core.history import History, save_network
from nnviz.core.network import Network
from nnviz.core.recipe import Recipe
from nnviz.core.training import EpochSnapshot, SettingChanged, TrainConfig


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _epoch(done: int, cost: float) -> EpochSnapshot:
    return EpochSnapshot(epochs_done=done, test_correct=90, test_total=100, validation_correct=0,
                         validation_total=0, training_cost=cost, test_cost=float("nan"), seconds=0.1,
                         eta=3.0, cost="quadratic", step=10 * done, weights=(), biases=())


def test_saved_files_respect_the_umask(tmp_path, umask_022, http_server):
    history = History()
    history.add(_epoch(0, float("nan")))
    net = Network([4, 3, 2], seed=1)
    save_network(tmp_path / "net.npz", net, TrainConfig(sizes=(4, 3, 2), seed=1).validated(), history)
    history.write_csv(tmp_path / "run.csv")
    history.write_json(tmp_path / "run.json")
    Recipe("bundled", TrainConfig(seed=1).validated(), []).save(tmp_path / "lesson.json")
    url = http_server.serve("/blob", b"x" * 1000)
    download_file(url, tmp_path / "cache" / "blob", timeout=(2.0, 2.0))
    for name in ("net.npz", "run.csv", "run.json", "lesson.json", "cache/blob"):
        assert _mode(tmp_path / name) == 0o644, name
    os.umask(0o077)  # a private umask still gives private files
    history.write_csv(tmp_path / "private.csv")
    assert _mode(tmp_path / "private.csv") == 0o600


def test_history_json_is_strict_json_with_null_for_missing_numbers(tmp_path):
    history = History()
    history.add(_epoch(0, float("nan")))  # the untrained network has no training cost
    history.add(_epoch(1, 0.25))
    history.add(SettingChanged(name="eta", old=3.0, new=0.5, epoch=1, batch=4, step=14, examples_seen=40,
                               n_train=100))
    path = tmp_path / "run.json"
    history.write_json(path)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text

    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")

    doc = json.loads(text, parse_constant=refuse)
    assert doc["epochs"][0]["training_cost"] is None and doc["epochs"][0]["test_cost"] is None
    assert doc["epochs"][1]["training_cost"] == 0.25
    assert doc["changes"][0]["new"] == 0.5
    assert not any(isinstance(v, float) and not math.isfinite(v) for row in doc["epochs"] for v in row.values())
    assert np.isnan(history.rows()[0]["training_cost"])  # the history itself is unchanged
