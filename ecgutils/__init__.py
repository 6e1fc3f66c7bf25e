"""ecgutils: the helper package behind the ECG deep-learning notebooks.

One job per module; imports point one way (data -> signal processing -> models -> training -> experiments ->
reports), and :mod:`ecgutils.inference` depends on models and signal processing only.

Data
    ``paths``          where data, processed windows and outputs live
    ``files``          atomic file writes
    ``fetch``          make PhysioNet records available and verified (local folder, mirror, download; SHA-256)
    ``data``           read one lead in mV at 360 Hz with its reference beats
    ``splits``         the inter-patient record lists (DS1/DS2, NSTDB, paced)
    ``config``         every setting, per profile and per model (frozen dataclasses)
    ``windows``        fixed-size windows, their beats, classifier segments and frame targets
    ``noise``          Gaussian and NSTDB noise scaled to a target SNR
    ``nstdb``          the noisy/clean segments of the 12 NSTDB test records
    ``dataset``        build and load the processed window store under ``data/processed/``
Signal processing
    ``filters``        the band-pass and baseline filters (``ecg_clean(method=...)``)
    ``peaks``          peak picking, Pan and Tompkins' T-wave rule, wfdb's XQRS
    ``metrics``        denoising, classification and beat-level (EC57) figures of merit
Models
    ``models``         LSTM and CNN denoisers, GRU classifier and GRU detector
    ``checkpoints``    save/load checkpoints, the shipped reference weights, the profile check
    ``inference``      ``denoise``, ``detect_r_peaks``, ``classify_segments`` for signals of any length and rate
Training
    ``runtime``        seeds, CPU threads, device
    ``losses``         scaled MSE, weighted BCE
    ``train``          noisy batches and the fixed-epoch training loop
Experiments
    ``denoising``      train the denoisers; score every denoiser on the test cases (notebook 02, benchmark)
    ``rpeak_training`` train the GRU classifier and detector; choose thresholds on validation records
    ``rpeak_scoring``  score R-peak detection on whole records and the classifier on segments (notebook 03, benchmark)
    ``runs``           train or load each model of a profile; ``make weights``
Reports
    ``plots``          the figures the notebooks show
    ``export``         CSV exports with the ``R_peak`` column, the summary of every figure of merit
    ``targets``        the project's targets checked against the benchmark's tables
    ``bench``          ``make bench``: quality and speed figures of the shipped or trained models
    ``session``        the notebooks' setup cell
    ``pipeline``       run the notebooks headless in order (``make run``)
    ``handin``         executed notebooks as HTML for hand-in (``make handin``)
"""

__version__ = "0.2.0"
