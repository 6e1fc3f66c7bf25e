"""The training loop: noisy batches drawn afresh every epoch, a fixed number of epochs, the best validation epoch.

Nothing here decides by the clock: every epoch of the schedule runs (unless the user opts in to a time budget),
and the epoch with the lowest loss on the fixed validation batches is kept, so the same code, seed and thread
count give the same weights. Training runs on the CPU with the recipe's threads unless the caller passes a
``device`` (:func:`ecgutils.models.runtime.pick_device`); the device is reported in :class:`Fitted` and stored in
the checkpoint.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ecgutils.config import NoiseConfig, Recipe, TrainConfig
from ecgutils.data.augment import Augmenter, other_lead_windows
from ecgutils.data.noise import NoiseBank, random_noise
from ecgutils.models.runtime import pick_device, seed_everything, threads


def noisy_batches(clean: np.ndarray, bank: NoiseBank, rng: np.random.Generator, batch_size: int,
                  noise: NoiseConfig, augment: Callable | None = None) -> Iterable:
    """One epoch of (noisy, clean, index) batches with fresh noise (and variations) for every window.

    Parameters
    ----------
    clean : ndarray, shape (n_windows, n_samples)
        Clean windows, mV.
    bank : NoiseBank
        Noise recordings; training draws from their first half only.
    rng : numpy.random.Generator
        Seeds the order and the noise.
    batch_size : int
    noise : NoiseConfig
        Kinds, SNR range (dB) and share of windows left clean.
    augment : callable, optional
        ``augment(clean_batch, index, rng) -> (clean_batch, added)`` (an :class:`ecgutils.data.augment.Augmenter`):
        the varied windows, to which the noise is scaled, and what is added to the input after the noise (a
        baseline swing).

    Yields
    ------
    noisy, clean : ndarray, shape (batch, n_samples), float32, mV
    index : ndarray, shape (batch,), int
        Rows of ``clean`` in the batch.
    """
    order = rng.permutation(len(clean))
    for b in range(0, len(order), batch_size):
        idx = np.sort(order[b:b + batch_size])
        c, added = clean[idx], 0.0
        if augment is not None:
            c, added = augment(c, idx, rng)
        n, _, _ = random_noise(c, rng, bank, "train", noise.kinds, noise.snr_range)
        n[rng.random(len(idx)) < noise.clean_fraction] = 0.0
        yield (c + n + added).astype(np.float32), c.astype(np.float32), idx


def augmenter(windows, recipe: Recipe) -> Augmenter | None:
    """The :class:`~ecgutils.data.augment.Augmenter` of ``recipe`` for a :class:`~ecgutils.data.windows.WindowSet`
    (its other lead read from the records), or None when the recipe varies nothing."""
    cfg = recipe.augment
    if not cfg.active:
        return None
    other = other_lead_windows(windows.record, windows.start, windows.length) if cfg.other_lead else None
    return Augmenter(cfg, other, windows.beat_lists(), fs=windows.fs)


def varied_validation(ds, bank: NoiseBank, recipe: Recipe) -> tuple[np.ndarray, np.ndarray] | None:
    """With a varying recipe, one more validation case: the validation windows varied as the training ones and with
    training-half noise, drawn once (seeded), so that the kept epoch is the best on what training aims at, not only
    on MLII; else None.

    Parameters
    ----------
    ds : WindowStore
        Its ``val`` windows are varied.
    bank : NoiseBank
    recipe : Recipe
        Its ``augment``, ``noise`` and ``train.seed``.

    Returns
    -------
    (noisy, clean) : tuple of ndarray, shape (n_windows, n_samples), float32, mV, or None
        The input (swing included) and the varied clean windows (a denoiser's target); an R-peak model's targets
        are the windows' own beats.
    """
    aug = augmenter(ds.val.windows, recipe)
    if aug is None:
        return None
    rng = np.random.default_rng([recipe.train.seed, 22])
    c, added = aug(ds.val.windows.x, np.arange(len(ds.val.windows)), rng)
    n, _, _ = random_noise(c, rng, bank, "train", recipe.noise.kinds, recipe.noise.snr_range)
    return (c + n + added).astype(np.float32), c.astype(np.float32)


def fixed_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> list:
    """``(x, y)`` cut into a list of batches (validation data, the same every epoch)."""
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size)]


@dataclass
class Fitted:
    """A training run's result.

    Attributes
    ----------
    model : nn.Module
        At its best epoch, in evaluation mode, on the CPU.
    history : pandas.DataFrame
        One row per epoch: ``epoch``, ``train_loss``, ``val_loss``, ``seconds``, ``lr``, ``best``.
    epoch : int
        The epoch kept (0: the average of the last epochs, see ``TrainConfig.average_last``).
    val_loss : float
        Its validation loss.
    complete : bool
        False when an opt-in time budget stopped the schedule early (not a reference run).
    device : str
        Where it was trained (``"cpu"``, ``"cuda"``).
    tables : dict of str to pandas.DataFrame
        What a trainer measured besides the loss (the detectors' threshold sweep: ``{"threshold": table}``).
    """

    model: nn.Module
    history: pd.DataFrame
    epoch: int
    val_loss: float
    complete: bool
    device: str = "cpu"
    tables: dict = field(default_factory=dict)


def fit(model: nn.Module, train_epoch: Callable[[], Iterable], val_batches: list, loss_fn: Callable,
        cfg: TrainConfig, desc: str = "training", device=None, progress: bool = True,
        epoch_fn: Callable | None = None) -> Fitted:
    """Train for ``cfg.epochs`` epochs and keep the epoch with the lowest validation loss.

    Parameters
    ----------
    model : nn.Module
    train_epoch : callable
        ``train_epoch()`` returns an iterable of ``(inputs, targets)`` numpy batches (fresh noise each call).
    val_batches : list
        Fixed ``(inputs, targets)`` batches from the validation records.
    loss_fn : callable
        ``loss_fn(model_output, targets, inputs)`` on tensors.
    cfg : TrainConfig
        Epochs, learning rate, threads, seed (and an opt-in time budget).
    desc : str
        Label of the printed progress: one line per epoch (train and validation loss), which stays in an
        executed notebook.
    device : str, torch.device or None
        Where to train; None (the default) is the CPU, whatever accelerator the machine has
        (:func:`ecgutils.models.runtime.pick_device`).
    epoch_fn : callable, optional
        One pass over the training batches, called as :func:`train_one_epoch` (the default) is; a notebook passes
        its own to train with it.

    Returns
    -------
    Fitted
    """
    with threads(cfg.threads):
        seed_everything(cfg.seed)
        device = pick_device(device)
        model.to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs, eta_min=cfg.lr * cfg.lr_min_fraction)
        rows, best, best_state, t_start = [], math.inf, None, time.time()
        # the equal-weight average of the last epochs (stochastic weight averaging, Izmailov et al., 2018)
        averaged = AveragedModel(model, use_buffers=True) if cfg.average_last else None
        epoch_fn = epoch_fn or train_one_epoch
        for epoch in range(1, cfg.epochs + 1):
            t0 = time.time()
            train_loss = epoch_fn(model, train_epoch(), loss_fn, opt, cfg.grad_clip, device)
            lr = opt.param_groups[0]["lr"]
            sched.step()
            val = evaluate_loss(model, val_batches, loss_fn, device)
            if averaged is not None and epoch > cfg.epochs - cfg.average_last:
                averaged.update_parameters(model)
            improved = val < best
            if improved:
                best, best_state = val, copy.deepcopy(model.state_dict())
            rows.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val, "seconds": time.time() - t0,
                         "lr": lr, "best": improved})
            if progress:
                print(f"{desc}: epoch {epoch}/{cfg.epochs}, train loss {train_loss:.4g}, validation loss {val:.4g}"
                      f"{' (best so far)' if improved else ''}, {rows[-1]['seconds']:.1f} s", flush=True)
            if cfg.max_minutes is not None and time.time() - t_start > 60 * cfg.max_minutes and epoch < cfg.epochs:
                print(f"stopped after epoch {epoch} of {cfg.epochs}: the opt-in time budget of {cfg.max_minutes} min "
                      "was reached. This model depends on the machine's speed: it is not a reference run.")
                break
        history = pd.DataFrame(rows)
        if best_state is None:
            raise FloatingPointError(f"{desc}: the validation loss was not finite at any epoch "
                                     f"({', '.join(f'{v:.3g}' for v in history.val_loss)}): the windows or the noise "
                                     "hold NaN or infinite values, or training diverged. Rebuild the windows "
                                     "(notebook 01) or lower the learning rate (`lr`)")
        kept = int(history.loc[history.val_loss.idxmin(), "epoch"])
        if averaged is not None and int(averaged.n_averaged):
            mean_state = averaged.module.state_dict()
            model.load_state_dict(mean_state)
            val = evaluate_loss(model, val_batches, loss_fn, device)
            print(f"average of the last {int(averaged.n_averaged)} epochs: validation loss {val:.4g} "
                  f"(best single epoch {kept}: {best:.4g})")
            if val < best:
                best, best_state, kept = val, mean_state, 0  # epoch 0: the average
        model.load_state_dict(best_state)
    return Fitted(model.cpu().eval(), history, kept, float(best), len(rows) == cfg.epochs, device=str(device))


def train_one_epoch(model: nn.Module, batches: Iterable, loss_fn: Callable, opt: torch.optim.Optimizer,
                    grad_clip: float, device) -> float:
    """One pass over the training batches: forward, loss, backward, clipped gradient step.

    Parameters
    ----------
    model : nn.Module
    batches : iterable of (inputs, targets)
        Numpy batches (:func:`noisy_batches`: fresh noise drawn for every batch).
    loss_fn : callable
        ``loss_fn(output, targets, inputs)`` on tensors.
    opt : torch.optim.Optimizer
    grad_clip : float
        Largest gradient norm.
    device : torch.device

    Returns
    -------
    float
        The mean training loss over the windows of the epoch.
    """
    model.train()
    total, count = 0.0, 0
    for x, target in batches:
        x, target = torch.as_tensor(x, device=device), torch.as_tensor(target, device=device)
        loss = loss_fn(model(x), target, x)  # forward, then the loss
        opt.zero_grad(set_to_none=True)
        loss.backward()  # the gradients
        nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()  # one AdamW step
        total += loss.item() * len(x)
        count += len(x)
    return total / max(count, 1)


@torch.no_grad()
def evaluate_loss(model: nn.Module, batches: list, loss_fn: Callable, device=None) -> float:
    """Mean loss over fixed batches, in evaluation mode."""
    device = device or next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    for x, y in batches:
        xt = torch.as_tensor(x, device=device)
        total += loss_fn(model(xt), torch.as_tensor(y, device=device), xt).item() * len(x)
        count += len(x)
    return total / max(count, 1)
