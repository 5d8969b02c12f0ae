"""Hostile inputs on the command line (issue 10), one test per class: every bad file, path,
value and fault gives one line on stderr and exit status 2 (130 for Ctrl-C), no traceback,
nothing left behind, bounded memory (the child's address space is limited)."""

from __future__ import annotations

import io
import json
import os
import pickle
import resource
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnviz.core.history import save_network
from nnviz.core.network import Network
from nnviz.core.training import TrainConfig

MEMORY_LIMIT = 1_500_000_000


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def nnviz(*args: str, cwd: Path, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnviz", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, preexec_fn=_limit_memory,
                          env=dict(os.environ, OPENBLAS_NUM_THREADS="1", **(env or {})))


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def refused(r: subprocess.CompletedProcess, *needles: str) -> str:
    """The one line of a refusal (exit 2), after checking there is only that line."""
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def check_all(tmp_path: Path, cases: list[tuple[list[str], tuple[str, ...]]]) -> None:
    """Run every case in ``tmp_path``; each must be refused, and leave the folder as it was."""
    before = listing(tmp_path)
    for args, needles in cases:
        refused(nnviz(*args, cwd=tmp_path), *needles)
        assert listing(tmp_path) == before, args


def npz(path: Path, **members: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)
    return path


def npy_header(descr: str, shape: tuple) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * ((-len(header) - 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def saved_network(path: Path, sizes=None) -> Path:
    save_network(path, Network([784, 3, 10], seed=1), TrainConfig(sizes=(784, 3, 10), seed=1).validated())
    if sizes is not None:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["sizes"] = np.array(sizes, dtype=np.int64)
        np.savez(path, **arrays)
    return path


RECIPE = {"format": "nnviz-recipe-1", "data": "bundled",
          "config": {"sizes": [784, 30, 10], "epochs": 1, "mini_batch_size": 10, "eta": 3.0,
                     "cost": "quadratic", "seed": 1, "dtype": "float64"}, "events": []}


def recipe(path: Path, events=None, **config) -> Path:
    doc = json.loads(json.dumps(RECIPE))
    doc["config"].update(config)
    if events is not None:
        doc["events"] = events
    path.write_text(json.dumps(doc))
    return path


def test_1_memory_from_tiny_files(tmp_path: Path, fm) -> None:
    """Declared sizes are checked before anything is allocated, against named limits."""
    keras_huge = npz(tmp_path / "huge.npz", x_train=npy_header("|u1", (10**12, 28, 28)) + bytes(100),
                     y_train=npy_header("|u1", (2,)) + bytes(2), x_test=npy_header("|u1", (1, 28, 28)) + bytes(784),
                     y_test=npy_header("|u1", (1,)) + bytes(1))
    files = fm.idx_files(6, 2)
    files["train-images-idx3-ubyte"] = struct.pack(">IIII", 0x803, 10**9, 28, 28) + bytes(100)
    idx = fm.write_idx_dir(tmp_path / "idx", files)
    big_net = saved_network(tmp_path / "big.npz", sizes=[784, 100_000_000, 10])
    big_recipe = recipe(tmp_path / "big.json", sizes=[784, 100_000_000, 10])
    check_all(tmp_path, [
        (["train", "--sizes", "784,100000000,10"], ("limit of 10,000,000 weights and biases",)),
        (["train", "--data", str(keras_huge)], ("x_train declares", "more than the 300,000,000-byte limit")),
        (["train", "--data", str(idx)], ("declares 784,000,000,000 bytes of images", "limit")),
        (["train", "--load", str(big_net), "--epochs", "0"], ("big.npz", "limit of 10,000,000")),
        (["replay", str(big_recipe), "--headless"], ("big.json", "'config.sizes'", "limit of 10,000,000")),
    ])


def test_1_zip_bomb_members_are_never_read(tmp_path: Path, fm) -> None:
    """An extra member of 1 GiB (compressed to ~1 MB) is not needed, so not read: it loads."""
    path = fm.keras_npz(tmp_path / "bomb.npz", 12, 6)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z, z.open("junk.npy", "w", force_zip64=True) as m:
        chunk = bytes(1 << 24)
        for _ in range(64):
            m.write(chunk)
    r = nnviz("train", "--data", str(path), "--sizes", "784,5,10", "--epochs", "1", "--seed", "1", "--quiet",
              cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("Epoch 0: "), r.stderr[-2000:]


def test_2_outputs_are_checked_before_training(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    os.mkfifo(tmp_path / "fifo.csv")
    model = saved_network(tmp_path / "model.npz")
    ok = str(tmp_path / "run.csv")  # a fine output next to a bad one: must not be written either
    check_all(tmp_path, [
        (["train", "--history", str(tmp_path / "missing" / "run.csv")], ("--history", "does not exist")),
        (["train", "--save", str(tmp_path / "adir")], ("--save", "that is a folder")),
        (["train", "--history", ok, "--save", str(tmp_path / "afile" / "m.npz")], ("--save", "is not a folder")),
        (["train", "--record", "/proc/self/lesson.json"], ("--record", "cannot write into /proc/self")),
        (["train", "--history", str(tmp_path / "fifo.csv")], ("--history", "named pipe (FIFO)")),
        (["train", "--load", str(model), "--save", str(model)], ("--save", "is also an input")),
        (["train", "--history", ok, "--save", ok], ("--history and --save name the same file",)),
    ])
    assert not (tmp_path / "run.csv").exists()


def test_2_a_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    """The outputs pass the checks but --save cannot be written at the end (the network is
    written after training): nothing is left, and --history is not written either."""
    from nnviz import cli
    from nnviz.core.errors import DataError

    def fail(path):
        Path(path).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    history = tmp_path / "run.csv"
    with pytest.raises(DataError, match="--save .*m.npz: cannot write it \\(No space left on device\\)"):
        cli._write_all([("--history", history, lambda p: Path(p).write_text("epoch\n")),
                        ("--save", tmp_path / "m.npz", fail)])
    assert listing(tmp_path) == []


def test_3_unpickler_leaks_are_data_errors(tmp_path: Path, fm) -> None:
    deep_dtype = b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00f4\x89\x88\x87R" + b"N\x85" * 20000 + b"b."
    offsets = (b"\x80\x02cnumpy\nndarray\n(K\x01\x85cnumpy\ndtype\nX\x02\x00\x00\x00f4\x85RC\x01\x00"
               + b"\x8a\x09" + (2**70).to_bytes(9, "little") + b"tR.")
    paths = []
    for name, data in (("deep.pkl", deep_dtype), ("offsets.pkl", offsets), ("nest.pkl.gz", fm.gz(b"\x80\x02" + b"(" * 100000))):
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    check_all(tmp_path, [(["train", "--data", str(p)], (p.name,)) for p in paths])
    # numpy's own pickles of plain arrays load, the empty array (`__builtin__.bytes`) included
    e, el = np.zeros((0, 784), np.float32), np.zeros(0, np.int64)
    tr, va, te = fm.book_splits(12, 4, 4)
    (tmp_path / "empty-valid.pkl").write_bytes(pickle.dumps((tr, (e, el), te), protocol=2))
    r = nnviz("train", "--data", str(tmp_path / "empty-valid.pkl"), "--sizes", "784,5,10", "--epochs", "1",
              "--seed", "1", "--quiet", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("Epoch 0: "), r.stderr[-2000:]


def test_4_recipes_are_checked_whole(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    cases = [
        (recipe(tmp_path / "cost5.json", cost=5), ("cost5.json", "'config.cost'", "got 5")),
        (recipe(tmp_path / "costlist.json", cost=["quadratic"]), ("costlist.json", "'config.cost'")),
        (recipe(tmp_path / "dtype.json", dtype={"kind": 2**70}), ("dtype.json", "'config.dtype'")),
        (recipe(tmp_path / "epochs.json", epochs=10**12), ("epochs.json", "'config.epochs'", "10,000")),
        (recipe(tmp_path / "seed.json", seed=True), ("seed.json", "'config.seed'", "got true")),
        (recipe(tmp_path / "eta.json", events=[{"step": 3, "name": "eta", "value": 1e-9}]), ("eta.json", "event 0", "eta must lie between")),
        (recipe(tmp_path / "eta7.json", events=[{"step": 3, "name": "eta", "value": 1e7}]), ("eta7.json", "event 0")),
        (deep, ("deep.json", "nested too deeply")),
    ]
    check_all(tmp_path, [(["replay", str(p), "--headless"], needles) for p, needles in cases])


def test_4_saved_config_is_checked(tmp_path: Path) -> None:
    path = saved_network(tmp_path / "m.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["config"] = np.array(json.dumps({"seed": True, "eta": 3.0}))
    np.savez(path, **arrays)
    check_all(tmp_path, [(["train", "--load", str(path), "--epochs", "0"], ("m.npz", "'config.seed'"))])


def test_5_files_of_the_wrong_kind(tmp_path: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    (tmp_path / "plain.npz").write_bytes(buf.getvalue())
    (tmp_path / "image.npz").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    (tmp_path / "table.npz").write_text("label,pixel0\n5,0\n")
    (tmp_path / "folder.npz").mkdir()
    os.mkfifo(tmp_path / "pipe.pkl.gz")
    os.mkfifo(tmp_path / "pipe.json")
    check_all(tmp_path, [
        (["train", "--load", str(tmp_path / "plain.npz"), "--epochs", "0"], ("single numpy array (.npy)",)),
        (["train", "--data", str(tmp_path / "plain.npz")], ("single numpy array (.npy)",)),
        (["train", "--data", str(tmp_path / "image.npz")], ("a PNG image",)),
        (["train", "--data", str(tmp_path / "table.npz")], ("a text (CSV) file",)),
        (["train", "--load", str(tmp_path / "folder.npz"), "--epochs", "0"], ("is a folder, not a saved nnviz network",)),
        (["train", "--data", str(tmp_path / "pipe.pkl.gz")], ("named pipe (FIFO)",)),  # never blocks
        (["replay", str(tmp_path / "pipe.json"), "--headless"], ("named pipe (FIFO)",)),
    ])


def test_6_unwritable_download_cache_is_one_line(tmp_path: Path) -> None:
    r = nnviz("download", "--quiet", cwd=tmp_path, env={"NNVIZ_DATA_DIR": "/proc/self"})
    refused(r, "cannot download MNIST into /proc/self", "set NNVIZ_DATA_DIR to a writable folder")


@pytest.mark.parametrize("signum, status, message, delays", [
    (signal.SIGINT, 130, "nnviz: interrupted", (0.0, 0.002, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6)),
    (signal.SIGTERM, 143, "nnviz: terminated", (0.0, 0.02, 0.1, 0.4)),
])
def test_7_ctrl_c_at_any_moment(tmp_path: Path, signum, status, message, delays) -> None:
    """SIGINT from the first line of nnviz's own code (then its imports: numpy, the core) to
    the end of the run: "nnviz: interrupted", status 130, nothing left. (Before nnviz's
    first line, while Python itself starts, a Ctrl-C is the interpreter's.) SIGTERM the same,
    with "nnviz: terminated" and 143."""
    # what the `nnviz` entry point does, with a mark once nnviz's first line has run
    code = ("import sys, runpy; sys.argv = ['nnviz'] + sys.argv[1:]; import nnviz;"
            "sys.stdout.write('go\\n'); sys.stdout.flush(); runpy.run_module('nnviz', run_name='__main__')")
    out = tmp_path / "out"
    out.mkdir()
    outcomes = []
    for delay in delays:
        p = subprocess.Popen([sys.executable, "-c", code, "train", "--epochs", "3", "--seed", "1", "--quiet",
                              "--save", str(out / "m.npz"), "--history", str(out / "h.csv"), "--record",
                              str(out / "r.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=out,
                             env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
        assert p.stdout.readline() == b"go\n"  # nnviz's code starts now
        time.sleep(delay)
        p.send_signal(signum)
        stdout, stderr = p.communicate(timeout=120)
        if p.returncode == 0:  # the run had finished: its outputs are there
            assert sorted(os.listdir(out)) == ["h.csv", "m.npz", "r.json"]
            for f in list(out.iterdir()):
                f.unlink()
            outcomes.append("done")
            continue
        assert (p.returncode, stderr.decode().strip()) == (status, message), (delay, stderr.decode()[-2000:])
        assert os.listdir(out) == [], delay
        outcomes.append("interrupted")
    assert outcomes[:3] == ["interrupted"] * 3


def test_8_no_silent_surprises(tmp_path: Path, fm) -> None:
    model = saved_network(tmp_path / "m.npz")
    good = fm.gz(fm.py2_pickle(fm.book_splits(12, 4, 4)))
    crc = bytearray(good)
    crc[-8] ^= 0xFF
    (tmp_path / "crc.pkl.gz").write_bytes(bytes(crc))
    (tmp_path / "tail.pkl.gz").write_bytes(good + b"\x00garbage")
    (tmp_path / "tail.pkl").write_bytes(fm.py2_pickle(fm.book_splits(12, 4, 4)) + b"more")
    check_all(tmp_path, [
        (["train", "--load", str(model), "--sizes", "784,10", "--epochs", "0"], ("--sizes cannot be combined with --load",)),
        (["train", "--load", str(model), "--dtype", "float32", "--epochs", "0"], ("--dtype cannot be combined with --load",)),
        (["train", "--save", ""], ("--save needs a file name",)),
        (["train", "--data", ""], ("no data file given",)),
        (["train", "--data", str(tmp_path / "crc.pkl.gz")], ("crc.pkl.gz is a damaged gzip file", "incorrect data check")),
        (["train", "--data", str(tmp_path / "tail.pkl.gz")], ("tail.pkl.gz", "trailing garbage")),
        (["train", "--data", str(tmp_path / "tail.pkl")], ("tail.pkl", "trailing garbage")),
    ])
