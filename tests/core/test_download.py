"""Downloads against a local HTTP server: progress, digests, fallback, timeouts, cancel, cache."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nnviz.core import download
from nnviz.core.data import load_dataset, load_file
from nnviz.core.download import (
    DownloadCancelled,
    DownloadError,
    RemoteFile,
    Source,
    cache_dir,
    download_file,
    fetch_mnist,
)

FAST = (2.0, 2.0)  # connect, read timeouts for a local server


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def files_in(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative names), temp files included."""
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def leftovers(folder: Path) -> list[str]:
    """Anything that looks partial: temp files and staging folders."""
    if not folder.exists():
        return []
    return [str(p) for p in folder.rglob("*") if p.name.startswith(".") or p.name.endswith(".part")]


@pytest.fixture(scope="module")
def pickle_gz(fm) -> bytes:
    """A fake mnist.pkl.gz (60 train / 20 valid / 20 test), ~150 kB so it streams in chunks."""
    return fm.gz(fm.py2_pickle(fm.book_splits(60, 20, 20)))


def pickle_source(url: str, body: bytes, name: str = "pickle") -> Source:
    return Source(name, "pickle", (RemoteFile(url, "mnist.pkl.gz", md5=md5(body), size_hint=len(body)),))


def idx_source(server, fm, prefix: str = "/idx/") -> tuple[Source, dict[str, bytes]]:
    gzipped = {f"{name}.gz": fm.gz(data) for name, data in fm.idx_files(72, 20).items()}
    files = tuple(
        RemoteFile(server.serve(prefix + fn, body), fn, md5=md5(body), size_hint=len(body))
        for fn, body in gzipped.items()
    )
    return Source("idx mirror", "idx", files), gzipped


# ---------------------------------------------------------------- cache_dir


def test_cache_dir_uses_env_and_creates_it(data_dir: Path) -> None:
    assert not data_dir.exists()
    assert cache_dir() == data_dir
    assert data_dir.is_dir()


def test_mnist_sources_are_the_known_mirrors() -> None:
    sources = download.MNIST_SOURCES
    assert [s.kind for s in sources] == ["pickle", "pickle", "idx", "idx", "idx"]
    assert sources[0].files[0].url.startswith("https://github.com/mnielsen/")
    assert sources[0].files[0].md5 == sources[1].files[0].md5 == "a02cd19f81d51c426d7ca14024243ce9"
    for s in sources[2:]:
        assert len(s.files) == 4 and all(f.md5 and len(f.md5) == 32 for f in s.files)


# ---------------------------------------------------------------- download_file


def test_download_file_streams_with_progress(http_server, tmp_path: Path) -> None:
    body = np.random.default_rng(1).bytes(300_000)
    url = http_server.serve("/blob", body)
    calls: list[tuple[int, int | None]] = []
    dest = download_file(url, tmp_path / "blob", md5=md5(body), sha256=hashlib.sha256(body).hexdigest(),
                         progress=lambda d, t: calls.append((d, t)), timeout=FAST)
    assert dest.read_bytes() == body
    done = [d for d, _ in calls]
    assert calls[0] == (0, len(body)) and done[-1] == len(body)
    assert len(calls) >= 4 and all(b > a for a, b in zip(done, done[1:]))
    assert {t for _, t in calls} == {len(body)}
    assert files_in(tmp_path) == ["blob"]


def test_download_file_digest_mismatch_leaves_nothing(http_server, tmp_path: Path) -> None:
    url = http_server.serve("/mnist.pkl.gz", b"not the real thing")
    with pytest.raises(DownloadError, match=r"digest mismatch for mnist.pkl.gz: expected a02cd19f\w+, got \w+"):
        download_file(url, tmp_path / "mnist.pkl.gz", md5="a02cd19f81d51c426d7ca14024243ce9", timeout=FAST)
    assert files_in(tmp_path) == []


def test_download_file_sha256_mismatch(http_server, tmp_path: Path) -> None:
    url = http_server.serve("/mnist.npz", b"abc")
    with pytest.raises(DownloadError, match="digest mismatch for mnist.npz: expected 731c5ac6"):
        download_file(url, tmp_path / "mnist.npz",
                      sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", timeout=FAST)
    assert files_in(tmp_path) == []


def test_download_file_keeps_old_file_on_failure(http_server, tmp_path: Path) -> None:
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"old")
    url = http_server.serve("/f.bin", b"new", status=500)
    with pytest.raises(DownloadError, match="HTTP 500"):
        download_file(url, dest, timeout=FAST)
    assert dest.read_bytes() == b"old" and files_in(tmp_path) == ["f.bin"]


