"""One resampler for offline and streaming use, edge-padded: a constant stays that constant, and the offline
samples are the stream's."""

import time

import numpy as np
import pytest

from ecgutils import inference
from ecgutils.dsp.resampling import StreamResampler, design_filter, rate_ratio, resample
from tests.helpers import synthetic_ecg

RATES = (128, 200, 250, 500, 1000)
PAIRS = [(fs, 360) for fs in RATES] + [(360, fs) for fs in RATES] + [(130, 360), (257.3, 360)]


def _stream(x, fs_in, fs_out, chunk):
    r = StreamResampler(fs_in=fs_in, fs_out=fs_out)
    return np.concatenate([r.push(x[i:i + chunk]) for i in range(0, len(x), chunk)] + [r.flush()])


@pytest.mark.parametrize("fs_in, fs_out", PAIRS)
def test_a_constant_comes_back_as_that_constant_to_the_last_sample(fs_in, fs_out):
    x = np.full(int(4 * fs_in), 1.5)  # 4 s of 1.5 mV (zero padding gave 1.08-1.71 mV at both ends)
    y = resample(x, fs_in=fs_in, fs_out=fs_out)
    assert len(y) == -(-len(x) * rate_ratio(fs_in=fs_in, fs_out=fs_out)[0] // rate_ratio(fs_in=fs_in, fs_out=fs_out)[1])
    np.testing.assert_allclose(y, 1.5, atol=1e-6)
    np.testing.assert_allclose(_stream(x, fs_in, fs_out, 37), 1.5, atol=1e-6)


@pytest.mark.parametrize("fs_in, fs_out", PAIRS)
def test_offline_is_the_streams_output_sample_for_sample(fs_in, fs_out):
    x, _ = synthetic_ecg(int(6 * fs_in), fs_in)
    x = x + 0.8  # an offset: what zero padding would pull towards 0 at the ends
    offline = resample(x, fs_in=fs_in, fs_out=fs_out)
    for chunk in (len(x), 100, 1):
        streamed = _stream(x, fs_in, fs_out, chunk)
        assert len(streamed) == len(offline)
        np.testing.assert_allclose(streamed, offline, rtol=0, atol=1e-12)


def test_each_polyphase_branch_has_unit_gain_and_the_filter_is_resample_polys_otherwise():
    from scipy import signal as sps

    up, down = rate_ratio(fs_in=250, fs_out=360)
    h = design_filter(up, down)
    np.testing.assert_allclose([up * h[k::up].sum() for k in range(up)], 1.0, atol=1e-12)
    plain = sps.firwin(len(h), 1.0 / max(up, down), window=("kaiser", 5.0))
    assert np.max(np.abs(h - plain)) < 1e-3 * np.max(np.abs(plain))  # a rescaling of at most 0.1 %


def test_equal_rates_and_several_rows():
    x = np.random.default_rng(0).normal(size=(3, 1000))
    assert resample(x, fs_in=360, fs_out=360) is x
    y = resample(x, fs_in=250, fs_out=360)
    assert y.shape == (3, 1440)
    np.testing.assert_allclose(y[1], resample(x[1], fs_in=250, fs_out=360), atol=1e-12)
    with pytest.raises(ValueError, match="must be positive"):
        resample(x, fs_in=0, fs_out=360)


def test_denoise_of_a_constant_at_another_rate_is_that_constant():
    """The band-pass removes a constant; the identity keeps it, through 250 -> 360 -> 250 Hz (was 1.32-1.59 mV
    at the ends for the shipped LSTM, 1.08-1.71 mV for the resampler alone)."""
    x = np.full(250 * 20, 1.5, dtype=np.float32)
    y = inference.denoise(x, fs=250, method="identity")
    np.testing.assert_allclose(y, 1.5, atol=1e-5)
    det = inference.detect_r_peaks(x, fs=250)
    assert len(det) == 0


def test_the_shipped_denoiser_treats_a_constant_the_same_at_any_rate():
    """Edge padding hands the network at 360 Hz the same constant whatever the caller's rate: the shipped LSTM
    returns the constant at 360 Hz, and so at 250 Hz (zero padding gave 1.33-1.59 mV at the ends)."""
    at360 = inference.denoise(np.full(360 * 20, 1.5, dtype=np.float32), fs=360)
    at250 = inference.denoise(np.full(250 * 20, 1.5, dtype=np.float32), fs=250)
    assert np.abs(at360 - 1.5).max() < 1e-3
    assert np.abs(at250 - 1.5).max() < 1e-3


def test_offline_resampling_is_fast_on_a_whole_record():
    x = np.random.default_rng(0).normal(size=650_000)  # 30 min at 360 Hz
    t0 = time.perf_counter()
    resample(x, fs_in=360, fs_out=250)
    assert time.perf_counter() - t0 < 2.0  # about 0.03 s here; a per-sample loop would take minutes
