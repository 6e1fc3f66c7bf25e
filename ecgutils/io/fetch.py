"""Make PhysioNet records available locally and verified: MIT-BIH Arrhythmia (``mitdb``) and Noise Stress Test
(``nstdb``).

Records are looked for, in this order:

1. the local data folder (default ``data/raw/<db>/``), where earlier runs keep them;
2. a local copy of PhysioNet named by ``mirror=`` or ``$ECG_DATA_MIRROR`` (a folder holding ``mitdb/`` and
   ``nstdb/``); the files needed are copied into the data folder;
3. PhysioNet itself, downloaded with :func:`wfdb.dl_files`.

Every file of a registered record is checked against the SHA-256 sum that PhysioNet publishes for it (the
lists ship with the package in ``ecgutils/registry/``); a file that does not match is refused and named.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

import wfdb

from ecgutils.io import paths

#: The databases this module knows, with their PhysioNet names.
DATABASES = ("mitdb", "nstdb")


class DataError(RuntimeError):
    """A record could not be made available or read; the message says what to do."""


class ChecksumError(DataError):
    """A file does not match its published SHA-256 sum."""


# --------------------------------------------------------------------------------------------- registry
@lru_cache(maxsize=None)
def registry(db: str) -> dict[str, str]:
    """Published SHA-256 sums of a database's record files.

    Parameters
    ----------
    db : {"mitdb", "nstdb"}

    Returns
    -------
    dict
        File name (``"100.dat"``) to lower-case hex SHA-256.
    """
    check_db(db)
    text = resources.files("ecgutils.io").joinpath("registry", f"{db}.sha256").read_text()
    sums = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name] = digest
    return sums


def list_records(db: str) -> list[str]:
    """Names of the records of ``db`` that the registry knows, sorted."""
    return sorted({name.rsplit(".", 1)[0] for name in registry(db)})


def check_db(db: str) -> None:
    """Raise ``ValueError`` listing the valid databases unless ``db`` is one."""
    if db not in DATABASES:
        raise ValueError(f"unknown database {db!r}; valid options: {', '.join(DATABASES)}")


def check_record(db: str, record: str) -> None:
    """Raise ``ValueError`` listing the valid records unless ``record`` is a registered record of ``db``."""
    known = list_records(db)
    if record not in known:
        raise ValueError(
            f"unknown record {record!r} in {db}; valid records: {' '.join(known)}. "
            "To read your own WFDB record, pass the path to it (without extension), e.g. read_record('my/folder/rec1')."
        )


def record_files(db: str, record: str) -> list[str]:
    """File names that make up a registered record (``.hea``, ``.dat`` and, where published, ``.atr``)."""
    check_record(db, record)
    return [f"{record}.{ext}" for ext in ("hea", "dat", "atr") if f"{record}.{ext}" in registry(db)]


# --------------------------------------------------------------------------------------------- verify
def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, as lower-case hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


_VERIFIED: dict[tuple[str, int, int], bool] = {}


def verify_file(path: str | Path, expected: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` hashes to ``expected``.

    A file already verified in this process (same size and modification time) is not hashed again.
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key):
        return
    actual = sha256_file(path)
    if actual != expected:
        raise ChecksumError(
            f"{path} does not match its published SHA-256 sum (expected {expected[:12]}..., got {actual[:12]}...). "
            "The file is truncated, corrupt or from another release: delete it and run again to fetch a fresh copy."
        )
    _VERIFIED[key] = True


# --------------------------------------------------------------------------------------------- fetch
def mirror_dir(mirror: str | Path | None = None) -> Path | None:
    """The local PhysioNet copy to use: ``mirror`` if given, else ``$ECG_DATA_MIRROR``, else ``None``."""
    value = mirror if mirror is not None else os.environ.get(paths.MIRROR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute():  # relative to the project, wherever the kernel runs (notebooks/ or the root)
        path = paths.project_root() / path
    if not path.is_dir():
        raise DataError(
            f"the PhysioNet mirror {path} (from {'mirror=' if mirror is not None else '$' + paths.MIRROR_ENV}) "
            "is not a folder; point it at a folder holding mitdb/ and nstdb/, or unset it to download."
        )
    return path


def fetch_record(
    record: str,
    db: str = "mitdb",
    data_dir: str | Path | None = None,
    mirror: str | Path | None = None,
    download: bool = True,
) -> Path:
    """Make one registered record available locally and verified.

    Parameters
    ----------
    record : str
        Record name, e.g. ``"100"``, ``"em"``, ``"118e06"``.
    db : {"mitdb", "nstdb"}
        Database the record belongs to.
    data_dir : path, optional
        Folder that holds one sub-folder per database; default ``data/raw``.
    mirror : path, optional
        Local PhysioNet copy (holding ``mitdb/``, ``nstdb/``); default ``$ECG_DATA_MIRROR``.
    download : bool
        Whether to fall back on downloading from PhysioNet.

    Returns
    -------
    Path
        The record's path without extension, ready for :func:`wfdb.rdrecord`.
    """
    check_db(db)
    sums = registry(db)
    local = Path(data_dir) if data_dir is not None else paths.raw_dir()
    local = local / db
    local.mkdir(parents=True, exist_ok=True)
    missing = []
    for name in record_files(db, record):
        target = local / name
        if target.exists():
            verify_file(target, sums[name])
        else:
            missing.append(name)
    if missing:
        _fetch_missing(db, missing, local, mirror, download)
    return local / record


def _fetch_missing(db: str, names: list[str], local: Path, mirror, download: bool) -> None:
    sums = registry(db)
    src = mirror_dir(mirror)
    with tempfile.TemporaryDirectory(dir=local, prefix=".fetch-") as tmp:
        tmp = Path(tmp)
        if src is not None:
            for name in names:
                origin = src / db / name
                if not origin.exists():
                    raise DataError(
                        f"{origin} is missing from the PhysioNet mirror {src}; complete the mirror, "
                        f"or unset ${paths.MIRROR_ENV} to download from PhysioNet."
                    )
                shutil.copyfile(origin, tmp / name)
        elif download:
            try:
                wfdb.dl_files(db, str(tmp), names, keep_subdirs=False, overwrite=True)
            except Exception as exc:  # network errors come in many types
                raise DataError(
                    f"could not download {', '.join(names)} from PhysioNet ({type(exc).__name__}: {exc}). "
                    f"With no network, copy the database into {local} or set ${paths.MIRROR_ENV} to a folder "
                    "holding mitdb/ and nstdb/ (see README, 'Getting the data')."
                ) from exc
        else:
            raise DataError(
                f"{', '.join(names)} not found in {local}, no mirror is set (${paths.MIRROR_ENV}) and downloading is "
                "switched off; copy the files there, set the mirror, or pass download=True."
            )
        for name in names:
            verify_file(tmp / name, sums[name])
        for name in names:
            os.replace(tmp / name, local / name)  # atomic: a half-copied file never has the final name
