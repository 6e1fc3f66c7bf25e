"""Where and how computations run: seeds, CPU threads, and the device policy (the CPU unless asked otherwise)."""

from __future__ import annotations

import random
from contextlib import contextmanager
from functools import lru_cache

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


@lru_cache(maxsize=1)
def _blas_libraries() -> tuple:
    """``(get_num_threads, set_num_threads)`` of each BLAS library NumPy and SciPy loaded, looked up once.

    threadpoolctl finds the libraries (a few ms). Its controllers look a library's C symbol up again on every call
    (about 15 µs for a get and a set, paid four times per stream push); for OpenBLAS with its own threads the C
    functions are called directly, which threadpoolctl itself does once it has found them.
    """
    from threadpoolctl import ThreadpoolController

    out = []
    for c in ThreadpoolController().lib_controllers:
        if c.user_api != "blas":
            continue
        symbol = getattr(c, "_get_symbol", None)  # threadpoolctl's lookup of the library's C functions
        get = symbol and symbol("openblas_get_num_threads")
        put = symbol and symbol("openblas_set_num_threads")
        if c.internal_api == "openblas" and getattr(c, "threading_layer", None) == "pthreads" and get and put:
            out.append((get, put))
        else:
            out.append((c.get_num_threads, c.set_num_threads))
    return tuple(out)


@contextmanager
def blas_threads(n: int):
    """Run the block with ``n`` threads in the BLAS libraries NumPy and SciPy use, then restore their counts.

    Small matrix products (a stream's step) are slowed down many times by BLAS threads waiting for a busy core.
    Costs about 2 µs (a library already at ``n`` threads is left alone).
    """
    libs = _blas_libraries()
    before = [get() for get, _ in libs]
    changed = [(put, k) for (_, put), k in zip(libs, before) if k != n]
    for put, _ in changed:
        put(n)
    try:
        yield
    finally:
        for put, k in changed:
            put(k)


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train on: the CPU unless the caller asks for another one.

    Reference training runs on the CPU with the recipe's thread count whatever the machine has, so the same code,
    seed and threads give the same weights (a GPU gives other rounding). Pass ``"cuda"``, ``"mps"`` or
    ``"auto"`` (the best available: CUDA, then Apple MPS, then the CPU) to train elsewhere.

    Parameters
    ----------
    device : str, torch.device or None
        None (the default): the CPU.

    Examples
    --------
    >>> pick_device(), pick_device("cpu")
    (device(type='cpu'), device(type='cpu'))
    """
    if device is None:
        return torch.device("cpu")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    chosen = torch.device(device)
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} asked for, but PyTorch sees no CUDA device here: pass device=None "
                         "(the CPU) or device='auto'")
    return chosen
