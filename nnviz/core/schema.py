"""The shape of a run's settings as they come from files (lesson recipes, a saved
network's config): every field's type and range, checked up front, so that a bad file is
refused with one line naming the file and the field before anything runs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from nnviz.core.errors import ConfigError, DataError
from nnviz.core.network import parse_sizes
from nnviz.core.training import check_eta

MAX_EPOCHS = 10_000  # the book trains 30; a recipe or --epochs may ask for at most this
MAX_MINI_BATCH = 100_000
MAX_SEED = 2**63 - 1
COSTS = ("quadratic", "cross-entropy")
DTYPES = ("float64", "float32")
OUTPUTS = ("one-hot", "binary")   # nnviz.core.codings


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def shown(v: Any) -> str:
    """A short, safe description of a value from a file (never a huge or deep repr)."""
    if is_int(v) and abs(v) >= 10**18:
        return f"a {v.bit_length()}-bit number"
    if v is None or isinstance(v, (bool, int, float)):
        return json.dumps(v) if not isinstance(v, float) or math.isfinite(v) else repr(v)
    if isinstance(v, str):
        return repr(v[:40] + ("…" if len(v) > 40 else ""))
    return {"list": "a list", "dict": "an object"}.get(type(v).__name__, f"a {type(v).__name__}")


def _whole(v: Any, field: str, lo: int, hi: int) -> int:
    if not is_int(v):
        raise ConfigError(f"'{field}' must be a whole number, got {shown(v)}")
    if not lo <= v <= hi:
        raise ConfigError(f"'{field}' must be between {lo:,} and {hi:,}, got {shown(v)}")
    return v


def check_config(cfg: Any, *, seed_required: bool, prefix: str = "config") -> dict[str, Any]:
    """The known fields of a run's settings, each checked (ConfigError naming the field).

    sizes: list of whole numbers (network.parse_sizes' limits); epochs 1..MAX_EPOCHS;
    mini_batch_size 1..MAX_MINI_BATCH; eta a number in training's range; cost and dtype
    one of their names; seed a whole number 0..2**63-1 (not true/false)."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"'{prefix}' must be an object, got {shown(cfg)}")
    out: dict[str, Any] = {}
    if "sizes" in cfg:
        sizes = cfg["sizes"]
        if not isinstance(sizes, list) or not all(is_int(s) for s in sizes[:64]):
            raise ConfigError(f"'{prefix}.sizes' must be a list of whole numbers, got {shown(sizes)}")
        try:
            out["sizes"] = tuple(parse_sizes(sizes))
        except ConfigError as e:
            raise ConfigError(f"'{prefix}.sizes': {e}") from None
    if "epochs" in cfg:
        out["epochs"] = _whole(cfg["epochs"], f"{prefix}.epochs", 1, MAX_EPOCHS)
    if "mini_batch_size" in cfg:
        out["mini_batch_size"] = _whole(cfg["mini_batch_size"], f"{prefix}.mini_batch_size", 1, MAX_MINI_BATCH)
    if "eta" in cfg:
        if not is_number(cfg["eta"]):
            raise ConfigError(f"'{prefix}.eta' must be a number, got {shown(cfg['eta'])}")
        try:
            out["eta"] = check_eta(cfg["eta"])
        except (ConfigError, OverflowError) as e:
            raise ConfigError(f"'{prefix}.eta': {e}") from None
    for key, names in (("cost", COSTS), ("dtype", DTYPES)):
        if key in cfg:
            if cfg[key] not in names if isinstance(cfg[key], str) else True:
                raise ConfigError(f"'{prefix}.{key}' must be {' or '.join(map(repr, names))}, got {shown(cfg[key])}")
            out[key] = cfg[key]
    if "outputs" in cfg:
        if cfg["outputs"] not in OUTPUTS if isinstance(cfg["outputs"], str) else True:
            raise ConfigError(f"'{prefix}.outputs' must be {' or '.join(map(repr, OUTPUTS))}, got {shown(cfg['outputs'])}")
        out["outputs"] = cfg["outputs"]
    if "seed" in cfg and not (cfg["seed"] is None and not seed_required):
        out["seed"] = _whole(cfg["seed"], f"{prefix}.seed", 0, MAX_SEED)
    elif seed_required:
        raise ConfigError(f"'{prefix}.seed' must be a whole number (a replay needs the seed)")
    if "progress_interval" in cfg:
        v = cfg["progress_interval"]
        if not is_number(v) or not 0 <= v <= 3600:
            raise ConfigError(f"'{prefix}.progress_interval' must be 0 to 3600 seconds, got {shown(v)}")
        out["progress_interval"] = float(v)
    if cfg.get("progress_every") is not None:
        out["progress_every"] = _whole(cfg["progress_every"], f"{prefix}.progress_every", 1, 10**9)
    if "progress_per_epoch" in cfg:
        out["progress_per_epoch"] = _whole(cfg["progress_per_epoch"], f"{prefix}.progress_per_epoch", 0, 10_000)
    return out


def parse_json(text: str, where: str, what: str) -> Any:
    """JSON text as Python values; DataError naming ``where`` for anything malformed,
    nested too deeply, or holding numbers too long to read."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{where} is not a valid {what}: not JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise DataError(f"{where} is not a valid {what}: it is nested too deeply") from None
    except ValueError as e:  # e.g. an integer of 5,000 digits
        why = "it holds a number too long to read" if "integer string" in str(e) else str(e)[:80]
        raise DataError(f"{where} is not a valid {what}: {why}") from None


__all__ = ["MAX_EPOCHS", "MAX_MINI_BATCH", "MAX_SEED", "check_config", "is_int", "is_number",
           "parse_json", "shown"]
