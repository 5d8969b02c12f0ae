"""The window on real X servers of several sizes (Xvfb), as a lecturer's projector or a
student's small laptop shows it: everything inside the screen, no text cut, presentation
mode filling the screen and Esc restoring the window, keys working from a focused box.

Each screen gets its own Xvfb and runs check_window.py in a subprocess with DISPLAY set
(Qt can only pick one platform per process; the rest of the suite runs offscreen).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CHECK_TIMEOUT_S = 240

SCREENS = [  # (width, height, QT_SCALE_FACTOR)
    (1024, 600, 1),
    (1280, 720, 1),
    (1920, 1080, 1),
    (2560, 1440, 2),
]

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None,
                                reason="Xvfb is not installed (apt install xvfb): no X server to test on")


def start_xvfb(width: int, height: int) -> tuple[subprocess.Popen, str]:
    """An Xvfb on a free display number (it picks one and tells us through a pipe)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp",
         "-noreset"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        proc.wait()
        pytest.fail("Xvfb did not start")
    return proc, f":{number}"


@pytest.mark.parametrize("width,height,scale", SCREENS, ids=[f"{w}x{h}@{s}x" for w, h, s in SCREENS])
def test_window_fits_the_screen_presents_and_takes_keys(width, height, scale, tmp_path):
    xvfb, display = start_xvfb(width, height)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "WAYLAND"))}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", QT_SCALE_FACTOR=str(scale),
                   NNVIZ_SETTINGS_DIR=str(tmp_path), NNVIZ_DATA_DIR=str(tmp_path / "cache"),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
        shots = os.environ.get("NNVIZ_X11_SHOTS")  # set it to a folder to look at the screens
        extra = ["--shots", shots] if shots else []
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            extra = ["--shots", str(Path(shots) / f"{width}x{height}@{scale}x")]
            Path(extra[1]).mkdir(exist_ok=True)
        result = subprocess.run([sys.executable, str(HERE / "check_window.py"), *extra], env=env,
                                capture_output=True, text=True, timeout=CHECK_TIMEOUT_S, cwd=tmp_path)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    report = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"on a {width}x{height} screen at {scale}x:\n{report}"
    assert "0 problem(s)" in result.stdout, report
