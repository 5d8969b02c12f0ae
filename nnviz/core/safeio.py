"""Reading files a user hands us, safely: only regular files, sizes checked before
anything is allocated, decompression streamed under a cap, damage detected.

Every problem is a :class:`DataError` whose one-line message names the file and, when a
limit is hit, the limit. Nothing here runs code from a file.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from nnviz.core.errors import DataError

MB = 1_000_000
# Full MNIST is 220 MB uncompressed in the book's float32 pickle (55 MB of pixels as
# uint8, the IDX images 47 MB): a data file may hold at most this much.
MAX_DATA_BYTES = 300 * MB
MAX_ZIP_DIRECTORY = 1 << 20  # bytes of a zip's table of contents (an npz has a few entries)
CHUNK = 1 << 16


def why(exc: BaseException) -> str:
    """An exception as a short phrase for a one-line message (never a page of bytes)."""
    text = " ".join(str(exc).split())
    return text[:100] + ("…" if len(text) > 100 else "") if text else type(exc).__name__


def _describe_mode(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def check_regular(path: str | os.PathLike, what: str = "file") -> os.stat_result:
    """The stat of ``path`` if it is a regular file (without opening it), else DataError."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DataError(f"no such file: {p}") from None
    except OSError as exc:
        raise DataError(f"cannot read {p}: {exc.strerror or exc}") from None
    kind = _describe_mode(st.st_mode)
    if kind is not None:
        raise DataError(f"{p} is {kind}, not a {what}")
    return st


