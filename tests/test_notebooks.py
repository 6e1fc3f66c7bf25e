"""The notebooks, executed headless: once in the smoke profile (one epoch, a few windows: the session fixture
``smoke_run``, shared by every test here), checking wiring (no error, figures embedded, exports, progress lines,
the reference figures beside the run's), never model quality; the hand-in and the runner on tiny notebooks."""

import json
import os
import shutil
import subprocess
import sys

import nbformat
import numpy as np
import pandas as pd
import pytest
import torch

from ecgutils.evaluation import bench
from ecgutils.notebook import handin, pipeline
from tests.helpers import ROOT

NOTEBOOKS = pipeline.notebooks(ROOT / "notebooks")


def _outputs(path, allow_errors=False):
    """Text of every output (after checking that no cell raised, unless ``allow_errors``)."""
    nb = nbformat.read(path, as_version=4)
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error" and not allow_errors:
                pytest.fail(f"{path.name} cell {i} raised {o.get('ename')}: {o.get('evalue')}")
            out.append(o.get("text", "") + json.dumps(o.get("data", {})))
    return "\n".join(out)


def _images(path):
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def _tiny_notebooks(folder, failing="02"):
    """Three numbered notebooks with a parameters cell; notebook ``failing`` raises in its second code cell."""
    folder.mkdir()
    for n in ("01", "02", "03"):
        params = nbformat.v4.new_code_cell("profile = 'quick'\nseed = 0")
        params.metadata["tags"] = ["parameters"]
        body = "raise RuntimeError('boom')" if n == failing else "x = 1"
        nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(body),
                                             nbformat.v4.new_code_cell(f"print('after the error in {n}')")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{n}_tiny.ipynb")
    return folder


@pytest.mark.slow
def test_pipeline_names_the_failing_notebook(tmp_path):
    folder = _tiny_notebooks(tmp_path / "nbs")
    with pytest.raises(RuntimeError, match="02_tiny.ipynb failed"):
        pipeline.run_notebooks("quick", folder=folder, out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "03_tiny.ipynb").exists()  # the run stops there


@pytest.mark.slow
def test_handin_writes_every_html_when_a_cell_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(tmp_path))
    folder = _tiny_notebooks(tmp_path / "nbs")
    html = handin.handin("Ada Lovelace", "quick", folder=folder, out_dir=tmp_path / "handin")
    assert [p.name for p in html] == ["01_tiny.html", "02_tiny.html", "03_tiny.html"]
    broken = html[1].read_text()
    assert "Ada Lovelace" in broken and "RuntimeError" in broken and "boom" in broken  # the error, shown
    assert "after the error in 02" in broken  # the cells after it ran (as nbconvert --allow-errors)
    assert handin.failed_cells(tmp_path / "handin" / "02_tiny.ipynb")
    assert not handin.failed_cells(tmp_path / "handin" / "03_tiny.ipynb")
    only = handin.handin("Ada Lovelace", "quick", only=["03"], folder=folder, out_dir=tmp_path / "only")
    assert [p.name for p in only] == ["03_tiny.html"]


@pytest.mark.slow
@pytest.mark.parametrize("number", [p.name[:2] for p in NOTEBOOKS])
def test_each_notebook_runs_in_the_smoke_profile(smoke_run, number):
    executed = {p.name[:2]: p for p in smoke_run.executed}[number]
    _outputs(executed)
    assert _images(executed) >= 4, f"{executed.name} embeds {_images(executed)} figures"
    spent = pipeline.spent(executed)
    assert spent.seconds > 0 and 0 <= spent.slowest_cell < len(nbformat.read(executed, as_version=4).cells)


@pytest.mark.slow
def test_smoke_run_writes_models_tables_and_exports(smoke_run):
    out = smoke_run.root / "outputs"
    for f in ("lstm_denoiser", "cnn_denoiser", "gru_classifier", "gru_detector", "gru_stream_detector",
              "lstm_stream_denoiser"):
        payload = torch.load(out / "models" / "smoke" / f"{f}.pt", weights_only=True)
        assert payload["profile"] == "smoke" and payload["recipe"]["train"]["epochs"] == 1
    csv = out / "csv" / "smoke"
    win = pd.read_csv(csv / "test_windows_R_peak.csv")
    assert {"record", "start_sample", "reference", "probability", "R_peak"} <= set(win.columns)
    assert set(win.record.astype(str)) == {"100", "213"}
    for rec in ("100", "213"):
        s = pd.read_csv(csv / "records" / f"{rec}_samples.csv")
        assert list(s.columns) == ["time_s", "noisy_mV", "denoised_mV", "clean_mV", "R_peak"]
        assert len(s) == 5 * 60 * 360
    summary = pd.read_csv(csv / "summary_metrics.csv")
    assert set(summary.task) == {"denoising", "R-peak detection", "window classification"}
    den = pd.read_csv(csv / "denoising_summary.csv")
    ident = den[(den.method == "identity") & den.snr_imp.notna()]
    assert np.allclose(ident.snr_imp, 0.0)  # the metrics' sanity anchor
    assert "lstm (reference)" in set(den.method)  # the run's numbers beside the reference model's
    assert set(den[den.kind == "nstdb"].snr_nominal) == {0.0}  # the smoke profile scores one NSTDB level
    f1 = pd.read_csv(csv / "realtime_detection_clean.csv")
    assert {"stream 0.3 s", "gru (offline)", "xqrs"} <= set(f1.detector)
    for name in ("04_loss_curves", "04_denoising_nstdb", "04_snr_improvement", "04_f1_vs_snr", "04_confusion_matrix",
                 "05_live_stream", "05_f1_vs_lookahead", "05_latency", "05_compute_per_chunk"):
        assert (out / "plots" / "smoke" / f"{name}.png").stat().st_size > 10_000


