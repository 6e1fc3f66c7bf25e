"""ecgutils: the helper package behind the ECG deep-learning notebooks.

The public API, for applying the shipped models to your own ECG::

    from ecgutils import denoise, detect_r_peaks, StreamingDetector, export_recording

Subpackages by layer; an arrow points only down this list (``lint-imports`` checks it, see ``.importlinter``):

=================  ==========================================================================================
``training``       losses, the training loop, each model's trainer, ``runs`` (``make weights``)
``evaluation``     metrics, scoring of every experiment, real-time measurements, targets, ``bench``
``notebook``       the setup cell, plots, ``pipeline`` (``make run``), ``handin``
``export``         CSV exports with the ``R_peak`` column; one recording end to end
``streaming``      ``StreamingDetector`` and ``StreamingDenoiser``: chunk by chunk with a stated latency
``inference``      ``denoise``, ``detect_r_peaks``, ``classify_segments`` for signals of any length and rate
``config``         every setting per profile and per model (frozen dataclasses), named by the model registry
``models``         the model registry, the networks, checkpoints, the shipped weights, runtime (seeds, threads, device)
``data``           record splits, windows, noise, NSTDB cases, the processed window store
``io``             paths, atomic files, PhysioNet fetch with SHA-256, record reading
``dsp``            filters, resampling (offline and streaming), peak picking
``constants``      the protocol's fixed numbers (360 Hz, 10 s windows, 150 ms, the noise test half)
=================  ==========================================================================================

Module paths of 0.2 (``ecgutils.dataset``, ``ecgutils.metrics`` ...) still import, with a DeprecationWarning
naming the new path (:data:`ecgutils._compat.MOVED`).
"""

__version__ = "0.3.0"

from ecgutils import _compat

_compat.install()

from ecgutils.export import export_recording  # noqa: E402
from ecgutils.inference import classify_segments, denoise, detect_r_peaks  # noqa: E402
from ecgutils.streaming import StreamingDenoiser, StreamingDetector  # noqa: E402

__all__ = ["__version__", "classify_segments", "denoise", "detect_r_peaks", "export_recording", "StreamingDenoiser",
           "StreamingDetector"]