def test_download_file_truncated_body(http_server, tmp_path: Path) -> None:
    body = bytes(200_000)
    url = http_server.serve("/short", body, mode="truncate")
    with pytest.raises(DownloadError, match="truncated") as info:
        download_file(url, tmp_path / "short", md5=md5(body), timeout=FAST)
    assert "100,000 of 200,000 bytes" in str(info.value)
    assert files_in(tmp_path) == []


def test_download_file_404(http_server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"answered HTTP 404 \(Not Found\) for missing.gz"):
        download_file(http_server.url("/nothing-here"), tmp_path / "missing.gz", timeout=FAST)
    assert files_in(tmp_path) == []


def test_download_file_stalled_server_times_out(http_server, tmp_path: Path) -> None:
    url = http_server.serve("/stall", bytes(10_000), mode="stall")
    start = time.monotonic()
    with pytest.raises(DownloadError, match="timed out"):
        download_file(url, tmp_path / "stall", timeout=(2.0, 0.5))
    assert time.monotonic() - start < 3.0
    assert files_in(tmp_path) == []


def test_download_file_connection_refused(closed_port_url: str, tmp_path: Path) -> None:
    with pytest.raises(download.ConnectionFailed, match="could not connect to 127.0.0.1"):
        download_file(closed_port_url + "/x", tmp_path / "x", timeout=FAST)
    assert files_in(tmp_path) == []


def test_download_file_cancel_midway(http_server, tmp_path: Path) -> None:
    body = bytes(400_000)
    url = http_server.serve("/big", body)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        seen.append(done)
        if done > 0:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="download cancelled"):
        download_file(url, tmp_path / "big", progress=progress, cancel=cancel, timeout=FAST)
    assert max(seen) < len(body)
    assert files_in(tmp_path) == []


