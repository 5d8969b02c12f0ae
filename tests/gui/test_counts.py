"""One truthful count everywhere (issue 9, item 6): the status bar's mini-batch count is
the run's from launch to the end, and the window says how its epochs map to the book's
'Epoch j: n / N' lines (which the CLI prints)."""

from __future__ import annotations

TIMEOUT = 20_000


def test_mini_batch_count_and_epoch_convention_agree_with_the_run_and_the_book(qtbot, make_window):
    w = make_window()
    w.panel.batch.setValue(25)  # 1,000 digits -> 40 mini-batches an epoch
    w.panel.epochs.setValue(2)
    w.new_run()
    qtbot.waitUntil(lambda: bool(w.history.epochs), timeout=TIMEOUT)
    w.render_views()
    bar = w.status_batches
    assert (bar.value(), bar.maximum()) == (0, 40), bar.text()  # at launch, not "0 / 100"
    assert "untrained" in w.status_epoch.text() and "epoch 0 of 2" in w.status_epoch.text()

    seen_maxima = set()
    w.viewsRendered.connect(lambda: seen_maxima.add(bar.maximum()))
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    w.render_views()
    assert seen_maxima == {40}  # the same count while training
    assert (bar.value(), bar.maximum()) == (40, 40)
    last = w.history.epochs[-1]
    assert last.epochs_done == 2
    text = w.status_epoch.text()
    assert "after epoch 2 of 2" in text and f"the book's '{last.book_line()}'" in text
    assert last.book_line().startswith("Epoch 1: ")  # what `nnviz train` prints for the same epoch
    assert w.cards["epoch"].value.text() == "2 / 2"
    assert "prints 'Epoch 4'" in w.cards["epoch"].toolTip()
