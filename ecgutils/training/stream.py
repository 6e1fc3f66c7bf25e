"""Train the real-time models of notebook 05, with the data, noise and protocol of the offline ones.

The causal denoiser trains exactly like the offline LSTM (:func:`ecgutils.denoising.train_denoiser`); the causal
detector like the offline GRU (:func:`ecgutils.rpeak_training.fit_detector`), and its threshold is then chosen on
the validation records through its own streaming peak picking (:func:`ecgutils.streaming.pick_peaks`).
"""

from __future__ import annotations

import pandas as pd

from ecgutils.config import Recipe, TuneConfig
from ecgutils.data.store import WindowStore
from ecgutils.data.noise import NoiseBank
from ecgutils.training.rpeak import fit_detector, tune_threshold
from ecgutils.streaming import frame_probabilities, pick_peaks
from ecgutils.training.loop import Fitted


def tune_stream_threshold(model, signals: dict, refs: dict, bank: NoiseBank, tune: TuneConfig = TuneConfig(),
                          seed: int = 0) -> tuple[float, pd.DataFrame]:
    """:func:`ecgutils.rpeak_training.tune_threshold` for the streaming detector (validation records only)."""
    return tune_threshold(model, signals, refs, bank, tune, seed,
                          probabilities=lambda xs: frame_probabilities(model, xs),
                          pick=lambda x, prob, t: pick_peaks(prob, model, t, signal=x))


def train_stream_detector(ds: WindowStore, bank: NoiseBank, recipe: Recipe, signals: dict, refs: dict,
                          tune: TuneConfig = TuneConfig(), progress: bool = True) -> tuple[Fitted, pd.DataFrame]:
    """Train the causal GRU detector, then choose its threshold on the validation records.

    Parameters
    ----------
    ds, bank :
        Training windows and noise.
    recipe : Recipe
        ``get_config(profile).stream_detector`` (or :func:`ecgutils.config.with_lookahead` of it).
    signals, refs : dict
        The whole validation records and their beats.
    tune : TuneConfig

    Returns
    -------
    fitted : Fitted
    table : pandas.DataFrame
        The threshold sweep.
    """
    fitted = fit_detector(ds, bank, recipe, progress)
    threshold, table = tune_stream_threshold(fitted.model, signals, refs, bank, tune, seed=recipe.train.seed)
    fitted.model.set_threshold(threshold)
    return fitted, table
