import numpy as np

from ecgutils.io import records
from ecgutils.data import nstdb


def test_noisy_segments_layout_and_test_half():
    every = nstdb.noisy_mask(650_000, test_half=False)
    edges = np.flatnonzero(np.diff(every.astype(int))) + 1
    assert edges[0] == 108_000 and edges[1] == 108_000 + 43_200 and edges[2] == 108_000 + 2 * 43_200
    assert every[-1] and every[626_400] and not every[626_399]
    test = nstdb.noisy_mask(650_000)
    assert not test[:325_000].any() and np.array_equal(test[325_000:], every[325_000:])
    starts = nstdb.segment_starts(650_000)
    assert starts.min() >= 325_000 and all(test[s:s + 3600].all() for s in starts)
    clean = nstdb.segment_starts(650_000, noisy=False)
    assert not every[clean[0]:clean[0] + 3600].any() and clean[0] == 0


def test_added_noise_is_em_at_the_same_samples(tmp_path, mirror):
    """Why only the test half is scored: the noise of a segment is em channel 0 at the same indices."""
    kw = dict(data_dir=tmp_path, mirror=mirror)
    noisy = records.read_record("118e06", db="nstdb", **kw).signal
    clean = records.read_record("118", **kw).signal
    em = records.read_noise("em", 0, **kw)
    for a in (108_000, 367_200):
        d = (noisy - clean)[a:a + 43_200]
        assert np.corrcoef(d, em[a:a + 43_200])[0, 1] > 0.99


def test_load_case_pairs_noisy_and_clean_windows(tmp_path, mirror):
    case = nstdb.load_case("119e_6", data_dir=tmp_path, mirror=mirror)
    assert case.level == -6 and case.noisy.shape == case.clean.x.shape
    assert case.clean.start.min() >= 325_000
    assert set(case.clean.record) == {"119"}
    assert np.abs(case.noisy - case.clean.x).std() > 0.5  # -6 dB level: the noise is larger than the ECG
