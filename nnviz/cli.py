"""Command line: ``nnviz`` opens the app; ``nnviz train`` trains headless; ``nnviz download``
fetches full MNIST. User mistakes give one line on stderr and exit status 2."""

from __future__ import annotations

import sys

try:  # Ctrl-C in the first milliseconds, while the entry point imports this module
    import argparse
    import signal
    import time
    from collections.abc import Sequence
    from typing import NoReturn
except KeyboardInterrupt:
    print("nnviz: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage dump) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_float(text: str) -> float:
    from nnviz.core.errors import ConfigError
    from nnviz.core.training import check_eta

    try:
        return check_eta(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _int_at_least(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number >= ``minimum`` (and <= ``maximum``)."""
    def parse(text: str) -> int:
        try:
            if len(text) > 30:
                raise ValueError
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be at least 1, got {text!r}" if minimum == 1 else f"must be {minimum} or more, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,}, got {text!r}")
        return value
    return parse


def _speed(text: str) -> float | None:
    """An argparse type: a pace in digits a second, or 'max' (None)."""
    from nnviz.core.errors import ConfigError
    from nnviz.core.training import check_speed

    try:
        return check_speed(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


SPEED_HELP = ("at most N training digits a second, or 'max' (as fast as possible); "
              "the pace never changes the numbers")

MAX_EPOCHS = 10_000  # = nnviz.core.schema.MAX_EPOCHS (not imported here: the parser loads no numpy)
MAX_MINI_BATCH = 100_000  # = nnviz.core.schema.MAX_MINI_BATCH
_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)
_epochs = _int_at_least(0, MAX_EPOCHS)
_mini_batch = _int_at_least(1, MAX_MINI_BATCH)
_seed = _int_at_least(0, 2**63 - 1)


RACE_VARY = ("eta", "cost", "batch", "hidden", "outputs")
RACE_DEFAULT_LANES = {"eta": "0.001,3,100", "cost": "quadratic,cross-entropy", "batch": "10,100",
                      "hidden": "15,30,100", "outputs": "one-hot,binary"}


def _sizes(text: str) -> tuple[int, ...]:
    from nnviz.core.errors import ConfigError
    from nnviz.core.network import parse_sizes

    try:
        return tuple(parse_sizes(text))
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _pause_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 3600 seconds, got {text!r}")
    return value


DATA_HELP = "bundled (5,000 real digits shipped with nnviz, the default), mnist (full MNIST, downloaded once and cached), fashion-mnist or kmnist (clothes, or cursive Japanese characters: downloaded alike), or a path to mnist.pkl.gz, a folder of IDX files, keras' mnist.npz, a CSV of digits (label, 784 pixels), or a folder of your own digits' images (0/*.png … 9/*.png)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nnviz",
        description="Watch a neural network learn handwritten digits (Nielsen, Neural Networks and "
                    "Deep Learning, chapter 1). With no command, opens the app.",
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="show the versions of nnviz, Python, numpy, Qt and pyqtgraph and the training kernel, and exit")
    parser.add_argument("--install-desktop-entry", action=_DesktopEntryAction, nargs=0,
                        help="add nnviz to the desktop's application menu (a .desktop entry and an icon in "
                             "$XDG_DATA_HOME, else ~/.local/share), and exit")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--screenshot", metavar="PNG", help="open the window, train --epochs epochs, save a picture of the window to PNG and exit")
    parser.add_argument("--epochs", type=_epochs, default=None, help="with --screenshot: epochs to train first (default 1)")
    parser.add_argument("--view", default="train", metavar="VIEW",
                        help=f"with --screenshot: which view to capture: {', '.join(_views())} (default train)")
    parser.add_argument("--size", default="1280x720", help="with --screenshot: window size WxH (default 1280x720)")
    parser.add_argument("--speed", type=_speed, default=argparse.SUPPRESS, metavar="N|max",
                        help=SPEED_HELP + " (default: the window's last pace; a first start: the book's "
                             "run lasts about a minute; --screenshot: max)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    t = sub.add_parser("train", help="train headless, printing the book's 'Epoch j: n / N' lines",
                       description="Train the book's network headless, printing 'Epoch j: n / N' after each epoch.")
    t.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)  # always headless
    t.add_argument("--data", default="bundled", help=DATA_HELP)
    t.add_argument("--sizes", type=_sizes, default=None, help="layer sizes, e.g. 784,30,10 (default; at most 10,000,000 weights and biases; not with --load)")
    t.add_argument("--epochs", type=_epochs, default=30, help="epochs to train (default 30, at most 10,000; 0 with --load: only evaluate)")
    t.add_argument("--batch-size", type=_mini_batch, default=10, help="mini-batch size (default 10)")
    t.add_argument("--eta", type=_positive_float, default=3.0, help="learning rate eta (default 3.0)")
    t.add_argument("--cost", choices=("quadratic", "cross-entropy"), default=None, help="cost function (default quadratic, the book's; with --load, the saved one)")
    t.add_argument("--seed", type=_seed, default=None, help="random seed for initial weights and shuffling (default: random, printed)")
    t.add_argument("--outputs", choices=("one-hot", "binary"), default=None,
                   help="output coding: one-hot (10 outputs, one per digit, the book's; default) or binary "
                        "(4 outputs holding the digit's 4 bits, the chapter's 'Why not binary?'); with --load, the saved one")
    t.add_argument("--dtype", choices=("float64", "float32"), default=None, help="floating-point type (default float64; with --load, the saved one)")
    t.add_argument("--save", metavar="MODEL.npz", help="save the trained network (weights, config, history) here")
    t.add_argument("--load", metavar="MODEL.npz", help="start from a saved network instead of random weights")
    t.add_argument("--history", metavar="RUN.csv", help="write per-epoch metrics here (.csv, or .json)")
    t.add_argument("--record", metavar="LESSON.json", help="record the run as a lesson recipe (replay it with 'nnviz replay')")
    t.add_argument("--speed", type=_speed, default=None, metavar="N|max", help=SPEED_HELP + " (default max)")
    t.add_argument("--quiet", action="store_true", help="print only the epoch lines")

    r = sub.add_parser("replay", help="replay a recorded lesson recipe (in the window, or --headless)",
                       description="Replay a lesson recipe recorded with 'nnviz train --record' or the app: the same data, seed and live changes give the same numbers.")
    r.add_argument("recipe", metavar="LESSON.json")
    r.add_argument("--headless", action="store_true", help="print the book's 'Epoch j: n / N' lines instead of opening the window")
    r.add_argument("--speed", type=_speed, default=argparse.SUPPRESS, metavar="N|max",
                   help=SPEED_HELP + " (default: headless max, in the window its last pace)")
    r.add_argument("--pause", type=_pause_seconds, default=None, metavar="SECONDS",
                   help="in the window: hold each pause recorded in the lesson this long (default 3)")
    r.add_argument("--data", default=None, help="use this data instead of the recipe's (" + DATA_HELP + ")")
    r.add_argument("--quiet", action="store_true", help="print only the epoch lines")

    c = sub.add_parser("race", help="race 2 to 4 networks in lockstep that differ in one setting, headless",
                       description="Train 2 to 4 networks on the same shuffling, one epoch at a time, differing in "
                                   "one setting: eta, cost, mini-batch size, hidden layer size or output coding "
                                   "(10 one-hot outputs vs 4 binary-coded ones). Prints one line per lane per epoch "
                                   "and a summary.")
    c.add_argument("--vary", required=True, choices=RACE_VARY, help="the setting that differs between lanes")
    c.add_argument("--lanes", default=None, metavar="A,B,...",
                   help="the lanes' values, comma-separated: etas (0.001,3,100), costs (quadratic,cross-entropy), "
                        "mini-batch sizes (10,100), hidden sizes (15,30,100; 30+10 for two hidden layers) or "
                        "outputs (one-hot,binary). Default: the first example")
    c.add_argument("--epochs", type=_int_at_least(1, MAX_EPOCHS), default=5, help="epochs to train (default 5)")
    c.add_argument("--seed", type=_seed, default=None, help="random seed (default: random, printed); every lane uses it")
    c.add_argument("--data", default="bundled", help=DATA_HELP)
    c.add_argument("--eta", type=_positive_float, default=3.0, help="learning rate of every lane unless varied (default 3.0)")
    c.add_argument("--batch-size", type=_mini_batch, default=10, help="mini-batch size unless varied (default 10)")
    c.add_argument("--hidden", type=_int_at_least(1, 100_000), default=30, help="hidden neurons unless varied (default 30)")
    c.add_argument("--quiet", action="store_true", help="no header lines (only the lane lines and the summary)")

    d = sub.add_parser("download", help="download full MNIST into the cache (with a progress bar)",
                       description="Download the book's MNIST (mnist.pkl.gz, or the IDX files from a mirror) into the cache directory ($NNVIZ_DATA_DIR overrides).")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


class _VersionAction(argparse.Action):
    """``--version``: the versions a bug report needs (nnviz, Python, numpy, Qt, pyqtgraph)
    and which training kernel runs (the compiled one, or numpy and why), worked out only
    when asked (it imports numba)."""

    def __call__(self, parser, namespace, values, option_string=None):
        import platform

        from nnviz.core.network import kernel_info

        print(f"nnviz {_version()}\n"
              f"Python {platform.python_version()} ({platform.python_implementation()}, {platform.system()} {platform.machine()})\n"
              f"numpy {_dist_version('numpy')}\n{_qt_version()}\n"
              f"pyqtgraph {_dist_version('pyqtgraph')}\n{kernel_info()}")
        parser.exit()


def _dist_version(name: str) -> str:
    """An installed distribution's version, read from its metadata (nothing is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _qt_version() -> str:
    """'Qt 6.11.0 (PySide6 6.11.0)': the Qt library at run time and its Python binding."""
    try:
        import PySide6
        from PySide6.QtCore import qVersion
    except ImportError as e:
        return f"Qt: not available ({e})"
    return f"Qt {qVersion()} (PySide6 {PySide6.__version__})"


class _DesktopEntryAction(argparse.Action):
    """``--install-desktop-entry``: write nnviz's menu entry and icon for this user."""

    def __call__(self, parser, namespace, values, option_string=None):
        from nnviz.core.errors import NnvizError
        from nnviz.desktop import install_desktop_entry

        try:
            entry, icon = install_desktop_entry()
        except NnvizError as e:
            parser.exit(EXIT_USAGE, f"nnviz: error: {e}\n")
        print(f"wrote {entry}\nwrote {icon}\nnnviz is in the application menu (Education); "
              f"a desktop may need a new login to show it")
        parser.exit()


def _views() -> tuple[str, ...]:
    from nnviz.gui.app import VIEWS  # names only: importing it loads no Qt

    return VIEWS


def _version() -> str:
    from nnviz import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; a problem the user can fix is one line on stderr and status 2,
    Ctrl-C at any moment is "nnviz: interrupted" and status 130."""
    try:
        try:
            if argv is None:  # the real command line
                import nnviz

                early = nnviz._take_early_interrupt()  # a signal while the entry point was importing
                signal.signal(signal.SIGTERM, _on_sigterm)  # until _main knows the command
                if early == signal.SIGTERM:
                    raise _Terminated()
                if early:
                    raise KeyboardInterrupt
            return _main(argv)
        finally:
            if argv is None:  # a Ctrl-C now would only interrupt the exit
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except KeyboardInterrupt:
        if argv is None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the message
        print("nnviz: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("nnviz: terminated", file=sys.stderr)
        return 143


class _Terminated(BaseException):
    """SIGTERM arrived: unwind (temp files and partial downloads are removed) and exit 143."""


def _on_sigterm(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _Terminated()


def _import_core(command: str | None) -> None:
    """Import numpy and the core with Ctrl-C held back: an interrupt inside a C extension's
    import would surface as an ImportError (numpy turns it into one); held, it arrives just
    after, as a KeyboardInterrupt that main turns into "nnviz: interrupted"."""
    block = hasattr(signal, "pthread_sigmask") and command in ("train", "replay", "download", "race")
    if block:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        import nnviz.core.errors  # noqa: F401
        if command in ("train", "replay", "race"):
            import nnviz.core.history  # noqa: F401  (numpy, the network, training)
            import nnviz.core.recipe  # noqa: F401
        if command in ("train", "replay", "download", "race"):
            import nnviz.core.data  # noqa: F401
            import nnviz.core.download  # noqa: F401  (requests)
    finally:
        if block:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None and not (args.command in ("train", "download", "race") or getattr(args, "headless", False)):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the window: the default (headless: unwind, exit 143)
    _import_core(args.command)
    from nnviz.core.errors import NnvizError

    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "replay":
            return cmd_replay(args)
        if args.command == "download":
            return cmd_download(args)
        if args.command == "race":
            return cmd_race(args)
        return cmd_app(args)
    except NnvizError as e:
        print(f"nnviz: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print("nnviz: error: not enough memory for this (try smaller --sizes or less data)", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. 'nnviz train | head': the reader has gone
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


class _ProgressBar:
    """A one-line text progress bar on stderr: 'downloading  12.3 / 17.1 MB [####....]'."""

    def __init__(self, enabled: bool = True, what: str = "MNIST") -> None:
        self.enabled = enabled
        self.what = what
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (total is None or done < total):
            return
        self._last = now
        if total:
            filled = int(30 * min(done, total) / total)
            bar = f"{done / 1e6:6.1f} / {total / 1e6:.1f} MB [{'#' * filled}{'.' * (30 - filled)}] {100 * done / total:3.0f}%"
        else:
            bar = f"{done / 1e6:6.1f} MB"
        sys.stderr.write(f"\rdownloading {self.what} {bar}")
        sys.stderr.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._shown = False


def _load_data(source: str, quiet: bool = False):
    from nnviz.core.data import load_dataset

    bar = _ProgressBar(enabled=not quiet, what={"fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}.get(source, "MNIST"))
    try:
        return load_dataset(source, progress=bar)
    finally:
        bar.close()


def cmd_download(args: argparse.Namespace) -> int:
    from nnviz.core.download import fetch_mnist

    bar = _ProgressBar(enabled=not args.quiet)
    try:
        path = fetch_mnist(progress=bar)
    finally:
        bar.close()
    print(f"MNIST is in {path}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from nnviz.core.errors import ConfigError
    from nnviz.core.history import load_network, save_network
    from nnviz.core.recipe import RecipeRecorder
    from nnviz.core.training import Controls, TrainConfig, check_data_fits, train

    if args.load is not None:
        for option, value in (("--sizes", args.sizes), ("--dtype", args.dtype), ("--record", args.record)):
            if value is not None:
                why = "starts from the seed's weights" if option == "--record" else "comes from the saved network"
                raise ConfigError(f"{option} cannot be combined with --load (the run {why})")
    elif args.epochs == 0:
        raise ConfigError("--epochs 0 trains nothing: give --load MODEL.npz to evaluate a saved network")
    outputs = _check_outputs(args)
    network = None
    coding = args.outputs or "one-hot"
    sizes = args.sizes or (784, 30, 4 if coding == "binary" else 10)
    dtype, cost = args.dtype or "float64", args.cost or "quadratic"
    if args.load is not None:
        network, _, _ = load_network(args.load)
        sizes, dtype, cost = tuple(network.sizes), network.dtype.name, args.cost or network.cost.name
        if args.outputs is not None and args.outputs != network.coding.name:
            raise ConfigError(f"--outputs {args.outputs} does not fit the saved network, whose outputs are "
                              f"coded {network.coding.name}")
        coding = network.coding.name
    data = _load_data(args.data, args.quiet)
    config = TrainConfig(sizes=sizes, epochs=max(args.epochs, 1), mini_batch_size=args.batch_size,
                         eta=args.eta, cost=cost, seed=args.seed, dtype=dtype, outputs=coding).validated()
    check_data_fits(config.sizes, data, config.outputs)
    if network is not None:
        network.set_cost(config.cost)
    if not args.quiet:
        print(f"# {data.description or data.name}; "
              f"sizes {list(config.sizes)}, eta {config.eta:g}, mini-batch {config.mini_batch_size}, "
              f"{config.cost} cost, {config.dtype}, seed {config.seed}"
              + ("" if config.outputs == "one-hot" else f", {config.outputs}-coded outputs"), file=sys.stderr)
    controls = Controls(eta=config.eta, cost=config.cost, epochs=args.epochs if args.epochs else None,
                        speed=args.speed)
    if args.epochs == 0:
        controls.stop()
    recorder = RecipeRecorder(args.data, config) if args.record else None
    history = _print_run(train(config, data, controls, network=network), recorder)
    if args.epochs == 0:
        first = history.epochs[0]
        print(f"Loaded network: {first.test_correct} / {first.test_total}", flush=True)

    def save(path) -> None:
        from nnviz.core.training import build_network

        net = network if network is not None else _final_network(config, history, build_network)
        save_network(path, net, config, history)

    writers = {
        "--record": lambda path: recorder.recipe.save(path),
        "--history": lambda path: (history.write_json(path) if str(args.history).lower().endswith(".json")
                                   else history.write_csv(path)),
        "--save": save,
    }
    _write_all([(option, path, writers[option]) for option, path in outputs])
    return 0


def _check_outputs(args: argparse.Namespace) -> list:
    """Every output of a run checked before any work: [(option, Path)], writable, distinct,
    none of them an input."""
    from nnviz.core.errors import ConfigError
    from nnviz.core.safeio import check_output

    given = [(o, v) for o, v in (("--record", args.record), ("--history", args.history), ("--save", args.save))
             if v is not None]
    inputs = (args.load, args.data)
    checked = [(option, check_output(value, option, inputs)) for option, value in given]
    for i, (option, path) in enumerate(checked):
        for other, other_path in checked[:i]:
            if path.resolve() == other_path.resolve():
                raise ConfigError(f"{other} and {option} name the same file {path}: choose two names")
    return checked


def _write_all(outputs: list) -> None:
    """Write every output to a temp file beside it, then move them all into place: if one
    fails, none is written and no temp file remains."""
    import os
    import tempfile

    from nnviz.core.errors import DataError

    staged = []
    try:
        for option, path, write in outputs:
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                os.close(fd)
                staged.append(tmp)
                write(tmp)
            except OSError as e:
                raise DataError(f"{option} {path}: cannot write it ({e.strerror or e})") from None
        for (option, path, _), tmp in zip(outputs, staged):
            try:
                os.replace(tmp, path)
            except OSError as e:
                raise DataError(f"{option} {path}: cannot write it ({e.strerror or e})") from None
    finally:
        for tmp in staged:
            if os.path.lexists(tmp):
                os.unlink(tmp)


def _print_run(snapshots, recorder=None):
    """Print the book's line after each epoch; return the run's History."""
    from nnviz.core.history import History

    history = History()
    for snap in snapshots:
        history.add(snap)
        if recorder is not None:
            recorder.add(snap)
        if getattr(snap, "epochs_done", 0) > 0:
            print(snap.book_line(), flush=True)
    return history


def cmd_replay(args: argparse.Namespace) -> int:
    from nnviz.core.recipe import load_recipe, replay
    from nnviz.core.training import Controls

    recipe = load_recipe(args.recipe)
    if args.data:
        recipe.data = args.data
    if not args.headless:
        return cmd_app(args, recipe=recipe)
    data = _load_data(recipe.data, args.quiet)
    if not args.quiet:
        c = recipe.config
        print(f"# replaying {args.recipe}: {data.description or data.name}; sizes {list(c.sizes)}, "
              f"eta {c.eta:g}, mini-batch {c.mini_batch_size}, {c.cost} cost, {c.dtype}, seed {c.seed}, "
              f"{sum(e.name in ('eta', 'cost') for e in recipe.events)} live changes", file=sys.stderr)
    _print_run(replay(recipe, data, Controls(eta=recipe.config.eta, cost=recipe.config.cost,
                                             speed=getattr(args, "speed", None))))
    return 0


def race_lane_values(vary: str, text: str | None) -> dict:
    """``--lanes`` for ``--vary`` as race_configs' keyword, e.g. {'hidden': [15, 30]};
    ConfigError naming the bad value otherwise."""
    from nnviz.core.codings import get_coding
    from nnviz.core.errors import ConfigError
    from nnviz.core.network import parse_sizes
    from nnviz.core.race import MAX_LANES, MIN_LANES
    from nnviz.core.training import _check_positive_int, check_eta

    text = RACE_DEFAULT_LANES[vary] if text is None else text
    if len(text) > 400:
        raise ConfigError(f"--lanes is too long ({len(text)} characters)")
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not MIN_LANES <= len(parts) <= MAX_LANES:
        raise ConfigError(f"--lanes needs {MIN_LANES} to {MAX_LANES} comma-separated values, got {len(parts)}")
    if vary == "eta":
        return {"etas": [check_eta(p) for p in parts]}
    if vary == "cost":
        for p in parts:
            if p not in ("quadratic", "cross-entropy"):
                raise ConfigError(f"--lanes: cost must be quadratic or cross-entropy, got {p[:40]!r}")
        return {"costs": parts}
    if vary == "batch":
        sizes = [_check_positive_int("mini-batch size", p) for p in parts]
        if max(sizes) > MAX_MINI_BATCH:
            raise ConfigError(f"--lanes: a mini-batch size is at most {MAX_MINI_BATCH:,}")
        return {"batch_sizes": sizes}
    if vary == "hidden":
        hidden = []
        for p in parts:
            layers = [_check_positive_int("a hidden layer's size", q) for q in p.split("+")]  # 30+10: two layers
            parse_sizes([784, *layers, 10])             # within the layer and parameter limits
            hidden.append(tuple(layers))
        return {"hidden": hidden}
    return {"outputs": [get_coding(p).name for p in parts]}


def _lane_name(vary: str, config) -> str:
    """'hidden=15', 'eta=3', 'outputs=binary', ... for the lane lines."""
    value = {"eta": f"{config.eta:g}", "cost": config.cost, "batch": str(config.mini_batch_size),
             "hidden": "+".join(str(s) for s in config.sizes[1:-1]), "outputs": config.outputs}[vary]
    return f"{vary}={value}"


def cmd_race(args: argparse.Namespace) -> int:
    from nnviz.core.race import Race, race_configs
    from nnviz.core.training import TrainConfig, check_data_fits

    lanes = race_lane_values(args.vary, args.lanes)
    base = TrainConfig(sizes=(784, args.hidden, 10), epochs=args.epochs, mini_batch_size=args.batch_size,
                       eta=args.eta, seed=args.seed).validated()
    data = _load_data(args.data, args.quiet)
    configs = race_configs(base, **lanes)
    for c in configs:
        check_data_fits(c.validated().sizes, data, c.outputs)
    race = Race(configs, data)
    names = [_lane_name(args.vary, c) for c in race.configs]
    if not args.quiet:
        print(f"# race by {args.vary}: {data.description or data.name}; {len(names)} lanes "
              f"({', '.join(names)}), {args.epochs} epochs, seed {race.seed}", file=sys.stderr)
        if not race.shared_start:
            print(f"# the lanes' networks have different shapes, so they cannot share initial weights: "
                  f"each draws its own from seed {race.seed}; all see the digits in the same order", file=sys.stderr)
    last = [None] * len(names)
    seconds = [0.0] * len(names)
    stopped = [""] * len(names)
    for results in race.epochs():
        for i, r in enumerate(results):
            if r is None:
                continue
            if isinstance(r, Exception):
                stopped[i] = str(r)
                print(f"lane {names[i]} stopped: {r}", flush=True)
                continue
            last[i] = r
            seconds[i] += r.seconds
            if r.epochs_done > 0:
                print(f"lane {names[i]} epoch {r.epoch}: {r.test_correct} / {r.test_total}", flush=True)
    print("summary:")
    for i, name in enumerate(names):
        snap = last[i]
        if snap is None or snap.epochs_done == 0:
            print(f"  {name}: no epoch finished" + (f" ({stopped[i]})" if stopped[i] else ""))
            continue
        per_epoch = seconds[i] / snap.epochs_done
        print(f"  {name}: {snap.test_correct} / {snap.test_total} ({snap.test_accuracy:.1%}) after "
              f"{snap.epochs_done} epochs, {per_epoch:.2f} s per epoch" + (f"; stopped: {stopped[i]}" if stopped[i] else ""))
    return 0


def _final_network(config, history, build_network):
    """A network holding the last epoch snapshot's weights."""
    net = build_network(config)
    last = history.epochs[-1]
    net.weights, net.biases = last.weights, last.biases
    return net


def cmd_app(args: argparse.Namespace, recipe=None) -> int:
    if getattr(args, "screenshot", None) is not None:
        from nnviz.core.safeio import check_output

        check_output(args.screenshot, "--screenshot")
    try:
        from nnviz.gui.app import run_app
    except ImportError as e:  # the GUI needs Qt; the core does not
        from nnviz.core.errors import NnvizError

        raise NnvizError(f"the app cannot start ({e}); 'nnviz train' works without it") from None
    return run_app(args, recipe=recipe) if recipe is not None else run_app(args)
