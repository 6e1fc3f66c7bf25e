import shutil

import numpy as np
import pytest

from ecgutils.io import records
from ecgutils.io import fetch
from tests.helpers import write_record


def test_reads_mlii_in_mv_with_beats(fixture_dir):
    path = write_record(fixture_dir, "rec1")
    rec = records.read_record(str(path))
    assert rec.fs == 360 and rec.lead == "MLII"
    assert rec.signal.dtype == np.float32 and rec.signal.shape == (3600,)
    assert 1.0 < rec.signal.max() < 1.5  # the synthetic R waves are about 1.2 mV
    assert len(rec.beats) == len(rec.symbols) > 5
    assert np.all(np.diff(rec.beats) > 0)


def test_lead_is_chosen_by_name_not_position(fixture_dir):
    path = write_record(fixture_dir, "swapped", leads=("V5", "MLII"))
    rec = records.read_record(str(path))
    # V5 holds half the amplitude in the fixture: reading by position would give 0.6 mV peaks
    assert rec.signal.max() > 1.0


def test_missing_mlii_says_which_leads_exist(fixture_dir):
    path = write_record(fixture_dir, "nomlii", leads=("V5", "V2"))
    with pytest.raises(records.DataError, match=r"no MLII.*V5, V2.*lead="):
        records.read_record(str(path))
    assert records.read_record(str(path), lead="V5").lead == "V5"


def test_other_sampling_rate_is_resampled_with_a_warning(fixture_dir):
    path = write_record(fixture_dir, "fs250", n=2500, fs=250.0)
    raw_beats = records.wfdb.rdann(str(path), "atr").sample
    with pytest.warns(UserWarning, match="resampled from 250 Hz to 360 Hz"):
        rec = records.read_record(str(path))
    assert rec.fs == 360 and rec.original_fs == 250
    assert len(rec.signal) == 3600
    np.testing.assert_array_equal(rec.beats, np.round(raw_beats * 360 / 250))
    # the R-peaks are still at the annotated places after resampling
    assert np.all(np.abs(rec.signal[rec.beats] - 1.2) < 0.15)


def test_nan_samples_raise_or_interpolate(fixture_dir):
    path = write_record(fixture_dir, "withnan", nan_at=[100, 101])
    with pytest.raises(records.DataError, match=r"2 missing \(NaN\) samples, the first at sample 100.*interpolate"):
        records.read_record(str(path))
    with pytest.warns(UserWarning, match="NaN samples filled"):
        rec = records.read_record(str(path), nan_policy="interpolate")
    assert np.isfinite(rec.signal).all()
    with pytest.raises(ValueError, match="valid options: raise, interpolate"):
        records.read_record(str(path), nan_policy="drop")


def test_truncated_dat_is_reported(fixture_dir):
    path = write_record(fixture_dir, "short")
    dat = path.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[: 3000])
    with pytest.raises(records.DataError, match="truncated"):
        records.read_record(str(path))


def test_unknown_record_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown record '999' in mitdb; valid records: 100 101"):
        records.read_record("999")
    with pytest.raises(ValueError, match="valid options: mitdb, nstdb"):
        fetch.fetch_record("100", db="ltdb")


def test_registry_holds_published_sums():
    sums = fetch.registry("mitdb")
    assert len(sums) == 48 * 3
    assert sums["100.dat"] == "b2ea3c250e56e48f4b7b90697832b8ecd1afa1e0bb31f2dcfea4ed6e1075a639"
    assert fetch.record_files("nstdb", "em") == ["em.hea", "em.dat"]


def test_fetch_copies_from_mirror_and_verifies(tmp_path, mirror):
    path = fetch.fetch_record("100", data_dir=tmp_path, mirror=mirror, download=False)
    assert path == tmp_path / "mitdb" / "100"
    assert {p.name for p in (tmp_path / "mitdb").iterdir()} == {"100.hea", "100.dat", "100.atr"}
    rec = records.read_record("100", data_dir=tmp_path, download=False)
    assert len(rec.signal) == 650_000 and len(rec.beats) == 2273


def test_record_114_reads_mlii_from_channel_1(tmp_path, mirror):
    rec = records.read_record("114", data_dir=tmp_path, mirror=mirror)
    import wfdb

    raw = wfdb.rdrecord(str(tmp_path / "mitdb" / "114"), channels=[1]).p_signal[:, 0]
    np.testing.assert_allclose(rec.signal, raw, atol=1e-6)


def test_corrupt_local_file_is_refused_and_named(tmp_path, mirror):
    (tmp_path / "mitdb").mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.copyfile(mirror / "mitdb" / f"100.{ext}", tmp_path / "mitdb" / f"100.{ext}")
    dat = tmp_path / "mitdb" / "100.dat"
    raw = bytearray(dat.read_bytes())
    raw[1000] ^= 0xFF
    dat.write_bytes(bytes(raw))
    with pytest.raises(fetch.ChecksumError, match=r"100\.dat does not match its published SHA-256.*delete it"):
        fetch.fetch_record("100", data_dir=tmp_path, download=False)


def test_corrupt_mirror_file_never_reaches_the_data_folder(tmp_path, mirror):
    bad = tmp_path / "badmirror" / "mitdb"
    bad.mkdir(parents=True)
    for ext in ("hea", "dat", "atr"):
        shutil.copyfile(mirror / "mitdb" / f"101.{ext}", bad / f"101.{ext}")
    (bad / "101.dat").write_bytes((bad / "101.dat").read_bytes()[:-10])
    with pytest.raises(fetch.ChecksumError, match=r"101\.dat"):
        fetch.fetch_record("101", data_dir=tmp_path / "raw", mirror=bad.parent)
    assert not (tmp_path / "raw" / "mitdb" / "101.dat").exists()


def test_missing_record_without_mirror_or_network_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("ECG_DATA_MIRROR", raising=False)
    with pytest.raises(records.DataError, match="no mirror is set.*copy the files there"):
        fetch.fetch_record("100", data_dir=tmp_path, download=False)

    def offline(*args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(records.wfdb, "dl_files", offline)
    with pytest.raises(records.DataError, match="could not download.*ECG_DATA_MIRROR"):
        fetch.fetch_record("100", data_dir=tmp_path)


def test_download_is_verified(tmp_path, monkeypatch, mirror):
    """The download path goes through wfdb.dl_files and the same checksum check (simulated offline)."""
    monkeypatch.delenv("ECG_DATA_MIRROR", raising=False)
    calls = []

    def fake_dl(db, dl_dir, files, keep_subdirs=True, overwrite=False):
        calls.append((db, list(files)))
        for f in files:
            shutil.copyfile(mirror / db / f, f"{dl_dir}/{f}")

    monkeypatch.setattr(records.wfdb, "dl_files", fake_dl)
    fetch.fetch_record("em", db="nstdb", data_dir=tmp_path)
    assert calls == [("nstdb", ["em.hea", "em.dat"])]
    noise = records.read_noise("em", data_dir=tmp_path)
    assert noise.shape == (650_000,) and 0.05 < noise.std() < 5


def test_bad_mirror_path_is_explained(tmp_path):
    with pytest.raises(records.DataError, match="is not a folder"):
        fetch.fetch_record("100", data_dir=tmp_path, mirror=tmp_path / "nowhere")
