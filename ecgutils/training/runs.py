"""Train (or load) the models of a profile, keep their checkpoints and histories, and ship the reference weights.

Notebooks 02 and 03 call :func:`train_or_load`: it loads the model already trained for the same recipe and window
build unless asked to retrain, so rerunning a notebook does not cost another training run. ``make weights`` runs
this module as a script: full-profile training of the models of the registry (:mod:`ecgutils.models.registry`,
six today), then the checkpoints are copied into ``ecgutils/models/weights/`` with ``MANIFEST.json`` (SHA-256,
recipe, seed, profile, dataset, versions)::

    python -m ecgutils.training.runs --profile full --models lstm cnn          # one process per group, in parallel
    python -m ecgutils.training.runs --profile full --models classifier detector
    python -m ecgutils.training.runs --ship                                    # copy to the weights + manifest
    python -m ecgutils.training.runs --ship detector stream_detector           # only these (the rest kept)

Training runs on the CPU with each recipe's thread count (reference runs); ``device=`` (``--device``) asks for
another device, which the checkpoint records.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import inspect
import json
import platform
import shutil
import sys
import time
import types
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ecgutils import __version__, inference
from ecgutils.models import checkpoints, registry
from ecgutils.data import store
from ecgutils.io import paths
from ecgutils.config import PROFILES, NoiseConfig, ProfileConfig, Recipe, TrainConfig, get_config, with_lookahead
from ecgutils.export import write_csv
from ecgutils.io.fetch import sha256_file
from ecgutils.io.files import atomic_path
from ecgutils.data.noise import NoiseBank
from ecgutils.training.loop import Fitted

#: The notebook that trains each model, by role (a live view of the registry).
NOTEBOOK = registry.NOTEBOOK


def trainer(role: str):
    """The trainer of ``role``: the registry's ``"module:function"``, imported now.

    Every trainer is called as ``trainer(ds, bank, recipe, cfg, progress=..., device=...)`` and returns a
    :class:`~ecgutils.training.loop.Fitted`.
    """
    module, _, name = registry.spec(role).trainer.partition(":")
    return getattr(importlib.import_module(module), name)


def tuning(role: str) -> dict:
    """Settings outside the recipe that shape what training ``role`` returns: the detectors' thresholds are tuned with
    or without the T-wave rule (:data:`ecgutils.inference.DETECTOR_T_WAVE_CHECK`). :func:`train_or_load` keeps them
    with the checkpoint and trains again, rather than reuse it, when they have changed."""
    return {"t_wave_check": inference.DETECTOR_T_WAVE_CHECK} if role in ("detector", "stream_detector") else {}


def train_role(role: str, recipe: Recipe, ds: store.WindowStore, bank: NoiseBank, cfg: ProfileConfig,
               progress: bool = True, device=None, **parts) -> Fitted:
    """Train one model with its registered trainer; ``device`` None trains on the CPU; ``parts``: the
    ``model``, ``loss``, ``epoch_fn`` a notebook passes in (see :func:`train_or_load`)."""
    return trainer(role)(ds, bank, recipe, cfg, progress=progress, device=device, **parts)


def code_fingerprint(*parts) -> str:
    """A hash of the code of a model's class, a loss and an epoch function (and of the functions and classes of
    their own module they call), so that a checkpoint trained with other code is never taken for this one.

    Examples
    --------
    >>> def a(x): return x + 1
    >>> def b(x): return x + 2
    >>> code_fingerprint(a) == code_fingerprint(a), code_fingerprint(a) == code_fingerprint(b)
    (True, False)
    """
    seen: dict = {}

    def code_key(code: types.CodeType, module: dict) -> tuple:
        for name in code.co_names:  # the functions and classes it calls (standardise, ...)
            if isinstance(module.get(name), (types.FunctionType, type)):
                visit(module[name])
        return code.co_code, code.co_names, tuple(
            code_key(c, module) if isinstance(c, types.CodeType) else repr(sorted(c, key=repr))
            if isinstance(c, frozenset) else repr(c) for c in code.co_consts)

    def visit(obj) -> None:
        if obj is None or id(obj) in seen or getattr(obj, "__module__", "").split(".")[0] in ("torch", "builtins"):
            return
        seen[id(obj)] = None
        if isinstance(obj, nn.Module) or inspect.isclass(obj):
            for cls in (obj if inspect.isclass(obj) else type(obj)).__mro__:
                if cls.__module__.split(".")[0] not in ("torch", "builtins") and id(cls) not in seen:
                    seen[id(cls)] = tuple(sorted((k, visit_value(v)) for k, v in vars(cls).items()))
        elif isinstance(obj, types.FunctionType):
            cells = tuple(visit_value(c.cell_contents) for c in obj.__closure__ or ())
            seen[id(obj)] = (code_key(obj.__code__, obj.__globals__), cells)

    def visit_value(v):
        fn = v.fget if isinstance(v, property) else getattr(v, "__func__", v)
        if isinstance(fn, types.FunctionType):
            return code_key(fn.__code__, fn.__globals__)
        return repr(v) if isinstance(v, (int, float, str, tuple, torch.Tensor)) else ""

    for part in parts:
        visit(part)
    return hashlib.sha256(repr(list(seen.values())).encode()).hexdigest()[:16]


def _load_into(model: nn.Module, path: Path) -> nn.Module:
    """``model`` (a notebook's own network) with the weights and threshold stored in ``path``."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(payload["state_dict"])
    if "threshold" in payload["config"] and hasattr(model, "set_threshold"):
        model.set_threshold(payload["config"]["threshold"])
    return model.eval()


def recipe_matches(stored: dict, wanted: dict) -> bool:
    """Whether a checkpoint was trained with ``wanted``: its stored recipe equals it, where the settings the checkpoint
    predates (added to :class:`ecgutils.config.Recipe` after it was trained) count as equal at their defaults.

    Parameters
    ----------
    stored : dict
        The checkpoint's recipe (:func:`ecgutils.models.checkpoints.read_checkpoint`).
    wanted : dict
        ``Recipe.to_dict()``, with ``tuning`` and ``code`` where :func:`train_or_load` adds them (compared exactly).

    Examples
    --------
    >>> from ecgutils.config import get_config
    >>> wanted = get_config("smoke").recipes()["cnn"].to_dict()
    >>> older = checkpoints._plain(wanted); del older["augment"]  # trained before augmentation existed
    >>> recipe_matches(older, wanted), recipe_matches(older, {**wanted, "name": "other"})
    (True, False)
    """
    defaults = checkpoints._plain(Recipe("", "", {}, TrainConfig(), NoiseConfig()).to_dict())

    def as_stored(want, have, default):
        out = {}
        for k, v in want.items():
            if k not in have and isinstance(default, dict) and default.get(k) == v:
                continue
            both = isinstance(v, dict) and isinstance(have.get(k), dict)
            out[k] = as_stored(v, have[k], default.get(k) if isinstance(default, dict) else None) if both else v
        return out

    return stored == as_stored(checkpoints._plain(wanted), stored, defaults)


def train_or_load(role: str, ds: store.WindowStore, bank: NoiseBank, cfg: ProfileConfig, recipe: Recipe | None = None,
                  retrain: bool = False, progress: bool = True, device=None, *, model: nn.Module | None = None,
                  loss=None, epoch_fn=None):
    """The model of ``role`` for this profile: loaded when already trained with the same recipe and window build,
    else trained and saved (checkpoint in ``outputs/models/<profile>/``, history in ``outputs/csv/<profile>/``).

    Parameters
    ----------
    role : {"lstm", "cnn", "classifier", "detector", "stream_denoiser", "stream_detector"}
    ds : WindowStore
    bank : NoiseBank
    cfg : ProfileConfig
    recipe : Recipe, optional
        Default ``cfg.recipes()[role]``; a changed recipe (:func:`ecgutils.config.with_changes`) trains anew.
    retrain : bool
        Train even if a matching checkpoint exists.
    progress : bool
    device : str, torch.device or None
        Where to train; None (the default): the CPU with the recipe's threads, the reference setting.
    model : nn.Module, optional
        The network to train, built (and seeded) by the caller: a notebook's own class. Default: a fresh network
        of ``recipe.kind`` from the registry. A checkpoint is reused only if it was trained with the same code
        (:func:`code_fingerprint` of the model's class, ``loss`` and ``epoch_fn``), and is loaded into ``model``.
    loss : callable, optional
        ``loss(output, target, inputs)``; default the recipe's (scaled MSE, weighted BCE).
    epoch_fn : callable, optional
        One pass over the training batches (:func:`ecgutils.training.loop.train_one_epoch`, the default).

    Returns
    -------
    model : nn.Module
    history : pandas.DataFrame
        Loss per epoch.
    """
    registry.spec(role)  # an unknown role: a ValueError listing the valid ones
    recipe = recipe or cfg.recipes()[role]
    ckpt = paths.outputs_dir("models", cfg.profile) / f"{recipe.name}.pt"
    hist_path = paths.outputs_dir("csv", cfg.profile) / f"{recipe.name}_history.csv"
    parts = {k: v for k, v in dict(model=model, loss=loss, epoch_fn=epoch_fn).items() if v is not None}
    wanted = {**recipe.to_dict(), **({"tuning": tuning(role)} if tuning(role) else {}),
              **({"code": code_fingerprint(*parts.values())} if parts else {})}
    if not retrain and ckpt.exists() and hist_path.exists():
        info = checkpoints.read_checkpoint(ckpt)
        if recipe_matches(info.recipe, wanted) and info.dataset == ds.path.name:
            print(f"loaded {ckpt} (trained earlier with this recipe and code; pass retrain=True to train again)")
            trained = checkpoints.load_model(ckpt) if model is None else _load_into(model, ckpt)
            return trained, pd.read_csv(hist_path)
    fitted = train_role(role, recipe, ds, bank, cfg, progress, device, **parts)
    checkpoints.save_checkpoint(ckpt, fitted.model, recipe.kind, profile=cfg.profile, dataset=ds.path.name,
                                recipe=wanted, epoch=fitted.epoch, val_loss=fitted.val_loss,
                                device=fitted.device)
    write_csv(fitted.history, hist_path, index=False)
    for name, table in fitted.tables.items():
        write_csv(table, paths.outputs_dir("csv", cfg.profile) / f"{recipe.name}_{name}.csv", index=False)
    note = "" if fitted.complete else " (stopped by the time budget: not a reference run)"
    print(f"saved {ckpt}: epoch {fitted.epoch} of {recipe.train.epochs}, validation loss {fitted.val_loss:.4g}{note}")
    return fitted.model, fitted.history


def ship(profile: str = "full", roles=None) -> Path:
    """Copy the profile's checkpoint of every registered model (or of ``roles`` only: the other shipped models and
    their manifest entries stay as they are) into ``ecgutils/models/weights/`` and write ``MANIFEST.json``."""
    src = paths.outputs_dir("models", profile)
    out = checkpoints.weights_dir()
    out.mkdir(parents=True, exist_ok=True)
    old = json.loads((out / "MANIFEST.json").read_text()) if roles and (out / "MANIFEST.json").exists() else {}
    entries = {k: v for k, v in old.get("files", {}).items() if v["role"] not in roles} if roles else {}
    for role, name in registry.ROLES.items():
        if roles and role not in roles:
            continue
        info = checkpoints.read_checkpoint(src / f"{name}.pt")
        if info.profile != "full":
            raise ValueError(f"{src / name}.pt was trained in the {info.profile!r} profile; only full-profile "
                             "models ship as reference weights")
        shutil.copyfile(src / f"{name}.pt", out / f"{name}.pt")
        history = pd.read_csv(paths.outputs_dir("csv", profile) / f"{name}_history.csv")
        entries[f"{name}.pt"] = {"role": role, "sha256": sha256_file(out / f"{name}.pt"), "profile": info.profile,
                                 "dataset": info.dataset, "epoch": info.epoch, "val_loss": info.val_loss,
                                 "epochs": len(history), "train_minutes": round(history.seconds.sum() / 60, 1),
                                 "seed": info.recipe["train"]["seed"], "recipe": info.recipe}
    manifest = {**old, "ecgutils": __version__, "torch": torch.__version__, "python": platform.python_version(),
                "command": "make weights", "files": dict(sorted(entries.items()))}
    with atomic_path(out / "MANIFEST.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="full", choices=PROFILES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", nargs="*", default=[], choices=list(registry.REGISTRY))
    parser.add_argument("--lookaheads", nargs="*", type=float, default=None,
                        help="real-time models only: train these look-aheads (s) instead of the reference one")
    parser.add_argument("--device", default=None,
                        help="train on this device (cuda, mps, auto); default the CPU, as the reference runs")
    parser.add_argument("--ship", nargs="*", default=None, choices=list(registry.REGISTRY),
                        help="copy the full-profile models into ecgutils/models/weights (named roles: only those)")
    args = parser.parse_args(argv)
    cfg = get_config(args.profile, args.seed)
    if args.models:
        ds = store.load_dataset(path=store.build_dataset(args.profile, args.seed, progress=False))
        bank = NoiseBank.load()
        for role in args.models:
            base = cfg.recipes()[role]
            recipes = [with_lookahead(base, s) for s in args.lookaheads] if args.lookaheads else [base]
            for recipe in recipes:
                t0 = time.time()
                train_or_load(role, ds, bank, cfg, recipe=recipe, retrain=True, device=args.device)
                print(f"{recipe.name}: {(time.time() - t0) / 60:.1f} min", flush=True)
    if args.ship is not None:
        print(f"reference weights written to {ship(args.profile, args.ship or None)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
