"""Training: device choice, noisy batches drawn on the fly, a seeded loop with early stopping, and checkpoints.

Checkpoints are plain dicts of tensors and JSON-able values (``kind``, ``config``, ``state_dict``, ``meta``), so
``torch.load(path, weights_only=True)`` reads them without unpickling any object. They are written to a temporary
file and renamed, so an interrupted run never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from . import paths
from .models import build_model
from .noise import NoiseBank, random_noise
from .session import seed_everything


def pick_device(prefer: str | None = None, verbose: bool = True) -> torch.device:
    """CUDA if available, else Apple MPS, else CPU (or ``prefer``: ``"cpu"``, ``"cuda"``, ``"mps"``)."""
    if prefer:
        dev = torch.device(prefer)
    elif torch.cuda.is_available():
        dev = torch.device("cuda")
    elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        dev = torch.device("mps")
    else:
        dev = torch.device("cpu")
    if verbose:
        extra = f" ({torch.get_num_threads()} threads)" if dev.type == "cpu" else ""
        print(f"training on {dev}{extra}")
    return dev


# --------------------------------------------------------------------------------------------- batches
def noisy_batches(clean: np.ndarray, bank: NoiseBank, rng: np.random.Generator, batch_size: int = 32,
                  kinds=("gaussian", "bw", "em", "ma", "mixed"), snr_range=(-12.0, 30.0),
                  clean_fraction: float = 0.1, part: str = "train", crop: int | None = None) -> Iterable:
    """One epoch of (noisy, clean, index) batches with fresh noise for every window.

    Parameters
    ----------
    clean : ndarray, shape (n_windows, length)
        Clean windows, mV.
    bank : NoiseBank
        Noise recordings (training windows draw from their first half only).
    rng : numpy.random.Generator
        Seeds the order, the noise and the crops.
    batch_size : int
    kinds, snr_range :
        Noise kinds to draw from and the SNR range (dB), see :func:`ecgutils.noise.random_noise`.
    clean_fraction : float
        Share of windows left without noise (teaches the model to leave a clean signal alone).
    crop : int, optional
        Train on random crops of this many samples (cheaper steps, more variety).

    Yields
    ------
    noisy, clean : ndarray, shape (batch, length or crop), float32, mV
    index : ndarray, shape (batch,), int
        Rows of ``clean`` in the batch.
    """
    order = rng.permutation(len(clean))
    for b in range(0, len(order), batch_size):
        idx = np.sort(order[b:b + batch_size])
        c = clean[idx]
        noise, _, _ = random_noise(c, rng, bank, part, kinds, snr_range)
        noise[rng.random(len(idx)) < clean_fraction] = 0.0
        x = c + noise
        if crop is not None and crop < c.shape[1]:
            st = rng.integers(0, c.shape[1] - crop + 1)
            x, c = x[:, st:st + crop], c[:, st:st + crop]
        yield x.astype(np.float32), c.astype(np.float32), idx


# --------------------------------------------------------------------------------------------- loop
@dataclass
class TrainConfig:
    """Settings of one training run.

    Attributes
    ----------
    epochs : int
        Most epochs to run.
    lr : float
        Adam learning rate (cosine-decayed to 5 % over ``epochs``).
    patience : int
        Stop after this many epochs without a better validation loss.
    seed : int
    max_minutes : float, optional
        Stop after this much wall-clock time (the epoch in progress is finished).
    grad_clip : float
        Gradient norm clipping (recurrent nets need it).
    weight_decay : float
        AdamW weight decay.
    """

    epochs: int = 20
    lr: float = 3e-3
    patience: int = 5
    seed: int = 0
    max_minutes: float | None = None
    grad_clip: float = 1.0
    weight_decay: float = 0.0


def fit(model: nn.Module, train_epoch: Callable[[int], Iterable], val_batches: list, loss_fn: Callable,
        cfg: TrainConfig, name: str, kind: str, device: torch.device | None = None,
        models_dir: str | Path | None = None, csv_dir: str | Path | None = None, progress: bool = True,
        meta: dict | None = None) -> pd.DataFrame:
    """Train with early stopping on held-out records; save the best checkpoint and the loss history.

    Parameters
    ----------
    model : nn.Module
        Built by :func:`ecgutils.models.build_model` (its ``config`` goes into the checkpoint).
    train_epoch : callable
        ``train_epoch(epoch)`` returns an iterable of ``(inputs, targets)`` numpy batches.
    val_batches : list
        Fixed ``(inputs, targets)`` batches from the validation records.
    loss_fn : callable
        ``loss_fn(model_output, targets, inputs)`` on tensors.
    cfg : TrainConfig
    name : str
        File stem: ``outputs/models/<name>.pt``, ``outputs/csv/<name>_history.csv``.
    kind : str
        Model kind for :func:`load_checkpoint`.

    Returns
    -------
    pandas.DataFrame
        The history: epoch, train_loss, val_loss, seconds, lr, best.
    """
    seed_everything(cfg.seed)
    device = device or pick_device()
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda e: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(e, cfg.epochs) / max(cfg.epochs, 1))))
    models_dir = Path(models_dir) if models_dir is not None else paths.outputs_dir("models")
    csv_dir = Path(csv_dir) if csv_dir is not None else paths.outputs_dir("csv")
    ckpt = models_dir / f"{name}.pt"
    keep_other_profile(ckpt, (meta or {}).get("profile"))
    rows, best, stale, t_start = [], math.inf, 0, time.time()
    bar = tqdm(range(1, cfg.epochs + 1), desc=f"training {name}", disable=not progress)
    for epoch in bar:
        t0 = time.time()
        model.train()
        total, count = 0.0, 0
        for x, y in train_epoch(epoch):
            xt, yt = torch.as_tensor(x, device=device), torch.as_tensor(y, device=device)
            loss = loss_fn(model(xt), yt, xt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            total += loss.item() * len(x)
            count += len(x)
        sched.step()
        val = evaluate_loss(model, val_batches, loss_fn, device)
        improved = val < best
        if improved:
            best, stale = val, 0
            save_checkpoint(ckpt, model, kind, meta={"epoch": epoch, "val_loss": val, "name": name,
                                                      "train": asdict(cfg), **(meta or {})})
        else:
            stale += 1
        rows.append({"epoch": epoch, "train_loss": total / max(count, 1), "val_loss": val,
                     "seconds": time.time() - t0, "lr": opt.param_groups[0]["lr"], "best": improved})
        bar.set_postfix(train=f"{rows[-1]['train_loss']:.4g}", val=f"{val:.4g}", best=f"{best:.4g}")
        if stale >= cfg.patience:
            print(f"early stop after epoch {epoch}: no better validation loss in {cfg.patience} epochs")
            break
        if cfg.max_minutes is not None and time.time() - t_start > 60 * cfg.max_minutes:
            print(f"stopped after epoch {epoch}: time budget of {cfg.max_minutes} min reached")
            break
    history = pd.DataFrame(rows)
    from .export import write_csv

    write_csv(history, csv_dir / f"{name}_history.csv", index=False)
    model.load_state_dict(load_checkpoint(ckpt, device=device)["state_dict"])  # leave the model at its best epoch
    return history


@torch.no_grad()
def evaluate_loss(model: nn.Module, batches: list, loss_fn: Callable, device) -> float:
    """Mean loss over fixed batches, in evaluation mode."""
    model.eval()
    total, count = 0.0, 0
    for x, y in batches:
        out = model(torch.as_tensor(x, device=device))
        total += loss_fn(out, torch.as_tensor(y, device=device), torch.as_tensor(x, device=device)).item() * len(x)
        count += len(x)
    return total / max(count, 1)


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, batch_size: int = 256, device=None) -> np.ndarray:
    """Run ``model`` over ``x`` (n, length) in batches; returns a numpy array."""
    device = device or next(model.parameters()).device
    model.eval()
    outs = [model(torch.as_tensor(x[i:i + batch_size], device=device)).cpu().numpy()
            for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,))


# --------------------------------------------------------------------------------------------- losses
LOSSES = ("mse_scaled", "mse_noise", "mse", "mse_db")


def denoising_loss(kind: str = "mse_scaled", freq_weight: float = 0.0, floor_db: float = -40.0,
                   ceiling_db: float = 5.0) -> Callable:
    """The denoisers' training loss: the MSE between output and clean window (both mean-removed).

    Parameters
    ----------
    kind : {"mse_scaled", "mse_noise", "mse", "mse_db"}
        ``mse``: the MSE over the whole batch, in mV^2. Windows at low SNR have errors a hundred times larger than
        windows at high SNR, so they dominate it, and the model learns to smooth everything a little, clean signals
        included. ``mse_scaled`` (default): the MSE of each window divided by the power of its noisy input, i.e. the
        MSE on the scale the network itself works at (each input window standardised); clean and nearly clean
        windows weigh about 17 times more than with plain MSE against a -12 dB window, without drowning it.
        ``mse_noise``: the MSE of each window divided by the power of the noise that was added to it, i.e. the
        inverse of the SNR improvement in linear terms: the identity scores 1 on every noisy window, whatever its
        SNR, so a model cannot buy gains at -6 dB with harm at 24 dB. The noise power is floored at the clean
        power times ``10 ** (-ceiling_db / 10)`` (clean windows would otherwise divide by zero).
        ``mse_db``: each window's MSE relative to its clean power, in dB (minus the output SNR, floored at
        ``floor_db``); this weighs clean windows so much that training settles on leaving every input alone.
    freq_weight : float
        Weight of an extra spectral term: the mean absolute difference of the log-magnitude spectra, which
        discourages the over-smoothing the MSE rewards at low SNR.
    floor_db : float
        Lowest value of a window's ``mse_db`` (keeps perfect windows from dominating the gradient).
    ceiling_db : float
        ``mse_noise`` only: input SNR (dB) above which a window weighs as if it were at this SNR. 0 dB is close to
        ``mse_scaled``; 20 dB weighs clean windows so much that training settles on the identity.
    """
    if kind not in LOSSES:
        raise ValueError(f"unknown loss {kind!r}; valid options: {', '.join(LOSSES)}")
    floor, ceiling = 10 ** (floor_db / 10), 10 ** (-ceiling_db / 10)

    def loss(y: torch.Tensor, c: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        y = y - y.mean(-1, keepdim=True)
        c = c - c.mean(-1, keepdim=True)
        err = torch.mean((y - c) ** 2, dim=-1)
        if kind == "mse":
            value = err.mean()
        elif kind == "mse_scaled":
            value = (err / x.var(dim=-1).clamp_min(1e-6)).mean()
        elif kind == "mse_noise":
            noise = torch.mean((x - x.mean(-1, keepdim=True) - c) ** 2, dim=-1)
            value = (err / (noise + ceiling * torch.mean(c**2, dim=-1)).clamp_min(1e-8)).mean()
        else:
            power = torch.mean(c**2, dim=-1).clamp_min(1e-8)
            value = (10 * torch.log10(err / power + floor)).mean()
        if freq_weight:
            fy, fc = torch.fft.rfft(y).abs(), torch.fft.rfft(c).abs()
            value = value + freq_weight * torch.mean(torch.abs(torch.log1p(fy) - torch.log1p(fc)))
        return value

    return loss


# --------------------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: str | Path, model: nn.Module, kind: str, meta: dict | None = None) -> Path:
    """Write ``{"kind", "config", "state_dict", "meta"}`` to ``path`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"kind": kind, "config": dict(model.config),
               "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
               "meta": _plain(meta or {})}
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, device=None, notebook: str | None = None) -> dict:
    """Read a checkpoint with ``weights_only=True``: ``{"kind", "config", "state_dict", "meta"}``.

    A missing file raises ``FileNotFoundError`` naming ``notebook``, the one that writes it.
    """
    path = Path(path)
    if not path.exists():
        hint = f"run notebooks/{notebook} first" if notebook else "train it first"
        raise FileNotFoundError(f"no checkpoint at {path}: {hint}.")
    return torch.load(path, map_location=device or "cpu", weights_only=True)


#: Model options added after checkpoints were first written, with the behaviour those checkpoints were trained with:
#: a stored configuration without the key gets this value rather than today's default.
LEGACY_CONFIG = {"lstm": {"gate": False}, "gru_classifier": {"context": 0}}


def load_model(path: str | Path, device=None, notebook: str | None = None) -> nn.Module:
    """Rebuild the model stored in a checkpoint, in evaluation mode."""
    payload = load_checkpoint(path, device, notebook)
    config = {**LEGACY_CONFIG.get(payload["kind"], {}), **payload["config"]}
    model = build_model(payload["kind"], **config)
    model.load_state_dict(payload["state_dict"])
    model.meta = payload["meta"]
    return model.to(device or "cpu").eval()


def keep_other_profile(path: Path, profile: str | None) -> Path | None:
    """Before a run of ``profile`` writes ``path``, move a checkpoint there from another profile aside.

    A quick run after a full one must not destroy the full model: it is renamed ``<name>.<profile>.pt`` (e.g.
    ``lstm_denoiser.full.pt``) and the new path is returned (``None`` when nothing was moved).
    """
    if profile is None or not path.exists():
        return None
    old = torch.load(path, map_location="cpu", weights_only=True).get("meta", {}).get("profile")
    if old is None or old == profile:
        return None
    kept = path.with_name(f"{path.stem}.{old}{path.suffix}")
    os.replace(path, kept)
    print(f"kept the {old}-profile checkpoint as {kept} (this {profile}-profile run writes {path.name})")
    return kept


def _plain(value):
    """Make metadata JSON-like (what ``weights_only`` loading accepts)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value
