"""The inter-patient record split (de Chazal et al., 2004): which record belongs to which set.

Windows are never split across sets: a record belongs to exactly one. Records 201 and 202 come from the same
subject; 201 is in DS1 (training) and 202 in DS2 (test), as in de Chazal's split, which separates by record: so one
subject has records on both sides of this published split. Every other subject has one record. Which records each
profile uses is :func:`ecgutils.config.get_config`'s ``split``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Test set: de Chazal's DS2.
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
       "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
#: de Chazal's DS1.
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
       "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
#: Clean originals of the 12 NSTDB test records: held out of training for the noise stress test.
NSTDB_CLEAN = ("118", "119")
#: Paced records: not used.
PACED = ("102", "104", "107", "217")
#: The 12 NSTDB noisy test records, by clean record and NSTDB level (dB, QRS-amplitude based).
NSTDB_LEVELS = (24, 18, 12, 6, 0, -6)


def record_name(clean: str, level: int) -> str:
    """The NSTDB record of a clean record at a level: ``("118", 6) -> "118e06"``, ``("119", -6) -> "119e_6"``.

    Examples
    --------
    >>> record_name("118", 6), record_name("119", -6)
    ('118e06', '119e_6')
    """
    return f"{clean}e{level:02d}" if level >= 0 else f"{clean}e_{-level}"


NSTDB_RECORDS = tuple(record_name(r, lvl) for r in NSTDB_CLEAN for lvl in NSTDB_LEVELS)
#: Validation records, taken from DS1 minus 118/119 (chosen to include ventricular and bundle-branch beats).
VALIDATION = ("106", "114", "209", "223")
#: Training records: DS1 minus 118, 119 and the validation records.
TRAIN = tuple(r for r in DS1 if r not in NSTDB_CLEAN and r not in VALIDATION)


def check_disjoint(split) -> None:
    """Raise ``ValueError`` if a record is in two sets, or a held-out record (118, 119, paced) is used."""
    sets = split.sets()
    names = list(sets)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = set(sets[a]) & set(sets[b])
            if both:
                raise ValueError(f"records {sorted(both)} are in both {a} and {b}")
    used = set().union(*map(set, sets.values()))
    banned = used & set(NSTDB_CLEAN + PACED)
    if banned:
        raise ValueError(f"records {sorted(banned)} must stay out of every set (NSTDB originals or paced)")
    leaked = (set(split.train) | set(split.val)) & set(DS2)
    if leaked:
        raise ValueError(f"test records {sorted(leaked)} are used for training or validation")


#: The evaluation profiles: ``quick`` (a first run in a few minutes), ``full`` (the reference models) and ``smoke``
#: (the tests: every code path on a handful of windows, one epoch; its numbers mean nothing).
PROFILES = ("quick", "full", "smoke")


@dataclass(frozen=True)
class Split:
    """Record lists of one profile, and how many windows each record gives.

    Attributes
    ----------
    train, val, test : tuple of str
        MIT-BIH record names.
    max_windows : dict
        Per set, the largest number of windows taken from one record (``None``: all), spread evenly over it.
    """

    train: tuple
    val: tuple
    test: tuple
    max_windows: dict

    def sets(self) -> dict:
        """``{"train": (...), "val": (...), "test": (...)}``."""
        return {"train": self.train, "val": self.val, "test": self.test}


def profile_split(profile: str) -> Split:
    """The record lists of a profile: ``quick`` a handful of records, ``smoke`` fewer, ``full`` the protocol's split."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid options: {', '.join(PROFILES)}")
    if profile == "smoke":
        return Split(train=("101", "208"), val=("106",), test=("100", "213"),
                     max_windows={"train": 8, "val": 4, "test": 4})
    if profile == "quick":
        return Split(train=("101", "115", "208", "230"), val=("106",), test=("100", "105", "213"),
                     max_windows={"train": 40, "val": 20, "test": 12})
    # 30 test windows per DS2 record, as the evaluation protocol fixes; every training window.
    return Split(train=TRAIN, val=VALIDATION, test=DS2, max_windows={"train": None, "val": 60, "test": 30})
