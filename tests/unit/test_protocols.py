"""Protocols: fold counts, speaker disjointness, stratification, the leakage gate."""

from __future__ import annotations

import pandas as pd
import pytest

from emorepro.corpora.index import make_index
from emorepro.errors import ConfigError, LeakageError
from emorepro.protocols import (
    check_disjoint,
    fixed_partition,
    logso,
    loso,
    make_sheet,
    sheet_hash,
    speaker_groups,
    stratified_split,
)


def _index(n_subjects: int, per_subject: int = 3, **extra) -> pd.DataFrame:
    rows = []
    for s in range(n_subjects):
        for k in range(per_subject):
            row = {"item_id": f"s{s:02d}_{k}", "corpus": "rml", "subject": f"s{s:02d}"}
            row.update({key: f(s) for key, f in extra.items()})
            rows.append(row)
    return make_index(rows)


def test_loso_one_fold_per_subject_and_disjoint() -> None:
    sheet = loso(_index(8))
    assert sheet["fold"].nunique() == 8
    for _fold, part in sheet.groupby("fold"):
        tested = set(part.loc[part.role == "test", "subject"])
        assert len(tested) == 1
        assert tested.isdisjoint(part.loc[part.role == "train", "subject"])
    check_disjoint(sheet)


def test_logso_groups_cover_every_subject_once() -> None:
    groups = speaker_groups([f"s{i}" for i in range(31)], 5, seed=3)
    flat = [s for g in groups for s in g]
    assert sorted(flat) == sorted(f"s{i}" for i in range(31))
    assert {len(g) for g in groups} <= {6, 7}
    assert groups == speaker_groups([f"s{i}" for i in range(31)], 5, seed=3)
    assert groups != speaker_groups([f"s{i}" for i in range(31)], 5, seed=4)
    sheet = logso(_index(31, 1), k=5, seed=3)
    assert sheet["fold"].nunique() == 5
    tested = sheet[sheet.role == "test"].groupby("subject")["fold"].nunique()
    assert (tested == 1).all() and len(tested) == 31


def test_stratified_split_sizes_and_balance() -> None:
    idx = _index(46, 1, gender=lambda s: "F" if s % 2 else "M", age=lambda s: 21 if s % 3 else 30)
    sheet = stratified_split(idx, sizes=(16, 15, 15), seed=1)
    subjects = sheet.drop_duplicates("subject").groupby("role")["subject"].count()
    assert subjects.to_dict() == {"train": 16, "dev": 15, "test": 15}
    merged = sheet.merge(idx[["item_id", "gender"]], on="item_id")
    share_f = merged.groupby("role")["gender"].apply(lambda g: (g == "F").mean())
    assert share_f.max() - share_f.min() <= 0.15  # each role mirrors the corpus' gender mix
    with pytest.raises(ConfigError, match="sum to"):
        stratified_split(idx, sizes=(10, 10, 10), seed=1)


def test_fixed_partition_and_missing_partition() -> None:
    idx = _index(6, 1, partition=lambda s: ("train", "dev", "test")[s % 3])
    sheet = fixed_partition(idx)
    assert set(sheet.role) == {"train", "dev", "test"}
    with pytest.raises(ConfigError, match="no fixed partition"):
        fixed_partition(_index(3))


def test_leak_names_the_speakers() -> None:
    sheet = pd.DataFrame(
        {
            "fold": [0, 0, 0, 1, 1],
            "item_id": ["a", "b", "c", "a", "b"],
            "subject": ["s1", "s1", "s2", "s1", "s2"],
            "role": ["train", "test", "train", "train", "test"],
        }
    )
    with pytest.raises(LeakageError, match=r"fold 0: .*s1 \(test, train\)"):
        check_disjoint(sheet)


def test_fold_without_evaluation_role_is_rejected() -> None:
    sheet = pd.DataFrame(
        {"fold": [0, 0], "item_id": ["a", "b"], "subject": ["s1", "s2"], "role": ["train"] * 2}
    )
    with pytest.raises(LeakageError, match="lacks"):
        check_disjoint(sheet)


def test_hash_is_order_independent_and_content_sensitive() -> None:
    sheet = loso(_index(4))
    assert sheet_hash(sheet) == sheet_hash(sheet.sample(frac=1, random_state=0))
    changed = sheet.copy()
    changed.loc[0, "role"] = "dev"
    assert sheet_hash(changed) != sheet_hash(sheet)


def test_make_sheet_unknown_protocol() -> None:
    with pytest.raises(ConfigError, match="unknown protocol 'kfold'"):
        make_sheet("kfold", _index(3), seed=0)
