import matplotlib
import numpy as np
import pandas as pd
import pytest

from ecgutils.notebook import plots

matplotlib.use("Agg")


def _overlaps(artist, ax) -> bool:
    fig = ax.figure
    fig.canvas.draw()
    return artist.get_window_extent().overlaps(ax.get_window_extent())


def test_reference_models_keep_their_models_colour_with_another_line_and_marker():
    t = pd.DataFrame({"snr_in": [0, 6, 0, 6, 0, 6], "f1": [80, 90, 85, 95, 70, 75],
                      "detector": ["gru", "gru", "gru (reference)", "gru (reference)", "xqrs", "xqrs"]})
    lines = plots.plot_vs_snr(t, "f1", hue="detector").axes[0].lines
    gru, ref, xqrs = lines[:3]
    assert gru.get_color() == ref.get_color() != xqrs.get_color()
    assert (gru.get_linestyle(), ref.get_linestyle()) == ("-", "--")
    assert gru.get_marker() != ref.get_marker() and ref.get_markerfacecolor() == "none"


def test_a_model_without_a_listed_colour_keeps_one_colour_beside_its_reference():
    names = ["xqrs", "my detector", "xqrs (reference)", "my detector (reference)"]
    t = pd.DataFrame({"snr_in": [0] * 4, "f1": [80, 85, 90, 95], "detector": names})
    lines = {line.get_label(): line for line in plots.plot_vs_snr(t, "f1", hue="detector").axes[0].lines}
    assert lines["my detector"].get_color() == lines["my detector (reference)"].get_color()


def test_harm_scatter_tells_the_reference_model_from_the_students():
    t = pd.DataFrame({"baseline_db": [-20, -10, -20, -10], "snr_out": [20, 10, 22, 12],
                      "method": ["lstm", "lstm", "lstm (reference)", "lstm (reference)"]})
    mine, ref = plots.plot_harm_vs_baseline(t).axes[0].lines[:2]
    assert mine.get_color() == ref.get_color()
    assert (mine.get_marker(), ref.get_marker()) == ("o", "s") and ref.get_markerfacecolor() == "none"


def test_nstdb_panels_say_level_not_input_snr():
    t = pd.DataFrame({"snr_in": [0, 6, 0, 6], "f1": [80, 90, 70, 95],
                      "detector": ["gru"] * 4, "case": ["DS2 + em", "DS2 + em", "NSTDB", "NSTDB"]})
    added, nstdb = plots.plot_vs_snr(t, "f1", hue="detector", col="case").axes
    assert added.get_xlabel() == "input SNR (dB)"
    assert nstdb.get_xlabel() == plots.NSTDB_LEVEL_LABEL == "NSTDB level (dB)"


def test_loss_curves_are_linear_with_whole_epochs():
    h = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.9, 0.5, 0.4], "val_loss": [0.6, 0.45, 0.42]})
    ax = plots.plot_loss_curves({"lstm": h}).axes[0]
    ax.figure.canvas.draw()
    assert ax.get_yscale() == "linear"
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_noisy_trace_is_drawn_over_the_clean_one_with_means_removed():
    t = np.arange(720) / 360
    clean = np.sin(2 * np.pi * t) + 1.0
    noisy = clean + 5.5 + 0.1 * np.cos(40 * t)   # NSTDB's baseline steps: 5.5 mV below/above the clean record
    ax = plots.plot_denoising(360, noisy, clean, {"lstm": clean - 3.0}, beats=np.array([100, 400])).axes[0]
    drawn = {line.get_label(): line.get_ydata() for line in ax.lines}
    for name in ("noisy", "clean", "lstm"):
        assert abs(np.mean(drawn[name])) < 1e-9, name
    assert np.max(np.abs(drawn["noisy"] - drawn["clean"])) < 0.2


@pytest.mark.parametrize("figure", ["denoising", "record", "detector", "vs_snr"])
def test_legends_sit_outside_the_axes_so_they_hide_no_beat(figure):
    x = np.sin(np.arange(1800) / 30.0)
    beats = np.array([100, 500, 900, 1300, 1700])
    if figure == "denoising":
        fig = plots.plot_denoising(360, x + 0.1, x, {"lstm": x}, beats=beats, detected=beats)
    elif figure == "record":
        fig = plots.plot_record(x, 360, beats, ["N"] * 5, seconds=5)
    elif figure == "detector":
        fig = plots.plot_detector_output(x, np.clip(x, 0, 1), 360, detected=beats, reference=beats)
    else:
        t = pd.DataFrame({"snr_in": [0, 6], "f1": [80, 90], "detector": ["gru", "gru"]})
        fig = plots.plot_vs_snr(t, "f1", hue="detector")
    legends = [(ax, ax.get_legend()) for ax in fig.axes if ax.get_legend() is not None]
    assert legends
    for ax, legend in legends:
        assert not _overlaps(legend, ax)


def test_lookahead_figure_shows_reference_detectors_beside_the_students():
    mine = pd.DataFrame({"lookahead_s": [0.3], "case": ["clean"], "gross_f1": [97.0]})
    ref = pd.DataFrame({"lookahead_s": [0.0, 0.3, 1.0], "case": ["clean"] * 3, "gross_f1": [95.0, 99.0, 99.5]})
    ax = plots.plot_lookahead(mine, offline={"clean": 99.7}, reference=ref).axes[0]
    student, shipped = ax.lines[:2]
    assert student.get_label() == "clean" and shipped.get_label() == "clean (reference)"
    assert student.get_color() == shipped.get_color()
    assert (student.get_linestyle(), shipped.get_linestyle()) == ("-", "--")
    assert shipped.get_markerfacecolor() == "none" != student.get_markerfacecolor()
    assert len(shipped.get_xdata()) == 3


def test_loss_curves_in_a_callers_panel_keep_their_legend_off_the_next_panel():
    import matplotlib.pyplot as plt

    h = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.9, 0.5, 0.4], "val_loss": [0.6, 0.45, 0.42]})
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
    plots.plot_loss_curves({"lstm": h, "cnn": h * 1.1}, ax=axes[0])
    plots.plot_loss_curves({"classifier": h}, ax=axes[1])
    assert not _overlaps(axes[0].get_legend(), axes[1])


def test_noise_gallery_says_which_trace_is_clean():
    clean = np.sin(np.arange(1800) / 30.0)
    noise = {"em": {0: 0.1 * np.ones(1800), 6: 0.05 * np.ones(1800)}}
    fig = plots.plot_noise_gallery(clean, noise, 360, seconds=5)
    labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert [label.split()[0] for label in labels] == ["noisy", "clean"] and "grey" in labels[1]


def test_training_variations_draw_the_stored_and_the_shown_window_in_every_row():
    stored = np.zeros((2, 720))
    shown = np.ones((2, 720))
    fig = plots.plot_training_variations(stored, shown, 360, [np.array([100, 400]), np.array([], dtype=int)],
                                         labels=["a", "b"])
    first, second = fig.axes
    assert [len(ax.lines) for ax in (first, second)] == [3, 2]  # no beat marker without beats
    assert first.lines[1].get_ydata()[0] == 1.0 and first.get_title() == "a"
    assert first.get_legend() is not None and second.get_legend() is None
