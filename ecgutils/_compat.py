"""The module paths of ecgutils 0.2 (36 flat modules), importable for one more release with a DeprecationWarning.

``import ecgutils.dataset`` still works and gives the very module now at ``ecgutils.data.store``; the warning names
the new path. :data:`MOVED` is the table of what moved (the README lists it too).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: Old module path -> new module path.
MOVED = {
    "ecgutils.paths": "ecgutils.io.paths", "ecgutils.files": "ecgutils.io.files", "ecgutils.fetch": "ecgutils.io.fetch",
    "ecgutils.splits": "ecgutils.data.splits", "ecgutils.windows": "ecgutils.data.windows",
    "ecgutils.noise": "ecgutils.data.noise", "ecgutils.nstdb": "ecgutils.data.nstdb",
    "ecgutils.dataset": "ecgutils.data.store",
    "ecgutils.filters": "ecgutils.dsp.filters", "ecgutils.peaks": "ecgutils.dsp.peaks",
    "ecgutils.resampler": "ecgutils.dsp.resampling",
    "ecgutils.causal": "ecgutils.models.causal", "ecgutils.checkpoints": "ecgutils.models.checkpoints",
    "ecgutils.runtime": "ecgutils.models.runtime",
    "ecgutils.losses": "ecgutils.training.losses", "ecgutils.train": "ecgutils.training.loop",
    "ecgutils.rpeak_training": "ecgutils.training.rpeak", "ecgutils.stream_training": "ecgutils.training.stream",
    "ecgutils.runs": "ecgutils.training.runs",
    "ecgutils.denoising": "ecgutils.evaluation.denoising", "ecgutils.metrics": "ecgutils.evaluation.metrics",
    "ecgutils.rpeak_scoring": "ecgutils.evaluation.detection", "ecgutils.realtime": "ecgutils.evaluation.realtime",
    "ecgutils.targets": "ecgutils.evaluation.targets", "ecgutils.bench": "ecgutils.evaluation.bench",
    "ecgutils.session": "ecgutils.notebook.session", "ecgutils.plots": "ecgutils.notebook.plots",
    "ecgutils.pipeline": "ecgutils.notebook.pipeline", "ecgutils.handin": "ecgutils.notebook.handin",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module path and hands back the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        warnings.warn(f"{spec.name} moved to {MOVED[spec.name]} (ecgutils 0.3); the old path goes in the next "
                      "release", DeprecationWarning, stacklevel=2)
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        """The module is already executed at its new path."""


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
        sys.meta_path.append(_MovedModules())
