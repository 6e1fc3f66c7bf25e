"""Train the real-time models of notebook 05, with the data, noise and protocol of the offline ones.

The causal denoiser trains exactly like the offline LSTM (:func:`ecgutils.training.denoiser.train_denoiser`); the
causal detector like the offline GRU (:func:`ecgutils.training.rpeak.fit_detector`), and its threshold is then
chosen on the validation records through its own streaming peak picking (:func:`ecgutils.models.stream_runner.pick_peaks`).
"""

from __future__ import annotations

import pandas as pd

from ecgutils.config import ProfileConfig, Recipe, TuneConfig
from ecgutils.data.store import WindowStore
from ecgutils.data.noise import NoiseBank
from ecgutils.inference import DETECTOR_T_WAVE_CHECK
from ecgutils.training.rpeak import fit_and_tune, tune_threshold
from ecgutils.models.stream_runner import frame_probabilities, pick_peaks
from ecgutils.training.loop import Fitted


def tune_stream_threshold(model, signals: dict, refs: dict, bank: NoiseBank, tune: TuneConfig = TuneConfig(),
                          seed: int = 0, t_wave_check: bool = DETECTOR_T_WAVE_CHECK) -> tuple[float, pd.DataFrame]:
    """:func:`ecgutils.training.rpeak.tune_threshold` for the streaming detector (validation records only), with
    or without the T-wave rule (default as :class:`ecgutils.streaming.StreamingDetector`: off)."""
    return tune_threshold(model, signals, refs, bank, tune, seed,
                          probabilities=lambda xs: frame_probabilities(model, xs),
                          pick=lambda x, prob, t: pick_peaks(prob, model, t, signal=x if t_wave_check else None))


def train_stream_detector(ds: WindowStore, bank: NoiseBank, recipe: Recipe, cfg: ProfileConfig, *,
                          progress: bool = True, device=None, model=None, loss=None, epoch_fn=None) -> Fitted:
    """Train the causal GRU detector, then choose its threshold on the validation records.

    Arguments and result as :func:`ecgutils.training.rpeak.train_detector`; ``recipe`` is
    ``get_config(profile).stream_detector`` (or :func:`ecgutils.config.with_lookahead` of it), and the threshold is
    tuned through the streaming peak picking (:func:`tune_stream_threshold`).
    """
    return fit_and_tune(ds, bank, recipe, cfg, tune_stream_threshold, progress=progress, device=device, model=model,
                        loss=loss, epoch_fn=epoch_fn)
