"""The data of the experiments: record splits, fixed-size windows, noise at a target SNR, the NSTDB test cases
and the processed window store under ``data/processed/``.

=============  ==============================================================================================
``splits``     the inter-patient record lists (DS1/DS2, validation, NSTDB, paced) and the profiles' splits
``windows``    fixed-size windows, their beats, classifier segments and frame targets
``noise``      Gaussian and NSTDB noise scaled to a target SNR (training half / test half of each recording)
``nstdb``      the noisy and clean segments of the 12 NSTDB test records
``store``      build and load the processed window store (notebook 01)
``augment``    other lead, polarity, amplitude and baseline swings for training windows (the detectors)
=============  ==============================================================================================
"""

import warnings as _warnings

#: Names of the former ``ecgutils.data`` module (0.2), kept importable for one release.
_MOVED = {"FS": "ecgutils.constants", "BEAT_SYMBOLS": "ecgutils.io.records", "NOISE_RECORDS": "ecgutils.io.records",
          "Record": "ecgutils.io.records", "read_record": "ecgutils.io.records", "read_noise": "ecgutils.io.records",
          "resample": "ecgutils.dsp.resampling"}


def __getattr__(name):
    if name in _MOVED:
        import importlib

        _warnings.warn(f"ecgutils.data.{name} moved to {_MOVED[name]}.{name}; ecgutils.data is now the data "
                       "subpackage (splits, windows, noise, nstdb, store)", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'ecgutils.data' has no attribute {name!r}")
