"""Compare denoiser losses (and the gate) at an equal time budget: the experiment behind notebook 02's choices.

Usage, after ``make run PROFILE=full`` (needs the full-profile windows of notebook 01)::

    .venv/bin/python scripts/loss_sweep.py --loss mse_scaled --minutes 10 --threads 1
    .venv/bin/python scripts/loss_sweep.py --loss mse_scaled --no-gate --minutes 10 --threads 1
    .venv/bin/python scripts/loss_sweep.py --loss mse_noise --ceiling-db 5 --no-gate --minutes 10 --threads 1

Each run trains an LSTM denoiser as notebook 02 does, but writes ``outputs/models/sweep_<tag>.pt`` (the notebook's
model is left alone), scores it and the band-pass on the DS2 test cases and the NSTDB records with the benchmark's
functions, prints the SNR improvement table and writes it to ``outputs/csv/sweep_<tag>.csv``.
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch

from ecgutils import dataset, denoising, nstdb, paths
from ecgutils.export import write_csv
from ecgutils.noise import NoiseBank
from ecgutils.train import LOSSES


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--loss", choices=LOSSES, default="mse_scaled")
    p.add_argument("--ceiling-db", type=float, default=None, help="mse_noise only: SNR above which windows weigh alike")
    p.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (two runs side by side: 1 each)")
    p.add_argument("--profile", default="full")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-gate", action="store_true", help="LSTM without the per-window gate on its correction")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    options = {} if args.ceiling_db is None else {"ceiling_db": args.ceiling_db}
    tag = args.loss + ("" if args.ceiling_db is None else f"_{args.ceiling_db:g}dB") + ("_nogate" if args.no_gate else "")
    ds, bank = dataset.load_dataset(args.profile), NoiseBank.load()
    model, _ = denoising.train_denoiser(ds, bank, "lstm", args.profile, args.seed, name=f"sweep_{tag}", loss=args.loss,
                                        model_config={"gate": False} if args.no_gate else None,
                                        loss_options=options, max_minutes=args.minutes)
    cases = denoising.synthetic_cases(ds, bank, args.seed) + denoising.nstdb_cases(nstdb.load_cases())
    table = denoising.summary_table(denoising.evaluate(cases, denoising.denoisers({"lstm": model})))
    write_csv(table, paths.outputs_dir("csv") / f"sweep_{tag}.csv", index=False)
    pd.set_option("display.width", 160)
    print(denoising.improvement_pivot(table).round(2).to_string())


if __name__ == "__main__":
    main()
