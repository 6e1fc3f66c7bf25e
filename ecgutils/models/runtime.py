"""Where and how computations run: seeds, CPU threads, device."""

from __future__ import annotations

import random
from contextlib import contextmanager

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (CPU and CUDA), and ask PyTorch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


@contextmanager
def threads(n: int | None):
    """Run the block with ``n`` PyTorch CPU threads (``None``: leave as is), then restore the previous count."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA if available, else Apple MPS, else CPU (or ``prefer``: ``"cpu"``, ``"cuda"``, ``"mps"``)."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
