"""The model registry: one row per model, read by config, checkpoints, inference, runs and the bench."""

import inspect
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ecgutils import inference
from ecgutils.config import NoiseConfig, Recipe, TrainConfig, get_config
from ecgutils.models import checkpoints, registry
from ecgutils.models.registry import REGISTRY, ModelSpec
from ecgutils.training import loop, runs
from tests.helpers import ROOT


@pytest.mark.parametrize("role", list(REGISTRY))
def test_every_shipped_weight_loads_into_its_class(role):
    row = REGISTRY[role]
    path = checkpoints.weights_dir() / f"{row.stem}.pt"
    info = checkpoints.read_checkpoint(path)
    # reference weights train on the CPU; the older files predate the device key (None) and still load
    assert info.kind == row.kind and info.device in (None, "cpu")
    model = checkpoints.resolve(role)  # load_state_dict is strict: every tensor fits the class
    assert type(model) is row.network and not model.training
    assert checkpoints.manifest()["files"][f"{row.stem}.pt"]["role"] == role


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_config_recipes_are_named_and_typed_by_the_registry(profile):
    recipes = get_config(profile).recipes()
    assert list(recipes) == list(REGISTRY)
    for role, recipe in recipes.items():
        assert (recipe.name, recipe.kind) == (REGISTRY[role].stem, REGISTRY[role].kind)


def test_each_row_names_the_notebook_that_trains_it_and_a_trainer_of_the_one_signature():
    signatures = set()
    for role, row in REGISTRY.items():
        text = (ROOT / "notebooks" / row.notebook).read_text()
        assert f'train_or_load(\\"{role}\\"' in text, f"{row.notebook} does not train {role}"
        signatures.add(tuple(inspect.signature(runs.trainer(role)).parameters))
    assert len(signatures) == 1, signatures  # one signature: runs.train_role calls any of them the same way
    assert signatures.pop()[:6] == ("ds", "bank", "recipe", "cfg", "progress", "device")
    assert runs.NOTEBOOK["detector"] == "03_gru_rpeak_detection.ipynb"


def test_derived_tables_and_inference_methods_come_from_the_rows():
    assert dict(checkpoints.ROLES) == {r: s.stem for r, s in REGISTRY.items()}
    assert dict(registry.MODELS) == {s.kind: s.network for s in REGISTRY.values()}
    assert inference.DENOISERS == ("lstm", "cnn", "bandpass", "identity")
    assert inference.DETECTORS == ("gru", "xqrs")
    assert registry.by_method("gru").role == "detector"


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="unknown role 'detectr'; valid options: lstm, cnn, classifier, detector, "
                                         "stream_denoiser, stream_detector"):
        checkpoints.resolve("detectr")
    with pytest.raises(ValueError, match="unknown role 'gru'.*valid options: lstm"):
        runs.trainer("gru")
    with pytest.raises(ValueError, match="unknown model 'transformer'; valid options: lstm, cnn"):
        registry.build_model("transformer")
    with pytest.raises(ValueError, match="unknown task"):
        registry.methods("segment")


class ToyNet(nn.Module):
    """A made-up model: one linear layer over the signal, with the config and rate every network carries."""

    def __init__(self, n: int = 16, fs: int = 360):
        super().__init__()
        self.config, self.fs = dict(n=n, fs=fs), fs
        self.lin = nn.Linear(n, n)

    def forward(self, x):
        return self.lin(x)


def train_toy(ds, bank, recipe, cfg, *, progress=True, device=None):
    """A trainer of the one signature: a few steps of :func:`ecgutils.training.loop.fit` on random data."""
    model = registry.build_model(recipe.kind, seed=recipe.train.seed, **recipe.model)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, recipe.model["n"])).astype(np.float32)
    fitted = loop.fit(model, lambda: [(x, x)], [(x, x)], lambda out, y, _: ((out - y) ** 2).mean(), recipe.train,
                      device=device, progress=progress)
    fitted.tables["extra"] = pd.DataFrame({"seen_device": [fitted.device]})
    return fitted


TOY = ModelSpec("toy", "toy_net", ToyNet, "toy_model", "02_lstm_denoising.ipynb", "tests.test_registry:train_toy",
                "denoise", method="toy")


