"""Checkpoints: save and load trained models, the shipped reference weights, and the profile check.

A checkpoint is a plain dict of tensors and JSON-able values, so ``torch.load(path, weights_only=True)`` reads it
without unpickling any object::

    {"format": 2, "kind": "lstm", "config": {...the network's parameters, fs, threshold...},
     "state_dict": {...}, "profile": "full", "dataset": "full-7652c32847",
     "recipe": {...the full training recipe (ecgutils.config.Recipe)...}, "epoch": 21, "val_loss": 0.031,
     "device": "cpu"}

``device`` (where it was trained) is optional: checkpoints written before 0.3 do not have it and still load.

The reference models trained in the full profile ship inside the package (``ecgutils/models/weights/``, listed with
their SHA-256 in ``MANIFEST.json``); :func:`resolve` uses them when no checkpoint is named. Roles, kinds and file stems
come from the model registry (:mod:`ecgutils.models.registry`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from ecgutils.io.files import atomic_path
from ecgutils.models import registry

FORMAT = 2
#: The reference models shipped in ``ecgutils/models/weights/``: ``{role: file stem}``, a live view of the registry.
ROLES = registry.ROLES


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint holds besides the weights.

    Attributes
    ----------
    path : Path
    kind : str
        Network kind (a ``kind`` of :data:`ecgutils.models.registry.REGISTRY`).
    config : dict
        The network's parameters (frame, units, ``fs``, ``threshold`` ...).
    profile : str
        Profile it was trained in (``quick``, ``full``).
    dataset : str
        Name of the window build it was trained on.
    recipe : dict
        The full training recipe (:class:`ecgutils.config.Recipe` as a dict).
    epoch : int
        The epoch kept (lowest validation loss).
    val_loss : float
    device : str or None
        The device it was trained on (``"cpu"``, ``"cuda"``); None for checkpoints that predate the key.
    """

    path: Path
    kind: str
    config: dict
    profile: str
    dataset: str
    recipe: dict
    epoch: int
    val_loss: float
    device: str | None = None


class ProfileMismatch(ValueError):
    """A checkpoint or table comes from another profile or dataset build than the one expected."""


def weights_dir() -> Path:
    """The folder of the shipped reference weights (``ecgutils/models/weights``)."""
    return Path(str(resources.files("ecgutils.models").joinpath("weights")))


def save_checkpoint(path: str | Path, model: nn.Module, kind: str, *, profile: str, dataset: str, recipe: dict,
                    epoch: int, val_loss: float, device: str | None = None) -> Path:
    """Write a model and how it was made to ``path``, atomically.

    ``device`` names where it was trained (``Fitted.device``); the weights are always stored on the CPU.
    """
    payload = {"format": FORMAT, "kind": kind, "config": dict(model.config),
               "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
               "profile": profile, "dataset": dataset, "recipe": _plain(recipe), "epoch": int(epoch),
               "val_loss": float(val_loss)}
    if device is not None:
        payload["device"] = str(device)
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def _read(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}: train it first (notebooks 02 and 03 write them), "
                                "or leave checkpoint=None to use the shipped reference model.")
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT:
        raise ValueError(f"{path} was written by an earlier version of ecgutils (checkpoint format "
                         f"{payload.get('format', 1)}, expected {FORMAT}): retrain it (rerun notebook 02 or 03).")
    return payload


def read_checkpoint(path: str | Path) -> Checkpoint:
    """How the model in ``path`` was made (without building it)."""
    p = _read(Path(path))
    return Checkpoint(Path(path), p["kind"], p["config"], p["profile"], p["dataset"], p["recipe"], p["epoch"],
                      p["val_loss"], p.get("device"))


def load_model(path: str | Path, profile: str | None = None, dataset: str | None = None,
               notebook: str | None = None) -> nn.Module:
    """Rebuild the model stored in ``path``, in evaluation mode on the CPU.

    Parameters
    ----------
    path : path
    profile, dataset : str, optional
        Raise :class:`ProfileMismatch` unless the checkpoint was trained in this profile (and on this build).
    notebook : str, optional
        The notebook that writes it, named in the errors.
    """
    path = Path(path)
    try:
        payload = _read(path)
    except FileNotFoundError:
        if notebook is None:
            raise
        raise FileNotFoundError(f"no checkpoint at {path}: run notebooks/{notebook} first.") from None
    check_profile(path.name, payload["profile"], payload["dataset"], profile, dataset, notebook)
    return _build(payload)


