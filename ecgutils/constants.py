"""The evaluation protocol's fixed numbers, in one place (``../shared/EVALUATION.md`` defines them).

Every function that takes a signal also takes its rate ``fs`` explicitly: :data:`FS` is the rate the *models* and
the stored windows work at, never a default for a caller's signal.

Examples
--------
>>> from ecgutils.constants import FS, WINDOW
>>> WINDOW / FS
10.0
"""

#: Sampling rate of MIT-BIH, of the stored windows and of every model's input, Hz.
FS = 360
#: Window length, s, and in samples at :data:`FS`.
WINDOW_S = 10.0
WINDOW = int(WINDOW_S * FS)
#: ANSI/AAMI EC57 scoring skips the first 5 minutes of each record, s.
EC57_SKIP_S = 300.0
#: A detection matches a reference beat within this many seconds (150 ms, EC57).
MATCH_TOLERANCE_S = 0.15
#: Length of every MIT-BIH and NSTDB record, samples.
RECORD_LENGTH = 650_000
#: First sample of the test half of each NSTDB noise recording (training and validation use samples before it).
NOISE_TEST_START = 325_000
