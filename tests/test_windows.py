import numpy as np

from ecgutils.data import windows
from ecgutils.io.records import Record


def _record(n=36_000):
    sig = np.arange(n, dtype=np.float32) / 1000
    beats = np.arange(100, n, 300)
    return Record("x", sig, beats, np.array(["N"] * len(beats)), fs=360.0)


def test_windows_carry_record_start_and_their_beats():
    ws = windows.cut_windows(_record(), length=3600)
    assert len(ws) == 10 and ws.length == 3600
    np.testing.assert_array_equal(ws.start, np.arange(0, 36_000, 3600))
    for i in range(len(ws)):
        b = ws.beats(i)
        assert np.all((b >= 0) & (b < 3600))
        np.testing.assert_array_equal(ws.x[i, b], _record().signal[ws.start[i] + b])
    assert sum(len(ws.beats(i)) for i in range(len(ws))) == len(_record().beats)


def test_max_windows_spreads_over_the_record_and_subset_keeps_beats():
    ws = windows.cut_windows(_record(), length=3600, max_windows=3)
    np.testing.assert_array_equal(ws.start, [0, 14_400, 32_400])  # on the stride grid
    sub = ws.subset([2, 0])
    np.testing.assert_array_equal(sub.beats(0), ws.beats(2))
    both = windows.WindowSet.concat([ws, sub])
    assert len(both) == 5 and np.array_equal(both.beats(4), ws.beats(0))


def test_unit_scale_is_reversible():
    x = np.random.default_rng(0).normal(size=(4, 100)).astype(np.float32)
    lo, span = windows.unit_scale(x)
    u = windows.to_unit(x, lo, span)
    assert np.allclose(u.min(1), 0) and np.allclose(u.max(1), 1)
    np.testing.assert_allclose(windows.from_unit(u, lo, span), x, atol=1e-6)


def test_segment_labels_mark_the_segment_holding_the_peak():
    x = np.zeros((2, 3600), np.float32)
    beats = [np.array([45, 500, 3464]), np.array([], dtype=int)]
    inp, lab, win, centre = windows.cut_segments(x, beats, seg=90, context=45)
    assert inp.shape == (2 * 39, 180)
    pos = centre[(win == 0) & (lab == 1)]
    assert sorted(pos) == [45, 495, 3465 - 90]
    assert lab[win == 1].sum() == 0


def test_peak_targets_mark_frames_around_beats():
    t = windows.peak_targets(40, [np.array([10, 39])], frame=4, width=1)
    assert t.shape == (1, 10)
    np.testing.assert_array_equal(np.flatnonzero(t[0]), [1, 2, 3, 8, 9])
