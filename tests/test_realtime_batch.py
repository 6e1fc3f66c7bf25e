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


def test_report_delays_of_a_pool_equal_one_stream_per_record():
    from ecgutils.streaming import StreamingDetector
    from tests.helpers import synthetic_ecg

    model = models.build_model("causal_gru_detector", seed=0, hidden=8, layers=1, lookahead_s=0.1).eval()
    model.set_threshold(0.01)  # an untrained model: a low threshold so that it reports beats
    signals, refs = {}, {}
    for i, n in enumerate((3600, 3600, 2900)):  # two records of one length, one shorter (not a whole chunk)
        x, beats = synthetic_ecg(n, seed=i)
        signals[f"r{i}"], refs[f"r{i}"] = x.astype(np.float32), beats
    delays = realtime.report_delays(signals, refs, model, 0.1)
    assert len(delays) > 0
    for name, x in signals.items():
        one = realtime.run_stream(StreamingDetector(fs=360, checkpoint=model), x, 0.1)
        got = delays[delays.record == name]
        at = dict(zip(one.output.tolist(), one.reported_at.tolist()))
        assert set(got.detected) <= set(one.output.tolist())
        assert [at[d] for d in got.detected] == got.reported_at.tolist()


def test_report_delays_leave_out_the_beats_only_the_final_flush_reports():
    from ecgutils.streaming import StreamingDetector
    from tests.helpers import synthetic_ecg

    x, beats = synthetic_ecg(7200, seed=3)
    x, beats = x[: beats[-2] + 40].astype(np.float32), beats[:-1]  # the stream ends 0.11 s after its last beat
    stream = StreamingDetector(fs=360)  # the shipped detector: it finds these beats
    for i in range(0, len(x), 36):
        stream.push(x[i:i + 36])
    at_end = set(stream.flush().tolist())
    assert any(abs(b - beats[-1]) < 20 for b in at_end), "the last beat is reported by the flush: the test can fail"
    delays = realtime.report_delays({"r": x}, {"r": beats}, None, 0.1)
    assert not at_end & set(delays.detected.tolist())
    assert len(delays) == len(beats) - 1 and (delays.reported_at >= delays.detected).all()
