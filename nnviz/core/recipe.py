"""Lesson recipes: a run recorded as a small JSON file, and replayed exactly.

A recipe holds what defines a run (data source, sizes, seed, initial settings) and every
live change tied to the global mini-batch step before which it took effect::

    {"format": "nnviz-recipe-1", "data": "bundled",
     "config": {"sizes": [784, 30, 10], "epochs": 3, "mini_batch_size": 10, "eta": 3.0,
                "cost": "quadratic", "seed": 1, "dtype": "float64"},
     "events": [{"step": 130, "name": "eta", "value": 0.5},
                {"step": 420, "name": "pause"},
                {"step": 420, "name": "edits", "value": [{"layer": 1, "neuron": 7, "kind": "off", "value": 0.0}]},
                {"step": 421, "name": "resume"},
                {"step": 600, "name": "apply", "value": [{"layer": 1, "neuron": 7, "kind": "off", "value": 0.0}]},
                {"step": 600, "name": "edits", "value": []}]}

Changes of ``eta`` and ``cost`` change the numbers and are replayed at exactly their step;
``pause``/``resume``/``step`` only pace a visual replay. Because each epoch's shuffling
depends only on the seed, a replay gives the same numbers as the recorded run.

The neuron editor (:mod:`nnviz.core.editor`) adds two events, each holding a whole list
of edits (:meth:`~nnviz.core.editor.NeuronEdit.as_dict`):

- ``edits``: the editor's overlay as it stood after a change (an edit added, removed,
  reset). An overlay changes no training numbers; a replay in the window lays the same
  edits over the network at the same step (the training numbers are those of a replay
  without them).
- ``apply``: those edits written into the weights, between epochs (the step that starts
  the next epoch). This does change the numbers from that step on, and a replay
  reproduces it bit for bit (:func:`nnviz.core.training.train` applies it before that
  mini-batch; the window makes the same new run from the edited weights as the session
  did). Edits written into weights trained part-way through an epoch cannot be replayed
  (the run starts that epoch again from them): the window then refuses to save the lesson
  and says why.

Recipes written before these events existed have none, and load and replay as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from nnviz.core.editor import NeuronEdit, check_edits, edits_from_json
from nnviz.core.errors import DataError, NnvizError
from nnviz.core.history import atomic_open
from nnviz.core.safeio import MB, read_limited, sniff
from nnviz.core.schema import check_config, is_int, is_number, parse_json, shown
from nnviz.core.training import (
    Controls,
    check_eta,
    EpochSnapshot,
    SettingChanged,
    Snapshot,
    TrainConfig,
    train,
)

FORMAT = "nnviz-recipe-1"
NUMERIC_EVENTS = ("eta", "cost")
PACING_EVENTS = ("pause", "resume", "step")
EDIT_EVENTS = ("edits", "apply")   # the neuron editor's overlay; its edits written into the weights
CONFIG_KEYS = ("sizes", "epochs", "mini_batch_size", "eta", "cost", "seed", "dtype", "outputs")


@dataclass(frozen=True)
class Event:
    """A live change that took effect before global mini-batch ``step``. ``value``: a
    number or a name for eta/cost, a tuple of NeuronEdits for edits/apply, else None."""

    step: int
    name: str
    value: Any = None


@dataclass
class Recipe:
    data: str
    config: TrainConfig
    events: list[Event] = field(default_factory=list)

    def schedule(self, applies: bool = True) -> dict[int, list[tuple[str, Any]]]:
        """The changes that change the numbers as ``{step: [(name, value), ...]}`` for
        ``train``: eta, cost and (unless ``applies`` is False) edits written into the weights."""
        out: dict[int, list[tuple[str, Any]]] = {}
        for e in self.events:
            if e.name in NUMERIC_EVENTS or (applies and e.name == "apply"):
                out.setdefault(e.step, []).append((e.name, e.value))
        return out

    def edits_at(self, step: int) -> tuple[NeuronEdit, ...]:
        """The neuron editor's overlay in force once the events up to ``step`` have happened."""
        edits: tuple[NeuronEdit, ...] = ()
        for e in self.events:
            if e.step > step:
                break
            if e.name == "edits":
                edits = e.value
        return edits

    def to_json(self) -> str:
        cfg = {k: getattr(self.config, k) for k in CONFIG_KEYS}
        cfg["sizes"] = list(cfg["sizes"])
        if cfg["outputs"] == "one-hot":
            del cfg["outputs"]   # the book's coding: recipes stay as they were
        doc = {"format": FORMAT, "data": self.data, "config": cfg, "events": [_event_json(e) for e in self.events]}
        return json.dumps(doc, indent=1)

    def save(self, path: str | os.PathLike) -> None:
        with atomic_open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json() + "\n")


def _event_json(e: Event) -> dict[str, Any]:
    if e.name in EDIT_EVENTS:
        return {"step": e.step, "name": e.name, "value": [edit.as_dict() for edit in e.value]}
    return {k: v for k, v in asdict(e).items() if v is not None}


