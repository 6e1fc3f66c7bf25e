"""The networks, their checkpoints and the shipped reference weights.

=============  ==============================================================================================
``registry``   one row per model: role, network kind and class, file stem, notebook, trainer, task; ``build_model``
``networks``   the offline networks: LSTM and CNN denoisers, GRU window classifier and GRU detector
``causal``     the real-time networks: one-way GRU detector and LSTM denoiser with a fixed look-ahead
``normalisation`` the real-time networks' running normalisation (block by block, whatever the chunking)
``stream_engine`` a causal network's streaming step (what the live streams run: same numbers, less overhead)
``stream_kernels`` the engine's recurrent layers as compiled loops (Numba): every stream, frame and layer in one call
``stream_runner`` live streams in whole blocks through one network call for many streams; whole signals at once
``checkpoints`` save and load checkpoints; :func:`~ecgutils.models.checkpoints.resolve` a model the caller owns
``calibration`` the shipped detectors' beat confidence and signal-quality maps (``weights/calibration.json``)
``runtime``    seeds, CPU threads and the device policy (training runs on the CPU unless asked otherwise)
``weights/``   the shipped reference models with ``MANIFEST.json``
=============  ==============================================================================================
"""

from ecgutils.models.networks import CNNDenoiser, GRUClassifier, GRUDetector, LSTMDenoiser, count_parameters
from ecgutils.models.registry import MODELS, REGISTRY, ModelSpec, build_model

__all__ = ["MODELS", "REGISTRY", "CNNDenoiser", "GRUClassifier", "GRUDetector", "LSTMDenoiser", "ModelSpec",
           "build_model", "count_parameters"]
