"""Property-based fuzzing of every loader and parser (issue 10), run by test_fuzz.py in a
subprocess under a memory limit: ``python fuzz_targets.py TARGET EXAMPLES``.

The property: whatever the bytes or JSON, a loader returns or raises an NnvizError — never
another exception, never a MemoryError (the subprocess's address space is limited, so an
allocation sized from a file's header fails loudly instead of swapping). Exit status 0
when the property held; otherwise hypothesis prints the falsifying example.
"""

from __future__ import annotations

import atexit
import io
import json
import shutil
import pickle
import struct
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import fixtures_mnist as fm  # noqa: E402

from nnviz.core.data import load_file  # noqa: E402
from nnviz.core.errors import NnvizError  # noqa: E402
from nnviz.core.history import load_network, save_network  # noqa: E402
from nnviz.core.network import Network, parse_sizes  # noqa: E402
from nnviz.core.recipe import parse_recipe  # noqa: E402
from nnviz.core.training import TrainConfig  # noqa: E402

WORK = Path(tempfile.mkdtemp(prefix="nnviz-fuzz-"))
atexit.register(shutil.rmtree, WORK, True)
COUNT = {"examples": 0, "refused": 0}


def holds(call) -> None:
    """Run ``call``: fine if it returns or raises an NnvizError with a one-line message."""
    COUNT["examples"] += 1
    try:
        call()
    except NnvizError as e:
        COUNT["refused"] += 1
        msg = str(e)
        assert msg and "\n" not in msg and len(msg) < 600, f"not one short line: {msg[:800]!r}"


def write(name: str, data: bytes) -> Path:
    path = WORK / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- valid seeds to mutate

SPLITS = fm.book_splits(6, 2, 2)
PICKLES = [fm.py2_pickle(SPLITS)] + [pickle.dumps(SPLITS, protocol=p) for p in (2, 3, 4, 5)]


def _keras_npz() -> bytes:
    path = WORK / "seed-keras.npz"
    fm.keras_npz(path, 6, 2)
    return path.read_bytes()


def _network_npz(config_json: str | None = None, history_json: str | None = None) -> bytes:
    path = WORK / "seed-net.npz"
    net = Network([784, 3, 10], seed=1)
    save_network(path, net, TrainConfig(sizes=(784, 3, 10), seed=1).validated())
    if config_json is None and history_json is None:
        return path.read_bytes()
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    if config_json is not None:
        arrays["config"] = np.array(config_json)
    if history_json is not None:
        arrays["history"] = np.array(history_json)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


KERAS = _keras_npz()
NETWORK = _network_npz()
IDX = fm.idx_files(6, 2)
RECIPE = {"format": "nnviz-recipe-1", "data": "bundled",
          "config": {"sizes": [784, 30, 10], "epochs": 3, "mini_batch_size": 10, "eta": 3.0,
                     "cost": "quadratic", "seed": 1, "dtype": "float64"},
          "events": [{"step": 1, "name": "eta", "value": 0.5}, {"step": 2, "name": "pause"}]}


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A valid file, damaged: truncated, bytes flipped, bytes inserted, or a 4/8-byte field
    overwritten with a huge or odd number (sizes, lengths, counts)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "field4", "field8"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "truncate":
            del data[pos:]
        elif kind == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind in ("field4", "field8"):
            n = 4 if kind == "field4" else 8
            value = draw(st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1, 10**12, 2**62, 2**63 - 1, 2**64 - 1]))
            data[pos:pos + n] = value.to_bytes(8, draw(st.sampled_from(["little", "big"])))[:n]
    return bytes(data)


