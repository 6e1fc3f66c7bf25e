import numpy as np
import pytest
import torch

from ecgutils import models, train
from ecgutils.noise import NoiseBank


@pytest.mark.parametrize("kind,length,out_shape", [("lstm", 3600, (2, 3600)), ("cnn", 3600, (2, 3600)),
                                                   ("lstm", 1000, (2, 1000)), ("cnn", 1001, (2, 1001)),
                                                   ("gru_detector", 3600, (2, 450)), ("gru_classifier", 180, (2,))])
def test_shapes(kind, length, out_shape):
    m = models.build_model(kind).eval()
    with torch.no_grad():
        assert tuple(m(torch.randn(2, length)).shape) == out_shape


def test_denoisers_ignore_offset_and_scale():
    x = torch.randn(2, 3600)
    for kind, config in (("lstm", {}), ("lstm", {"gate": False}), ("cnn", {})):
        m = models.build_model(kind, **config).eval()
        with torch.no_grad():
            torch.testing.assert_close(m(3 * x + 5), 3 * m(x) + 5, atol=1e-4, rtol=1e-4)


def test_classifier_pools_over_the_central_frames_only():
    m = models.build_model("gru_classifier", seed=0, hidden=4, context=45).eval()
    x = torch.randn(3, 180)
    with torch.no_grad():
        h = m.encode(x)
        assert h.shape[1] == 45                      # 4-sample frames
        centre = h[:, 11:34]                         # frames whose samples lie in 45..134
        expected = m.out(torch.cat([centre.mean(1), centre.amax(1)], -1))[:, 0]
        torch.testing.assert_close(m(x), expected)
        whole = m.out(torch.cat([h.mean(1), h.amax(1)], -1))[:, 0]
        assert not torch.allclose(m(x), whole)
        m.context = 0
        torch.testing.assert_close(m(x), whole)


def test_bad_options_are_explained():
    with pytest.raises(ValueError, match="valid options: lstm, cnn, gru_detector, gru_classifier"):
        models.build_model("transformer")
    with pytest.raises(ValueError, match="layers must be 1, 2 or 3"):
        models.build_model("lstm", layers=4)
    with pytest.raises(ValueError, match="gate=True needs residual=True"):
        models.build_model("lstm", gate=True, residual=False)


def _toy(tmp_path, seed=0, epochs=3):
    idx = np.arange(650_000)
    bank = NoiseBank({k: np.stack([np.sin(idx / (5.0 + i)).astype(np.float32)]) for i, k in enumerate(("bw", "em", "ma"))})
    t = np.arange(720) / 360
    clean = np.stack([np.sin(2 * np.pi * f * t) for f in np.linspace(1, 3, 16)]).astype(np.float32)
    model = models.build_model("lstm", seed=seed, hidden=8, layers=1)
    rng = np.random.default_rng(seed)

    def epoch(_):
        for x, c, _ in train.noisy_batches(clean, bank, rng, 8, snr_range=(0, 10)):
            yield x, c

    val = [(clean + 0.1 * np.sin(np.arange(720) / 3.0).astype(np.float32), clean)]
    hist = train.fit(model, epoch, val, train.denoising_loss("mse"), train.TrainConfig(epochs=epochs, seed=seed, lr=1e-2),
                     name="toy", kind="lstm", models_dir=tmp_path / "models", csv_dir=tmp_path / "csv",
                     progress=False, meta={"profile": "quick"})
    return model, hist


def test_fit_saves_best_weights_only_checkpoint_and_history(tmp_path):
    model, hist = _toy(tmp_path)
    assert list(hist.columns[:3]) == ["epoch", "train_loss", "val_loss"] and len(hist) == 3
    assert (tmp_path / "csv" / "toy_history.csv").exists()
    payload = torch.load(tmp_path / "models" / "toy.pt", weights_only=True)  # no pickled objects
    assert payload["kind"] == "lstm" and payload["config"]["hidden"] == 8
    assert payload["meta"]["val_loss"] == pytest.approx(hist.val_loss.min())
    again = train.load_model(tmp_path / "models" / "toy.pt")
    x = torch.randn(1, 720)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model.eval()(x))
    assert not list((tmp_path / "models").glob(".*tmp"))


def test_same_seed_same_training(tmp_path):
    _, h1 = _toy(tmp_path / "a", seed=3, epochs=2)
    _, h2 = _toy(tmp_path / "b", seed=3, epochs=2)
    np.testing.assert_allclose(h1.val_loss, h2.val_loss, rtol=1e-5)


def test_interrupted_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    m = models.build_model("gru_classifier", hidden=4)
    path = train.save_checkpoint(tmp_path / "c.pt", m, "gru_classifier", meta={"profile": "full"})
    before = path.read_bytes()

    def boom(obj, f, *a, **k):
        open(f, "wb").write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(train.torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        train.save_checkpoint(path, m, "gru_classifier")
    assert path.read_bytes() == before


def test_a_quick_run_keeps_the_full_model(tmp_path):
    m = models.build_model("gru_classifier", hidden=4)
    path = train.save_checkpoint(tmp_path / "gru_rpeak.pt", m, "gru_classifier", meta={"profile": "full"})
    kept = train.keep_other_profile(path, "quick")
    assert kept == tmp_path / "gru_rpeak.full.pt" and kept.exists() and not path.exists()
    assert train.keep_other_profile(kept, "full") is None


def test_missing_checkpoint_names_the_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="run notebooks/02_lstm_denoising.ipynb first"):
        train.load_model(tmp_path / "nope.pt", notebook="02_lstm_denoising.ipynb")


@pytest.mark.parametrize("kind", train.LOSSES)
def test_losses_score_a_perfect_estimate_best(kind):
    t = torch.linspace(0, 10, 720)
    c = torch.stack([torch.sin(2 * t), torch.sin(3 * t)])
    x = c + 0.3 * torch.cos(17 * t)
    loss = train.denoising_loss(kind)
    assert loss(c, c, x) < loss(x, c, x)
    assert loss(c + 5.0, c, x) == pytest.approx(loss(c, c, x).item(), abs=1e-6)  # offsets do not count


def test_mse_noise_is_the_inverse_linear_snr_improvement():
    t = torch.linspace(0, 10, 720)
    c = torch.stack([torch.sin(2 * t), torch.sin(3 * t)])
    x = c + torch.tensor([[0.3], [0.03]]) * torch.cos(17 * t)
    loss = train.denoising_loss("mse_noise", ceiling_db=60.0)
    assert loss(x, c, x).item() == pytest.approx(1.0, rel=1e-3)  # the identity: 0 dB at every SNR
    half = c + 0.5 * (x - c)  # halving the noise amplitude: 6 dB better
    assert loss(half, c, x).item() == pytest.approx(0.25, rel=1e-3)
    clean_in = train.denoising_loss("mse_noise", ceiling_db=20.0)(c + 0.1 * torch.cos(17 * t), c, c)
    assert clean_in.item() == pytest.approx(1.0, rel=0.1)  # noise-free input: floor at 20 dB


def test_checkpoints_from_before_an_option_load_as_trained(tmp_path):
    # an LSTM checkpoint written before the gate existed has no "gate" in its config and no gate weights
    old = models.build_model("lstm", seed=0, hidden=8, layers=1, gate=False)
    path = train.save_checkpoint(tmp_path / "old.pt", old, "lstm")
    payload = torch.load(path, weights_only=True)
    del payload["config"]["gate"]
    torch.save(payload, path)
    loaded = train.load_model(path)
    assert loaded.gate is None
    x = torch.randn(1, 720)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), old.eval()(x))
