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
