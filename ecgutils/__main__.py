"""Command line of the package.

``python -m ecgutils annotate IN_DIR OUT_DIR [--fs HZ] [--jobs N | --scheduler ADDRESS]`` writes one CSV per
recording of IN_DIR (WFDB records or CSV files) into OUT_DIR: the signal, the denoised signal and the ``R_peak``
column (:func:`ecgutils.export.annotate_folder`), in parallel on the local cores or on a Dask cluster. Outputs
already there are skipped; recordings that fail are listed at the end and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys

from ecgutils.export import annotate_folder


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    p = argparse.ArgumentParser(prog="python -m ecgutils", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("annotate", help="R-peaks of every recording of a folder, one CSV each")
    a.add_argument("in_dir", help="folder of WFDB records (.hea/.dat) and/or CSV files")
    a.add_argument("out_dir", help="folder for <name>.csv (created if missing)")
    a.add_argument("--fs", type=float, default=None,
                   help="sampling rate of the CSV files, Hz (required for CSV; WFDB headers carry their own)")
    a.add_argument("--column", default=None, help="CSV column with the signal in mV (default: the first numeric); "
                   "its index (0, 1, ...) for CSVs without a header row")
    a.add_argument("--lead", default="MLII", help="WFDB signal name (default MLII)")
    a.add_argument("--jobs", type=int, default=-1, help="local worker processes (default -1: one per core)")
    a.add_argument("--scheduler", default=None,
                   help="address of a Dask scheduler (e.g. tcp://10.0.0.5:8786): run there instead")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    """Run the command line; returns the exit status (1 when any recording failed)."""
    args = parser().parse_args(argv)
    try:
        run = annotate_folder(args.in_dir, args.out_dir, fs=args.fs, column=args.column, lead=args.lead,
                              n_jobs=args.jobs, scheduler=args.scheduler, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(run.written)} written, {len(run.skipped)} already there, {len(run.failed)} failed "
          f"(in {args.out_dir})")
    for path, error in run.failed.items():
        print(f"  failed: {path.name}: {error}", file=sys.stderr)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
