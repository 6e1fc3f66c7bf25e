"""Noise-free output SNR (dB) of the shipped denoisers on both leads of the validation records.

The denoisers were trained on MLII only (README, *Where each choice was made*). This prints how much each changes a
clean signal on MLII and on the record's other lead (V1, V2, V4 or V5): each validation record whole, the streaming
denoiser run over it from its first sample as a live stream would be, the offline ones in one call; then the
protocol's SNR of the output against the input per 10 s window (means removed), averaged over the windows. Higher
is better: the output is compared with the raw lead, so a denoiser that changes nothing scores infinity.

    ECG_DATA_MIRROR=/path/to/physionet python scripts/stream_denoiser_leads.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgutils.constants import FS, WINDOW
from ecgutils.data.augment import other_lead
from ecgutils.data.splits import VALIDATION
from ecgutils.evaluation.metrics import denoising_metrics
from ecgutils.inference import denoise
from ecgutils.io.records import read_record
from ecgutils.streaming import StreamingDenoiser


def streamed(x: np.ndarray) -> np.ndarray:
    """The shipped streaming denoiser over the whole signal, in 100 ms chunks, then flushed (same length)."""
    den = StreamingDenoiser(fs=FS)
    step = int(0.1 * FS)
    out = [den.push(x[i:i + step]) for i in range(0, len(x), step)] + [den.flush()]
    return np.concatenate(out)[:len(x)]


def output_snr(clean: np.ndarray, out: np.ndarray) -> float:
    n = len(clean) // WINDOW * WINDOW
    c, y = clean[:n].reshape(-1, WINDOW), out[:n].reshape(-1, WINDOW)
    return float(denoising_metrics(c, y, c)["snr_out"].mean())


def main() -> pd.DataFrame:
    rows = []
    for record in VALIDATION:
        for lead, x in (("MLII", read_record(record).signal), ("other", other_lead(record))):
            outputs = {"stream lstm": streamed(x), "lstm": denoise(x, fs=FS), "bandpass": denoise(x, fs=FS,
                                                                                               method="bandpass")}
            rows += [{"record": record, "lead": lead, "method": m, "snr_out": output_snr(x, y)}
                     for m, y in outputs.items()]
    table = pd.DataFrame(rows)
    print(table.pivot_table(index=["record", "lead"], columns="method", values="snr_out").round(1))
    print("\nmean over the four records (dB):")
    print(table.pivot_table(index="lead", columns="method", values="snr_out").round(1))
    return table


if __name__ == "__main__":
    main()