def test_a_new_row_is_buildable_trainable_and_resolvable(monkeypatch, tmp_path):
    monkeypatch.setitem(REGISTRY, "toy", TOY)
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a GPU machine: training still runs on the CPU
    assert isinstance(registry.build_model("toy_net", n=4), ToyNet)
    assert checkpoints.ROLES["toy"] == "toy_model" and registry.MODELS["toy_net"] is ToyNet
    assert runs.NOTEBOOK["toy"] == "02_lstm_denoising.ipynb" and registry.methods("denoise")[-1] == "toy"
    recipe = Recipe("toy_model", "toy_net", {"n": 16}, TrainConfig(epochs=2), NoiseConfig())
    ds = SimpleNamespace(path=Path("quick-toy"))
    model, history = runs.train_or_load("toy", ds, None, get_config("quick"), recipe=recipe, progress=False)
    assert len(history) == 2
    ckpt = tmp_path / "outputs" / "models" / "quick" / "toy_model.pt"
    info = checkpoints.read_checkpoint(ckpt)
    assert info.kind == "toy_net" and info.device == "cpu"
    assert pd.read_csv(tmp_path / "outputs" / "csv" / "quick" / "toy_model_extra.csv").seen_device[0] == "cpu"
    again = checkpoints.resolve("toy", ckpt)
    assert type(again) is ToyNet and again is not checkpoints.resolve("toy", ckpt)
    torch.testing.assert_close(again.lin.weight, model.lin.weight)
    with pytest.raises(FileNotFoundError, match="reference toy .*missing"):
        checkpoints.resolve("toy")  # no shipped weights for a made-up row
    loaded, _ = runs.train_or_load("toy", ds, None, get_config("quick"), recipe=recipe, progress=False)
    torch.testing.assert_close(loaded.lin.weight, model.lin.weight)  # the same recipe: loaded, not trained
    stamp = ckpt.stat().st_mtime_ns
    monkeypatch.setattr(runs, "tuning", lambda role: {"t_wave_check": True})  # a setting outside the recipe changed
    runs.train_or_load("toy", ds, None, get_config("quick"), recipe=recipe, progress=False)
    assert ckpt.stat().st_mtime_ns != stamp and checkpoints.read_checkpoint(ckpt).recipe["tuning"] == {
        "t_wave_check": True}


@pytest.mark.parametrize("kind, network", [("causal_gru_detector", "CausalGRUDetector"),
                                           ("causal_lstm", "CausalLSTMDenoiser")])
def test_a_windowed_head_round_trips_and_older_checkpoints_keep_the_head_they_were_trained_with(tmp_path, kind,
                                                                                                 network):
    cls = registry.MODELS[kind]
    assert cls.__name__ == network
    model = cls(hidden=16, layers=1, lookahead_s=0.1, fs=360, head_window=True)
    path = tmp_path / "win.pt"
    checkpoints.save_checkpoint(path, model, kind, profile="smoke", dataset="d", recipe={}, epoch=1, val_loss=0.0)
    back = checkpoints.load_model(path)
    assert back.head_states == 5 and back.config["head_window"] is True
    old = cls(hidden=16, layers=1, lookahead_s=0.1, fs=360, head_window=False)
    payload = {**torch.load(path, weights_only=True)}
    payload["config"] = {k: v for k, v in old.config.items() if k != "head_window"}  # written before the key
    payload["state_dict"] = old.state_dict()
    torch.save(payload, tmp_path / "old.pt")
    assert checkpoints.load_model(tmp_path / "old.pt").head_states == 1


def test_an_lstm_denoiser_saved_before_the_convolutional_front_end_loads_without_one(tmp_path):
    new = registry.build_model("lstm", hidden=16, layers=1)
    assert new.config["conv"] == 16 and new.front is not None   # the reference: a 16-channel front end
    path = tmp_path / "new.pt"
    checkpoints.save_checkpoint(path, new, "lstm", profile="smoke", dataset="d", recipe={}, epoch=1, val_loss=0.0)
    assert checkpoints.load_model(path).front is not None
    old = registry.build_model("lstm", hidden=16, layers=1, conv=0)
    payload = {**torch.load(path, weights_only=True)}
    payload["config"] = {k: v for k, v in old.config.items() if k != "conv"}   # written before the key
    payload["state_dict"] = old.state_dict()
    torch.save(payload, tmp_path / "old.pt")
    back = checkpoints.load_model(tmp_path / "old.pt")
    x = torch.randn(1, 3600)
    with torch.no_grad():
        assert back.front is None and torch.equal(back(x), old.eval()(x))
