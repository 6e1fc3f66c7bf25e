"""Compare denoiser variants (loss, gate, size) on the VALIDATION records: where design choices are made.

Usage (needs the full-profile windows of notebook 01)::

    .venv/bin/python scripts/loss_sweep.py --epochs 10
    .venv/bin/python scripts/loss_sweep.py --epochs 10 --loss mse_noise --no-gate
    .venv/bin/python scripts/loss_sweep.py --epochs 10 --set layers=1 hidden=96

Each run trains an LSTM denoiser as notebook 02 does (a fixed number of epochs, one thread: deterministic), scores it
and the band-pass on the synthetic cases built on the validation windows with training-half noise, prints the SNR
improvement table and writes it to ``outputs/csv/full/sweep_<tag>.csv``. It never scores a test record: test
figures come only from ``make bench`` once a choice is made.
"""

from __future__ import annotations

import argparse
import ast

import pandas as pd

from ecgutils.data import store
from ecgutils.evaluation import denoising
from ecgutils.io import paths
from ecgutils.config import get_config, with_changes
from ecgutils.export import write_csv
from ecgutils.training.losses import DENOISING_LOSSES
from ecgutils.data.noise import NoiseBank
from ecgutils.training.denoiser import train_denoiser


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--loss", choices=DENOISING_LOSSES, default="mse_scaled")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--no-gate", action="store_true", help="LSTM without the per-window gate on its correction")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="other recipe settings")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    changes = {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in args.set)}
    recipe = with_changes(get_config("full", args.seed).lstm, loss=args.loss, epochs=args.epochs,
                          gate=not args.no_gate, **changes)
    tag = "_".join([args.loss, f"{args.epochs}ep"] + (["nogate"] if args.no_gate else []) + args.set)
    ds, bank = store.load_dataset("full"), NoiseBank.load()
    fitted = train_denoiser(ds, bank, recipe, None)
    cases = denoising.synthetic_cases(ds, bank, args.seed, split="val")
    table = denoising.summary_table(denoising.evaluate(cases, {"identity": None, "bandpass": None,
                                                               "lstm": fitted.model}))
    write_csv(table, paths.outputs_dir("csv", "full") / f"sweep_{tag}.csv", index=False)
    pd.set_option("display.width", 160)
    print(denoising.improvement_pivot(table).round(2).to_string())


if __name__ == "__main__":
    main()
