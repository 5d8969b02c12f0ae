"""Start-up, ``--screenshot`` and the command line's app entry."""

from __future__ import annotations

import os
import subprocess
import sys
from argparse import Namespace

import pytest

from nnviz.core.errors import ConfigError, NnvizError
from nnviz.gui.app import _check_display, parse_size, run_app


def test_parse_size():
    assert parse_size("1280x720") == (1280, 720)
    assert parse_size("1920X1080") == (1920, 1080)
    for bad in ("big", "1280", "10x10", "1280x720x3"):
        with pytest.raises(ConfigError):
            parse_size(bad)


def test_no_display_is_explained_not_aborted(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(NnvizError, match="no display"):
        _check_display(screenshot=False)
    _check_display(screenshot=True)  # a screenshot needs no display: offscreen
    assert os.environ["QT_QPA_PLATFORM"] == "offscreen"


def test_screenshot_in_process(qtbot, qapp, tmp_path):
    from PySide6.QtGui import QImage

    out = tmp_path / "shot.png"
    args = Namespace(data=None, screenshot=str(out), epochs=1, view="train", size="1024x640")
    assert run_app(args) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1024, 640)
    # not a blank picture: many distinct colours (plots, heatmap tiles, text)
    colours = {image.pixel(x, y) for x in range(0, 1024, 7) for y in range(0, 640, 7)}
    assert len(colours) > 200


def test_unknown_view_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="--view"):
        run_app(Namespace(data=None, screenshot=str(tmp_path / "x.png"), epochs=0, view="nope", size="1280x720"))


def test_cli_screenshot_opens_fast_and_exits_cleanly(tmp_path):
    """`python -m nnviz --screenshot`: the whole start-up (imports, bundled data, the
    untrained network, one picture), exit status 0, no thread warnings. (Its speed is
    measured by benchmarks/bench_startup.py: a timed test fails on a busy machine.)"""
    out = tmp_path / "s.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NNVIZ_SETTINGS_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "nnviz", "--screenshot", str(out), "--epochs", "0"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000
    assert "QThread" not in proc.stderr and "Traceback" not in proc.stderr


def test_cli_bad_data_is_one_line_and_status_2(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NNVIZ_SETTINGS_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "nnviz", "--screenshot", str(tmp_path / "s.png"),
                           "--data", str(tmp_path / "missing.pkl.gz")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_the_preloaded_data_is_handed_over_once_and_other_data_loads_as_usual(monkeypatch, tmp_path):
    from nnviz.core import data as core_data
    from nnviz.core.errors import DataError
    from nnviz.gui.app import Preload

    loads = []
    real = core_data.load_dataset

    def counting(source, **kw):
        loads.append(source)
        return real(source, **kw)

    monkeypatch.setattr(core_data, "load_dataset", counting)
    preload = Preload("bundled")                 # starts loading at once, in its thread
    first = preload("bundled")
    assert first.n_train == 4000 and loads == ["bundled"]
    second = preload("bundled")                  # a later load reads it again
    assert second is not first and loads == ["bundled", "bundled"]
    with pytest.raises(DataError):               # any other source: as usual (here, a missing file)
        preload(str(tmp_path / "missing.npz"))

    broken = Preload(str(tmp_path / "missing.npz"))
    with pytest.raises(DataError):               # the thread's failure reaches the caller
        broken(str(tmp_path / "missing.npz"))
