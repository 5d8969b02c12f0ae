"""Nothing lost by a click: every action that replaces the run can be undone (Ctrl+Z).

Reset, a preset that starts again, new data, opening a network, "Continue from here" and a
new network setting each replace the current run. Before they do, the window takes a
:class:`RunMemento` (the data, the settings, the run's History, the Timeline of its
weights and the analyses already made: all immutable snapshots or objects the new run no
longer touches) and pushes a :class:`ReplaceRun` command. Undo brings the old run back,
paused after its last epoch; redo brings back the one that replaced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

UNDO_LIMIT = 20   # runs kept for undo (each holds its weights Timeline, capped, and its data)


@dataclass(frozen=True, eq=False)
class RunMemento:
    """Everything needed to bring a run back. ``inspector`` is the inspector's own state."""

    data: Any
    source: str | None
    data_text: str
    panel: dict
    config: Any
    history: Any
    inspector: Any
    failed: bool
    target: int

    def describe(self) -> str:
        """'the run of 12 epochs (94.1 %)'."""
        epochs = [e for e in self.history.epochs if e.epochs_done]
        if not epochs:
            return "the run"
        last = epochs[-1]
        acc = f" ({100 * last.test_accuracy:.1f} %)" if last.test_total else ""
        n = last.epochs_done
        return f"the run of {n} epoch{'s' if n != 1 else ''}{acc}"


class ReplaceRun(QUndoCommand):
    """The run ``old`` was replaced (by ``what``); undo restores it, redo the replacement."""

    def __init__(self, window: Any, old: RunMemento, what: str) -> None:
        super().__init__(f"{what} (replaced {old.describe()})")
        self.window = window
        self.old = old
        self.new: RunMemento | None = None
        self._first = True

    def undo(self) -> None:
        self.new = self.window.capture_run()
        self.window.restore_run(self.old)
        self.window.statusBar().showMessage(f"Undone: {self.text()}. {self.old.describe().capitalize()} is back "
                                            f"(Ctrl+Shift+Z redoes).", 8000)

    def redo(self) -> None:
        if self._first:   # the window has just replaced the run itself
            self._first = False
            return
        if self.new is not None:
            self.window.restore_run(self.new)
            self.window.statusBar().showMessage(f"Redone: {self.text()}.", 6000)


def make_stack(parent: Any) -> QUndoStack:
    stack = QUndoStack(parent)
    stack.setUndoLimit(UNDO_LIMIT)
    return stack


__all__ = ["ReplaceRun", "RunMemento", "UNDO_LIMIT", "make_stack"]
