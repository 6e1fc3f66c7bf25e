"""The model registry: one row per model, read by config, checkpoints, inference, training runs and the bench.

A row says everything the package needs to know about a model besides its recipe (``ecgutils.config``): the role
it plays (the key of ``ProfileConfig.recipes()`` and of :func:`ecgutils.models.checkpoints.resolve`), its network
kind and class, the file stem of its checkpoint and history, the notebook that trains it, its trainer in
:mod:`ecgutils.training` (named as ``"module:function"`` and imported only when a model is trained, so applying a
model never imports training code), its task and whether it streams.

Adding a model is one row here plus its network class and its trainer (and its recipe in ``ecgutils.config``).

Examples
--------
>>> spec("detector").kind, spec("detector").stem, spec("detector").method
('gru_detector', 'gru_detector', 'gru')
>>> methods("denoise")
('lstm', 'cnn')
>>> build_model("lstm", seed=0, hidden=8, layers=1).config["hidden"]
8
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from ecgutils.constants import FS
from ecgutils.models.causal import CausalGRUDetector, CausalLSTMDenoiser
from ecgutils.models.networks import CNNDenoiser, GRUClassifier, GRUDetector, LSTMDenoiser

TASKS = ("denoise", "classify", "detect")


@dataclass(frozen=True)
class ModelSpec:
    """One model of the package.

    Attributes
    ----------
    role : str
        Its name in the profile's recipes and in ``checkpoints.resolve`` (``"detector"``).
    kind : str
        Network kind, what :func:`build_model` takes and a checkpoint stores (``"gru_detector"``).
    network : type
        The network class (an ``nn.Module``) built for ``kind``.
    stem : str
        File stem of its checkpoint (``outputs/models/<profile>/<stem>.pt``, shipped ``weights/<stem>.pt``) and
        history (``outputs/csv/<profile>/<stem>_history.csv``).
    notebook : str
        The notebook that trains it (named in the errors when its checkpoint is missing).
    trainer : str
        ``"module:function"`` in :mod:`ecgutils.training`; every trainer takes
        ``(ds, bank, recipe, cfg, *, progress, device)`` and returns a ``Fitted``.
    task : {"denoise", "classify", "detect"}
    streaming : bool
        A real-time (causal) model, applied through :mod:`ecgutils.streaming`.
    method : str or None
        The name ``ecgutils.inference`` offers it under (``method="gru"``); None when it is not offered there.
    """

    role: str
    kind: str
    network: type
    stem: str
    notebook: str
    trainer: str
    task: str
    streaming: bool = False
    method: str | None = None


_NB_DENOISE, _NB_RPEAK, _NB_REAL_TIME = "02_lstm_denoising.ipynb", "03_gru_rpeak_detection.ipynb", "05_real_time.ipynb"

#: The table, by role (in the order notebooks, runs and the bench list the models).
REGISTRY: dict[str, ModelSpec] = {s.role: s for s in (
    ModelSpec("lstm", "lstm", LSTMDenoiser, "lstm_denoiser", _NB_DENOISE,
              "ecgutils.training.denoiser:train_denoiser", "denoise", method="lstm"),
    ModelSpec("cnn", "cnn", CNNDenoiser, "cnn_denoiser", _NB_DENOISE,
              "ecgutils.training.denoiser:train_denoiser", "denoise", method="cnn"),
    ModelSpec("classifier", "gru_classifier", GRUClassifier, "gru_classifier", _NB_RPEAK,
              "ecgutils.training.rpeak:train_classifier", "classify"),
    ModelSpec("detector", "gru_detector", GRUDetector, "gru_detector", _NB_RPEAK,
              "ecgutils.training.rpeak:train_detector", "detect", method="gru"),
    ModelSpec("stream_denoiser", "causal_lstm", CausalLSTMDenoiser, "lstm_stream_denoiser", _NB_REAL_TIME,
              "ecgutils.training.denoiser:train_denoiser", "denoise", streaming=True),
    ModelSpec("stream_detector", "causal_gru_detector", CausalGRUDetector, "gru_stream_detector", _NB_REAL_TIME,
              "ecgutils.training.stream:train_stream_detector", "detect", streaming=True),
)}


def spec(role: str) -> ModelSpec:
    """The row of ``role``; a ``ValueError`` listing the valid roles for any other name."""
    if role not in REGISTRY:
        raise ValueError(f"unknown role {role!r}; valid options: {', '.join(REGISTRY)}")
    return REGISTRY[role]


def by_kind(kind: str) -> ModelSpec:
    """The row whose network kind is ``kind``; a ``ValueError`` listing the valid kinds otherwise."""
    for row in REGISTRY.values():
        if row.kind == kind:
            return row
    raise ValueError(f"unknown model {kind!r}; valid options: {', '.join(r.kind for r in REGISTRY.values())}")


def by_method(method: str) -> ModelSpec:
    """The row ``ecgutils.inference`` offers as ``method`` (``"gru"`` is the detector)."""
    for row in REGISTRY.values():
        if row.method == method:
            return row
    raise ValueError(f"no model is offered as method {method!r}; valid options: "
                     f"{', '.join(r.method for r in REGISTRY.values() if r.method)}")


def methods(task: str) -> tuple:
    """The inference method names of the models doing ``task`` (``"denoise"``, ``"classify"``, ``"detect"``)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid options: {', '.join(TASKS)}")
    return tuple(r.method for r in REGISTRY.values() if r.task == task and r.method)


def build_model(kind: str, seed: int | None = None, **config) -> nn.Module:
    """A freshly initialised network by kind, e.g. ``build_model("lstm", layers=3)``.

    Parameters
    ----------
    kind : str
        A network kind of the registry: ``lstm``, ``cnn``, ``gru_detector``, ``gru_classifier``, ``causal_lstm``,
        ``causal_gru_detector``.
    seed : int, optional
        Seeds the initial weights (same seed, same model).
    **config
        The network's parameters; ``fs``, the rate the network works at (Hz), is the rate of the stored windows it
        learns from (:data:`ecgutils.constants.FS`) unless given.
    """
    network = by_kind(kind).network
    if seed is not None:
        torch.manual_seed(seed)
    return network(**{"fs": FS, **config})


class _Column(Mapping):
    """A live, read-only view of one column of the registry: ``{key column: value column}``."""

    def __init__(self, key: str, value: str):
        self._key, self._value = key, value

    def _items(self) -> dict:
        return {getattr(r, self._key): getattr(r, self._value) for r in REGISTRY.values()}

    def __getitem__(self, key):
        return self._items()[key]

    def __iter__(self) -> Iterator:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __repr__(self) -> str:
        return repr(self._items())


#: ``{kind: network class}`` (the 0.2 name ``ecgutils.models.MODELS``).
MODELS: Mapping = _Column("kind", "network")
#: ``{role: checkpoint stem}`` (``ecgutils.models.checkpoints.ROLES``).
ROLES: Mapping = _Column("role", "stem")
#: ``{role: the notebook that trains it}`` (``ecgutils.training.runs.NOTEBOOK``).
NOTEBOOK: Mapping = _Column("role", "notebook")
