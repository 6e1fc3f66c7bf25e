import numpy as np
import pandas as pd
import pytest

from ecgutils import export
from ecgutils.evaluation.metrics import match_beats
from ecgutils.io import records
from tests.helpers import AmplitudeDetector, synthetic_ecg, write_record


def test_sample_table_marks_peaks():
    x = np.arange(10, dtype=float)
    t = export.sample_table(x, x * 2, np.array([2, 7]), fs=5.0)
    assert list(t.columns) == ["time_s", "noisy_mV", "denoised_mV", "R_peak"]
    assert t.R_peak.tolist() == [0, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    assert t.time_s.iloc[-1] == pytest.approx(1.8)
    with pytest.raises(ValueError, match="outside the signal"):
        export.sample_table(x, x, np.array([10]), fs=5.0)


def test_windows_table_places_segments_in_the_record():
    t = export.windows_table(np.array(["100", "105"]), np.array([0, 3600]), np.array([45, 135, 45]),
                             np.array([0, 0, 1]), np.array([1, 0, 1]), np.array([0.9, 0.2, 0.4]), fs=360)
    assert t.start_sample.tolist() == [45, 135, 3645]
    assert t.start_s.tolist() == pytest.approx([0.125, 0.375, 10.125])
    assert t.R_peak.tolist() == [1, 0, 0] and t.reference.tolist() == [1, 0, 1]
    assert set(t.columns) >= {"record", "start_sample", "reference", "probability", "R_peak"}


def test_write_csv_is_atomic(tmp_path, monkeypatch):
    path = export.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "x.csv", index=False)
    monkeypatch.setattr(pd.DataFrame, "to_csv", lambda self, f, **k: (open(f, "w").write("half"), 1 / 0))
    with pytest.raises(ZeroDivisionError):
        export.write_csv(pd.DataFrame({"a": [2]}), path, index=False)
    assert path.read_text().strip() == "a\n1"


def test_atomic_writes_of_one_file_at_once_both_land(tmp_path):
    # Two runs writing the same file at the same time (two trainings building the windows): each replaces it
    # whole; with one shared temporary name the second rename found nothing and raised FileNotFoundError.
    from ecgutils.io.files import atomic_path
    target = tmp_path / "full.json"
    with atomic_path(target) as first:
        with atomic_path(target) as second:
            assert first != second
            second.write_text("second")
        first.write_text("first")
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["full.json"]


