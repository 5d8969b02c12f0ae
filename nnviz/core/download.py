"""Verified, cached downloads of full MNIST, with progress callbacks and cancel.

A file is streamed into a temporary file next to its destination, its digest checked,
then moved into place with ``os.replace``: the cache never holds a partial or corrupt
file. ``fetch_mnist`` tries each source in turn and only reports the last failure.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

import platformdirs

from nnviz import __version__
from nnviz.core.errors import DataError, DownloadError
from nnviz.core.files import make_ordinary

if TYPE_CHECKING:  # requests costs 0.1 s to import: only a download needs it
    import requests

__all__ = [
    "MNIST_SOURCES",
    "ConnectionFailed",
    "DownloadCancelled",
    "DownloadError",
    "RemoteFile",
    "Source",
    "cache_dir",
    "download_file",
    "fetch_extra",
    "fetch_mnist",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, "int | None"], None]
"""``progress(done_bytes, total_bytes)``; ``total_bytes`` is None when unknown."""

CHUNK_SIZE = 64 * 1024
DEFAULT_DEADLINE = 600.0  # seconds a whole file may take (17 MB at 30 kB/s); NNVIZ_DOWNLOAD_DEADLINE overrides
DEFAULT_MAX_BYTES = 100_000_000  # a file of unknown size may be at most this big
STALE_AGE = 3600.0  # a partial file untouched this long is an earlier run's, even if its pid lives
IDX_DIRNAME = "mnist-idx"  # the cache sub-folder that holds the four IDX files
NO_NETWORK = "no network: use the bundled data or pass --data PATH"
_HEADERS = {"User-Agent": f"nnviz/{__version__}", "Accept-Encoding": "identity"}


class DownloadCancelled(DownloadError):
    """The user cancelled the download (``cancel`` was set)."""


class ConnectionFailed(DownloadError):
    """The server could not be reached at all (no network, refused, DNS, connect timeout)."""


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file: where it is, what to call it, and its known digest."""

    url: str
    filename: str
    md5: str | None = None
    sha256: str | None = None
    size_hint: int | None = None  # bytes, for a progress total before the server answers


@dataclass(frozen=True)
class Source:
    """One place to get MNIST: the book's pickle (one file) or the four IDX files."""

    name: str
    kind: str  # "pickle" | "idx"
    files: tuple[RemoteFile, ...]
    dirname: str = IDX_DIRNAME  # the cache sub-folder of an "idx" source

    def __post_init__(self) -> None:
        if self.kind not in ("pickle", "idx"):
            raise ValueError(f"Source.kind must be 'pickle' or 'idx', got {self.kind!r}")
        if self.kind == "pickle" and len(self.files) != 1:
            raise ValueError("a 'pickle' source has exactly one file")


_PICKLE_MD5 = "a02cd19f81d51c426d7ca14024243ce9"
_PICKLE_SIZE = 17_051_982
_IDX_FILES = (  # filename, md5, size in bytes
    ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", 9_912_422),
    ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", 28_881),
    ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", 1_648_877),
    ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", 4_542),
)


def _idx_source(name: str, base_url: str) -> Source:
    files = tuple(RemoteFile(base_url + fn, fn, md5=md5, size_hint=size) for fn, md5, size in _IDX_FILES)
    return Source(name, "idx", files)


