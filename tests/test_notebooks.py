"""Execute the notebooks headless in the quick profile, in a temporary project folder, against the mirror."""

import json
import os
import subprocess
import sys

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch

from ecgutils.evaluation import bench
from ecgutils.notebook import handin
from ecgutils.notebook import pipeline
from tests.helpers import ROOT

pytestmark = pytest.mark.slow


def _outputs(path):
    """Text of every output, after checking that no cell raised."""
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", f"{path.name} has an error output"
            out.append(o.get("text", "") + json.dumps(o.get("data", {})))
    return "\n".join(out)


def _images(path):
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


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


def test_plain_nbconvert_from_the_project_root(project, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # a relative mirror is taken from the project root (here the temporary project), not from notebooks/
    monkeypatch.setenv("ECG_DATA_MIRROR", os.path.relpath(os.environ["ECG_DATA_MIRROR"], project))
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                    "notebooks/01_preprocessing.ipynb", "--output-dir", str(project / "nbconvert")],
                   cwd=ROOT, check=True, capture_output=True)
    executed = project / "nbconvert" / "01_preprocessing.ipynb"
    assert "input SNR" in _outputs(executed) and _images(executed) >= 6


def test_all_notebooks_run_in_order_embed_figures_and_export(project, monkeypatch):
    """The README's main job in the quick profile: 01 to 05 in order, then the exports and the benchmark."""
    monkeypatch.setenv("MPLBACKEND", "Agg")  # figures must be embedded whatever the backend says
    done = pipeline.run_notebooks("quick", folder=ROOT / "notebooks", out_dir=project / "executed")
    assert [p.name[:2] for p in done] == ["01", "02", "03", "04", "05"]
    for p in done:
        _outputs(p)
        assert _images(p) >= 4, f"{p.name} embeds {_images(p)} figures"
    out = project / "outputs"
    for f in ("lstm_denoiser", "cnn_denoiser", "gru_classifier", "gru_detector"):
        payload = torch.load(out / "models" / "quick" / f"{f}.pt", weights_only=True)
        assert payload["profile"] == "quick" and payload["recipe"]["train"]["epochs"] == 3
    csv = out / "csv" / "quick"
    win = pd.read_csv(csv / "test_windows_R_peak.csv")
    assert {"record", "start_sample", "reference", "probability", "R_peak"} <= set(win.columns)
    assert set(win.record.astype(str)) == {"100", "105", "213"} and 0 < win.R_peak.mean() < 1
    for rec in ("100", "105", "213"):
        s = pd.read_csv(csv / "records" / f"{rec}_samples.csv")
        assert list(s.columns) == ["time_s", "noisy_mV", "denoised_mV", "clean_mV", "R_peak"]
        assert len(s) == 5 * 60 * 360 and 200 < s.R_peak.sum() < 800  # about 5 minutes of beats
    summary = pd.read_csv(csv / "summary_metrics.csv")
    assert set(summary.task) == {"denoising", "R-peak detection", "window classification"}
    den = pd.read_csv(csv / "denoising_summary.csv")
    ident = den[(den.method == "identity") & den.snr_imp.notna()]
    assert np.allclose(ident.snr_imp, 0.0)  # the metrics' sanity anchor
    assert "lstm (reference)" in set(den.method)  # quick numbers are shown beside the reference model's
    for name in ("04_loss_curves", "04_denoising_nstdb", "04_snr_improvement", "04_f1_vs_snr", "04_confusion_matrix",
                 "05_live_stream", "05_f1_vs_lookahead", "05_latency", "05_compute_per_chunk"):
        assert (out / "plots" / "quick" / f"{name}.png").stat().st_size > 10_000
    # notebook 05: one real-time detector per look-ahead, each saying its look-ahead; no beat reported late
    for la in ("_la0ms", "_la100ms", "", "_la1000ms"):
        payload = torch.load(out / "models" / "quick" / f"gru_stream_detector{la}.pt", weights_only=True)
        assert payload["kind"] == "causal_gru_detector" and payload["profile"] == "quick"
    f1 = pd.read_csv(csv / "realtime_detection_clean.csv")
    assert {"stream 0 s", "stream 0.3 s", "stream 1 s", "gru (offline)", "xqrs"} <= set(f1.detector)
    assert "100 ms chunks: True" in _outputs(done[4]) and "single samples: True" in _outputs(done[4])
    # the benchmark scores this run's models with the same evaluation functions
    assert bench.main(["--models", "quick"]) == 0
    targets = pd.read_csv(out / "csv" / "quick" / "benchmark_targets.csv")
    assert len(targets) > 40 and targets.measured.notna().all()
    # hand-in: the executed notebooks as HTML with the student's name and the figures embedded
    html = handin.to_html(done[0], "Ada Lovelace", "quick", 0).read_text()
    assert "Ada Lovelace" in html and "data:image/png;base64" in html and "profile <code>quick</code>" in html


def test_notebook_04_refuses_models_of_another_profile(project, monkeypatch):
    """02 run in the full profile and 04 in the quick one: a clear error, not an IndexError or wrong records."""
    from ecgutils.models import checkpoints
    from ecgutils.data import store
    from ecgutils import models
    from ecgutils.config import get_config

    monkeypatch.setenv("MPLBACKEND", "Agg")
    pipeline.run_notebooks("quick", only=["01"], folder=ROOT / "notebooks", out_dir=project / "executed")
    build = store.find_dataset("quick").name
    mdir = project / "outputs" / "models" / "quick"
    for role, recipe in get_config("full").recipes().items():  # models that say they were trained in full
        m = models.build_model(recipe.kind, **recipe.model)
        checkpoints.save_checkpoint(mdir / f"{recipe.name}.pt", m, recipe.kind, profile="full", dataset=build,
                                    recipe=recipe.to_dict(), epoch=1, val_loss=1.0)
    with pytest.raises(RuntimeError, match="made in the 'full' profile.*rerun notebooks/02_lstm_denoising"):
        pipeline.run_notebooks("quick", only=["04"], folder=ROOT / "notebooks", out_dir=project / "executed")


def test_solutions_run(project, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    done = pipeline.run_notebooks("quick", folder=ROOT / "notebooks" / "solutions", out_dir=project / "solutions")
    assert [p.name for p in done] == [f"0{i}_solutions.ipynb" for i in range(1, 6)]
    for p in done:
        _outputs(p)


@pytest.mark.parametrize("path", pipeline.notebooks(ROOT / "notebooks"), ids=lambda p: p.name)
def test_each_notebook_teaches_and_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "What you will learn" in text and "## References" in text
    assert "$$" in text or "$" in text.replace("$ECG", "")  # at least one typeset equation
    exercises = text.split("## Exercises", 1)[1].split("\n## ", 1)[0]
    assert sum(line[:3] in {f"{i}. " for i in range(1, 10)} for line in exercises.splitlines()) >= 4
    assert nb.cells[1].metadata.get("tags") == ["parameters"] and "profile" in nb.cells[1].source
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")  # committed without outputs
