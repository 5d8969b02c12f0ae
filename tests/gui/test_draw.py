"""The Draw tab: the pad, what the network receives, and live output bars."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from nnviz.core.analysis import activations
from nnviz.core.drawing import preprocess

TIMEOUT = 60_000  # ms: only a guard against a hang; waits return once their condition holds


def _draw_tab(qtbot, w):
    w.inspector.show_view("draw")
    qtbot.waitUntil(lambda: w.tabs.currentWidget() is w.inspector.draw, timeout=TIMEOUT)
    return w.inspector.draw


def test_a_pasted_test_digit_is_classified_as_the_original(qtbot, window, small_data):
    w = window
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.panel.set_values(epochs=2)
        w.toggle_run()
    view = _draw_tab(qtbot, w)
    snap = w.history.epochs[-1]
    outputs = activations(snap.weights, snap.biases, small_data.test_images[:40])[-1]
    for i in (0, 7, 23):
        qtbot.mouseClick(view.test_button, Qt.LeftButton)  # pastes the next test digit...
        w.inspector.paste_test_digit(i)                      # ...or a chosen one
        w.render_views()
        # the pad preprocesses its drawing back into exactly the original 28x28 digit
        np.testing.assert_array_equal(view.pad.input_image().ravel(), small_data.test_images[i])
        np.testing.assert_allclose(view.output, outputs[i], rtol=1e-6, atol=1e-9)
        assert view.prediction == int(np.argmax(outputs[i]))
        assert view.answer.text() == str(view.prediction)
        assert f"#{i}" in view.pad_note.text()
        # the winner's bar is highlighted, the others are not
        brushes = view.bars.opts["brushes"]
        assert brushes[view.prediction].color() != brushes[(view.prediction + 1) % 10].color()
    # what the network receives is on show
    np.testing.assert_array_equal(view.input_image.image, view.pad.input_image())


def test_drawing_strokes_with_the_mouse_changes_the_output(qtbot, window):
    w = window
    view = _draw_tab(qtbot, w)
    pad = view.pad
    w.render_views()
    assert pad.empty and view.output is None and view.answer.text() == "–"
    r = pad.pad_rect()

    def at(fx: float, fy: float) -> QPoint:
        return QPoint(int(r.x() + fx * r.width()), int(r.y() + fy * r.height()))

    # a vertical stroke: a "1"
    qtbot.mousePress(pad, Qt.LeftButton, pos=at(0.5, 0.2))
    for fy in np.linspace(0.25, 0.8, 12):
        qtbot.mouseMove(pad, at(0.5, fy))
    qtbot.mouseRelease(pad, Qt.LeftButton, pos=at(0.5, 0.8))
    assert not pad.empty
    ink = pad.canvas.sum(axis=0)
    assert ink.argmax() in range(int(0.45 * pad.canvas.shape[1]), int(0.55 * pad.canvas.shape[1]))
    assert pad.canvas[int(0.75 * pad.canvas.shape[0]), :].max() == 1.0  # the stroke reached down
    qtbot.waitUntil(lambda: view.output is not None, timeout=TIMEOUT)  # drawn on the redraw timer
    first = view.output.copy()
    np.testing.assert_array_equal(view.input_image.image, preprocess(pad.canvas))
    # a horizontal bar across the top turns it into something else: the bars change
    qtbot.mousePress(pad, Qt.LeftButton, pos=at(0.3, 0.2))
    for fx in np.linspace(0.35, 0.7, 8):
        qtbot.mouseMove(pad, at(fx, 0.2))
    qtbot.mouseRelease(pad, Qt.LeftButton, pos=at(0.7, 0.2))
    qtbot.waitUntil(lambda: not np.array_equal(view.output, first), timeout=TIMEOUT)
    np.testing.assert_array_equal(view.bars.opts["height"], view.output)
    # Clear wipes it
    qtbot.mouseClick(view.clear_button, Qt.LeftButton)
    assert pad.empty
    qtbot.waitUntil(lambda: view.output is None, timeout=TIMEOUT)


def test_the_pad_follows_the_weights_while_training_runs(qtbot, window, small_data):
    w = window
    view = _draw_tab(qtbot, w)
    w.inspector.paste_test_digit(3)
    w.render_views()
    untrained = view.output.copy()
    w.panel.set_values(epochs=500)
    w.toggle_run()
    outputs = []
    seen = 0
    for _ in range(2):
        # a few epochs later than the last frame (epochs of 1,000 digits fly by)
        n = seen + 3
        qtbot.waitUntil(lambda: w.history.epochs[-1].epochs_done >= n, timeout=TIMEOUT)
        seen = w.history.epochs[-1].epochs_done
        w.render_views()  # a frame, as the redraw timer draws it
        assert w.controller.state == "running"
        outputs.append(view.output.copy())
    assert not np.array_equal(outputs[0], untrained)
    assert not np.array_equal(outputs[1], outputs[0])
    w.stop()
    w.render_views()
    # after stopping, the pad uses the latest weights the worker sent
    weights, biases, _ = w.inspector._live
    assert weights[0].shape == (30, 784) and len(biases) == 2
    expected = activations(weights, biases, small_data.test_images[3:4])[-1][0]
    np.testing.assert_allclose(view.output, expected, rtol=1e-6)


def test_views_are_tabs_that_fit_1280x720(window):
    w = window
    titles = [w.tabs.tabText(i) for i in range(w.tabs.count())]
    assert titles[:1] == ["Training"] and {"Draw", "Errors", "Saturation"} <= set(titles)
    assert w.minimumSizeHint().width() <= 1280 and w.minimumSizeHint().height() <= 720


def test_add_to_my_digits_saves_the_drawing_for_a_folder_of_your_own_digits(qtbot, window, small_data, tmp_path):
    from nnviz.core.data import load_dataset
    from nnviz.core.mydigits import read_digits, read_image

    view = _draw_tab(qtbot, window)
    folder = tmp_path / "class_digits"
    assert view.add_to_my_digits(3, str(folder)) is None  # an empty pad saves nothing
    assert "draw a digit first" in view.pad_note.text() and not folder.exists()
    saved = []
    for i in range(10):  # a class draws each digit once ...
        window.inspector.paste_test_digit(i)
        saved.append(view.add_to_my_digits(int(small_data.test_labels[i]), str(folder)))
        # ... and the saved picture reads back as what the network received from the pad
        picture = read_image(__import__("pathlib").Path(saved[-1]))
        assert np.abs(picture - view.pad.input_image()).max() < 0.2
        assert float((picture * view.pad.input_image()).sum() /
                     np.sqrt((picture ** 2).sum() * (view.pad.input_image() ** 2).sum())) > 0.98
    assert len(set(saved)) == 10 and view.my_digits_folder == str(folder)
    label = int(small_data.test_labels[9])
    assert view.pad_note.text().startswith(f"Saved as class_digits/{label}/drawn-")
    images, labels = read_digits(folder)  # "test only": every drawn digit
    assert sorted(labels.tolist()) == sorted(small_data.test_labels[:10].tolist()) and images.shape == (10, 784)
    for _ in range(4):  # four more of each: enough for a train/test split
        for i in range(10):
            window.inspector.paste_test_digit(i)
            view.add_to_my_digits(int(small_data.test_labels[i]), str(folder))
    ds = load_dataset(str(folder))
    assert ds.n_train + ds.n_test == 50 and ds.n_test >= 10