def test_download_file_already_cancelled_makes_no_request(http_server, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(DownloadCancelled):
        download_file(http_server.serve("/a", b"a"), tmp_path / "a", cancel=cancel, timeout=FAST)
    assert http_server.hits == []


# ---------------------------------------------------------------- fetch_mnist


def test_fetch_pickle_then_cache_is_reused(http_server, data_dir: Path, pickle_gz: bytes, closed_port_url) -> None:
    source = pickle_source(http_server.serve("/mnist.pkl.gz", pickle_gz), pickle_gz)
    calls: list[tuple[int, int | None]] = []
    path = fetch_mnist(sources=(source,), progress=lambda d, t: calls.append((d, t)), timeout=FAST)
    assert path == data_dir / "mnist.pkl.gz" and path.read_bytes() == pickle_gz
    assert calls[-1] == (len(pickle_gz), len(pickle_gz))
    assert http_server.hits == ["/mnist.pkl.gz"]

    # second call: verified cache, no request; even a source on a dead port is fine
    assert fetch_mnist(sources=(source,), timeout=FAST) == path
    dead = pickle_source(closed_port_url + "/mnist.pkl.gz", pickle_gz)
    assert fetch_mnist(sources=(dead,), timeout=FAST) == path
    assert http_server.hits == ["/mnist.pkl.gz"]
    assert files_in(data_dir) == ["mnist.pkl.gz"]

    ds = load_dataset(path)
    assert (ds.n_train, ds.n_validation, ds.n_test) == (60, 20, 20)


def test_fetch_redownloads_a_corrupted_cache(http_server, data_dir: Path, pickle_gz: bytes) -> None:
    data_dir.mkdir()
    (data_dir / "mnist.pkl.gz").write_bytes(pickle_gz[:1000])
    source = pickle_source(http_server.serve("/p", pickle_gz), pickle_gz)
    assert fetch_mnist(sources=(source,), timeout=FAST).read_bytes() == pickle_gz
    assert http_server.hits == ["/p"]


def test_fetch_falls_back_after_404(http_server, tmp_path: Path, pickle_gz: bytes) -> None:
    first = pickle_source(http_server.url("/gone/mnist.pkl.gz"), pickle_gz, "first")
    second = pickle_source(http_server.serve("/ok/mnist.pkl.gz", pickle_gz), pickle_gz, "second")
    path = fetch_mnist(cache_dir=tmp_path, sources=(first, second), timeout=FAST)
    assert path.read_bytes() == pickle_gz
    assert http_server.hits == ["/gone/mnist.pkl.gz", "/ok/mnist.pkl.gz"]
    assert files_in(tmp_path) == ["mnist.pkl.gz"]


def test_fetch_digest_mismatch_falls_through(http_server, tmp_path: Path, pickle_gz: bytes) -> None:
    bad = Source("bad", "pickle", (RemoteFile(http_server.serve("/bad", b"<html>oops</html>"), "mnist.pkl.gz",
                                              md5=md5(pickle_gz)),))
    good = pickle_source(http_server.serve("/good", pickle_gz), pickle_gz)
    assert fetch_mnist(cache_dir=tmp_path, sources=(bad, good), timeout=FAST).read_bytes() == pickle_gz
    assert http_server.hits == ["/bad", "/good"]


def test_fetch_reports_the_last_failure(http_server, tmp_path: Path, pickle_gz: bytes) -> None:
    first = pickle_source(http_server.url("/missing"), pickle_gz)
    wrong = b"<html>an error page</html>"
    last = Source("bad", "pickle", (RemoteFile(http_server.serve("/bad", wrong), "mnist.pkl.gz", md5=md5(pickle_gz)),))
    with pytest.raises(DownloadError) as info:
        fetch_mnist(cache_dir=tmp_path, sources=(first, last), timeout=FAST)
    msg = str(info.value)
    assert "digest mismatch for mnist.pkl.gz" in msg and md5(pickle_gz) in msg and md5(wrong) in msg
    assert "no network" not in msg and "\n" not in msg
    assert files_in(tmp_path) == []


def test_fetch_truncated_then_timeout_is_named(http_server, tmp_path: Path, pickle_gz: bytes) -> None:
    trunc = pickle_source(http_server.serve("/t", pickle_gz, mode="truncate"), pickle_gz)
    stall = pickle_source(http_server.serve("/s", pickle_gz, mode="stall"), pickle_gz)
    start = time.monotonic()
    with pytest.raises(DownloadError, match="any of 2 sources; last error: .*timed out"):
        fetch_mnist(cache_dir=tmp_path, sources=(trunc, stall), timeout=(2.0, 0.5))
    assert time.monotonic() - start < 3.0
    assert files_in(tmp_path) == []


def test_fetch_no_network(closed_port_url: str, tmp_path: Path, pickle_gz: bytes) -> None:
    sources = (pickle_source(closed_port_url + "/a", pickle_gz), pickle_source(closed_port_url + "/b", pickle_gz))
    with pytest.raises(DownloadError, match=r"^no network: use the bundled data or pass --data PATH$"):
        fetch_mnist(cache_dir=tmp_path, sources=sources, timeout=FAST)
    assert files_in(tmp_path) == []


def test_fetch_cancel_stops_without_fallback(http_server, tmp_path: Path, pickle_gz: bytes) -> None:
    first = pickle_source(http_server.serve("/one", pickle_gz), pickle_gz)
    second = pickle_source(http_server.serve("/two", pickle_gz), pickle_gz)
    cancel = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        fetch_mnist(cache_dir=tmp_path, sources=(first, second), progress=progress, cancel=cancel, timeout=FAST)
    assert http_server.hits == ["/one"]
    assert files_in(tmp_path) == []


def test_fetch_idx_source_progress_and_splits(http_server, fm, data_dir: Path) -> None:
    source, gzipped = idx_source(http_server, fm)
    total = sum(len(b) for b in gzipped.values())
    calls: list[tuple[int, int | None]] = []
    path = fetch_mnist(sources=(source,), progress=lambda d, t: calls.append((d, t)), timeout=FAST)
    assert path == data_dir / download.IDX_DIRNAME
    assert files_in(data_dir) == sorted(f"{download.IDX_DIRNAME}/{fn}" for fn in gzipped)
    done = [d for d, _ in calls]
    assert all(b >= a for a, b in zip(done, done[1:])) and done[-1] == total
    assert {t for _, t in calls} == {total}

    ds = load_file(path)
    assert (ds.n_train, ds.n_validation, ds.n_test) == (60, 12, 20)
    train_x, train_y = fm.digits(72, 0)
    assert np.array_equal(ds.validation_labels, train_y[60:])
    assert np.allclose(ds.train_images * 255, train_x[:60])

    hits = len(http_server.hits)
    assert fetch_mnist(sources=(source,), timeout=FAST) == path
    assert len(http_server.hits) == hits


def test_fetch_idx_partial_failure_leaves_nothing(http_server, fm, tmp_path: Path, pickle_gz: bytes) -> None:
    source, gzipped = idx_source(http_server, fm)
    http_server.routes["/idx/t10k-images-idx3-ubyte.gz"].mode = "truncate"  # the third of four files
    with pytest.raises(DownloadError, match="t10k-images-idx3-ubyte.gz is truncated"):
        fetch_mnist(cache_dir=tmp_path, sources=(source,), timeout=FAST)
    assert files_in(tmp_path) == [] and leftovers(tmp_path) == []

    # a later pickle source still works after the broken IDX mirror
    good = pickle_source(http_server.serve("/p", pickle_gz), pickle_gz)
    assert fetch_mnist(cache_dir=tmp_path, sources=(source, good), timeout=FAST).name == "mnist.pkl.gz"
    assert files_in(tmp_path) == ["mnist.pkl.gz"]


def test_load_dataset_mnist_downloads_once(http_server, data_dir: Path, pickle_gz: bytes, monkeypatch) -> None:
    source = pickle_source(http_server.serve("/mnist.pkl.gz", pickle_gz), pickle_gz)
    monkeypatch.setattr(download, "MNIST_SOURCES", (source,))
    calls: list[int] = []
    ds = load_dataset("mnist", progress=lambda d, t: calls.append(d))
    assert ds.name == "mnist" and (ds.n_train, ds.n_validation, ds.n_test) == (60, 20, 20)
    assert ds.class_names is None and ds.label_name(7) == "7" and ds.noun() == "digit"
    assert ds.train_images.dtype == np.float32 and ds.test_labels.dtype == np.int64
    assert calls and calls[-1] == len(pickle_gz)
    again = load_dataset("mnist", cache_dir=data_dir)
    assert np.array_equal(again.test_images, ds.test_images)
    assert http_server.hits == ["/mnist.pkl.gz"]


# ---------------------------------------------------------------- hostile servers (issue 10)


def test_overall_deadline_stops_a_trickling_server(http_server, tmp_path: Path, monkeypatch) -> None:
    """100 bytes every 20 ms never trips the read timeout; the per-file deadline stops it."""
    monkeypatch.setenv("NNVIZ_DOWNLOAD_DEADLINE", "0.5")
    url = http_server.serve("/slow", bytes(1_000_000), mode="trickle")
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=r"took longer than 0.5 s, the deadline \(set NNVIZ_DOWNLOAD_DEADLINE"):
        download_file(url, tmp_path / "slow", timeout=FAST)
    assert time.monotonic() - t0 < 5
    assert files_in(tmp_path) == []


