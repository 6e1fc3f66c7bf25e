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
``denoising``  the denoising experiment: training, test cases, scoring (notebook 02, benchmark)
``detection``  the R-peak experiment: classifier and detector training, EC57 scoring, XQRS (notebook 03, benchmark)
``inference``  ``denoise`` and ``detect_r_peaks`` for signals of any length
``plots``      the figures the notebooks show
``export``     atomic CSV writes and the sample-level export
``pipeline``   runs the notebooks headless in order
``bench``      quality and speed figures against the project's targets
``session``    the notebooks' setup cell: versions, seed, folders
"""

__version__ = "0.1.0"
