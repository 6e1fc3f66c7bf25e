import pytest

from ecgutils.io import paths
from ecgutils.notebook import pipeline
from tests.helpers import ROOT


def test_outputs_are_per_profile_and_notebooks_stay_with_the_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_PROJECT_ROOT", str(tmp_path))
    assert paths.outputs_dir("models", "quick") == tmp_path / "outputs" / "models" / "quick"
    assert paths.outputs_dir("models", "quick").is_dir()
    # moving data and outputs elsewhere does not lose the notebooks
    assert paths.notebooks_dir() == ROOT / "notebooks"
    assert [p.name[:2] for p in pipeline.notebooks()] == ["01", "02", "03", "04", "05"]
    with pytest.raises(ValueError, match="valid options: csv, plots, models"):
        paths.outputs_dir("figures")