def check_profile(what: str, found_profile: str, found_dataset: str | None, profile: str | None,
                  dataset: str | None, notebook: str | None) -> None:
    """Raise :class:`ProfileMismatch` when ``what`` comes from another profile or dataset build than expected."""
    rerun = f"rerun notebooks/{notebook} with profile={profile!r}" if notebook else "retrain it in that profile"
    if profile is not None and found_profile != profile:
        raise ProfileMismatch(f"{what} was made in the {found_profile!r} profile, but this run uses {profile!r}: "
                              f"{rerun}, or run this notebook with profile={found_profile!r}.")
    if dataset is not None and found_dataset is not None and found_dataset != dataset:
        raise ProfileMismatch(f"{what} was made from the window build {found_dataset}, but the current build is "
                              f"{dataset} (notebook 01 was rerun with other settings): {rerun}.")


#: Settings added to a kind after checkpoints of it were written, with the value those checkpoints were trained
#: with (a real-time detector saved before ``head_window`` existed has its head on the newest state alone; an
#: LSTM denoiser saved before ``conv`` existed has no convolutional front end).
EARLIER_DEFAULTS = {"causal_gru_detector": {"head_window": False}, "causal_lstm": {"head_window": False},
                    "lstm": {"conv": 0}}


def _build(payload: dict) -> nn.Module:
    """A new module from a checkpoint's contents (the payload itself is left untouched: it may be cached)."""
    config = {**EARLIER_DEFAULTS.get(payload["kind"], {}), **payload["config"]}
    model = registry.build_model(payload["kind"], **config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:  # the weights do not fit this version's network of that kind
        raise ValueError(f"this {payload['kind']} checkpoint was saved by a version of ecgutils whose network had "
                         "other layers: retrain it (its notebook with retrain=True) or delete the file. "
                         f"({str(exc).splitlines()[0]})") from None
    return model.eval()


@lru_cache(maxsize=16)
def _payload_cached(path: str, mtime_ns: int) -> dict:
    """A checkpoint file's contents, read once per file version (``mtime_ns``); never handed out."""
    return _read(Path(path))


def resolve(role: str, checkpoint=None) -> nn.Module:
    """The model for ``role``: a model passed as is, a checkpoint path, or by default the shipped reference model.

    A model built from a file is new on every call, in evaluation mode on the CPU, and belongs to the caller:
    its ``set_threshold`` or ``.to()`` changes nobody else's model (only the file's contents are cached).

    Parameters
    ----------
    role : str
        A role of the registry: ``lstm``, ``cnn``, ``classifier``, ``detector``, ``stream_denoiser``,
        ``stream_detector``.
    checkpoint : nn.Module, path or None
        A model (returned as is, in evaluation mode), a ``.pt`` file, or None for the shipped reference model.

    Examples
    --------
    >>> a, b = resolve("detector"), resolve("detector")
    >>> a is b, a.threshold == b.threshold
    (False, True)
    """
    row = registry.spec(role)
    if isinstance(checkpoint, nn.Module):
        return checkpoint.eval()
    if checkpoint is None:
        path = weights_dir() / f"{row.stem}.pt"
        if not path.exists():
            raise FileNotFoundError(f"the reference {role} ({path}) is missing from this installation: reinstall "
                                    "ecgutils, run `make weights`, or pass checkpoint=<path to a .pt file>.")
    else:
        path = Path(checkpoint)
        if not path.exists():
            raise FileNotFoundError(f"no {role} checkpoint at {path}: check the path, train it first, or leave "
                                    "checkpoint=None to use the shipped reference model.")
    model = _build(_payload_cached(str(path.resolve()), path.stat().st_mtime_ns))
    if checkpoint is None:  # the shipped weights: their calibration (ecgutils.models.calibration) applies
        model.shipped_role = role
    return model


def manifest() -> dict:
    """The shipped weights' ``MANIFEST.json``: per file, its SHA-256, recipe, seed, profile and dataset."""
    path = weights_dir() / "MANIFEST.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _plain(value):
    """Make a value JSON-like (what ``weights_only`` loading accepts): tuples become lists, numpy scalars floats."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value
