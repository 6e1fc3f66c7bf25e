"""The networks, their checkpoints and the shipped reference weights.

=============  ==============================================================================================
``networks``   the offline networks: LSTM and CNN denoisers, GRU window classifier and GRU detector
``causal``     the real-time networks: one-way GRU detector and LSTM denoiser with a fixed look-ahead
``checkpoints`` save and load checkpoints; :func:`~ecgutils.models.checkpoints.resolve` the shipped weights
``runtime``    seeds, CPU threads and the device
``weights/``   the shipped reference models with ``MANIFEST.json``
=============  ==============================================================================================
"""

from ecgutils.models.networks import (MODELS, CNNDenoiser, GRUClassifier, GRUDetector, LSTMDenoiser, build_model,
                                      count_parameters)

__all__ = ["MODELS", "CNNDenoiser", "GRUClassifier", "GRUDetector", "LSTMDenoiser", "build_model",
           "count_parameters"]
