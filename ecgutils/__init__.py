"""ecgutils: the helper package behind the ECG deep-learning notebooks.

Modules, one job each:

``paths``      where data, processed windows and outputs live
``data``       fetch (local folder, mirror, PhysioNet), verify (SHA-256) and read records
``splits``     the inter-patient record split and the evaluation profiles
``windows``    fixed-size windows, their reference beats, normalisation, classifier segments
``noise``      Gaussian and NSTDB noise scaled to a target SNR
``nstdb``      the noisy/clean segments of the 12 NSTDB test records
``dataset``    build and load the processed window store under ``data/processed/``
``filters``    classical filters (the band-pass baseline)
``models``     LSTM and CNN denoisers, GRU classifier and GRU R-peak detector
``train``      seeded training loop, device choice, checkpoints
``metrics``    denoising, classification and beat-level (EC57) figures of merit
``inference``  ``denoise`` and ``detect_r_peaks`` for signals of any length
``plots``      the figures the notebooks show
``export``     atomic CSV writes and the sample-level export
``pipeline``   runs the notebooks headless in order
"""

__version__ = "0.1.0"
