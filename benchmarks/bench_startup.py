"""Start-up time, two ways, best and median of N launches each. Target: < 1 s.

- the screenshot command, offscreen: `python -m nnviz --screenshot out.png --epochs 0`
  (imports, the window, the bundled digits, the untrained network's evaluation, one picture,
  exit);
- on a real X server (when `Xvfb` and `xdotool` are installed): from launching `python -m
  nnviz` until its window is on the screen (mapped and visible, as `xdotool search
  --onlyvisible` sees it, asked every few milliseconds).

    python benchmarks/bench_startup.py [--repeat 5]

Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 1.0
DISPLAY_NUMBER = ":93"


def screenshot_times(repeat: int, tmp: str) -> list[float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NNVIZ_SETTINGS_DIR=tmp)
    times = []
    for i in range(repeat):
        out = Path(tmp) / f"s{i}.png"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "nnviz", "--screenshot", str(out), "--epochs", "0"],
                              capture_output=True, text=True, env=env, timeout=120)
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0 or not out.is_file():
            raise SystemExit(f"the screenshot command failed:\n{proc.stderr}")
    return times


def window_times(repeat: int, tmp: str) -> list[float] | None:
    """Seconds from launch until the window is visible on an X server (None: no Xvfb/xdotool)."""
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        return None
    server = subprocess.Popen(["Xvfb", DISPLAY_NUMBER, "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, DISPLAY=DISPLAY_NUMBER, NNVIZ_SETTINGS_DIR=tmp)
    env.pop("QT_QPA_PLATFORM", None)
    try:
        for _ in range(100):   # until the server answers
            if subprocess.run(["xdotool", "getdisplaygeometry"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            app = subprocess.Popen([sys.executable, "-m", "nnviz", "--speed", "max"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:   # (xdotool's own --sync looks only every half second)
                while subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "^nnviz"], env=env,
                                     capture_output=True).returncode != 0:
                    if app.poll() is not None or time.perf_counter() - t0 > 60:
                        raise SystemExit("the window did not appear")
                    time.sleep(0.005)
                times.append(time.perf_counter() - t0)
            finally:
                app.terminate()
                app.wait(30)
        return times
    finally:
        server.terminate()
        server.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("screenshot command (offscreen)", screenshot_times(args.repeat, tmp)))
        shown = window_times(args.repeat, tmp)
        if shown is not None:
            rows.append(("window on an X server", shown))
    print(f"nnviz start-up, {args.repeat} launches each (target < {TARGET_S:g} s)")
    ok = True
    for name, times in rows:
        best = min(times)
        ok &= best < TARGET_S
        print(f"  {name:32} best {best:.2f} s, median {statistics.median(times):.2f} s  "
              f"{'yes' if best < TARGET_S else 'NO'}")
    if len(rows) == 1:
        print("  (no Xvfb/xdotool: the window's time on screen was not measured)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
