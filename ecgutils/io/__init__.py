"""Input and output: where files live, PhysioNet records made available and verified, records read in mV.

=============  ==============================================================================================
``paths``      where raw records, processed windows and outputs live (``ECG_PROJECT_ROOT``, ``ECG_DATA_MIRROR``)
``files``      atomic writes: a file appears whole or not at all
``fetch``      make a PhysioNet record available (``data/raw/``, a mirror, or a download) and verify its SHA-256
``records``    read one lead in mV at 360 Hz with its reference beats (``read_record``), NSTDB noise
=============  ==============================================================================================
"""