MNIST_SOURCES: tuple[Source, ...] = (
    Source(
        "the book's GitHub repository",
        "pickle",
        (
            RemoteFile(
                "https://github.com/mnielsen/neural-networks-and-deep-learning/raw/master/data/mnist.pkl.gz",
                "mnist.pkl.gz",
                md5=_PICKLE_MD5,
                size_hint=_PICKLE_SIZE,
            ),
        ),
    ),
    Source(
        "figshare",
        "pickle",
        (
            RemoteFile(
                "https://figshare.com/ndownloader/files/25635053",
                "mnist.pkl.gz",
                md5=_PICKLE_MD5,
                size_hint=_PICKLE_SIZE,
            ),
        ),
    ),
    _idx_source("ossci-datasets (S3)", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    _idx_source("cvdf-datasets (Google)", "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    _idx_source("yann.lecun.com", "http://yann.lecun.com/exdb/mnist/"),
)


# Two more 28x28, 10-class datasets in MNIST's IDX format (60,000 train / 10,000 test); the
# digests are those torchvision checks (torchvision/datasets/mnist.py).
_FASHION_FILES = (
    ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
    ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
    ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
)
_KMNIST_FILES = (
    ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
    ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
    ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
    ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
)


def _idx_files_source(name: str, base_url: str, files: tuple, dirname: str) -> Source:
    return Source(name, "idx", tuple(RemoteFile(base_url + fn, fn, md5=md5) for fn, md5 in files), dirname)


EXTRA_SOURCES: dict[str, tuple[Source, ...]] = {  # looked up at call time (tests replace them)
    "fashion-mnist": (_idx_files_source("Zalando Research (S3)", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                                        _FASHION_FILES, "fashion-mnist-idx"),),
    "kmnist": (_idx_files_source("ROIS-CODH", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
                                 _KMNIST_FILES, "kmnist-idx"),),
}


def fetch_extra(name: str, **kwargs: Any) -> Path:
    """Fashion-MNIST (``"fashion-mnist"``) or KMNIST (``"kmnist"``) in the cache, as
    :func:`fetch_mnist` does it (verified, atomic, cancellable); returns the IDX folder."""
    return fetch_mnist(sources=EXTRA_SOURCES[name], **kwargs)


def download_deadline() -> float:
    """Seconds one file may take: ``$NNVIZ_DOWNLOAD_DEADLINE`` if set, else DEFAULT_DEADLINE."""
    env = os.environ.get("NNVIZ_DOWNLOAD_DEADLINE", "").strip()
    if not env:
        return DEFAULT_DEADLINE
    try:
        value = float(env)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1e7:
        raise DataError(f"NNVIZ_DOWNLOAD_DEADLINE must be a number of seconds, got {env[:40]!r}")
    return value


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def clean_stale_partials(root: Path) -> list[Path]:
    """Remove the partial downloads (``.*.part`` files and IDX staging folders) that earlier,
    killed runs left in ``root``: those whose process is gone, or untouched for an hour.
    Returns what was removed."""
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    now = time.time()
    for p in entries:
        if not (p.name.startswith(".") and p.name.endswith(".part")):
            continue
        m = re.search(r"\.pid(\d+)\.", p.name)
        try:
            age = now - p.lstat().st_mtime
        except OSError:
            continue
        if (m is not None and _pid_alive(int(m.group(1)))) and age < STALE_AGE:
            continue  # another nnviz is downloading right now
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
        except OSError as exc:
            log.info("could not remove the stale partial download %s: %s", p, exc)
    return removed


def cache_dir() -> Path:
    """The folder for downloaded data: ``$NNVIZ_DATA_DIR`` if set, else the user cache dir."""
    env = os.environ.get("NNVIZ_DATA_DIR")
    path = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("nnviz", appauthor=False))
    return _ensure_dir(path)


def _ensure_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the data folder {path}: {exc.strerror or exc}") from exc
    return path


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _read_timeout(timeout: float | tuple[float, float]) -> float:
    return timeout[1] if isinstance(timeout, tuple) else timeout


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled("download cancelled")


class _Digests:
    """md5 and/or sha256 computed as the bytes stream in, compared at the end."""

    def __init__(self, md5: str | None, sha256: str | None) -> None:
        self.expected = [(name, want.lower()) for name, want in (("md5", md5), ("sha256", sha256)) if want]
        self.hashes = {name: hashlib.new(name, usedforsecurity=False) for name, _ in self.expected}

    def update(self, chunk: bytes) -> None:
        for h in self.hashes.values():
            h.update(chunk)

    def check(self, filename: str) -> None:
        for name, want in self.expected:
            got = self.hashes[name].hexdigest()
            if got != want:
                raise DownloadError(f"digest mismatch for {filename}: expected {want}, got {got}")


def _file_matches(path: Path, md5: str | None, sha256: str | None) -> bool:
    """True if ``path`` is a file whose digests match (any digest that is given)."""
    if not path.is_file():
        return False
    digests = _Digests(md5, sha256)
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digests.update(chunk)
        digests.check(path.name)
    except (OSError, DownloadError):
        return False
    return True


def download_file(
    url: str,
    dest: Path,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout: float | tuple[float, float] = (10, 30),
    session: requests.Session | None = None,
    max_bytes: int | None = None,
    deadline: float | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically; verify the digest(s) given; return ``dest``.

    ``progress(done_bytes, total_bytes)`` is called once the server answers (with 0) and
    after every chunk; ``total_bytes`` is the Content-Length or None. ``cancel`` is checked
    between chunks. At most ``max_bytes`` (default DEFAULT_MAX_BYTES) are accepted, and the
    whole file must arrive within ``deadline`` seconds (default :func:`download_deadline`;
    checked between reads, so it may be overrun by one read timeout). Raises
    DownloadCancelled, ConnectionFailed or DownloadError; on any failure ``dest`` is left
    as it was and no temporary file remains.
    """
    dest = Path(dest)
    _check_cancel(cancel)
    _ensure_dir(dest.parent)
    if session is None:
        import requests

        with requests.Session() as own:
            return download_file(
                url, dest, md5=md5, sha256=sha256, progress=progress, cancel=cancel, timeout=timeout, session=own,
                max_bytes=max_bytes, deadline=deadline,
            )

    name = dest.name
    limits = (DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
              download_deadline() if deadline is None else deadline)
    try:
        tmp_fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{name}.pid{os.getpid()}.", suffix=".part")
    except OSError as exc:
        raise DownloadError(f"cannot write into {dest.parent}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(tmp_fd, "wb") as out:
            make_ordinary(tmp)  # mkstemp's 0600 -> what the umask gives (0644 usually)
            _stream(url, out, name, session, md5, sha256, progress, cancel, timeout, limits)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DownloadError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _stream(
    url: str,
    out: BinaryIO,
    name: str,
    session: requests.Session,
    md5: str | None,
    sha256: str | None,
    progress: Progress | None,
    cancel: threading.Event | None,
    timeout: float | tuple[float, float],
    limits: tuple[int, float] = (DEFAULT_MAX_BYTES, DEFAULT_DEADLINE),
) -> None:
    """GET ``url`` and write its body to ``out``, checking length, size cap, deadline,
    digests and cancel."""
    import requests
    import urllib3.exceptions

    host = _host(url)
    digests = _Digests(md5, sha256)
    done, total = 0, None
    max_bytes, deadline = limits
    give_up = time.monotonic() + deadline
    try:
        with session.get(url, stream=True, timeout=timeout, headers=_HEADERS) as resp:
            if resp.status_code >= 400:
                raise DownloadError(f"{host} answered HTTP {resp.status_code} ({resp.reason}) for {name}")
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() and len(length) < 20 else None
            if total is not None and total > max_bytes:
                raise DownloadError(f"{host} offers {total:,} bytes for {name}, more than the {max_bytes:,} "
                                    "expected: refused")
            if progress is not None:
                progress(0, total)
            # raw bytes, exactly as served: the digest is of the file, not of a decoded body
            for chunk in _chunks(resp.raw):
                _check_cancel(cancel)
                if time.monotonic() > give_up:
                    raise DownloadError(
                        f"download of {name} from {host} took longer than {deadline:g} s, the deadline "
                        "(set NNVIZ_DOWNLOAD_DEADLINE to allow more seconds)")
                if not chunk:
                    continue
                if done + len(chunk) > max_bytes:
                    raise DownloadError(f"{host} sent more than {max_bytes:,} bytes for {name}, more than "
                                        "expected: refused")
                out.write(chunk)
                digests.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            _check_cancel(cancel)
    except (requests.ConnectTimeout, requests.exceptions.ProxyError) as exc:
        raise ConnectionFailed(f"could not connect to {host} (timed out)") from exc
    except requests.exceptions.SSLError as exc:
        raise DownloadError(f"secure connection to {host} failed (SSL error)") from exc
    except requests.ConnectionError as exc:
        if exc.args and isinstance(exc.args[0], urllib3.exceptions.ProtocolError):
            raise DownloadError(f"{host} closed the connection before sending {name}") from exc
        raise ConnectionFailed(f"could not connect to {host}") from exc
    except (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
        secs = _read_timeout(timeout)
        raise DownloadError(f"{host} sent nothing for {secs:g} s while downloading {name} (timed out)") from exc
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError, requests.RequestException) as exc:
        if total is not None and done < total:
            raise DownloadError(
                f"download of {name} is truncated: got {done:,} of {total:,} bytes (the connection was interrupted)"
            ) from exc
        raise DownloadError(f"download of {name} from {host} failed: {type(exc).__name__}") from exc
    if total is not None and done != total:
        raise DownloadError(f"download of {name} is truncated: got {done:,} of {total:,} bytes")
    digests.check(name)


def _chunks(raw: Any) -> Iterator[bytes]:
    """The body as it arrives: each read returns what one receive brings (``read1``), so a
    trickling server cannot hold one read for long and the deadline is checked often."""
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # urllib3 1.x
        yield from raw.stream(CHUNK_SIZE, decode_content=False)
        return
    while True:
        chunk = read1(CHUNK_SIZE, decode_content=False)
        if not chunk:
            return
        yield chunk


def _resolve_cache_dir(given: str | os.PathLike | None) -> Path:
    return cache_dir() if given is None else _ensure_dir(Path(given).expanduser())


def _target(root: Path, source: Source) -> Path:
    """Where a source lives in the cache: the pickle file, or the IDX folder."""
    return root / source.files[0].filename if source.kind == "pickle" else root / source.dirname


def _is_cached(root: Path, source: Source) -> bool:
    target = _target(root, source)
    if source.kind == "pickle":
        f = source.files[0]
        return _file_matches(target, f.md5, f.sha256)
    return all(_file_matches(target / f.filename, f.md5, f.sha256) for f in source.files)


def fetch_mnist(
    *,
    cache_dir: str | os.PathLike | None = None,
    sources: tuple[Source, ...] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout: float | tuple[float, float] = (10, 30),
) -> Path:
    """Make sure full MNIST is in the cache; return the pickle path or the IDX folder.

    Uses a verified cached copy if there is one (no network). Otherwise tries ``sources``
    (default: ``MNIST_SOURCES``, looked up at call time) in order; a failing source falls
    through to the next; cancel stops at once. For a multi-file source,
    ``progress`` reports cumulative bytes against the summed total. Loads nothing.
    """
    if sources is None:
        sources = MNIST_SOURCES
    if not sources:
        raise DownloadError("no download sources given")
    root = _resolve_cache_dir(cache_dir)
    for source in sources:
        if _is_cached(root, source):
            return _target(root, source)
    clean_stale_partials(root)
    _check_writable(root)

    failures: list[DownloadError] = []
    import requests

    with requests.Session() as session:
        for source in sources:
            _check_cancel(cancel)
            try:
                return _fetch_source(root, source, session, progress, cancel, timeout)
            except DownloadCancelled:
                raise
            except DownloadError as exc:
                log.info("MNIST source %s failed: %s", source.name, exc)
                failures.append(exc)
    if all(isinstance(exc, ConnectionFailed) for exc in failures):
        raise DownloadError(NO_NETWORK) from failures[-1]
    raise DownloadError(
        f"could not download MNIST from any of {len(sources)} sources; last error: {failures[-1]}"
    ) from failures[-1]


def _check_writable(root: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(dir=root, prefix=".nnviz-write-check.", suffix=".tmp")
    except OSError as exc:
        raise DataError(f"cannot download MNIST into {root}: {exc.strerror or exc} "
                        "(set NNVIZ_DATA_DIR to a writable folder)") from None
    os.close(fd)
    os.unlink(probe)


def _max_bytes(f: RemoteFile) -> int | None:
    """The most a file may weigh: its known size (and a little), else the default cap."""
    return None if f.size_hint is None else f.size_hint + CHUNK_SIZE


def _fetch_source(
    root: Path,
    source: Source,
    session: requests.Session,
    progress: Progress | None,
    cancel: threading.Event | None,
    timeout: float | tuple[float, float],
) -> Path:
    """Download every file of one source; all of them land in the cache, or none."""
    sizes: list[int | None] = [f.size_hint for f in source.files]
    finished = 0  # bytes of the files already complete

    def report(index: int) -> Progress | None:
        if progress is None:
            return None

        def on_chunk(done: int, total: int | None) -> None:
            if total is not None:
                sizes[index] = total
            summed = None if any(s is None for s in sizes) else sum(sizes)
            progress(finished + done, summed)

        return on_chunk

    if source.kind == "pickle":
        f = source.files[0]
        return download_file(
            f.url,
            _target(root, source),
            md5=f.md5,
            sha256=f.sha256,
            progress=report(0),
            cancel=cancel,
            timeout=timeout,
            session=session,
            max_bytes=_max_bytes(f),
        )

    final = _target(root, source)
    try:
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{source.dirname}.pid{os.getpid()}.", suffix=".part"))
    except OSError as exc:
        raise DataError(f"cannot download MNIST into {root}: {exc.strerror or exc} "
                        "(set NNVIZ_DATA_DIR to a writable folder)") from None
    try:
        for i, f in enumerate(source.files):
            path = download_file(
                f.url,
                staging / f.filename,
                md5=f.md5,
                sha256=f.sha256,
                progress=report(i),
                cancel=cancel,
                timeout=timeout,
                session=session,
                max_bytes=_max_bytes(f),
            )
            finished += path.stat().st_size
        _ensure_dir(final)
        for f in source.files:
            os.replace(staging / f.filename, final / f.filename)
    except OSError as exc:
        raise DownloadError(f"cannot write into {final}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
