"""Evaluation: figures of merit, each experiment's scoring on the test cases, targets and the benchmark.

==============  ==============================================================================================
``metrics``     denoising, classification and beat-level (EC57) figures of merit
``denoising``   every denoiser scored on the same test windows (notebook 02, benchmark)
``detection``   R-peak detection scored on whole records, and the classifier on segments (notebook 03)
``realtime``    streaming runs: detections, report delays, speed, NSTDB denoising (notebook 05)
``targets``     the project's targets checked against the benchmark's tables
``throughput``  streaming (one stream, a pool of 100), batched offline and folder throughput (issue 23)
``robustness`` detection on the second lead, with baseline swings, at 128-500 Hz; confidence and quality
``bench``       ``make bench``: quality and speed figures of the shipped or trained models
==============  ==============================================================================================
"""
