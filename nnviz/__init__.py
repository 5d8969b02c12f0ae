"""nnviz: watch a neural network learn handwritten digits (Nielsen, NNDL chapter 1)."""

import sys as _sys

__version__ = "0.1.0"

# Run as the program (`nnviz` or `python -m nnviz`)? Then a Ctrl-C that arrives while the
# entry point is still importing is held until the command line's main() can answer it
# with "nnviz: interrupted" (exit 130) instead of a traceback. Importing nnviz as a
# library changes no signal handling.
_early_interrupts: list = []
if _sys.argv[:1] and (_sys.argv[0] == "-m" or _sys.argv[0].replace("\\", "/").rsplit("/", 1)[-1] in ("nnviz", "nnviz.exe")):
    try:
        import signal as _signal

        _signal.signal(_signal.SIGINT, lambda signum, frame: _early_interrupts.append(signum))
    except (ValueError, OSError):  # not the main thread, or no signals here
        pass


def _take_early_interrupt() -> bool:
    """Restore Python's Ctrl-C handling; True if a Ctrl-C came while it was held."""
    import signal

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        except ValueError:
            return False
    return bool(_early_interrupts)
