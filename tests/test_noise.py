import numpy as np
import pytest

from ecgutils.data import noise


def _bank():
    # a bank whose samples encode their own index: excerpts tell where they came from
    idx = np.arange(650_000, dtype=np.float32)
    return noise.NoiseBank({k: np.stack([idx]) for k in ("bw", "em", "ma")})


def _clean(n=8, length=3600, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 360
    return (np.sin(2 * np.pi * 1.2 * t)[None] * rng.uniform(0.5, 2, (n, 1))).astype(np.float32)


@pytest.mark.parametrize("kind", ["gaussian", "bw", "em", "ma", "mixed"])
@pytest.mark.parametrize("snr", [-6, 0, 12, 24])
def test_scaling_hits_the_requested_snr(kind, snr):
    rng = np.random.default_rng(1)
    idx = np.arange(650_000)
    bank = noise.NoiseBank({k: np.stack([np.sin(idx / (50 + 40 * i)) + rng.normal(0, 0.3, idx.size)])
                            for i, k in enumerate(("bw", "em", "ma"))})
    clean = _clean()
    n = noise.make_noise(clean, kind, rng, snr=snr, bank=bank)
    assert np.all(np.abs(noise.noise_snr_db(clean, n) - snr) < 0.1)


def test_train_and_test_draw_from_disjoint_halves():
    bank, rng = _bank(), np.random.default_rng(0)
    tr = bank.excerpts("em", 500, 3600, rng, "train")
    te = bank.excerpts("em", 500, 3600, rng, "test")
    assert tr.max() < 325_000 and te.min() >= 325_000
    with pytest.raises(ValueError, match="valid options: train, test"):
        bank.excerpts("em", 1, 10, rng, "val")


def test_gaussian_sigma_is_on_the_unit_window_scale():
    clean = _clean(n=200)
    span = clean.max(1, keepdims=True) - clean.min(1, keepdims=True)
    n = noise.make_noise(clean, "gaussian", np.random.default_rng(0), sigma=0.05)
    np.testing.assert_allclose((n / span).std(), 0.05, rtol=0.01)


def test_same_seed_same_noise_and_clear_errors():
    clean = _clean()
    a = noise.make_noise(clean, "em", np.random.default_rng(3), snr=6, bank=_bank())
    b = noise.make_noise(clean, "em", np.random.default_rng(3), snr=6, bank=_bank())
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="valid options: gaussian, bw, em, ma, mixed"):
        noise.make_noise(clean, "pink", np.random.default_rng(0), snr=6)
    with pytest.raises(ValueError, match="needs a target snr"):
        noise.make_noise(clean, "em", np.random.default_rng(0), bank=_bank())


def test_random_noise_reports_kind_and_snr():
    clean = _clean(n=50)
    rng = np.random.default_rng(0)
    idx = np.arange(650_000)
    bank = noise.NoiseBank({k: np.stack([np.cos(idx / 7.0 * (i + 1))]) for i, k in enumerate(("bw", "em", "ma"))})
    n, kind, snr = noise.random_noise(clean, rng, bank, snr_range=(-6, 24))
    assert set(kind) <= {"gaussian", "bw", "em", "ma", "mixed"} and len(set(kind)) > 2
    np.testing.assert_allclose(noise.noise_snr_db(clean, n), snr, atol=0.1)


def test_one_snr_one_test_half_one_record_name():
    from ecgutils import constants
    from ecgutils.data import nstdb, splits
    from ecgutils.evaluation import metrics

    rng = np.random.default_rng(1)
    clean, est = rng.normal(size=(3, 3600)), rng.normal(size=(3, 3600))
    out = metrics.denoising_metrics(clean, est, est).snr_out.to_numpy()
    np.testing.assert_allclose(out, noise.noise_snr_db(clean, est - clean), rtol=1e-12)  # the metric is the SNR
    assert noise.HALVES["train"][1] == noise.HALVES["test"][0] == constants.NOISE_TEST_START
    test_half, every = nstdb.noisy_mask(), nstdb.noisy_mask(test_half=False)
    assert not test_half[:constants.NOISE_TEST_START].any() and every[:constants.NOISE_TEST_START].any()
    assert np.array_equal(test_half[constants.NOISE_TEST_START:], every[constants.NOISE_TEST_START:])
    assert nstdb.record_name is splits.record_name
    assert splits.NSTDB_RECORDS[:2] == ("118e24", "118e18") and splits.NSTDB_RECORDS[-1] == "119e_6"
