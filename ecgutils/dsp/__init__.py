"""Signal processing without learning: filters, resampling (offline and streaming) and peak picking.

=============  ==============================================================================================
``filters``    band-pass and baseline filters, ``ecg_clean(x, fs=..., method=...)``
``resampling`` polyphase resampling, offline (``resample``) and streaming (``StreamResampler``)
``peaks``      peaks from a probability trace, Pan and Tompkins' T-wave rule, wfdb's XQRS, causal picking
``overlap``    a function applied to long signals window by window, the overlaps blended
``quality``    per-second signal-quality features (detector ambiguity, template, QRS slope, baseline swing, residual)
=============  ==============================================================================================
"""