def _npz_with_header(header: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        raw = header.encode("latin1")
        raw += b" " * ((-len(raw) - 11) % 64) + b"\n"
        z.writestr("x_train.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(raw)) + raw + payload)
        for k in ("y_train", "x_test", "y_test"):
            b = io.BytesIO()
            np.save(b, np.zeros(2, np.uint8))
            z.writestr(k + ".npy", b.getvalue())
    return buf.getvalue()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)


# ---------------------------------------------------------------- targets

SETTINGS = dict(deadline=None, database=None, derandomize=False,
                suppress_health_check=list(HealthCheck))


def data_random_bytes(n: int) -> None:
    @settings(max_examples=n, **SETTINGS)
    @given(st.binary(max_size=2000), st.sampled_from(["x.pkl", "x.pkl.gz", "x.npz", "x.bin"]),
           st.sampled_from([b"", b"\x80\x02", b"\x80\x05", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", b"PK\x03\x04",
                            b"\x93NUMPY", b"\x00\x00\x08\x03"]))
    def run(body, name, prefix):
        holds(lambda: load_file(write(name, prefix + body)))
    run()


def data_mutated_pickles(n: int) -> None:
    gz = [fm.gz(p) for p in PICKLES[:2]]

    @settings(max_examples=n, **SETTINGS)
    @given(mutated(PICKLES + gz))
    def run(data):
        holds(lambda: load_file(write("m.pkl", data)))
    run()


def data_mutated_npz(n: int) -> None:
    @settings(max_examples=n, **SETTINGS)
    @given(mutated([KERAS]))
    def run(data):
        holds(lambda: load_file(write("m.npz", data)))
    run()


def data_npy_headers(n: int) -> None:
    """npy headers with random descr / shape / order: checked before any allocation."""
    descr = st.sampled_from(["'<f4'", "'|u1'", "'<i8'", "'|O'", "'<U10'", "[('a', '<f4')]", "'V1000'", "'<f8'",
                             "('<f4', (1000000, 1000000))", "'>c16'", "'|b1'"])
    dim = st.sampled_from([0, 1, 2, 28, 784, 10**6, 2**31, 2**62, 2**70])

    @settings(max_examples=n, **SETTINGS)
    @given(descr, st.lists(dim, max_size=4), st.booleans(), st.binary(max_size=64))
    def run(d, shape, fortran, payload):
        header = f"{{'descr': {d}, 'fortran_order': {fortran}, 'shape': {tuple(shape)}, }}"
        holds(lambda: load_file(write("h.npz", _npz_with_header(header, payload))))
    run()


def data_mutated_idx(n: int) -> None:
    names = sorted(IDX)

    @settings(max_examples=n, **SETTINGS)
    @given(st.sampled_from(names), mutated([IDX[k] for k in names]), st.booleans())
    def run(which, data, compress):
        folder = WORK / "idx"
        files = dict(IDX)
        files[which] = data
        for p in folder.glob("*"):
            p.unlink()
        fm.write_idx_dir(folder, files, compress=compress)
        holds(lambda: load_file(folder))
    run()


def network_mutated(n: int) -> None:
    @settings(max_examples=n, **SETTINGS)
    @given(mutated([NETWORK]) | st.binary(max_size=500))
    def run(data):
        holds(lambda: load_network(write("n.npz", data)))
    run()


def network_random_config(n: int) -> None:
    @settings(max_examples=n, **SETTINGS)
    @given(json_values, json_values, st.sampled_from(["config", "history"]))
    def run(value, row, which):
        text = json.dumps(value)
        data = (_network_npz(config_json=text) if which == "config"
                else _network_npz(history_json=json.dumps([row, value])))
        holds(lambda: load_network(write("c.npz", data)))
    run()


def recipe_random(n: int) -> None:
    fields = ["format", "data", "config", "events"]
    cfg_fields = list(RECIPE["config"])

    @settings(max_examples=n, **SETTINGS)
    @given(json_values, st.sampled_from(fields + cfg_fields + ["event"]), st.text(max_size=200))
    def run(value, where, text):
        doc = json.loads(json.dumps(RECIPE))
        if where in fields:
            doc[where] = value
        elif where == "event":
            doc["events"][0]["value"] = value
        else:
            doc["config"][where] = value
        holds(lambda: parse_recipe(json.dumps(doc), "r.json"))
        holds(lambda: parse_recipe(text, "r.json"))
        holds(lambda: parse_recipe(json.dumps(value), "r.json"))
    run()


def sizes_random(n: int) -> None:
    @settings(max_examples=n, **SETTINGS)
    @given(st.text(max_size=60) | st.lists(st.integers(-(2**70), 2**70) | st.floats() | st.booleans(), max_size=40))
    def run(sizes):
        def call():
            try:
                parse_sizes(sizes)
            except NnvizError:
                raise
        holds(call)
    run()


TARGETS = {f.__name__: f for f in (data_random_bytes, data_mutated_pickles, data_mutated_npz, data_npy_headers,
                                   data_mutated_idx, network_mutated, network_random_config, recipe_random,
                                   sizes_random)}

if __name__ == "__main__":
    TARGETS[sys.argv[1]](int(sys.argv[2]))
    print(f"{sys.argv[1]}: {COUNT['examples']} cases, {COUNT['refused']} refused with one line, 0 escaped")
