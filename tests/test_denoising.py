import numpy as np
import pytest

from ecgutils import denoising


def test_harm_by_baseline_puts_the_band_pass_on_the_line_of_removed_baseline():
    # windows of a 10 Hz "ECG" with their own baseline wander (0.15 Hz) at 5 sizes, no added noise
    t = np.arange(3600) / 360
    sizes = np.array([0.02, 0.1, 0.3, 0.6, 1.0])
    clean = (np.sin(2 * np.pi * 10 * t)[None] + sizes[:, None] * np.sin(2 * np.pi * 0.15 * t)[None]).astype(np.float32)
    case = denoising.Case("none", "none", float("inf"), clean, clean.copy(), np.ones((5, 1)))
    per_window = denoising.evaluate([case], denoising.denoisers())
    table, by_bin = denoising.harm_by_baseline(per_window[per_window.method == "bandpass"], clean,
                                               ["a", "a", "b", "b", "c"])
    assert list(table.record) == ["a", "a", "b", "b", "c"]
    assert np.all(np.diff(table.baseline_db) > 0)
    # the band-pass removes all of the baseline and little else: output SNR about -(own baseline share)
    strong = table.baseline_db > -15
    np.testing.assert_allclose(table.snr_out[strong], -table.baseline_db[strong], atol=1.5)
    assert by_bin["windows"].sum() == 5
    assert by_bin["bandpass"].is_monotonic_decreasing


def test_harm_by_baseline_needs_one_record_per_window():
    clean = np.random.default_rng(0).normal(size=(2, 360)).astype(np.float32)
    per_window = denoising.evaluate([denoising.Case("none", "none", float("inf"), clean, clean.copy(),
                                                    np.ones((2, 1)))], denoising.denoisers())
    with pytest.raises(ValueError, match="one record name per window"):
        denoising.harm_by_baseline(per_window, clean, ["a"])
