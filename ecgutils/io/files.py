"""Atomic file writes: write to a temporary file beside the target, then rename, so an interrupted run never
leaves a half-written file under the final name, and two runs writing the same file at once (two trainings that
both build the windows) each replace it whole rather than one losing its temporary file to the other."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``, unique to this call; on success it replaces ``path`` in one step.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out" / "table.csv"
    >>> with atomic_path(target) as tmp:               # e.g. df.to_csv(tmp)
    ...     _ = tmp.write_text("record,R_peak")
    >>> target.read_text(), [p.name for p in target.parent.iterdir()]  # whole, and no temporary file left
    ('record,R_peak', ['table.csv'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
