"""One source (the d2l pattern): a notebook cell whose first line is ``#@save <module>`` holds the package's code.

Every top-level function and class of such a cell must be the same code as the same-named one in ``<module>``
(compared as syntax trees, docstrings left out); the shipped weights load into the classes the notebooks define;
and what a notebook passes to ``runs.train_or_load`` (its model, loss and epoch loop) is what is trained.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect

import nbformat
import numpy as np
import pytest
import torch

from ecgutils.config import get_config, with_changes
from ecgutils.constants import FS
from ecgutils.data import store
from ecgutils.models import checkpoints, registry
from ecgutils.training import loop, losses, runs
from tests.helpers import ROOT, toy_bank

MARK = "#@save"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
#: What each notebook must define in its own cells (issue 20: code where it is taught).
TAUGHT = {
    "02_lstm_denoising.ipynb": {"standardise", "to_frames", "LSTMDenoiser", "window_mse", "scaled_mse",
                                "spectral_error", "spectral_mse",
                                "noisy_batches", "train_one_epoch"},
    "03_gru_rpeak_detection.ipynb": {"gru_step", "_GRUEncoder", "GRUDetector", "GRUClassifier", "weighted_bce"},
    "05_real_time.ipynb": {"CausalGRUDetector"},
}


def saved_cells(path) -> list[tuple[str, str]]:
    """``(module, source)`` of every ``#@save <module>`` cell of a notebook, in order."""
    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        first = cell.source.split("\n", 1)[0].strip()
        if cell.cell_type == "code" and first.startswith(MARK):
            module = first[len(MARK):].strip()
            assert module, f"{path.name}: '{MARK}' must name the package module the cell belongs to"
            out.append((module, cell.source))
    return out


def _definitions(tree: ast.Module) -> dict:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name: node for node in tree.body if isinstance(node, kinds)}


def _without_docstrings(node: ast.AST) -> str:
    node = copy.deepcopy(node)
    for n in ast.walk(node):
        body = getattr(n, "body", None)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and ast.get_docstring(n) is not None:
            n.body = body[1:] or [ast.Pass()]
    return ast.dump(node, include_attributes=False)


def differences(source: str, module: str) -> list[str]:
    """The top-level definitions of ``source`` that are missing from ``module`` or differ from it."""
    package = _definitions(ast.parse(inspect.getsource(importlib.import_module(module))))
    found = []
    for name, node in _definitions(ast.parse(source)).items():
        if name not in package:
            found.append(f"{name} (not in {module})")
        elif _without_docstrings(node) != _without_docstrings(package[name]):
            found.append(f"{name} (differs from {module}.{name})")
    return found


CELLS = [(nb.name, i, module, src) for nb in NOTEBOOKS for i, (module, src) in enumerate(saved_cells(nb))]


@pytest.mark.parametrize("notebook,index,module,source", CELLS, ids=[f"{c[0][:2]}-{c[1]}-{c[2]}" for c in CELLS])
def test_saved_cells_are_the_package_code(notebook, index, module, source):
    assert differences(source, module) == [], (
        f"{notebook}: the '{MARK} {module}' cell and the package differ; the package is the source: copy the "
        "package's code into the cell (or change both)")


@pytest.mark.parametrize("notebook", sorted(TAUGHT))
def test_each_notebook_defines_what_it_teaches(notebook):
    defined = set()
    for _, source in saved_cells(ROOT / "notebooks" / notebook):
        defined |= set(_definitions(ast.parse(source)))
    assert TAUGHT[notebook] <= defined, f"{notebook} does not define {sorted(TAUGHT[notebook] - defined)}"


def test_the_comparison_catches_a_change_and_ignores_docstrings():
    source = inspect.getsource(losses.scaled_mse)
    assert differences(source, "ecgutils.training.losses") == []
    reworded = source.replace("The denoisers' default loss", "Another wording of the docstring")
    assert reworded != source and differences(reworded, "ecgutils.training.losses") == []
    changed = source.replace("clamp_min(1e-6)", "clamp_min(1e-5)")
    assert changed != source and differences(changed, "ecgutils.training.losses") == ["scaled_mse (differs from "
                                                                                        "ecgutils.training.losses."
                                                                                        "scaled_mse)"]
    assert differences("def helper():\n    pass\n", "ecgutils.training.losses") == [
        "helper (not in ecgutils.training.losses)"]


