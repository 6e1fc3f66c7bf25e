"""Training: losses, the training loop, each model's trainer, and the runs that train or load a profile's models.

=============  ==============================================================================================
``losses``     scaled MSE, weighted BCE, the trimmed loss of the look-ahead models
``loop``       noisy (and varied) batches and the fixed-epoch training loop (best validation epoch kept)
``denoiser``   train the LSTM, the CNN and the real-time LSTM
``rpeak``      train the GRU classifier and detector; choose thresholds on validation records
``stream``     train the real-time GRU detector and tune its threshold through the streaming picker
``calibrate``  fit the beat confidence and signal quality on validation records (``calibration.json``)
``runs``       train or load each model of a profile; ``make weights``
=============  ==============================================================================================
"""
