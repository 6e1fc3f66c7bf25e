import dataclasses

import numpy as np
import pytest
import torch

from ecgutils.models import checkpoints, runtime
from ecgutils.training import losses
from ecgutils import models
from ecgutils.training import loop
from ecgutils.config import NoiseConfig, TrainConfig, get_config, with_changes
from ecgutils.data.noise import NoiseBank


def _toy_parts(seed=0):
    """A tiny denoising problem: (model, train_epoch, validation batches, loss)."""
    idx = np.arange(650_000)
    bank = NoiseBank({k: np.stack([np.sin(idx / (5.0 + i)).astype(np.float32)])
                      for i, k in enumerate(("bw", "em", "ma"))})
    t = np.arange(720) / 360
    clean = np.stack([np.sin(2 * np.pi * f * t) for f in np.linspace(1, 3, 16)]).astype(np.float32)
    model = models.build_model("lstm", seed=seed, hidden=8, layers=1)
    rng = np.random.default_rng(seed)
    noise = NoiseConfig(snr_range=(0.0, 10.0))

    def epoch():
        for x, c, _ in loop.noisy_batches(clean, bank, rng, 8, noise):
            yield x, c

    val = [(clean + 0.1 * np.sin(np.arange(720) / 3.0).astype(np.float32), clean)]
    return model, epoch, val, losses.denoising_loss("mse")


def _toy(seed=0, epochs=3, max_minutes=None, threads=1):
    cfg = TrainConfig(epochs=epochs, seed=seed, lr=1e-2, max_minutes=max_minutes, threads=threads)
    return loop.fit(*_toy_parts(seed), cfg, progress=False)


def test_fit_says_what_to_do_when_the_validation_loss_is_never_finite():
    model, epoch, val, _ = _toy_parts()
    val = [(np.full_like(val[0][0], np.nan), val[0][1])]  # NaN inputs, as a broken window store would give
    with pytest.raises(FloatingPointError, match="not finite at any epoch.*nan, nan.*notebook 01"):
        loop.fit(model, epoch, val, losses.denoising_loss("mse"), TrainConfig(epochs=2, lr=1e-2), progress=False)


def test_fit_runs_every_epoch_and_keeps_the_best():
    fitted = _toy(epochs=4)
    h = fitted.history
    assert list(h.epoch) == [1, 2, 3, 4] and fitted.complete
    assert fitted.epoch == int(h.loc[h.val_loss.idxmin(), "epoch"])
    assert fitted.val_loss == pytest.approx(h.val_loss.min())
    # the returned model is the kept epoch's: its validation loss is the best one, not the last one
    _, _, val, loss = _toy_parts()
    again = loop.evaluate_loss(fitted.model, val, loss)
    assert again == pytest.approx(fitted.val_loss, rel=1e-5)
    # the learning rate is cosine-annealed from lr to lr * lr_min_fraction
    assert h.lr.iloc[0] == pytest.approx(1e-2) and h.lr.is_monotonic_decreasing


def test_same_seed_same_weights_bit_for_bit():
    a, b = _toy(seed=3, epochs=2), _toy(seed=3, epochs=2)
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    c = _toy(seed=4, epochs=2)
    assert not torch.equal(a.model.inp.weight, c.model.inp.weight)


def test_time_budget_is_opt_in_and_marks_the_run(capsys):
    assert _toy(epochs=2).complete
    fitted = _toy(epochs=3, max_minutes=0.0)
    assert not fitted.complete and len(fitted.history) == 1
    assert "not a reference run" in capsys.readouterr().out


def test_training_threads_are_restored():
    before = torch.get_num_threads()
    _toy(epochs=1, threads=1)
    assert torch.get_num_threads() == before


def test_training_runs_on_the_cpu_unless_a_device_is_asked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # as on a GPU machine
    model, epoch, val, loss = _toy_parts()
    seen = set()

    def spy(out, target, inputs):
        seen.update({out.device.type, target.device.type, inputs.device.type})
        return loss(out, target, inputs)

    fitted = loop.fit(model, epoch, val, spy, TrainConfig(epochs=1, lr=1e-2), progress=False)
    assert seen == {"cpu"} and fitted.device == "cpu"
    path = checkpoints.save_checkpoint(tmp_path / "m.pt", fitted.model, "lstm", profile="quick", dataset="d",
                                       recipe={}, epoch=fitted.epoch, val_loss=fitted.val_loss, device=fitted.device)
    assert torch.load(path, weights_only=True)["device"] == "cpu"
    assert checkpoints.read_checkpoint(path).device == "cpu"


