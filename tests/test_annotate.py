"""A folder of recordings to one CSV each: locally with joblib, on a Dask cluster with joblib's Dask backend."""

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgutils.__main__ import main
from ecgutils.export import annotate_folder, export_recording
from tests.helpers import synthetic_ecg


@pytest.fixture()
def folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i, n in enumerate((3000, 2000)):
        x, _ = synthetic_ecg(n, 250, seed=i)
        pd.DataFrame({"time_s": np.arange(n) / 250, "ecg_mV": x}).to_csv(d / f"patient{i}.csv", index=False)
    x, _ = synthetic_ecg(3600, 360, seed=5)
    wfdb.wrsamp("rec", fs=360, units=["mV"], sig_name=["MLII"], p_signal=x[:, None], fmt=["16"], write_dir=str(d))
    (d / "broken.csv").write_text("not,a\nsignal,file\n")
    return d


def test_a_folder_gives_one_csv_per_recording_skips_finished_ones_and_lists_failures(folder, tmp_path):
    out = tmp_path / "out"
    run = annotate_folder(folder, out, fs=250, n_jobs=1, progress=False)
    assert sorted(p.name for p in run.written) == ["patient0.csv", "patient1.csv", "rec.csv"]
    assert list(run.failed) == [folder / "broken.csv"] and "numeric signal column" in run.failed[folder / "broken.csv"]
    table = pd.read_csv(out / "patient0.csv")
    same = export_recording(folder / "patient0.csv", tmp_path / "alone.csv", fs=250)
    assert table.R_peak.sum() > 5 and np.array_equal(table.R_peak, same.R_peak)
    assert len(pd.read_csv(out / "rec.csv")) == 3600 and not list(out.glob(".*tmp"))
    stamp = (out / "rec.csv").stat().st_mtime_ns
    again = annotate_folder(folder, out, fs=250, n_jobs=1, progress=False)
    assert again.written == [] and len(again.skipped) == 3 and (out / "rec.csv").stat().st_mtime_ns == stamp


def test_the_command_line_exits_non_zero_and_names_the_bad_file(folder, tmp_path, capsys):
    assert main(["annotate", str(folder), str(tmp_path / "out"), "--fs", "250", "--jobs", "1", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "3 written" in captured.out and "broken.csv" in captured.err
    assert main(["annotate", str(folder), str(tmp_path / "out2"), "--quiet"]) == 2  # CSV files need --fs
    assert "--fs" in capsys.readouterr().err


def test_a_dask_cluster_writes_what_the_local_run_writes(folder, tmp_path):
    from distributed import LocalCluster

    local = annotate_folder(folder, tmp_path / "local", fs=250, n_jobs=1, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        run = annotate_folder(folder, tmp_path / "dask", fs=250, scheduler=cluster.scheduler_address,
                              progress=False)
    assert sorted(p.name for p in run.written) == sorted(p.name for p in local.written)
    assert list(run.failed) == list(local.failed)
    for p in local.written:
        assert (tmp_path / "dask" / p.name).read_text() == p.read_text()
