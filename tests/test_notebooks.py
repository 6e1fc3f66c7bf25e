"""Execute the notebooks headless in the quick profile, in a temporary project folder, against the mirror."""

import json

import nbformat
import pytest

from ecgutils import pipeline
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _outputs_text(path):
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", f"{path.name} has an error output"
            out.append(o.get("text", "") + json.dumps(o.get("data", {})))
    return "\n".join(out)


def test_notebook_01_runs_and_stores_windows(project):
    done = pipeline.run_notebooks("quick", only=["01"], folder=ROOT / "notebooks", out_dir=project / "executed")
    text = _outputs_text(done[0])
    assert "input SNR" in text and "R-peak segments %" in text
    builds = list((project / "data" / "processed").glob("quick-*/manifest.json"))
    assert len(builds) == 1
    for name in ("01_record_100", "01_noise_gallery", "01_windows_gaussian", "01_class_balance"):
        assert (project / "outputs" / "plots" / f"{name}.png").stat().st_size > 10_000


def test_pipeline_names_the_failing_notebook(tmp_path):
    bad = tmp_path / "nbs"
    bad.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'quick'\nseed = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise RuntimeError('boom')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, bad / "07_broken.ipynb")
    with pytest.raises(RuntimeError, match="07_broken.ipynb failed"):
        pipeline.run_notebooks("quick", folder=bad, out_dir=tmp_path / "out")


def test_all_notebooks_run_in_order_and_export(project):
    """The README's main job in the quick profile: 01 to 04 in order, then the exports are checked."""
    import numpy as np
    import pandas as pd
    import torch

    done = pipeline.run_notebooks("quick", folder=ROOT / "notebooks", out_dir=project / "executed")
    assert [p.name[:2] for p in done] == ["01", "02", "03", "04"]
    for p in done:
        _outputs_text(p)  # no error outputs
    out = project / "outputs"
    for f in ("lstm_denoiser.pt", "cnn_denoiser.pt", "gru_rpeak.pt", "gru_beat_detector.pt"):
        payload = torch.load(out / "models" / f, weights_only=True)
        assert payload["meta"]["profile"] == "quick"
    csv = out / "csv"
    win = pd.read_csv(csv / "test_windows_R_peak.csv")
    assert {"record", "start_sample", "reference", "probability", "R_peak"} <= set(win.columns)
    assert set(win.R_peak.unique()) <= {0, 1} and win.probability.between(0, 1).all()
    assert set(win.record.astype(str)) == {"100", "105", "213"}
    for rec in ("100", "105", "213"):
        s = pd.read_csv(csv / "records" / f"{rec}_samples.csv")
        assert list(s.columns) == ["time_s", "noisy_mV", "denoised_mV", "clean_mV", "R_peak"]
        assert set(s.R_peak.unique()) <= {0, 1}
        assert len(s) == 5 * 60 * 360 and s.R_peak.sum() > 100  # about 5 minutes of beats
        assert np.isfinite(s.denoised_mV).all()
    summary = pd.read_csv(csv / "summary_metrics.csv")
    assert set(summary.task) == {"denoising", "R-peak detection", "window classification"}
    den = pd.read_csv(csv / "denoising_summary.csv")
    ident = den[(den.method == "identity") & den.snr_imp.notna()]
    assert np.allclose(ident.snr_imp, 0.0)  # the metrics' sanity anchor
    assert (csv / "confusion_matrix.csv").exists()
    for name in ("04_loss_curves", "04_denoising_nstdb", "04_snr_improvement", "04_f1_vs_snr", "04_confusion_matrix"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 10_000
    # the benchmark reads what the notebooks wrote and checks every target
    from ecgutils import bench

    assert bench.main(["--profile", "quick"]) == 0
    targets = pd.read_csv(csv / "benchmark_targets.csv")
    assert len(targets) > 40 and targets.measured.notna().all() and targets.met.isin([True, False]).all()
    speed = pd.read_csv(csv / "benchmark_speed.csv")
    assert (speed.x_real_time > 0).all() and "lstm denoise + gru detect" in set(speed.task)