def test_device_policy():
    assert runtime.pick_device() == torch.device("cpu")
    if torch.cuda.is_available():
        assert runtime.pick_device("cuda").type == runtime.pick_device("auto").type == "cuda"
    else:
        with pytest.raises(ValueError, match="no CUDA device.*device=None"):
            runtime.pick_device("cuda")
        assert runtime.pick_device("auto").type in ("cpu", "mps")


def _save(tmp_path, profile="quick", dataset="quick-abc"):
    m = models.build_model("gru_detector", seed=0, hidden=4, layers=1)
    m.set_threshold(0.7)
    recipe = get_config(profile).detector
    path = checkpoints.save_checkpoint(tmp_path / "det.pt", m, "gru_detector", profile=profile, dataset=dataset,
                                       recipe=recipe.to_dict(), epoch=2, val_loss=0.1)
    return m, path, recipe


def test_checkpoint_round_trip_keeps_weights_threshold_and_recipe(tmp_path):
    m, path, recipe = _save(tmp_path)
    payload = torch.load(path, weights_only=True)  # no pickled objects
    assert payload["profile"] == "quick" and payload["recipe"]["train"]["epochs"] == recipe.train.epochs
    again = checkpoints.load_model(path)
    assert again.threshold == 0.7 and again.fs == 360
    x = torch.randn(1, 720)
    with torch.no_grad():
        torch.testing.assert_close(again(x), m.eval()(x))
    info = checkpoints.read_checkpoint(path)
    assert info.epoch == 2 and info.recipe == checkpoints._plain(recipe.to_dict())
    assert info.device is None and "device" not in payload  # no device named: none recorded
    assert not list(tmp_path.glob(".*tmp"))


def test_loading_another_profile_is_a_clear_error(tmp_path):
    _, path, _ = _save(tmp_path, profile="full", dataset="full-1")
    with pytest.raises(checkpoints.ProfileMismatch, match="made in the 'full' profile.*rerun notebooks/03"):
        checkpoints.load_model(path, profile="quick", notebook="03_gru_rpeak_detection.ipynb")
    with pytest.raises(checkpoints.ProfileMismatch, match="window build full-1.*full-2"):
        checkpoints.load_model(path, profile="full", dataset="full-2")
    assert checkpoints.load_model(path, profile="full", dataset="full-1").threshold == 0.7


def test_old_checkpoints_are_refused_with_advice(tmp_path):
    torch.save({"kind": "lstm", "config": {}, "state_dict": {}, "meta": {}}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="earlier version.*retrain"):
        checkpoints.load_model(tmp_path / "old.pt")


def test_interrupted_save_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    _, path, recipe = _save(tmp_path)
    before = path.read_bytes()

    def boom(obj, f, *a, **k):
        open(f, "wb").write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        _save(tmp_path)
    assert path.read_bytes() == before and not list(tmp_path.glob(".*tmp"))


def test_profiles_differ_only_where_they_should():
    quick, full = get_config("quick"), get_config("full")
    assert full.lstm.train.epochs > quick.lstm.train.epochs and full.lstm.model == quick.lstm.model
    assert all(r.train.max_minutes is None for r in (*quick.recipes().values(), *full.recipes().values()))
    assert get_config("full", seed=5).detector.train.seed == 5
    with pytest.raises(ValueError, match="valid options: quick, full"):
        get_config("medium")
    with pytest.raises(dataclasses.FrozenInstanceError):
        full.lstm.train.epochs = 3


def test_with_changes_routes_each_setting():
    r = with_changes(get_config("quick").lstm, layers=1, epochs=5, snr_range=(-6.0, 24.0), loss="mse")
    assert (r.model["layers"], r.train.epochs, r.noise.snr_range, r.loss) == (1, 5, (-6.0, 24.0), {"kind": "mse"})
    assert get_config("quick").lstm.model["layers"] == 2  # the original is untouched
    with pytest.raises(ValueError, match="unknown setting 'dropout'.*valid options:.*epochs"):
        with_changes(get_config("quick").lstm, dropout=0.1)


@pytest.mark.parametrize("kind", losses.DENOISING_LOSSES)
def test_losses_score_a_perfect_estimate_best(kind):
    t = torch.linspace(0, 10, 720)
    c = torch.stack([torch.sin(2 * t), torch.sin(3 * t)])
    x = c + 0.3 * torch.cos(17 * t)
    loss = losses.denoising_loss(kind)
    assert loss(c, c, x) < loss(x, c, x)
    assert loss(c + 5.0, c, x) == pytest.approx(loss(c, c, x).item(), abs=1e-6)  # offsets do not count


