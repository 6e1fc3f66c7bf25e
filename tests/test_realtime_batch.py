"""Scoring many streams at once gives what one stream per record gives (the streaming denoiser)."""

import numpy as np

from ecgutils import models
from ecgutils.evaluation import realtime
from ecgutils.streaming import StreamingDenoiser


def test_batch_denoised_equals_one_stream_per_signal():
    model = models.build_model("causal_lstm", seed=0, hidden=8, layers=1, lookahead_s=0.1).eval()
    rng = np.random.default_rng(0)
    signals = {"a": rng.standard_normal(3000).astype(np.float32),
               "b": rng.standard_normal(3000).astype(np.float32),  # same length as a: one batch
               "c": np.cumsum(rng.standard_normal(1237)).astype(np.float32) / 10}
    batch = realtime.batch_denoised(model, signals)
    for name, x in signals.items():
        one = realtime.run_stream(StreamingDenoiser(fs=360, checkpoint=model), x, 0.1).output
        assert batch[name].shape == x.shape == one.shape
        np.testing.assert_allclose(batch[name], one, atol=1e-5)
    assert not np.allclose(batch["a"], signals["a"])  # the untrained model changes its input: the test can fail
