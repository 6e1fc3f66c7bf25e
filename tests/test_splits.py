import pytest

from ecgutils.data import splits
from ecgutils.config import PROFILES, Split, get_config


@pytest.mark.parametrize("profile", PROFILES)
def test_no_record_in_two_sets_and_held_out_records_unused(profile):
    split = get_config(profile).split
    splits.check_disjoint(split)
    sets = split.sets()
    every = [r for recs in sets.values() for r in recs]
    assert len(every) == len(set(every))
    for held in splits.NSTDB_CLEAN + splits.PACED:
        assert held not in every
    assert set(sets["test"]) <= set(splits.DS2)
    assert not (set(sets["train"]) | set(sets["val"])) & set(splits.DS2)


def test_full_profile_uses_the_whole_protocol():
    split = get_config("full").split
    assert split.test == splits.DS2 and len(split.test) == 22
    assert set(split.train) | set(split.val) == set(splits.DS1) - {"118", "119"}
    assert len(splits.NSTDB_RECORDS) == 12 and "118e_6" in splits.NSTDB_RECORDS


def test_check_disjoint_catches_a_leak():
    bad = Split(train=("101", "100"), val=("106",), test=("100",), max_windows={})
    with pytest.raises(ValueError, match=r"\['100'\] are in both train and test"):
        splits.check_disjoint(bad)
    bad = Split(train=("118",), val=(), test=("100",), max_windows={})
    with pytest.raises(ValueError, match="must stay out"):
        splits.check_disjoint(bad)


def test_records_201_and_202_are_one_subject_on_both_sides():
    # de Chazal's split separates by record; the README says so rather than claiming patient separation
    assert "201" in splits.DS1 and "202" in splits.DS2
