import matplotlib
import pandas as pd

from ecgutils.notebook import plots

matplotlib.use("Agg")


def test_reference_models_keep_their_models_colour_dashed():
    t = pd.DataFrame({"snr_in": [0, 6, 0, 6, 0, 6], "f1": [80, 90, 85, 95, 70, 75],
                      "detector": ["gru", "gru", "gru (reference)", "gru (reference)", "xqrs", "xqrs"]})
    lines = plots.plot_vs_snr(t, "f1", hue="detector").axes[0].lines
    gru, ref, xqrs = lines[:3]
    assert gru.get_color() == ref.get_color() != xqrs.get_color()
    assert (gru.get_linestyle(), ref.get_linestyle()) == ("-", "--")
