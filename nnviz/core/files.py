"""File permissions for what nnviz writes: ``tempfile.mkstemp`` creates files mode 0600
(private), whatever the user's umask; a saved network, history, recipe or download is
an ordinary file, so it gets the mode ``open()`` would give it (0644 under umask 022)."""

from __future__ import annotations

import os


def umask() -> int:
    """The process's umask (read from /proc where it can be, without changing it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the only portable way to read it is to set it
    os.umask(mask)
    return mask


def make_ordinary(path: str | os.PathLike) -> None:
    """Give a file made by ``mkstemp`` the mode ``open()`` would have given it."""
    os.chmod(path, 0o666 & ~umask())
