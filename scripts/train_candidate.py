"""Train a candidate model under its own name, for a choice made on validation (README *Where each choice was made*).

Usage (full profile; needs the full-profile windows of notebook 01)::

    .venv/bin/python scripts/train_candidate.py detector s10_det_snr21_h56 "dict(snr_range=(-21.0, 30.0), hidden=56)"
    .venv/bin/python scripts/train_candidate.py lstm s10_lstm_msenoise20 "dict(loss=dict(kind='mse_noise', ceiling_db=20.0))"

The recipe is the full profile's for ROLE with the changes (:func:`ecgutils.config.with_changes`), renamed NAME, so
the checkpoint goes to ``outputs/models/full/NAME.pt`` and its history (and a detector's threshold sweep) to
``outputs/csv/full/NAME_*.csv``, beside the reference models rather than over them. Compare candidates on the
validation records with ``ecgutils.evaluation.robustness.model_choice`` (detectors) or ``scripts/loss_sweep.py
--compare`` (denoisers); the recipe name does not change what is trained (same seed, same weights).
"""

from __future__ import annotations

import argparse
import ast
from dataclasses import replace

from ecgutils.config import get_config, with_changes
from ecgutils.data import store
from ecgutils.data.noise import NoiseBank
from ecgutils.training.runs import train_or_load


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("role", help="lstm, cnn, classifier, detector, stream_denoiser or stream_detector")
    p.add_argument("name", help="the candidate's file stem")
    p.add_argument("changes", nargs="?", default="dict()", help='recipe changes, e.g. "dict(hidden=56)"')
    args = p.parse_args(argv)
    try:
        tree = ast.parse(args.changes, mode="eval").body
    except SyntaxError:
        tree = None
    if not (isinstance(tree, ast.Call) and getattr(tree.func, "id", None) == "dict" and not tree.args):
        raise SystemExit(f'changes must read dict(name=value, ...), got {args.changes!r}')
    changes = {k.arg: ast.literal_eval(k.value) if not isinstance(k.value, ast.Call)
               else {kk.arg: ast.literal_eval(kk.value) for kk in k.value.keywords} for k in tree.keywords}
    cfg = get_config("full")
    recipe = replace(with_changes(cfg.recipes()[args.role], **changes), name=args.name)
    print(recipe, flush=True)
    ds = store.load_dataset(path=store.build_dataset("full", 0, progress=False))
    train_or_load(args.role, ds, NoiseBank.load(), cfg, recipe=recipe, retrain=True)


if __name__ == "__main__":
    main()