class RecipeRecorder:
    """Feed it every snapshot of a run; it keeps the recipe up to date."""

    def __init__(self, data: str, config: TrainConfig) -> None:
        self.recipe = Recipe(data=data, config=config.validated())
        self._epochs_done = 0

    def add(self, snapshot: Snapshot) -> None:
        if isinstance(snapshot, SettingChanged):
            self.recipe.events.append(Event(snapshot.step, snapshot.name, snapshot.new))
        elif isinstance(snapshot, EpochSnapshot) and snapshot.epochs_done > self._epochs_done:
            self._epochs_done = snapshot.epochs_done
            # the recipe covers the epochs actually run (the target may change live)
            self.recipe.config = replace(self.recipe.config, epochs=snapshot.epochs_done)

    def pacing(self, step: int, name: str) -> None:
        """Record a pause/resume/step (it changes no numbers; a visual replay uses it)."""
        if name not in PACING_EVENTS:
            raise ValueError(name)
        self.recipe.events.append(Event(step, name))

    def edits(self, step: int, edits: Sequence[NeuronEdit]) -> None:
        """Record the neuron editor's overlay after a change (ConfigError if the edits do
        not fit the recipe's network). A change at the same step as the last event, when
        that was also an overlay, replaces it; an overlay equal to the one in force is not
        recorded again."""
        edits = tuple(check_edits(self.recipe.config.sizes, edits))
        events = self.recipe.events
        last = next((e for e in reversed(events) if e.name == "edits"), None)
        if events and events[-1].name == "edits" and events[-1].step == step:
            events.pop()
            last = next((e for e in reversed(events) if e.name == "edits"), None)
        if edits != (last.value if last is not None else ()):
            events.append(Event(step, "edits", edits))

    def applied(self, step: int, edits: Sequence[NeuronEdit]) -> None:
        """Record edits written into the weights before global mini-batch ``step`` (the
        first of an epoch: ``train`` refuses any other)."""
        self.recipe.events.append(Event(step, "apply", tuple(check_edits(self.recipe.config.sizes, edits))))


def _fail(path: str, why: str) -> DataError:
    return DataError(f"{path} is not a valid nnviz lesson recipe: {why}")


MAX_RECIPE_BYTES = 8 * MB
MAX_EVENTS = 200_000
MAX_DATA_TEXT = 4096


def parse_recipe(text: str, where: str = "recipe") -> Recipe:
    """A Recipe from JSON text; DataError naming the file and the first bad field otherwise.

    The whole document is checked before anything is built: format, data (a non-empty
    text), config (schema.check_config: types and ranges, epochs <= MAX_EPOCHS, seed a
    whole number), events (at most MAX_EVENTS, steps whole and in order, eta in
    training's range, cost one of its names, edits and apply a list of neuron edits that
    fit the network: editor.edits_from_json). Other top-level and event keys are ignored."""
    doc = parse_json(text, where, "nnviz lesson recipe")
    if not isinstance(doc, dict):
        raise _fail(where, "expected a JSON object")
    if doc.get("format") != FORMAT:
        raise _fail(where, f"'format' must be {FORMAT!r}")
    data = doc.get("data")
    if not isinstance(data, str) or not data.strip() or len(data) > MAX_DATA_TEXT or "\0" in data:
        raise _fail(where, "'data' must name the data (bundled, mnist or a path)")
    cfg = doc.get("config")
    if not isinstance(cfg, dict):
        raise _fail(where, "'config' must be an object")
    unknown = set(cfg) - set(CONFIG_KEYS)
    if unknown:
        raise _fail(where, f"unknown config keys {sorted(str(k)[:40] for k in unknown)[:5]}")
    try:
        checked = check_config(cfg, seed_required=True)
        config = TrainConfig(**checked).validated()
    except NnvizError as e:
        raise _fail(where, str(e)) from None
    events_doc = doc.get("events", [])
    if not isinstance(events_doc, list):
        raise _fail(where, "'events' must be a list")
    if len(events_doc) > MAX_EVENTS:
        raise _fail(where, f"more than {MAX_EVENTS:,} events")
    events = []
    last = 0
    for i, e in enumerate(events_doc):
        if not isinstance(e, dict) or not is_int(e.get("step")):
            raise _fail(where, f"event {i} needs a whole-number 'step'")
        name, step, value = e.get("name"), e["step"], e.get("value")
        if step < 0 or step < last or step > 2**62:
            raise _fail(where, f"event {i}: steps must be 0 or more and in order")
        last = step
        if name == "eta":
            if not is_number(value):
                raise _fail(where, f"event {i}: eta must be a positive number, got {shown(value)}")
            try:
                value = check_eta(value)
            except (NnvizError, OverflowError) as exc:
                raise _fail(where, f"event {i}: {exc}") from None
        elif name == "cost":
            if value not in ("quadratic", "cross-entropy") if isinstance(value, str) else True:
                raise _fail(where, f"event {i}: cost must be 'quadratic' or 'cross-entropy', got {shown(value)}")
        elif name in EDIT_EVENTS:
            try:
                value = tuple(edits_from_json(value, config.sizes))
            except NnvizError as exc:
                raise _fail(where, f"event {i} ({name}): {exc}") from None
        elif not isinstance(name, str) or name not in PACING_EVENTS:
            raise _fail(where, f"event {i}: unknown event {shown(name)}")
        events.append(Event(step, name, value if name in NUMERIC_EVENTS + EDIT_EVENTS else None))
    return Recipe(data=data, config=config, events=events)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and check a recipe file (a regular file of at most MAX_RECIPE_BYTES)."""
    path = Path(path)
    raw = read_limited(path, MAX_RECIPE_BYTES, "lesson recipe")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(str(path), f"it is {sniff(raw[:512])}, not UTF-8 JSON text") from None
    return parse_recipe(text, str(path))


def replay(recipe: Recipe, data: Any, controls: Controls | None = None, **kw: Any) -> Iterator[Snapshot]:
    """Train as the recipe says, applying each eta/cost change, and each set of edits
    written into the weights, at its recorded step (the overlay events are the window's)."""
    cfg = recipe.config
    controls = controls or Controls(eta=cfg.eta, cost=cfg.cost)
    return train(cfg, data, controls, schedule=recipe.schedule(), **kw)


__all__ = ["Event", "Recipe", "RecipeRecorder", "load_recipe", "parse_recipe", "replay"]