def _namespace(notebook: str) -> dict:
    """The notebook's ``#@save`` cells run in order (each imports what it needs), as a student's kernel has them."""
    ns: dict = {"__name__": "__main__"}
    for _, source in saved_cells(ROOT / "notebooks" / notebook):
        exec(compile(source, notebook, "exec"), ns)
    return ns


@pytest.mark.parametrize("notebook", sorted(TAUGHT))
def test_shipped_weights_load_into_the_notebooks_classes(notebook):
    ns = _namespace(notebook)
    roles = [r for r in registry.REGISTRY.values() if r.network.__name__ in ns]
    assert roles, f"{notebook} defines none of the registry's networks"
    x = torch.as_tensor(np.sin(np.arange(3600) / 20.0)[None], dtype=torch.float32)
    for row in roles:
        payload = torch.load(checkpoints.weights_dir() / f"{row.stem}.pt", map_location="cpu", weights_only=True)
        mine = ns[row.network.__name__](**payload["config"])
        assert type(mine).__module__ == "__main__"  # the notebook's class, not the package's
        mine.load_state_dict(payload["state_dict"])  # strict: every tensor, same names and shapes
        reference = checkpoints.resolve(row.role)
        inp = x[:, :reference.input_length] if hasattr(reference, "input_length") else x
        with torch.no_grad():
            assert torch.equal(mine.eval()(inp), reference(inp)), row.role


def test_train_or_load_trains_the_model_the_notebook_passes(project):
    """A notebook's own class, loss and epoch loop are what is trained; changed code trains anew."""
    ds = store.load_dataset(path=store.build_dataset("quick", progress=False))
    cfg = get_config("quick")
    recipe = with_changes(cfg.lstm, hidden=8, layers=1, epochs=2)
    calls = []

    def my_epoch(model, batches, loss_fn, opt, grad_clip, device):
        calls.append(type(model).__name__)
        return loop.train_one_epoch(model, list(batches)[:2], loss_fn, opt, grad_clip, device)

    class MyLSTM(registry.spec("lstm").network):
        pass

    params = {**recipe.model, "fs": FS}
    net = MyLSTM(**params)
    trained, hist = runs.train_or_load("lstm", ds, toy_bank(), cfg, recipe=recipe, model=net, loss=losses.scaled_mse,
                                       epoch_fn=my_epoch, progress=False)
    assert trained is net and calls == ["MyLSTM", "MyLSTM"] and len(hist) == 2
    # the same code again: loaded into the model passed, no training
    again, _ = runs.train_or_load("lstm", ds, toy_bank(), cfg, recipe=recipe, model=MyLSTM(**params),
                                  loss=losses.scaled_mse, epoch_fn=my_epoch, progress=False)
    assert len(calls) == 2 and type(again) is MyLSTM and torch.equal(again.inp.weight, net.inp.weight)

    class MyLSTM(registry.spec("lstm").network):  # noqa: F811 (a student edits the class and reruns the cell)
        def forward(self, x):
            return super().forward(x) * 1.0

    runs.train_or_load("lstm", ds, toy_bank(), cfg, recipe=recipe, model=MyLSTM(**params),
                       loss=losses.scaled_mse, epoch_fn=my_epoch, progress=False)
    assert len(calls) == 4, "a changed class must be trained, not loaded"


def test_the_notebooks_real_time_detector_streams():
    """Notebook 05's own CausalGRUDetector (trained there) runs in StreamingDetector as the package's class does."""
    from ecgutils.streaming import StreamingDetector
    from tests.helpers import synthetic_ecg

    ns = _namespace("05_real_time.ipynb")
    payload = torch.load(checkpoints.weights_dir() / "gru_stream_detector.pt", map_location="cpu", weights_only=True)
    mine = ns["CausalGRUDetector"](**payload["config"])
    mine.load_state_dict(payload["state_dict"])
    x, _ = synthetic_ecg(3600 * 2)
    ours = StreamingDetector(fs=360, checkpoint=mine.eval())
    shipped = StreamingDetector(fs=360)
    got = np.concatenate([ours.push(x), ours.flush()])
    want = np.concatenate([shipped.push(x), shipped.flush()])
    assert len(want) > 10 and np.array_equal(got, want)
    with pytest.raises(ValueError, match="not a real-time model"):
        StreamingDetector(fs=360, checkpoint=checkpoints.resolve("detector"))   # an offline model is still refused