def test_mse_noise_is_the_inverse_linear_snr_improvement():
    t = torch.linspace(0, 10, 720)
    c = torch.stack([torch.sin(2 * t), torch.sin(3 * t)])
    x = c + torch.tensor([[0.3], [0.03]]) * torch.cos(17 * t)
    loss = losses.denoising_loss("mse_noise", ceiling_db=60.0)
    assert loss(x, c, x).item() == pytest.approx(1.0, rel=1e-3)  # the identity: 0 dB at every SNR
    assert loss(c + 0.5 * (x - c), c, x).item() == pytest.approx(0.25, rel=1e-3)  # half the noise: 6 dB better


def test_mse_blend_is_the_scaled_mse_plus_a_share_of_mse_noise():
    t = torch.linspace(0, 10, 720)
    c = torch.stack([torch.sin(2 * t), torch.sin(3 * t)])
    x = c + torch.tensor([[0.3], [0.03]]) * torch.cos(17 * t)
    y = c + 0.5 * (x - c)
    blend = losses.denoising_loss("mse_blend", ceiling_db=60.0, noise_weight=0.2)(y, c, x).item()
    noise = losses.denoising_loss("mse_noise", ceiling_db=60.0)(y, c, x).item()
    assert blend == pytest.approx(losses.scaled_mse(y, c, x).item() + 0.2 * noise, rel=1e-6)
    assert noise == pytest.approx(0.25, rel=1e-3)


def test_snr_db_is_minus_the_snr_improvement_in_db():
    t = torch.linspace(0, 10, 720)
    c = torch.stack([torch.sin(2 * t), torch.sin(3 * t)])
    x = c + torch.tensor([[0.3], [0.03]]) * torch.cos(17 * t)
    loss = losses.denoising_loss("snr_db", ceiling_db=60.0)
    assert loss(x, c, x).item() == pytest.approx(0.0, abs=1e-2)  # the identity: 0 dB at every SNR (floors aside)
    assert loss(c + 0.5 * (x - c), c, x).item() == pytest.approx(-6.02, abs=1e-2)  # half the noise: 6 dB better
    # each window counts in dB: harming the clean-ish window (30 dB in) by 6 dB costs what 6 dB gained on the other
    harm = torch.stack([c[0] + 0.5 * (x[0] - c[0]), c[1] + 2 * (x[1] - c[1])])
    assert loss(harm, c, x).item() == pytest.approx(0.0, abs=1e-2)


def test_the_spectral_loss_is_the_scaled_mse_plus_a_weighted_unitless_spectral_error():
    t = torch.linspace(0, 10, 720)
    c = torch.stack([torch.sin(2 * t), torch.sin(3 * t)])
    x = c + 0.3 * torch.cos(17 * t)
    y = c + 0.5 * (x - c)
    err = losses.spectral_error(y, c, x)
    assert err.shape == (2,) and bool((err > 0).all())
    assert torch.allclose(losses.spectral_error(10 * y + 3, 10 * c, 10 * x), err, rtol=1e-4)   # mV scale: no matter
    assert losses.spectral_error(c, c, x).abs().max() == 0                                   # the clean output
    got = losses.denoising_loss("mse_spectral", spectral_weight=0.2)(y, c, x).item()
    assert got == pytest.approx(losses.scaled_mse(y, c, x).item() + 0.2 * err.mean().item(), rel=1e-6)
    # magnitudes only: a beat 3 samples late costs much less than a broadband error of the same MSE
    beats = sum(torch.exp(-((t - k) / 0.03) ** 2) for k in range(1, 10))[None]
    late = torch.roll(beats, 3, dims=-1)
    noisy = beats + (late - beats).std() * torch.randn(1, 720, generator=torch.Generator().manual_seed(0))
    assert losses.window_mse(late, beats).item() == pytest.approx(losses.window_mse(noisy, beats).item(), rel=0.2)
    assert losses.spectral_error(late, beats, beats) < 0.5 * losses.spectral_error(noisy, beats, beats)


def test_weighted_bce_weighs_missed_positives():
    logits, target = torch.tensor([-2.0, -2.0]), torch.tensor([1.0, 0.0])
    plain, weighted = losses.weighted_bce(1.0)(logits, target), losses.weighted_bce(4.0)(logits, target)
    miss = torch.nn.functional.softplus(torch.tensor(2.0))  # -log(sigmoid(-2))
    assert (weighted - plain).item() == pytest.approx(3 * miss.item() / 2, rel=1e-5)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step")