def open_regular(path: str | os.PathLike, what: str = "file") -> BinaryIO:
    """Open ``path`` for reading if it is a regular file; never blocks on a FIFO."""
    p = Path(path)
    check_regular(p, what)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise DataError(f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        kind = _describe_mode(os.fstat(fd).st_mode)  # it may have been swapped since the stat
        if kind is not None:
            raise DataError(f"{p} is {kind}, not a {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_limited(path: str | os.PathLike, limit: int, what: str = "file") -> bytes:
    """The whole of a small regular file, refused if it is larger than ``limit`` bytes."""
    p = Path(path)
    st = check_regular(p, what)
    if st.st_size > limit:
        raise DataError(f"{p.name} is {st.st_size:,} bytes: larger than the {limit:,}-byte limit for a {what}")
    with open_regular(p, what) as f:
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise DataError(f"cannot read {p}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise DataError(f"{p.name} is larger than the {limit:,}-byte limit for a {what}")
    return data


def sniff(head: bytes) -> str:
    """What a file that starts with ``head`` looks like, in a few words."""
    if not head:
        return "an empty file"
    if head.startswith(b"\x93NUMPY"):
        return "a single numpy array (.npy), not an .npz archive"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head.startswith(b"\xff\xd8\xff"):
        return "a JPEG image"
    if head.startswith(b"GIF8"):
        return "a GIF image"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    if head.startswith(b"PK"):
        return "a zip archive"
    if head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
        return "a Python pickle"
    if head[:3] == b"\x00\x00\x08":
        return "an IDX file"
    if head.startswith((b"BZh",)):
        return "a bzip2 file"
    if head.startswith(b"\xfd7zXZ"):
        return "an xz file"
    text = head[:512]
    try:
        s = text.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of an unknown kind"
    if s.lstrip().startswith(("{", "[")):
        return "a JSON/text file"
    if "," in s or ";" in s or "\t" in s:
        return "a text (CSV) file"
    return "a text file"


# --------------------------------------------------------------------------- streams


class CappedReader:
    """``read``/``readline`` over a binary stream, refusing to go past ``limit`` bytes.

    A request for more bytes than are left under the limit never allocates them: it reads
    at most ``limit + 1`` bytes in all and says the file is too large."""

    def __init__(self, stream: Any, limit: int, name: str, what: str = "file") -> None:
        self.stream, self.left, self.limit, self.name, self.what = stream, limit, limit, name, what

    def _too_big(self) -> DataError:
        return DataError(
            f"{self.name} holds more than {self.limit:,} bytes of data, the limit for {self.what} "
            "(full MNIST needs 220 MB)")

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.left + 1
        if n > self.left:
            data = self.stream.read(self.left + 1)
            if len(data) > self.left:
                raise self._too_big()
            self.left -= len(data)
            return data
        data = self.stream.read(n)
        self.left -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self.stream.readline(self.left + 1)
        if len(data) > self.left:
            raise self._too_big()
        self.left -= len(data)
        return data


class _GzipRaw(io.RawIOBase):
    """A gzip stream decompressed chunk by chunk: CRC and length of every member checked,
    concatenated members allowed, anything else after the last member refused."""

    def __init__(self, f: BinaryIO, name: str) -> None:
        self.f, self.name = f, name
        self.d = zlib.decompressobj(wbits=31)
        self.pending = b""  # compressed input not yet given to the decompressor
        self.done = False

    def readable(self) -> bool:
        return True

    def _input(self) -> bytes:
        if self.pending:
            data, self.pending = self.pending, b""
            return data
        return self.f.read(CHUNK)

    def readinto(self, b: Any) -> int:
        n = len(b)
        while not self.done:
            if self.d.unconsumed_tail:
                data = self.d.unconsumed_tail
            else:
                data = self._input()
                if not data:
                    if self.d.eof:
                        self.done = True
                        break
                    raise DataError(f"{self.name} is truncated (the download may have been interrupted)")
            try:
                out = self.d.decompress(data, n)
            except zlib.error as exc:
                raise DataError(f"{self.name} is a damaged gzip file ({exc}); delete it and get it again") from None
            if self.d.eof:
                self._next_member(self.d.unused_data)
            if out:
                b[: len(out)] = out
                return len(out)
        return 0

    def _next_member(self, rest: bytes) -> None:
        """After a member's end: another member, the end of the file, or trailing garbage."""
        while len(rest) < 2:
            more = self.f.read(CHUNK)
            if not more:
                break
            rest += more
        if not rest:
            self.done = True
            return
        if not rest.startswith(b"\x1f\x8b"):
            raise DataError(f"{self.name} has data after the end of its gzip stream (trailing garbage): "
                            "it is damaged; delete it and get it again")
        self.d = zlib.decompressobj(wbits=31)
        self.pending = rest


def gzip_reader(f: BinaryIO, name: str) -> io.BufferedReader:
    """A buffered reader of the decompressed contents of the gzip stream ``f``."""
    return io.BufferedReader(_GzipRaw(f, name), CHUNK)


def expect_end(stream: Any, name: str, what: str = "data") -> None:
    """DataError unless ``stream`` is at its end (which also checks a gzip CRC)."""
    if stream.read(1):
        raise DataError(f"{name} has extra bytes after its {what} (trailing garbage): it is damaged")


# --------------------------------------------------------------------------- npz

PLAIN_KINDS = "biuf"


def open_zip(f: BinaryIO, name: str, expected: str) -> zipfile.ZipFile:
    """A ZipFile over ``f`` after checking its table of contents is of a sane size."""
    try:
        end = zipfile._EndRecData(f)  # noqa: SLF001 - the only way to see the size first
    except (OSError, ValueError, EOFError, OverflowError) as exc:
        raise DataError(f"{name} is truncated or damaged ({why(exc)}), not {expected}") from None
    if end is None:
        f.seek(0)
        kind = sniff(f.read(512))
        if kind == "a zip archive":
            raise DataError(f"{name} is truncated or damaged (no zip table of contents), not {expected}")
        raise DataError(f"{name} is {kind}, not {expected}")
    if end[zipfile._ECD_SIZE] > MAX_ZIP_DIRECTORY:  # noqa: SLF001
        raise DataError(f"{name}: its zip table of contents is {end[zipfile._ECD_SIZE]:,} bytes, "  # noqa: SLF001
                        f"more than the {MAX_ZIP_DIRECTORY:,}-byte limit for {expected}")
    try:
        f.seek(0)
        return zipfile.ZipFile(f)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, OverflowError,
            NotImplementedError, UnicodeDecodeError) as exc:
        raise DataError(f"{name} is truncated or damaged ({why(exc)}), not {expected}") from None


def npz_keys(zf: zipfile.ZipFile) -> list[str]:
    return [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]


def read_npy_member(zf: zipfile.ZipFile, key: str, name: str, *, max_bytes: int,
                    kinds: str = PLAIN_KINDS, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """The array ``key`` of an npz, read without pickles and without trusting its sizes.

    The header's dtype must be a plain number type (``kinds``) and its declared size at
    most ``max_bytes`` (and ``shape``, if given) before a byte of data is read; the data
    must fill the member exactly and pass the zip's CRC check."""
    where = f"{name}: {key}"
    try:
        info = zf.getinfo(key + ".npy")
    except KeyError:
        try:
            info = zf.getinfo(key)
        except KeyError:
            raise DataError(f"{name} has no array {key!r}") from None
    try:
        with zf.open(info) as m:
            try:
                version = np.lib.format.read_magic(m)
                if version == (1, 0):
                    dshape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
                elif version == (2, 0):
                    dshape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
            except (zipfile.BadZipFile, EOFError, zlib.error, OSError):
                raise
            except Exception as exc:  # noqa: BLE001 - any failure to parse a header (tokenize, ast, ...)
                raise DataError(f"{where} is not a valid numpy array ({type(exc).__name__}: {why(exc)})") from None
            if dtype.hasobject:
                raise DataError(
                    f"{name} holds Python objects (an object array) in {key}; for safety nnviz loads only plain number arrays")
            if dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
                raise DataError(f"{where} holds {dtype}; expected {_kinds_text(kinds)}")
            nonzero = 1
            for d in dshape:
                nonzero *= d or 1
            if len(dshape) > 8 or nonzero * max(dtype.itemsize, 1) >= 1 << 62:
                raise DataError(f"{where} declares an impossible shape {tuple(dshape)[:8]}")
            count = 1
            for d in dshape:
                count *= d
            nbytes = count * dtype.itemsize
            if shape is not None and tuple(dshape) != tuple(shape):
                raise DataError(f"{where} should have shape {tuple(shape)}, got {tuple(dshape)}")
            if nbytes > max_bytes:
                raise DataError(f"{where} declares {nbytes:,} bytes of data ({tuple(dshape)} {dtype}), "
                                f"more than the {max_bytes:,}-byte limit")
            left = info.file_size - m.tell()
            if left != nbytes:
                raise DataError(f"{where} is damaged: its header declares {nbytes:,} bytes but it holds {left:,}")
            data = m.read(nbytes)
            if len(data) != nbytes or m.read(1):
                raise DataError(f"{where} is truncated or damaged")
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, NotImplementedError,
            OverflowError, RuntimeError) as exc:
        raise DataError(f"{name} is truncated or damaged ({why(exc)}); delete it and get it again") from None
    return np.frombuffer(data, dtype=dtype).reshape(dshape, order="F" if fortran else "C")


def _kinds_text(kinds: str) -> str:
    return "text" if kinds == "U" else "whole numbers" if kinds == "iu" else "plain numbers"


__all__ = ["MAX_DATA_BYTES", "CappedReader", "check_output", "check_regular", "expect_end", "gzip_reader", "npz_keys",
           "open_regular", "open_zip", "read_limited", "read_npy_member", "sniff"]


# --------------------------------------------------------------------------- outputs


def check_output(path: str | os.PathLike, option: str, inputs: tuple[str | os.PathLike | None, ...] = ()) -> Path:
    """DataError unless a file can be written at ``path`` (checked before any work):
    not empty, not a folder or other non-file, in an existing writable folder, and not
    one of ``inputs``. Writing is tried for real (a temp file, removed at once)."""
    if path is None or not str(path).strip():
        raise DataError(f"{option} needs a file name, got an empty one")
    p = Path(path).expanduser()
    if str(path).endswith(os.sep) or p.is_dir():
        raise DataError(f"{option} {p}: that is a folder; give a file name")
    if p.exists() or p.is_symlink():
        try:
            kind = _describe_mode(p.stat().st_mode)
        except OSError:
            kind = None
        if kind is not None:
            raise DataError(f"{option} {p}: that is {kind}, not a file")
    for other in inputs:
        if other is None or str(other) in ("", "bundled", "mnist"):
            continue
        try:
            same = p.exists() and Path(other).expanduser().exists() and os.path.samefile(p, Path(other).expanduser())
        except OSError:
            same = False
        if same or p.resolve() == Path(other).expanduser().resolve():
            raise DataError(f"{option} {p} is also an input of this run: choose another file name")
    folder = p.parent
    if not folder.exists():
        raise DataError(f"{option} {p}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise DataError(f"{option} {p}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{p.name[:40]}.", suffix=".check")
    except OSError as exc:
        raise DataError(f"{option} {p}: cannot write into {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    return p
