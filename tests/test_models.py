import pytest
import torch

from ecgutils import models
from ecgutils.models import checkpoints
from ecgutils.models.causal import CausalGRUDetector


@pytest.mark.parametrize("kind,length,out_shape", [("lstm", 3600, (2, 3600)), ("cnn", 3600, (2, 3600)),
                                                   ("lstm", 1000, (2, 1000)), ("cnn", 1001, (2, 1001)),
                                                   ("gru_detector", 3600, (2, 450)), ("gru_classifier", 180, (2,))])
def test_shapes(kind, length, out_shape):
    m = models.build_model(kind).eval()
    with torch.no_grad():
        assert tuple(m(torch.randn(2, length)).shape) == out_shape


def test_to_frames_cuts_every_channel_as_it_cuts_one_window():
    from ecgutils.models.networks import to_frames
    x = torch.randn(2, 3, 1001)                                     # 1001 samples: the end padded to 1008
    frames, pad = to_frames(x, 8)
    assert tuple(frames.shape) == (2, 3, 126, 8) and pad == 7
    for ch in range(3):
        assert torch.equal(frames[:, ch], to_frames(x[:, ch], 8)[0])


def test_the_convolutional_front_end_feeds_each_step_the_frame_of_every_channel():
    m = models.build_model("lstm", hidden=8, layers=1, conv=4).eval()
    assert m.inp.in_features == 4 * 8
    x = torch.randn(1, 800)
    late = x.clone()
    late[:, 400:] += 1.0                                            # a change late in the window
    with torch.no_grad():
        feats = m.front(x[:, None])
        assert tuple(feats.shape) == (1, 4, 800)
        # the front end is local (two 9-sample convolutions: 8 samples of reach each way), the LSTM is not
        assert torch.equal(m.front(late[:, None])[..., :392], feats[..., :392])
    assert models.build_model("lstm", conv=0).inp.in_features == 8   # no front end: the frame's samples


def test_denoisers_ignore_offset_and_scale():
    x = torch.randn(2, 3600)
    for kind, config in (("lstm", {}), ("lstm", {"gate": False}), ("lstm", {"conv": 0}), ("cnn", {})):
        m = models.build_model(kind, **config).eval()
        with torch.no_grad():
            torch.testing.assert_close(m(3 * x + 5), 3 * m(x) + 5, atol=1e-4, rtol=1e-4)


def test_classifier_pools_over_the_central_frames_only():
    m = models.build_model("gru_classifier", seed=0, hidden=4, context=45).eval()
    x = torch.randn(3, 180)
    with torch.no_grad():
        h = m.encode(x)
        assert h.shape[1] == 45                      # 4-sample frames
        centre = h[:, 11:34]                         # frames whose samples lie in 45..134
        expected = m.out(torch.cat([centre.mean(1), centre.amax(1)], -1))[:, 0]
        torch.testing.assert_close(m(x), expected)
        whole = m.out(torch.cat([h.mean(1), h.amax(1)], -1))[:, 0]
        assert not torch.allclose(m(x), whole)
        m.context = 0
        torch.testing.assert_close(m(x), whole)
        m.context, m.pool = 45, "input"              # the other pooling: every frame, context included
        torch.testing.assert_close(m(x), whole)


def test_bad_options_are_explained():
    with pytest.raises(ValueError, match="valid options: lstm, cnn, gru_classifier, gru_detector, causal_lstm, "
                                         "causal_gru_detector"):
        models.build_model("transformer")
    with pytest.raises(ValueError, match="layers must be 1, 2 or 3"):
        models.build_model("lstm", layers=4)
    with pytest.raises(ValueError, match="gate=True needs residual=True"):
        models.build_model("lstm", gate=True, residual=False)
    with pytest.raises(ValueError, match="unknown pool 'centre'; valid options: segment, input"):
        models.build_model("gru_classifier", pool="centre")


def test_models_carry_rate_and_threshold_as_fields():
    det = models.build_model("gru_detector", hidden=4)
    assert det.fs == 360 and det.threshold == 0.5 and det.config["threshold"] == 0.5
    det.set_threshold(0.75)
    assert det.threshold == det.config["threshold"] == 0.75
    with pytest.raises(ValueError, match="between 0 and 1"):
        det.set_threshold(1.5)
    clf = models.build_model("gru_classifier", hidden=4, segment=90, context=45)
    assert clf.input_length == 180
    assert models.count_parameters(models.build_model("lstm", hidden=8, layers=1)) > 0


def test_one_set_threshold_for_offline_and_causal_detectors():
    assert CausalGRUDetector.set_threshold is models.GRUDetector.set_threshold is models.GRUClassifier.set_threshold
    causal = models.build_model("causal_gru_detector", hidden=4, layers=1)
    causal.set_threshold(0.8)
    assert causal.threshold == causal.config["threshold"] == 0.8
    with pytest.raises(ValueError, match="between 0 and 1"):
        causal.set_threshold(0.0)


def test_resolve_hands_each_caller_a_model_of_its_own():
    a, b = checkpoints.resolve("detector"), checkpoints.resolve("detector")
    assert a is not b
    shipped, bias = b.threshold, b.out.bias.detach().clone()
    a.set_threshold(0.5 if shipped != 0.5 else 0.6)  # one caller tunes its copy and moves it to another dtype
    a.double()
    with torch.no_grad():
        a.out.bias.add_(1.0)
    c = checkpoints.resolve("detector")
    assert c.threshold == c.config["threshold"] == shipped
    assert c.out.bias.dtype == torch.float32 and torch.equal(c.out.bias, bias)


def test_resolve_reads_a_checkpoint_file_once(tmp_path, monkeypatch):
    m = models.build_model("gru_detector", seed=0, hidden=4, layers=1)
    path = checkpoints.save_checkpoint(tmp_path / "det.pt", m, "gru_detector", profile="quick", dataset="d",
                                       recipe={}, epoch=1, val_loss=0.1)
    reads = []
    real = checkpoints._read
    monkeypatch.setattr(checkpoints, "_read", lambda p: reads.append(p) or real(p))
    first, second = checkpoints.resolve("detector", path), checkpoints.resolve("detector", path)
    assert len(reads) == 1 and first is not second
    torch.testing.assert_close(first.out.weight, m.out.weight)