@pytest.mark.parametrize("target, kept, weight", [(4.0, 0, 4.0), (3.0, 3, 3.0)])
def test_averaging_the_last_epochs_is_kept_only_when_it_validates_better(target, kept, weight):
    weights = [1.0, 2.0, 3.0, 5.0]  # the weight after each epoch; the last two average to 4

    def set_weight(model, batches, loss_fn, opt, grad_clip, device):
        with torch.no_grad():
            model.weight.fill_(weights.pop(0))
        return 0.0

    model = torch.nn.Linear(1, 1, bias=False)
    val = [(np.ones((1, 1), np.float32), np.full((1, 1), target, np.float32))]
    mse = lambda out, y, x: torch.mean((out - y) ** 2)  # noqa: E731
    fitted = loop.fit(model, lambda: [], val, mse, TrainConfig(epochs=4, average_last=2), progress=False,
                      epoch_fn=set_weight)
    assert (fitted.epoch, fitted.model.weight.item()) == (kept, weight)  # target 4: the average; 3: epoch 3
    assert fitted.val_loss == pytest.approx(0.0)
    fitted = _toy(epochs=4)
    with_average = loop.fit(*_toy_parts(), TrainConfig(epochs=4, seed=0, lr=1e-2, average_last=2), progress=False)
    assert with_average.val_loss <= fitted.val_loss  # the average is kept only when it validates better
    cols = ["train_loss", "val_loss", "lr"]  # averaging changes nothing in the training itself
    assert with_average.history[cols].equals(fitted.history[cols])


def test_shipping_some_roles_keeps_the_other_weights_and_their_manifest(tmp_path, monkeypatch):
    import json

    import pandas as pd

    from ecgutils.training import runs

    monkeypatch.setenv("ECG_PROJECT_ROOT", str(tmp_path))
    weights = tmp_path / "weights"
    weights.mkdir()
    monkeypatch.setattr(runs.checkpoints, "weights_dir", lambda: weights)
    (weights / "lstm_denoiser.pt").write_bytes(b"the shipped denoiser")
    old = {"calibration": {"file": "calibration.json", "sha256": "abc"},
           "files": {"lstm_denoiser.pt": {"role": "lstm", "sha256": "x"},
                     "gru_detector.pt": {"role": "detector", "sha256": "old"}}}
    (weights / "MANIFEST.json").write_text(json.dumps(old))
    recipe = get_config("full").detector
    m = models.build_model("gru_detector", seed=0, hidden=8, layers=1)
    out = tmp_path / "outputs" / "models" / "full"
    out.mkdir(parents=True)
    checkpoints.save_checkpoint(out / "gru_detector.pt", m, "gru_detector", profile="full", dataset="d",
                                recipe=recipe.to_dict(), epoch=3, val_loss=0.1)
    (tmp_path / "outputs" / "csv" / "full").mkdir(parents=True)
    pd.DataFrame({"epoch": [1, 2, 3], "seconds": [60.0, 60.0, 60.0]}).to_csv(
        tmp_path / "outputs" / "csv" / "full" / "gru_detector_history.csv", index=False)
    runs.ship("full", ["detector"])
    manifest = json.loads((weights / "MANIFEST.json").read_text())
    assert manifest["calibration"] == old["calibration"]
    assert manifest["files"]["lstm_denoiser.pt"] == old["files"]["lstm_denoiser.pt"]
    assert (weights / "lstm_denoiser.pt").read_bytes() == b"the shipped denoiser"
    entry = manifest["files"]["gru_detector.pt"]
    assert entry["epoch"] == 3 and entry["train_minutes"] == 3.0 and entry["sha256"] != "old"
    assert entry["recipe"]["augment"]["other_lead"] == recipe.augment.other_lead


def test_a_checkpoint_older_than_a_setting_matches_only_where_the_setting_is_at_its_default():
    """``make weights`` reuses a checkpoint trained before a setting existed (the CNN predates ``augment``) when today's
    recipe leaves that setting at its default, and retrains when the recipe sets it (the detectors' augmentation)."""
    from ecgutils.training.runs import recipe_matches

    recipes = get_config("full").recipes()
    for role, changed in (("cnn", False), ("detector", True)):
        wanted = recipes[role].to_dict()
        older = checkpoints._plain(wanted)
        del older["augment"], older["train"]["average_last"]
        assert recipe_matches(older, wanted) is not changed
        assert not recipe_matches(older, {**wanted, "tuning": {"t_wave": True}})
    assert not recipe_matches(checkpoints._plain(recipes["cnn"].to_dict()), recipes["lstm"].to_dict())