@pytest.mark.slow
def test_progress_is_printed_text_and_reference_figures_are_shown(smoke_run):
    text = {p.name[:2]: _outputs(p) for p in smoke_run.executed}
    assert "epoch 1/1, train loss" in text["02"] and "validation loss" in text["02"]  # one line per epoch
    assert "epoch 1/1, train loss" in text["03"] and "epoch 1/1, train loss" in text["05"]
    assert "denoising: case 1 of" in text["02"]  # scoring counters
    assert "records (" in text["03"] and "NSTDB denoising: record 1 of 2" in text["05"]
    assert "0%|" not in "".join(text.values())  # no progress widget saved at 0 %
    assert "gru (reference)" in text["03"] and "stream 1 s (reference)" in text["05"]
    assert "100 ms chunks: True" in text["05"] and "single samples: True" in text["05"]


@pytest.mark.slow
def test_benchmark_tables_from_the_notebooks_csvs(smoke_run, monkeypatch):
    """The benchmark's headline tables and targets, on the tables the notebooks just wrote (no re-scoring)."""
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(smoke_run.root))
    q = bench.notebook_tables("smoke")
    heads = bench.headline_tables(q)
    assert all(len(t) for t in heads.values())
    targets = bench.check_targets(q)
    assert len(targets) > 20 and targets.measured.notna().any()
    assert targets.met.dtype == bool


@pytest.mark.slow
def test_spent_table_lists_every_notebook(smoke_run):
    table = pipeline.spent_table(smoke_run.executed)
    for p in smoke_run.executed:
        assert p.name in table
    assert table.splitlines()[-1].startswith("all notebooks")


@pytest.mark.slow
def test_handin_html_of_an_executed_notebook(smoke_run, tmp_path):
    copy = shutil.copy(smoke_run.executed[0], tmp_path / smoke_run.executed[0].name)
    html = handin.to_html(copy, "Ada Lovelace", "smoke", 0).read_text()
    assert "Ada Lovelace" in html and "data:image/png;base64" in html and "profile <code>smoke</code>" in html


@pytest.mark.slow
def test_plain_nbconvert_from_the_project_root(tmp_path, monkeypatch, mirror):
    """A student's plain nbconvert (no papermill, the default quick profile) from the project root."""
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # a relative mirror is taken from the project root (here the temporary project), not from notebooks/
    monkeypatch.setenv("ECG_DATA_MIRROR", os.path.relpath(str(mirror), tmp_path))
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                    "notebooks/01_preprocessing.ipynb", "--output-dir", str(tmp_path / "nbconvert")],
                   cwd=ROOT, check=True, capture_output=True)
    executed = tmp_path / "nbconvert" / "01_preprocessing.ipynb"
    assert "input SNR" in _outputs(executed) and _images(executed) >= 6


@pytest.mark.slow
def test_notebook_04_refuses_models_of_another_profile(smoke_run, tmp_path, monkeypatch):
    """02 run in the full profile and 04 in the smoke one: a clear error, not an IndexError or wrong records."""
    from ecgutils import models
    from ecgutils.config import get_config
    from ecgutils.data import store
    from ecgutils.models import checkpoints

    root = tmp_path / "project"
    shutil.copytree(smoke_run.root / "data", root / "data")
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(root))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    build = store.find_dataset("smoke").name
    mdir = root / "outputs" / "models" / "smoke"
    for role, recipe in get_config("full").recipes().items():  # models that say they were trained in full
        m = models.build_model(recipe.kind, **recipe.model)
        checkpoints.save_checkpoint(mdir / f"{recipe.name}.pt", m, recipe.kind, profile="full", dataset=build,
                                    recipe=recipe.to_dict(), epoch=1, val_loss=1.0)
    with pytest.raises(RuntimeError, match="made in the 'full' profile.*rerun notebooks/02_lstm_denoising"):
        pipeline.run_notebooks("smoke", only=["04"], folder=ROOT / "notebooks", out_dir=root / "executed")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_teaches_and_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "What you will learn" in text and "## References" in text
    assert "$$" in text or "$" in text.replace("$ECG", "")  # at least one typeset equation
    exercises = text.split("## Exercises", 1)[1].split("\n## ", 1)[0]
    assert sum(line[:3] in {f"{i}. " for i in range(1, 10)} for line in exercises.splitlines()) >= 4
    assert nb.cells[1].metadata.get("tags") == ["parameters"] and "profile" in nb.cells[1].source
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")  # committed without outputs
    first = nb.cells[0].source
    assert "**How long:**" in first and "quick profile" in first and "full profile" in first  # measured times
