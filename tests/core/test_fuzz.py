"""Fuzz every loader and parser with hypothesis (issue 10): random bytes, random JSON and
damaged valid files give a one-line NnvizError or load — nothing else escapes — in a
subprocess whose address space is limited, within a time bound. See fuzz_targets.py."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
MEMORY_LIMIT = 1_500_000_000  # bytes of address space: numpy needs ~0.5 GB; a header-sized allocation would not fit
TIME_LIMIT = 120  # seconds for one target (each takes a few on an idle machine)
TARGETS = {  # target: examples
    "data_random_bytes": 300,
    "data_mutated_pickles": 300,
    "data_mutated_npz": 200,
    "data_npy_headers": 200,
    "data_mutated_idx": 150,
    "network_mutated": 200,
    "network_random_config": 150,
    "recipe_random": 300,
    "sizes_random": 300,
}


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_only_nnviz_errors_escape(target: str) -> None:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, str(HERE / "fuzz_targets.py"), target, str(TARGETS[target])],
                       capture_output=True, text=True, timeout=TIME_LIMIT, preexec_fn=_limit_memory, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    assert f"{target}: " in r.stdout and "0 escaped" in r.stdout