def test_read_signal_from_csv_needs_fs_and_finds_the_column(tmp_path):
    p = tmp_path / "s.csv"
    pd.DataFrame({"time": [0, 1, 2], "lead": [0.1, 0.2, 0.3]}).to_csv(p, index=False)
    with pytest.raises(ValueError, match="pass its sampling rate"):
        export.read_signal(p, fs=None)
    with pytest.raises(TypeError):
        export.read_signal(p)  # the rate is never assumed: fs=None says "the file says it"
    sig, fs = export.read_signal(p, fs=250)
    assert fs == 250 and sig.tolist() == pytest.approx([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="no column 'ii'"):
        export.read_signal(p, fs=250, column="ii")


def test_export_recording_from_csv_and_wfdb(tmp_path, identity_denoiser):
    den, det = identity_denoiser, AmplitudeDetector()
    sig, beats = synthetic_ecg(250 * 12, fs=250)
    p = tmp_path / "mine.csv"
    pd.DataFrame({"ecg": sig}).to_csv(p, index=False)
    out = export.export_recording(p, tmp_path / "out.csv", fs=250, denoiser=den, detector=det)
    back = pd.read_csv(tmp_path / "out.csv")
    assert len(back) == len(sig) and back.R_peak.sum() == len(beats)  # the stand-in detector finds every beat
    np.testing.assert_allclose(back.denoised_mV, sig, atol=5e-3)  # identity denoiser; 250->360->250 Hz resampling
    rec = write_record(tmp_path / "wfdb", "rec1")
    out = export.export_recording(rec, tmp_path / "out2.csv", fs=None, denoiser=den, detector=det)
    assert len(out) == 3600 and out.time_s.iloc[1] == pytest.approx(1 / 360, abs=1e-6)
    with pytest.raises(ValueError, match="header says 360 Hz, not fs=250"):
        export.export_recording(rec, tmp_path / "out3.csv", fs=250, denoiser=den, detector=det)


def test_summary_metrics_gathers_every_task():
    den = pd.DataFrame({"case": ["classic"], "method": ["lstm"], "snr_in": [7.8], "snr_imp": [9.0], "snr_out": [16.8],
                        "rmse": [0.05], "mae": [0.03], "mse_unit": [3e-4], "prd": [14.0], "cosine": [0.99]})
    det = pd.DataFrame({"case": ["DS2 clean", "NSTDB"], "snr": [np.nan, 6.0], "span": ["ec57", np.nan],
                        "detector": ["gru", "xqrs"], "gross_se": [99.9, 90.0], "gross_ppv": [99.7, 80.0],
                        "gross_f1": [99.8, 85.0], "gross_der": [0.4, 30.0], "median_abs_error_ms": [2.8, 0.0]})
    clf = pd.DataFrame({"input": ["clean"], "accuracy": [0.98], "precision": [0.95], "recall": [0.99], "f1": [0.97],
                        "roc_auc": [0.999]})
    s = export.summary_metrics(den, det, clf)
    assert s.task.tolist() == ["denoising", "R-peak detection", "R-peak detection", "window classification"]
    assert s.case.tolist()[1:3] == ["DS2 clean (ec57)", "NSTDB @ 6 dB"]
    assert s.loc[1, "F1 (%)"] == 99.8 and s.loc[3, "ROC-AUC"] == 0.999


def test_a_csv_without_a_header_row_keeps_its_first_sample(tmp_path):
    sig, _ = synthetic_ecg(250 * 4, fs=250)
    np.savetxt(tmp_path / "bare.csv", sig)  # numbers from the first line: pandas would take line 1 for the names
    x, _ = export.read_signal(tmp_path / "bare.csv", fs=250)
    np.testing.assert_allclose(x, sig, atol=1e-6)
    np.savetxt(tmp_path / "two.csv", np.stack([np.arange(len(sig)) / 250, sig], 1), delimiter=",")
    with pytest.raises(ValueError, match="no header row and 2 columns: pass column=<index>"):
        export.read_signal(tmp_path / "two.csv", fs=250)  # time or signal: not guessed
    for column in (1, "1"):  # the command line passes a string
        np.testing.assert_allclose(export.read_signal(tmp_path / "two.csv", fs=250, column=column)[0], sig, atol=1e-6)
    with pytest.raises(ValueError, match="no column names"):
        export.read_signal(tmp_path / "two.csv", fs=250, column="ecg")


def test_export_recording_overwrites_nothing_unless_told_and_never_the_recording(tmp_path, identity_denoiser):
    den, det = identity_denoiser, AmplitudeDetector()
    sig, _ = synthetic_ecg(250 * 12, fs=250)
    src, out = tmp_path / "mine.csv", tmp_path / "out.csv"
    pd.DataFrame({"ecg": sig}).to_csv(src, index=False)
    export.export_recording(src, out, fs=250, denoiser=den, detector=det)
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        export.export_recording(src, out, fs=250, denoiser=den, detector=det)
    assert out.read_bytes() == before
    out.write_text("something else")
    export.export_recording(src, out, fs=250, denoiser=den, detector=det, overwrite=True)
    assert out.read_bytes() == before
    original = src.read_bytes()
    with pytest.raises(ValueError, match="the recording itself"):
        export.export_recording(src, src, fs=250, denoiser=den, detector=det, overwrite=True)
    rec = write_record(tmp_path / "wfdb", "rec1")
    with pytest.raises(ValueError, match="the recording itself"):
        export.export_recording(rec, f"{rec}.hea", fs=None, denoiser=den, detector=det, overwrite=True)
    assert src.read_bytes() == original and export.read_signal(rec, fs=None)[0].size == 3600


def test_a_wfdb_recording_is_exported_at_its_own_rate(tmp_path, identity_denoiser):
    rec = write_record(tmp_path / "wfdb", "rec250", n=250 * 12, fs=250.0)
    assert records.read_record(str(rec), keep_rate=True).fs == 250.0
    out = export.export_recording(rec, tmp_path / "out.csv", fs=None, denoiser=identity_denoiser,
                                  detector=AmplitudeDetector())
    beats = records.read_record(str(rec), keep_rate=True).beats
    assert len(out) == 250 * 12 and out.time_s.iloc[1] == pytest.approx(1 / 250, abs=1e-6)  # one row per sample
    assert match_beats(beats, np.flatnonzero(out.R_peak.to_numpy()), fs=250)["tp"] == len(beats)
