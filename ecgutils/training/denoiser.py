"""Train a denoiser (the LSTM, the CNN or the real-time LSTM): fresh noise every epoch, the best validation epoch kept."""

from __future__ import annotations

import numpy as np

from ecgutils.config import ProfileConfig, Recipe
from ecgutils.data.noise import NoiseBank
from ecgutils.data.store import WindowStore
from ecgutils.models.registry import build_model
from ecgutils.training.loop import Fitted, augmenter, fit, fixed_batches, noisy_batches, varied_validation
from ecgutils.training.losses import denoising_loss, trimmed


def validation_batches(ds: WindowStore, batch_size: int = 64, varied: tuple | None = None) -> list:
    """Fixed validation batches: the validation records with real noise, Gaussian noise and no noise.

    The noisy versions were drawn once (seeded) by notebook 01, so the loss is comparable from epoch to epoch.
    ``varied``: ``(noisy, clean)`` of a varying recipe (:func:`ecgutils.training.loop.varied_validation`), added
    as a fourth case.
    """
    v = ds.val
    x, y = [v.real, v.gaussian, v.windows.x], [v.windows.x] * 3
    if varied is not None:
        x, y = x + [varied[0]], y + [varied[1]]
    return fixed_batches(np.concatenate(x), np.concatenate(y), batch_size)


def train_denoiser(ds: WindowStore, bank: NoiseBank, recipe: Recipe, cfg: ProfileConfig | None, *,
                   progress: bool = True, device=None, model=None, loss=None, epoch_fn=None) -> Fitted:
    """Train a denoiser on the training windows with fresh noise each epoch; keep the best validation epoch.

    The signature every trainer of the registry has (:mod:`ecgutils.models.registry`).

    Parameters
    ----------
    ds : WindowStore
        From :func:`ecgutils.data.store.load_dataset`.
    bank : NoiseBank
    recipe : Recipe
        ``get_config(profile).lstm``, ``.cnn`` or ``.stream_denoiser`` (or a changed copy,
        :func:`ecgutils.config.with_changes`).
    cfg : ProfileConfig or None
        The profile; a denoiser needs nothing from it (the validation windows are in ``ds``).
    progress : bool
        Show a progress bar.
    device : str, torch.device or None
        Where to train; None: the CPU (:func:`ecgutils.models.runtime.pick_device`).
    model, loss, epoch_fn : optional
        What a notebook defines and passes in (:func:`ecgutils.training.runs.train_or_load`): the network to
        train (initialised by the caller) instead of a fresh one of ``recipe.kind``, the loss
        ``loss(output, target, inputs)`` instead of the recipe's, and one epoch's pass
        (:func:`ecgutils.training.loop.train_one_epoch`'s signature).

    Returns
    -------
    Fitted
        The model at its best epoch and the loss history.
    """
    model = model if model is not None else build_model(recipe.kind, seed=recipe.train.seed, **recipe.model)
    loss = trimmed(loss or denoising_loss(**recipe.loss))  # a real-time model answers for all but its look-ahead
    rng = np.random.default_rng(recipe.train.seed)
    clean = ds.train.windows.x
    aug = augmenter(ds.train.windows, recipe)  # e.g. windows from the other lead (recipe.augment); target varied too

    def epoch():
        for x, c, _ in noisy_batches(clean, bank, rng, recipe.train.batch_size, recipe.noise, aug):
            yield x, c

    val = validation_batches(ds, varied=varied_validation(ds, bank, recipe))
    return fit(model, epoch, val, loss, recipe.train, desc=f"training {recipe.name}",
               device=device, progress=progress, epoch_fn=epoch_fn)
