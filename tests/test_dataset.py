import json

import numpy as np
import pytest

from ecgutils.data import store
from ecgutils.data import noise


def test_build_is_reused_reproducible_and_never_overwritten(project):
    p1 = store.build_dataset("quick", seed=0, progress=False)
    manifest = json.loads((p1 / "manifest.json").read_text())
    mtime = (p1 / "manifest.json").stat().st_mtime_ns
    assert store.build_dataset("quick", seed=0, progress=False) == p1
    assert (p1 / "manifest.json").stat().st_mtime_ns == mtime  # reused, not rebuilt
    # a forced rebuild with the same seed gives the same bytes
    store.build_dataset("quick", seed=0, force=True, progress=False)
    assert json.loads((p1 / "manifest.json").read_text())["files"] == manifest["files"]
    # another seed is another build; the first one is kept
    p2 = store.build_dataset("quick", seed=1, progress=False)
    assert p2 != p1 and p1.exists()
    assert json.loads((p2 / "manifest.json").read_text())["files"] != manifest["files"]
    assert store.find_dataset("quick") == p2


def test_loaded_windows_are_consistent(project):
    store.build_dataset("quick", seed=0, progress=False)
    d = store.load_dataset("quick", verify=True)
    assert d.manifest["params"]["records"]["test"] == ["100", "105", "213"]
    assert not set(d.train.windows.record) & set(d.test.windows.record)
    for part in (d.train, d.val, d.test):
        ws = part.windows
        assert part.gaussian.shape == ws.x.shape == part.real.shape
        np.testing.assert_allclose(noise.noise_snr_db(ws.x, part.real - ws.x), part.real_snr, atol=0.1)
        # sigma = 0.05 on the [0, 1] window scale: noise std / window range
        assert abs(np.std((part.gaussian - ws.x) / part.span) - 0.05) < 0.002
    assert 5 < d.test.gaussian_snr.mean() < 12


def test_missing_build_names_the_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="run notebooks/01_preprocessing.ipynb first"):
        store.find_dataset("full", root=tmp_path)
