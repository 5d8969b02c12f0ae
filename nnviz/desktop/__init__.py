"""The freedesktop menu entry and icon shipped with nnviz, and ``nnviz --install-desktop-entry``,
which writes them into the user's data folder ($XDG_DATA_HOME, else ~/.local/share) so that
nnviz appears in the desktop's application menu. Qt-free."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DESKTOP_FILE = HERE / "nnviz.desktop"
ICON_FILE = HERE / "nnviz.svg"


def data_home() -> Path:
    """$XDG_DATA_HOME if it is set to an absolute path (the spec ignores a relative one),
    else ~/.local/share."""
    value = os.environ.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def _quote_exec(arg: str) -> str:
    """One argument of a desktop entry's Exec key, quoted as the spec asks when needed."""
    reserved = set(' \t\n"\'\\><~|&;$*?#()`=')
    if arg and not any(c in reserved for c in arg):
        return arg.replace("%", "%%")
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
    return '"' + escaped.replace("%", "%%") + '"'


def desktop_entry_text(python: str | None = None) -> str:
    """The shipped entry, its Exec running this installation's Python (``python -m nnviz``):
    it works from the menu even when the session's PATH lacks ~/.local/bin or a venv."""
    python = python or sys.executable
    exec_line = " ".join(_quote_exec(a) for a in (python, "-m", "nnviz"))
    # Desktop entry values are "escaped": backslashes must be doubled once more.
    exec_line = exec_line.replace("\\", "\\\\")
    lines = []
    for line in DESKTOP_FILE.read_text(encoding="utf-8").splitlines():
        lines.append(f"Exec={exec_line}" if line.startswith("Exec=") else line)
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def install_desktop_entry(root: Path | None = None) -> tuple[Path, Path]:
    """Write ``applications/nnviz.desktop`` and ``icons/hicolor/scalable/apps/nnviz.svg``
    under ``root`` (default: :func:`data_home`); returns both paths. Raises
    :class:`nnviz.core.errors.DataError` (one line) if they cannot be written."""
    from nnviz.core.errors import DataError

    root = Path(root) if root is not None else data_home()
    entry = root / "applications" / "nnviz.desktop"
    icon = root / "icons" / "hicolor" / "scalable" / "apps" / "nnviz.svg"
    for path, data in ((icon, ICON_FILE.read_bytes()), (entry, desktop_entry_text().encode("utf-8"))):
        try:
            _write_atomic(path, data)
        except OSError as e:
            raise DataError(f"cannot write {path} ({e.strerror or e})") from None
    return entry, icon
