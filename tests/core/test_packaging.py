"""Packaging conventions: the licence, --version for bug reports, the desktop menu entry."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_nnviz(*args, env=None):
    return subprocess.run([sys.executable, "-m", "nnviz", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_license_is_the_mit_text_pyproject_claims():
    claimed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]["text"]
    text = (ROOT / "LICENSE").read_text()
    assert claimed == "MIT" and text.startswith("MIT License")
    assert "Copyright (c)" in text and "nnviz contributors" in text
    assert "Permission is hereby granted, free of charge" in text and 'THE SOFTWARE IS PROVIDED "AS IS"' in text
    assert (ROOT / "resources" / "DATA_LICENSE.md").is_file()  # the data licence beside it


def test_version_prints_every_version_a_bug_report_needs():
    import numpy
    import PySide6
    import pyqtgraph
    from PySide6.QtCore import qVersion

    out = run_nnviz("--version")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    import nnviz

    assert lines[0] == f"nnviz {nnviz.__version__}"
    assert lines[1].startswith(f"Python {sys.version.split()[0]} ")
    assert f"numpy {numpy.__version__}" in lines
    assert f"Qt {qVersion()} (PySide6 {PySide6.__version__})" in lines
    assert f"pyqtgraph {pyqtgraph.__version__}" in lines
    assert lines[-1].startswith("training kernel: ")


def _desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def test_install_desktop_entry_writes_entry_and_icon_under_xdg_data_home(tmp_path):
    home = tmp_path / "data home"  # a space: Exec must quote correctly anyway
    out = run_nnviz("--install-desktop-entry", env={"XDG_DATA_HOME": str(home)})
    assert out.returncode == 0, out.stderr
    entry_path = home / "applications" / "nnviz.desktop"
    icon_path = home / "icons" / "hicolor" / "scalable" / "apps" / "nnviz.svg"
    assert str(entry_path) in out.stdout and str(icon_path) in out.stdout
    entry = _desktop_entry(entry_path)
    assert entry["Type"] == "Application" and entry["Name"] == "nnviz" and entry["Icon"] == "nnviz"
    assert entry["Terminal"] == "false" and "Education" in entry["Categories"].split(";")
    # Exec runs this Python with -m nnviz, which works without ~/.local/bin on the PATH
    assert shlex.split(entry["Exec"]) == [sys.executable, "-m", "nnviz"]
    root = ET.parse(icon_path).getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 128 128"
    assert not [p for p in home.rglob("*") if p.name.endswith(".tmp")]  # nothing left behind
    # installing again replaces the files
    again = run_nnviz("--install-desktop-entry", env={"XDG_DATA_HOME": str(home)})
    assert again.returncode == 0 and _desktop_entry(entry_path)["Name"] == "nnviz"


def test_relative_xdg_data_home_is_ignored_as_the_spec_says(tmp_path, monkeypatch):
    from nnviz.desktop import data_home

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    assert data_home() == tmp_path / ".local" / "share"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert data_home() == tmp_path / ".local" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "x"))
    assert data_home() == tmp_path / "x"


def test_exec_quoting_follows_the_desktop_entry_spec():
    from nnviz.desktop import desktop_entry_text

    line = next(l for l in desktop_entry_text('/opt/my "py"/100%/bin\\python').splitlines() if l.startswith("Exec="))
    # the file's string escaping (\\ -> \) first, then the Exec quoting rules
    assert line == 'Exec="/opt/my \\\\"py\\\\"/100%%/bin\\\\\\\\python" -m nnviz'


def test_install_desktop_entry_into_an_unwritable_place_is_one_line_and_status_2(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    out = run_nnviz("--install-desktop-entry", env={"XDG_DATA_HOME": str(blocker)})
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("nnviz: error: cannot write ") and len(out.stderr.splitlines()) == 1
    assert blocker.read_text() == "x"

