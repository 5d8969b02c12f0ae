"""Start-up time: `python -m nnviz --screenshot out.png --epochs 0` (imports, the bundled
digits, the untrained network, one picture), offscreen, best of N runs. Target: < 5 s.

    python benchmarks/bench_startup.py [--repeat 5]

Exit status 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NNVIZ_SETTINGS_DIR=tmp)
        for i in range(args.repeat):
            out = Path(tmp) / f"s{i}.png"
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "nnviz", "--screenshot", str(out), "--epochs", "0"],
                                  capture_output=True, text=True, env=env, timeout=120)
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 1
    best = min(times)
    print(f"start-up to screenshot: best {best:.2f} s, median {sorted(times)[len(times) // 2]:.2f} s "
          f"of {args.repeat} (target < {TARGET_S:.0f} s)")
    return 0 if best < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
