"""Training losses: the denoisers' scaled MSE (with a spectral part), the R-peak models' weighted cross-entropy."""

from __future__ import annotations

from typing import Callable

import torch
from torch.nn import functional as F

#: Denoising losses :func:`denoising_loss` knows.
DENOISING_LOSSES = ("mse_scaled", "mse_noise", "mse_blend", "mse_spectral", "snr_db", "mse")


def denoising_loss(kind: str = "mse_scaled", ceiling_db: float = 5.0, noise_weight: float = 0.1,
                   spectral_weight: float = 0.2) -> Callable:
    r"""The denoisers' training loss: the MSE between output and clean window, both mean-removed.

    Parameters
    ----------
    kind : {"mse_scaled", "mse_noise", "mse_blend", "mse_spectral", "snr_db", "mse"}
        ``mse``: :math:`\frac{1}{BL}\sum (y - c)^2` over the whole batch, in mV². Windows at low SNR have errors a
        hundred times larger than windows at high SNR, so they dominate it, and the model learns to smooth
        everything a little, clean signals included.
        ``mse_scaled`` (default): each window's MSE divided by the variance of its noisy input, i.e. the MSE on
        the scale the network itself works at (each input window standardised).
        ``mse_noise``: each window's MSE divided by the power of the noise that was added to it, i.e. the inverse
        of the SNR improvement in linear terms: the identity scores 1 on every noisy window, whatever its SNR.
        The noise power is floored at the clean power times ``10 ** (-ceiling_db / 10)``.
        ``mse_blend``: ``mse_scaled`` plus ``noise_weight`` times ``mse_noise``: the default's balance between
        noise levels, with windows of little noise (where ``mse_scaled`` lets the model change the signal) weighing
        up to ``noise_weight * 10 ** (ceiling_db / 10)`` times more.
        ``mse_spectral``: ``mse_scaled`` plus ``spectral_weight`` times :func:`spectral_error` (:func:`spectral_mse`):
        the error of the output's short-time spectrum, which ignores phase (a beat a few samples early or late
        costs it little) and, being absolute rather than squared, weighs small errors relatively more.
        ``snr_db``: minus each window's SNR improvement in dB, :math:`10\log_{10}(\text{MSE} / P_\text{noise})`,
        averaged: every window counts the same in dB, whatever its input SNR, so making a clean window worse costs
        as much as failing to clean a noisy one (the "do no harm" loss). The noise power is floored as for
        ``mse_noise``; the MSE at the same floor times ``1e-3`` (a perfect output costs -30 dB below the floor).
    ceiling_db : float
        ``mse_noise``, ``mse_blend`` and ``snr_db``: input SNR (dB) above which a window weighs as if it were at
        this SNR.
    noise_weight : float
        ``mse_blend``: the weight of its ``mse_noise`` part.
    spectral_weight : float
        ``mse_spectral``: the weight of its spectral part.

    Returns
    -------
    callable
        ``loss(output, clean, noisy)`` on tensors of shape (batch, n_samples), mV.
    """
    if kind not in DENOISING_LOSSES:
        raise ValueError(f"unknown loss {kind!r}; valid options: {', '.join(DENOISING_LOSSES)}")
    if kind == "mse_scaled":
        return scaled_mse
    if kind == "mse_spectral":
        return spectral_mse(spectral_weight)
    ceiling = 10 ** (-ceiling_db / 10)

    def loss(y: torch.Tensor, c: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        err = window_mse(y, c)
        if kind == "mse":
            return err.mean()
        c = c - c.mean(-1, keepdim=True)
        floor = ceiling * torch.mean(c**2, dim=-1)
        noise = (torch.mean((x - x.mean(-1, keepdim=True) - c) ** 2, dim=-1) + floor).clamp_min(1e-8)
        if kind == "snr_db":
            return (10 * torch.log10((err + 1e-3 * floor).clamp_min(1e-12) / noise)).mean()
        if kind == "mse_blend":
            return scaled_mse(y, c, x) + noise_weight * (err / noise).mean()
        return (err / noise).mean()

    return loss


def window_mse(y: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The MSE of each window between output ``y`` and clean ``c`` (both (batch, n_samples), mV), both
    mean-removed: shape (batch,), mV²."""
    y = y - y.mean(-1, keepdim=True)
    c = c - c.mean(-1, keepdim=True)
    return torch.mean((y - c) ** 2, dim=-1)


def scaled_mse(y: torch.Tensor, c: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""The denoisers' default loss: each window's MSE divided by the variance of its noisy input, averaged.

    .. math:: \mathcal{L} = \frac{1}{B} \sum_b \frac{\frac{1}{L}\sum_i (y_{b,i} - c_{b,i})^2}{\operatorname{Var}(x_b)}

    Parameters
    ----------
    y, c, x : tensor, shape (batch, n_samples)
        Output, clean window and noisy input, mV.

    Returns
    -------
    tensor, shape ()
        Unitless (the MSE on the scale of each standardised input window).

    Examples
    --------
    >>> c = torch.sin(torch.linspace(0, 6, 100))[None]
    >>> float(scaled_mse(c, c, c + 1.0))   # a perfect output costs nothing, whatever the input
    0.0
    """
    return (window_mse(y, c) / x.var(dim=-1).clamp_min(1e-6)).mean()


def spectral_error(y: torch.Tensor, c: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Each window's error of the short-time spectrum: the mean absolute difference between the STFT magnitudes of
    output ``y`` and clean ``c``, over the mean STFT magnitude of the noisy input ``x`` (all three mean-removed).

    The STFT has a Hann window of 64 samples (178 ms at 360 Hz, about twice a QRS complex's duration) and a hop of 16. Dividing
    by the input's magnitude makes it unitless, as :func:`scaled_mse` is.

    Parameters
    ----------
    y, c, x : tensor, shape (batch, n_samples)
        Output, clean window and noisy input, mV.

    Returns
    -------
    tensor, shape (batch,)
        Unitless.

    Examples
    --------
    >>> c = torch.sin(torch.linspace(0, 60, 720))[None]
    >>> float(spectral_error(c, c, c + 0.1))             # the clean window itself: no error
    0.0
    >>> bool(spectral_error(0.5 * c, c, c) > 0.4)        # half the amplitude: half the magnitudes off
    True
    """
    win = torch.hann_window(64, device=y.device)
    mag = [torch.stft(v - v.mean(-1, keepdim=True), 64, 16, window=win, return_complex=True).abs() for v in (y, c, x)]
    return (mag[0] - mag[1]).abs().mean(dim=(-2, -1)) / mag[2].mean(dim=(-2, -1)).clamp_min(1e-6)


def spectral_mse(weight: float) -> Callable:
    r"""The reference denoiser's loss: :func:`scaled_mse` plus ``weight`` times the mean :func:`spectral_error`.

    .. math:: \mathcal{L} = \mathcal{L}_\text{scaled MSE} + w \, \frac{1}{B} \sum_b
              \frac{\operatorname{mean} \big| |S(y_b)| - |S(c_b)| \big|}{\operatorname{mean} |S(x_b)|}

    with :math:`S` the short-time Fourier transform.

    Parameters
    ----------
    weight : float
        :math:`w`, the weight of the spectral part (0.2 in the reference recipe, chosen on validation).

    Returns
    -------
    callable
        ``loss(output, clean, noisy)`` on tensors of shape (batch, n_samples), mV; a tensor of shape ().

    Examples
    --------
    >>> c = torch.sin(torch.linspace(0, 60, 720))[None]
    >>> loss = spectral_mse(0.2)
    >>> float(loss(c, c, c + 1.0)), bool(loss(0.5 * c, c, c) > scaled_mse(0.5 * c, c, c))
    (0.0, True)
    """

    def loss(y: torch.Tensor, c: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return scaled_mse(y, c, x) + weight * spectral_error(y, c, x).mean()

    return loss


def weighted_bce(pos_weight: float) -> Callable:
    r"""Binary cross-entropy on logits with the positive class weighted by ``pos_weight``.

    .. math:: \ell = -\frac{1}{N}\sum_i \left[ w\, t_i \log \sigma(z_i) + (1 - t_i) \log(1 - \sigma(z_i)) \right]

    Returns
    -------
    callable
        ``loss(logits, targets, inputs=None)``.
    """
    pw = torch.tensor(float(pos_weight))

    def loss(logits, target, inputs=None):
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=pw.to(logits.device))

    return loss


def trimmed(loss: Callable, inputs: bool = True) -> Callable:
    """``loss`` on the part of the targets the model answers for.

    A real-time model with a look-ahead of :math:`D` frames returns its window minus the last :math:`D` frames
    (they need input after the window); the targets (and, with ``inputs``, the inputs) are cut to the output's
    length. For the offline models, whose output covers the window, this changes nothing.
    """

    def fn(y: torch.Tensor, target: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        n = y.shape[-1]
        return loss(y, target[..., :n], x[..., :n] if inputs else x)

    return fn