def test_deadline_setting_is_checked(monkeypatch) -> None:
    monkeypatch.setenv("NNVIZ_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(download.DataError, match="NNVIZ_DOWNLOAD_DEADLINE must be a number of seconds, got 'soon'"):
        download.download_deadline()
    monkeypatch.delenv("NNVIZ_DOWNLOAD_DEADLINE")
    assert download.download_deadline() == download.DEFAULT_DEADLINE


def test_claimed_size_beyond_the_known_size_is_refused_at_once(http_server, data_dir: Path, pickle_gz) -> None:
    url = http_server.serve("/mnist.pkl.gz", pickle_gz, mode="stall", length=10_000_000_000)
    with pytest.raises(DownloadError, match=r"offers 10,000,000,000 bytes for mnist.pkl.gz, more than the [\d,]+ expected"):
        fetch_mnist(sources=(pickle_source(url, pickle_gz),), timeout=FAST)
    assert leftovers(data_dir) == []


def test_endless_body_is_cut_at_the_known_size(http_server, data_dir: Path, pickle_gz) -> None:
    """No Content-Length and a body that never ends: refused once it passes the known size."""
    url = http_server.serve("/mnist.pkl.gz", pickle_gz, mode="flood", length=-1)
    with pytest.raises(DownloadError, match="sent more than [\\d,]+ bytes for mnist.pkl.gz"):
        fetch_mnist(sources=(pickle_source(url, pickle_gz),), timeout=FAST)
    assert leftovers(data_dir) == []


def test_stale_partials_of_a_killed_download_are_cleaned(http_server, data_dir: Path, pickle_gz) -> None:
    """A download killed with SIGKILL leaves its .part file; the next download removes it."""
    import os
    import signal
    import subprocess
    import sys

    slow = http_server.serve("/slow.pkl.gz", pickle_gz, mode="trickle")
    code = ("import sys; from nnviz.core.download import *;"
            "s = Source('slow', 'pickle', (RemoteFile(sys.argv[1], 'mnist.pkl.gz', size_hint=10**6),));"
            "fetch_mnist(sources=(s,), timeout=(2, 2))")
    child = subprocess.Popen([sys.executable, "-c", code, slow], env=dict(os.environ, NNVIZ_DATA_DIR=str(data_dir)))
    try:
        t0 = time.monotonic()
        while not [p for p in data_dir.glob(".*.part") if p.stat().st_size > 0] and time.monotonic() - t0 < 30:
            time.sleep(0.02)  # waiting for the child to start writing, not for a result
        assert leftovers(data_dir), "the child never started downloading"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    # and a stale IDX staging folder of a process that is gone
    stale_dir = data_dir / ".mnist-idx.pid999999999.x.part"
    stale_dir.mkdir()
    (stale_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(b"partial")
    assert len(leftovers(data_dir)) >= 2
    url = http_server.serve("/mnist.pkl.gz", pickle_gz)
    fetch_mnist(sources=(pickle_source(url, pickle_gz),), timeout=FAST)
    assert leftovers(data_dir) == [] and files_in(data_dir) == ["mnist.pkl.gz"]


def test_partials_of_a_live_download_are_kept(data_dir: Path) -> None:
    import os

    data_dir.mkdir()
    mine = data_dir / f".mnist.pkl.gz.pid{os.getpid()}.abc.part"
    mine.write_bytes(b"in progress")
    assert download.clean_stale_partials(data_dir) == [] and mine.exists()


@pytest.mark.parametrize("kind", ["pickle", "idx"])
def test_unwritable_cache_is_one_line(http_server, monkeypatch, pickle_gz, fm, kind: str) -> None:
    """/proc/self exists but nothing can be created in it (even as root): one line, no traceback."""
    monkeypatch.setenv("NNVIZ_DATA_DIR", "/proc/self")
    if kind == "pickle":
        source = pickle_source(http_server.serve("/mnist.pkl.gz", pickle_gz), pickle_gz)
    else:
        source, _ = idx_source(http_server, fm)
    with pytest.raises(download.DataError, match=r"cannot download MNIST into /proc/self: .* \(set NNVIZ_DATA_DIR to a writable folder\)"):
        fetch_mnist(sources=(source,), timeout=FAST)
    assert http_server.hits == []


# ---------------------------------------------------------------- Fashion-MNIST and KMNIST


@pytest.mark.parametrize("name", ["fashion-mnist", "kmnist"])
def test_fashion_mnist_and_kmnist_download_beside_mnist_and_split_as_the_book_splits(
        http_server, fm, data_dir: Path, monkeypatch, name) -> None:
    from nnviz.core.data import EXTRA_DATASETS

    real = download.EXTRA_SOURCES[name][0]
    assert real.kind == "idx" and real.dirname == f"{name}-idx" and all(f.md5 for f in real.files)
    assert [f.filename for f in real.files] == [f.filename for f in download.MNIST_SOURCES[-1].files]
    mnist, _ = idx_source(http_server, fm, "/mnist/")
    fetch_mnist(sources=(mnist,), timeout=FAST)   # full MNIST already in the cache ...
    source, gzipped = idx_source(http_server, fm, f"/{name}/")
    monkeypatch.setitem(download.EXTRA_SOURCES, name,
                        (Source(real.name, "idx", source.files, real.dirname),))
    calls: list[tuple[int, int | None]] = []
    ds = load_dataset(name, progress=lambda d, t: calls.append((d, t)))   # ... is not mistaken for it
    assert (ds.n_train, ds.n_validation, ds.n_test) == (60, 12, 20)
    assert ds.name == name and ds.description == EXTRA_DATASETS[name][0]
    assert ds.class_names == EXTRA_DATASETS[name][1] and len(ds.class_names) == 10
    assert ds.label_name(7) == {"fashion-mnist": "Sneaker", "kmnist": "ya"}[name] and ds.noun() == "item"
    assert calls[-1] == (sum(len(b) for b in gzipped.values()),) * 2
    assert files_in(data_dir) == sorted([f"{download.IDX_DIRNAME}/{fn}" for fn in gzipped]
                                        + [f"{name}-idx/{fn}" for fn in gzipped])
    hits = len(http_server.hits)
    assert load_dataset(name).n_train == 60 and len(http_server.hits) == hits  # cached: no network


def test_a_damaged_fashion_mnist_download_leaves_nothing(http_server, fm, data_dir: Path, monkeypatch) -> None:
    source, _ = idx_source(http_server, fm, "/f/")
    http_server.routes["/f/train-labels-idx1-ubyte.gz"].mode = "truncate"
    monkeypatch.setitem(download.EXTRA_SOURCES, "fashion-mnist",
                        (Source("f", "idx", source.files, "fashion-mnist-idx"),))
    with pytest.raises(DownloadError, match="train-labels-idx1-ubyte.gz is truncated"):
        load_dataset("fashion-mnist")
    assert files_in(data_dir) == [] and leftovers(data_dir) == []
