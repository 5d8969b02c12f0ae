"""nnviz: watch a neural network learn handwritten digits (Nielsen, NNDL chapter 1)."""

import sys as _sys

__version__ = "0.1.0"
__all__ = ["show", "watch"]

# Run as the program (`nnviz` or `python -m nnviz`)? Then a Ctrl-C (or SIGTERM) that arrives while the
# entry point is still importing is held until the command line's main() can answer it
# with "nnviz: interrupted" (exit 130) instead of a traceback. Importing nnviz as a
# library changes no signal handling.
_early_interrupts: list = []
if _sys.argv[:1] and (_sys.argv[0] == "-m" or _sys.argv[0].replace("\\", "/").rsplit("/", 1)[-1] in ("nnviz", "nnviz.exe")):
    try:
        import signal as _signal

        for _signum in (_signal.SIGINT, _signal.SIGTERM):
            _signal.signal(_signum, lambda signum, frame: _early_interrupts.append(signum))
    except (ValueError, OSError):  # not the main thread, or no signals here
        pass


def _take_early_interrupt() -> int:
    """Restore Python's Ctrl-C handling; the signal (SIGINT or SIGTERM) that came while
    they were held, or 0."""
    import signal

    try:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread
        return 0
    return _early_interrupts[0] if _early_interrupts else 0


def show(net=None, training_data=None, test_data=None, **settings):
    """Open nnviz's window on the book's own objects; returns a handle whose ``history``
    is the run's history (a dict of numpy arrays). Blocks until the window is closed, unless
    a Qt event loop already runs (IPython or Jupyter after ``%gui qt``). See
    :func:`nnviz.notebook.show`."""
    from nnviz.notebook import show as _show

    return _show(net, training_data, test_data, **settings)


def watch(net, test_data=None, *, block=None):
    """``with nnviz.watch(net, test_data): net.SGD(training_data, 30, 10, 3.0)`` shows a live
    dashboard while the book's call runs. See :func:`nnviz.notebook.watch`."""
    from nnviz.notebook import watch as _watch

    return _watch(net, test_data, block=block)
