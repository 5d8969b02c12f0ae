"""The Network tab in lessons and while training: neuron edits recorded in a lesson come
back at the same step on replay (an overlay: the same numbers); edits written into the
weights replay bit for bit (or, part-way through an epoch, the lesson says it cannot be
saved); the input can be the training's latest mini-batch's first digit."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from nnviz.core.analysis import activations
from nnviz.core.editor import NeuronEdit, apply_edits
from nnviz.core.recipe import load_recipe, replay
from nnviz.core.training import EpochSnapshot

from test_network_view import network_tab   # tests/gui is on the path (pytest's default import mode)

TIMEOUT = 60_000   # ms: only a guard against a hang; waits return once their condition holds


def step_to(qtbot, w, batch):
    with qtbot.waitSignal(w.controller.progressed, timeout=TIMEOUT, check_params_cb=lambda s: s.batch == batch):
        w.step()


def test_neuron_edits_recorded_in_a_lesson_come_back_at_their_steps(qtbot, window, small_data, tmp_path):
    w = window
    w.panel.epochs.setValue(2)
    view = network_tab(qtbot, w)
    step_to(qtbot, w, 1)
    view.select(1, 2)
    qtbot.mouseClick(view.off_button, Qt.LeftButton)                     # step 1: neuron 2 off
    step_to(qtbot, w, 2)
    step_to(qtbot, w, 3)
    view.select(1, 5)
    view.scale.setValue(0.5)
    qtbot.mouseClick(view.scale_button, Qt.LeftButton)                   # step 3: and neuron 5 × 0.5
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    view.edit_list.setCurrentRow(0)
    qtbot.mouseClick(view.remove_button, Qt.LeftButton)                  # after the run: only neuron 5 × 0.5
    session = [e.numbers() for e in w.history.epochs]
    path = tmp_path / "lesson.json"
    assert w.lesson.save(path)
    off2, scale5 = NeuronEdit(1, 2, "off"), NeuronEdit(1, 5, "scale", 0.5)
    recipe = load_recipe(path)
    recorded = [(e.step, e.value) for e in recipe.events if e.name == "edits"]
    assert recorded == [(1, (off2,)), (3, (off2, scale5)), (200, (scale5,))]
    # an overlay: the headless replay gives the session's numbers
    # (the window keeps only the last epoch's weights)
    headless = [s.numbers() for s in replay(recipe, small_data) if isinstance(s, EpochSnapshot)]
    assert [n[:10] for n in headless] == [n[:10] for n in session] and headless[-1] == session[-1]

    w.reset()
    seen = []
    view.editsChanged.connect(lambda edits: seen.append(
        (w.lesson.player.controls.position, edits, [view.edit_list.item(i).text() for i in range(view.edit_list.count())])
        if w.lesson.player is not None and w.lesson.player.controls is not None else None))
    player = w.lesson.play(recipe, pause_scale=0.01)
    with qtbot.waitSignal(player.finished, timeout=TIMEOUT):
        pass
    played = [(step, edits) for step, edits, _ in filter(None, seen) if edits]
    assert played == recorded                      # each at the step it was made, in the Network tab
    lists = [texts for _, edits, texts in filter(None, seen) if edits]
    assert lists == [["neuron 2 off"], ["neuron 2 off", "neuron 5: outgoing weights × 0.5"],
                     ["neuron 5: outgoing weights × 0.5"]]
    assert view.edits == [scale5] and (1, 5) in view.diagram.edited
    assert [e.numbers() for e in w.history.epochs] == session   # bit for bit: the edits change no numbers


def test_edits_written_into_the_weights_between_epochs_replay_bit_for_bit(qtbot, window, small_data, tmp_path):
    w = window
    w.panel.epochs.setValue(2)
    view = network_tab(qtbot, w)
    with qtbot.waitSignal(w.controller.epochFinished, timeout=TIMEOUT, check_params_cb=lambda s: s.epochs_done == 1):
        w.step_epoch()
    qtbot.waitUntil(lambda: w.controller.state == "paused", timeout=TIMEOUT)
    w.panel.eta.set_eta(1.5)          # a live change before the apply: the new run keeps it
    network_tab(qtbot, w)
    first = w.history.epochs[-1]
    view.select(1, 4)
    qtbot.mouseClick(view.off_button, Qt.LeftButton)
    expected_w, _ = apply_edits(first.weights, first.biases, view.edits)
    with qtbot.waitSignal(w.controller.epochFinished, timeout=TIMEOUT, check_params_cb=lambda s: s.epochs_done == 1):
        qtbot.mouseClick(view.apply_button, Qt.LeftButton)
    assert w.controller.controls.eta == 1.5 and view.edits == []
    assert np.array_equal(w.history.epochs[-1].weights[1], expected_w[1])   # epoch 1 as edited
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    session = [e.numbers() for e in w.history.epochs]
    path = tmp_path / "lesson.json"
    assert w.lesson.save(path)
    recipe = load_recipe(path)
    off4 = (NeuronEdit(1, 4, "off"),)
    assert [(e.step, e.name, e.value) for e in recipe.events if e.name in ("edits", "apply", "eta")] == [
        (100, "edits", off4), (100, "eta", 1.5), (100, "apply", off4), (100, "edits", ())]
    # headless: the same numbers as the session (whose epoch 1 is reported with the edited
    # weights; the window keeps only the last epoch's weights)
    headless = [s.numbers() for s in replay(recipe, small_data) if isinstance(s, EpochSnapshot)]
    assert headless[-1] == session[-1] and [n[:10] for n in headless[::2]] == [n[:10] for n in session[::2]]

    w.reset()
    player = w.lesson.play(recipe, pause_scale=0.01)
    with qtbot.waitSignal(player.finished, timeout=TIMEOUT):
        pass
    assert [e.numbers() for e in w.history.epochs] == session    # bit for bit, weights included
    assert view.edits == [] and w.controller.state == "finished"


def test_edits_written_into_weights_part_way_through_an_epoch_stop_the_lesson_being_saved(qtbot, window, tmp_path):
    w = window
    w.panel.epochs.setValue(2)
    view = network_tab(qtbot, w)
    step_to(qtbot, w, 1)
    step_to(qtbot, w, 2)
    network_tab(qtbot, w)
    view.select(1, 1)
    qtbot.mouseClick(view.off_button, Qt.LeftButton)
    with qtbot.waitSignal(w.controller.epochFinished, timeout=TIMEOUT):
        qtbot.mouseClick(view.apply_button, Qt.LeftButton)
    assert "lesson" in w.statusBar().currentMessage()
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    assert not w.lesson.save(tmp_path / "l.json")
    assert "part-way through epoch 1" in w.error_box.text() and not (tmp_path / "l.json").exists()


def test_the_input_can_be_the_latest_mini_batch_s_first_digit(qtbot, window, small_data):
    w = window
    view = network_tab(qtbot, w)
    view.source.setCurrentIndex(view.source.findData("minibatch"))
    assert not view.test_index.isEnabled()
    # before any training: the first training digit, and the caption says so
    np.testing.assert_array_equal(view.x, small_data.train_images[0])
    assert "no mini-batch trained yet" in view.digit_label.text()

    def shown_index():
        text = view.digit_label.text()
        return int(text.split("#")[1].split(":")[0]) if text.startswith("Training digit #") else None

    def check_shown(i):
        np.testing.assert_array_equal(view.x, small_data.train_images[i])
        assert f"a {int(small_data.train_labels[i])}," in view.digit_label.text()
        expected = activations(view.weights, view.biases, small_data.train_images[i:i + 1])
        np.testing.assert_allclose(view.acts[-1], expected[-1][0], rtol=1e-9)

    # a single step: the digit of its snapshot
    with qtbot.waitSignal(w.controller.progressed, timeout=TIMEOUT, check_params_cb=lambda s: s.batch == 1) as sig:
        w.step()
    w.render_views()
    assert shown_index() == sig.args[0].first_example
    check_shown(shown_index())
    assert "the first of the latest mini-batch" in view.digit_label.text()
    # while training runs it changes, within the frames (at most every half second)
    w.set_speed(50)    # mini-batches a second: 2 s an epoch
    w.panel.set_values(epochs=2)
    seen = set()
    w.toggle_run()
    qtbot.waitUntil(lambda: seen.add(shown_index()) or (len(seen) >= 4 and w.controller.state == "running"),
                    timeout=TIMEOUT)
    # paused (one more step, then pause): that mini-batch's digit, at once
    with qtbot.waitSignal(w.controller.progressed, timeout=TIMEOUT,
                          check_params_cb=lambda s: s.paused and s.batch > 0) as sig:
        w.step()
    w.render_views()
    assert shown_index() == sig.args[0].first_example
    check_shown(shown_index())
    # finished: the last mini-batch's digit
    w.set_speed(None)
    with qtbot.waitSignal(w.controller.runFinished, timeout=TIMEOUT):
        w.toggle_run()
    w.render_views()
    assert shown_index() == w.history.epochs[-1].first_example is not None
    check_shown(shown_index())
