"""The leak guard: nothing of the test side reaches training, validation, threshold tuning or any other choice.

The protocol (``../shared/EVALUATION.md``): DS2 records, records 118 and 119 (the NSTDB originals) and the 12 NSTDB
records are test material; the second half of each noise recording (samples from ``NOISE_TEST_START`` on) is test
noise. This test trains every model of the registry end to end (one epoch, the quick profile's records, a small
threshold grid) while it

* records every WFDB record read (``wfdb.rdrecord`` / ``wfdb.rdann``), and
* poisons the test half of every noise recording with NaN, and records every excerpt drawn with NaN in it,

then fails when a test record was read, a NaN excerpt was drawn, or a loss, weight or threshold is not finite. The
second test plants leaks of the kinds this guard is for and checks that each one is caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
import torch
import wfdb

from ecgutils import config
from ecgutils.constants import NOISE_TEST_START
from ecgutils.data import noise as noise_mod
from ecgutils.data import splits, store
from ecgutils.io.records import read_records
from ecgutils.training import runs

TEST_SIDE = set(splits.DS2) | set(splits.NSTDB_CLEAN) | set(splits.NSTDB_RECORDS)


@dataclass
class Trace:
    """What reached the training side."""

    records: set = field(default_factory=set)
    poisoned_excerpts: list = field(default_factory=list)
    not_finite: list = field(default_factory=list)

    def leaks(self) -> list[str]:
        out = [f"test record {r} was read" for r in sorted(self.records & TEST_SIDE)]
        out += [f"test-half noise drawn ({what})" for what in self.poisoned_excerpts]
        out += [f"not finite: {what}" for what in self.not_finite]
        return out


class PoisonedBank(noise_mod.NoiseBank):
    """A noise bank whose test half is NaN; every excerpt with NaN in it is written down."""

    def __init__(self, records: dict, trace: Trace):
        poisoned = {}
        for kind, rec in records.items():
            rec = np.array(rec, dtype=np.float32, copy=True)
            rec[:, NOISE_TEST_START:] = np.nan
            poisoned[kind] = rec
        super().__init__(poisoned)
        self.trace = trace

    def excerpts(self, kind, n, length, rng, part="train"):
        out = super().excerpts(kind, n, length, rng, part)
        if np.isnan(out).any():
            self.trace.poisoned_excerpts.append(f"{kind}, part={part!r}")
        return out


def _watch_reads(monkeypatch, trace: Trace) -> None:
    for name in ("rdrecord", "rdann"):
        original = getattr(wfdb, name)

        def logged(record_name, *args, _original=original, **kwargs):
            trace.records.add(Path(str(record_name)).name)
            return _original(record_name, *args, **kwargs)

        monkeypatch.setattr(wfdb, name, logged)


def _tiny(cfg: config.ProfileConfig) -> config.ProfileConfig:
    """One epoch of every model, a three-threshold grid on two inputs: wiring, not quality."""
    recipes = {role: config.with_changes(r, epochs=1) for role, r in cfg.recipes().items()}
    tune = replace(cfg.tune, thresholds=(0.4, 0.5, 0.6), inputs=(("none", None), ("em", 0.0)))
    return replace(cfg, tune=tune, **recipes)


def _finite(trace: Trace, role: str, fitted) -> None:
    hist = fitted.history.select_dtypes("number").to_numpy(dtype=float)
    if not np.isfinite(hist).all():
        trace.not_finite.append(f"{role} loss history")
    if not all(torch.isfinite(p).all() for p in fitted.model.parameters()):
        trace.not_finite.append(f"{role} weights")
    thr = getattr(fitted.model, "threshold", 0.5)
    if thr is not None and not np.isfinite(float(thr)):
        trace.not_finite.append(f"{role} threshold")


def run_guarded(monkeypatch, cfg: config.ProfileConfig, roles=None) -> Trace:
    """Build the window store, then train the models of ``roles`` (default: every model of ``cfg``) under the
    guard; returns what was seen."""
    trace = Trace()
    real_load = noise_mod.NoiseBank.load.__func__
    bank = PoisonedBank(real_load(noise_mod.NoiseBank).records, trace)
    monkeypatch.setattr(noise_mod.NoiseBank, "load", classmethod(lambda cls, *a, **k: bank))
    ds = store.load_dataset(path=store.build_dataset(cfg.profile, cfg.seed, progress=False))
    for name in ("train", "val"):
        part = ds[name]
        held = {str(r) for r in part.windows.record}
        trace.records |= held & TEST_SIDE  # the store itself holds test windows in a training set
        for arr in ("gaussian", "real"):
            if not np.isfinite(getattr(part, arr)).all():
                trace.not_finite.append(f"stored {name} {arr} windows (test-half noise in the store)")
    trace.poisoned_excerpts.clear()  # the store's test set may draw test-half noise; from here on nothing may
    _watch_reads(monkeypatch, trace)
    for role in roles or cfg.recipes():
        try:
            fitted = runs.train_role(role, cfg.recipes()[role], ds, bank, cfg, progress=False)
        except Exception as exc:  # NaN noise can break training outright: that is a leak too, named here
            trace.not_finite.append(f"{role} training failed ({type(exc).__name__}: {exc})")
            continue
        _finite(trace, role, fitted)
    return trace


@pytest.fixture
def tiny_cfg(project):
    return _tiny(config.get_config("quick", seed=0))


def test_nothing_of_the_test_side_reaches_training_validation_or_tuning(monkeypatch, tiny_cfg):
    trace = run_guarded(monkeypatch, tiny_cfg)
    assert trace.records, "the guard saw no record read: it is not watching"
    assert trace.records <= set(tiny_cfg.split.train) | set(tiny_cfg.split.val), sorted(trace.records)
    assert trace.leaks() == []


#: Each planted leak, and the one model whose training shows it (to keep the test short).
PLANTED = {"test record in validation": "lstm", "tuning on test records": "detector",
           "noise from the test half": "cnn", "store draws test-half noise for training": "classifier"}


@pytest.mark.parametrize("leak", sorted(PLANTED))
def test_the_guard_catches_planted_leaks(monkeypatch, tiny_cfg, leak):
    cfg = tiny_cfg
    if leak == "test record in validation":
        cfg = replace(cfg, split=replace(cfg.split, val=cfg.split.val + ("100",)))
        monkeypatch.setattr(splits, "check_disjoint", lambda split: None)
        monkeypatch.setattr(store, "check_disjoint", lambda split: None)
        monkeypatch.setattr(store, "profile_split", lambda profile: cfg.split)
    elif leak == "tuning on test records":
        from ecgutils.training import rpeak

        monkeypatch.setattr(rpeak, "read_records", lambda recs, **kw: read_records(cfg.split.test[:1], **kw))
    elif leak == "noise from the test half":
        monkeypatch.setitem(noise_mod.HALVES, "train", (0, 650_000))
    else:
        real = store.dataset_params

        def params(*a, **k):
            p = real(*a, **k)
            p["noise_part"] = {"train": "test", "val": "test", "test": "test"}
            return p

        monkeypatch.setattr(store, "dataset_params", params)
    trace = run_guarded(monkeypatch, cfg, roles=[PLANTED[leak]])
    assert trace.leaks(), f"the planted leak ({leak}) went unnoticed"
