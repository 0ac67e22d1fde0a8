"""Evaluation protocols -> fold sheets, and the speaker-leakage gate.

A *fold sheet* is a table with one row per (fold, item): columns ``fold`` (int, from 0),
``item_id``, ``subject`` and ``role`` (``train``/``dev``/``test``). Every protocol of the
four papers is a function from a corpus index to a fold sheet:

* :func:`fixed_partition` — the corpus' own partition (AVEC 2016 9/9/9, OMG-Emotion
  train/dev, AFEW Train/Val, YouTube-8M train/validate): one fold.
* :func:`stratified_split` — the 46-subject RECOLA split of Tzirakis et al. (16/15/15),
  subjects stratified on gender and age.
* :func:`loso` — leave-one-subject-out (RML, eNTERFACE'05): one fold per subject.
* :func:`logso` — leave-one-speakers-group-out with ``k`` groups (BAUM-1s: 5).

:func:`check_disjoint` proves that no subject appears in two roles of the same fold and
raises :class:`LeakageError` naming the subjects otherwise; :func:`sheet_hash` fingerprints
a sheet so every result can name the exact split it used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from emorepro.errors import ConfigError, LeakageError

SHEET_COLUMNS: tuple[str, ...] = ("fold", "item_id", "subject", "role")
ROLES: tuple[str, ...] = ("train", "dev", "test")


def read_sheet(path: Path | str) -> pd.DataFrame:
    """A fold sheet CSV with item and subject ids kept as strings."""
    return pd.read_csv(path, dtype={"item_id": str, "subject": str})


def role_items(sheet: pd.DataFrame, role: str) -> list[str]:
    """Item ids of one role of a (single-fold) sheet, in sheet order."""
    return sheet.loc[sheet["role"] == role, "item_id"].tolist()


def _sheet(rows: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    sheet = pd.DataFrame(rows, columns=list(SHEET_COLUMNS))
    return sheet.sort_values(["fold", "role", "item_id"], kind="stable").reset_index(drop=True)


def fixed_partition(index: pd.DataFrame) -> pd.DataFrame:
    """One fold from the index' ``partition`` column; items without a partition are dropped.

    Raises :class:`ConfigError` if the corpus has no fixed partition at all.
    """
    part = index[index["partition"].notna()]
    if part.empty:
        raise ConfigError("this corpus has no fixed partition; use loso/logso/stratified")
    return _sheet([(0, r.item_id, r.subject, r.partition) for r in part.itertuples()])


#: Aminbeidokhti (2020, Sec. 3.3.1): "we use 3844 training shards and 3000 validation shards
#: for training. We randomly select 200 shards from the rest of 844 validation shards"
YT8M_VALIDATE_SHARDS, YT8M_TRAIN_VALIDATE, YT8M_EVAL = 3844, 3000, 200


def shard_holdout(index: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """YouTube-8M shard protocol (one fold): every ``train`` shard's videos and a seeded
    3000/3844 share of the ``validate`` shards train; of the remaining validate shards a
    200/844 share (at least one) is the held-out evaluation set (role ``dev``); the rest is
    unused. Shards come from the index' ``feature_path``; the training share is capped so that
    at least one validate shard is held out."""
    if "feature_path" not in index.columns:
        raise ConfigError("yt8m_shards needs an index with feature_path (the shard of a video)")
    val = sorted({str(p) for p in index.loc[index["partition"] == "dev", "feature_path"]})
    if not val:
        raise ConfigError("yt8m_shards: the corpus has no validate*.tfrecord shard")
    rng = np.random.default_rng([int(seed), 8, 3844])
    order = [val[i] for i in rng.permutation(len(val))]
    n_train = min(round(YT8M_TRAIN_VALIDATE / YT8M_VALIDATE_SHARDS * len(val)), len(val) - 1)
    rest = len(val) - n_train
    denominator = YT8M_VALIDATE_SHARDS - YT8M_TRAIN_VALIDATE
    n_eval = max(1, round(YT8M_EVAL / denominator * rest))
    role_of = {p: "train" for p in order[:n_train]}
    role_of.update({p: "dev" for p in order[n_train : n_train + n_eval]})
    rows = []
    for r in index.itertuples():
        role = "train" if r.partition == "train" else role_of.get(str(r.feature_path))
        if role is not None:
            rows.append((0, r.item_id, r.subject, role))
    return _sheet(rows)


def loso(index: pd.DataFrame) -> pd.DataFrame:
    """Leave-one-subject-out: fold *i* tests subject *i* (sorted) and trains on the rest."""
    subjects = sorted(index["subject"].unique())
    if len(subjects) < 2:
        raise ConfigError(f"LOSO needs at least 2 subjects, the index has {len(subjects)}")
    rows = []
    for fold, held_out in enumerate(subjects):
        for r in index.itertuples():
            rows.append((fold, r.item_id, r.subject, "test" if r.subject == held_out else "train"))
    return _sheet(rows)


def speaker_groups(subjects: Sequence[str], k: int, *, seed: int) -> list[list[str]]:
    """Split subjects into ``k`` groups of near-equal size by a seeded permutation.

    Zhang et al. (002) use "five speaker groups, as done in [12]" without listing them; the
    composition here is a seeded shuffle (recorded through the fold-sheet hash).
    """
    uniq = sorted(set(subjects))
    if not 2 <= k <= len(uniq):
        raise ConfigError(f"LOGSO with k={k} groups needs 2 <= k <= {len(uniq)} subjects")
    order = np.random.default_rng(seed).permutation(len(uniq))
    return [sorted(uniq[i] for i in order[g::k]) for g in range(k)]


def logso(index: pd.DataFrame, *, k: int, seed: int) -> pd.DataFrame:
    """Leave-one-speakers-group-out: fold *g* tests speaker group *g*."""
    groups = speaker_groups(index["subject"].tolist(), k, seed=seed)
    rows = []
    for fold, group in enumerate(groups):
        members = set(group)
        for r in index.itertuples():
            rows.append((fold, r.item_id, r.subject, "test" if r.subject in members else "train"))
    return _sheet(rows)


def _age_band(age: object) -> str:
    if age is None or (isinstance(age, float) and np.isnan(age)):
        return "?"
    return "young" if int(age) < 25 else "older"  # RECOLA subjects are mostly students


def stratified_split(
    index: pd.DataFrame, *, sizes: Sequence[int] = (16, 15, 15), seed: int
) -> pd.DataFrame:
    """Subject-level train/dev/test split of the given sizes, stratified on gender x age band.

    Tzirakis et al. (000/001) split 46 RECOLA subjects 16/15/15 "stratifying ... the gender
    and the age" without listing the subjects. Subjects are grouped by stratum (gender, age
    band < 25 / >= 25), shuffled with ``seed``, then dealt round-robin into the three roles
    in proportion to ``sizes`` (largest remaining deficit first), so each role's gender/age
    mix follows the whole corpus.
    """
    subj = index.drop_duplicates("subject").set_index("subject")
    n = len(subj)
    if sum(sizes) != n:
        raise ConfigError(f"split sizes {list(sizes)} sum to {sum(sizes)}, corpus has {n} subjects")
    rng = np.random.default_rng(seed)
    strata: dict[tuple[str, str], list[str]] = {}
    for s, row in subj.iterrows():
        strata.setdefault((str(row["gender"]), _age_band(row["age"])), []).append(str(s))
    ordered: list[str] = []
    for key in sorted(strata):
        members = sorted(strata[key])
        ordered += [members[i] for i in rng.permutation(len(members))]
    assigned: dict[str, str] = {}
    counts = dict.fromkeys(ROLES, 0)
    for i, s in enumerate(ordered):
        # the role furthest below its target share after i+1 subjects takes this one
        deficit = {r: sizes[j] * (i + 1) / n - counts[r] for j, r in enumerate(ROLES)}
        open_roles = [r for j, r in enumerate(ROLES) if counts[r] < sizes[j]]
        role = max(open_roles, key=lambda r: (deficit[r], -ROLES.index(r)))
        assigned[s] = role
        counts[role] += 1
    return _sheet([(0, r.item_id, r.subject, assigned[r.subject]) for r in index.itertuples()])


def check_disjoint(sheet: pd.DataFrame) -> None:
    """Raise :class:`LeakageError` if any subject has two roles within one fold.

    The message names the fold, the subjects and their roles, e.g.
    ``fold 3: subjects in more than one role: s04 (test, train)``.
    """
    roles = sheet.groupby(["fold", "subject"])["role"].agg(lambda r: tuple(sorted(set(r))))
    leaks = roles[roles.map(len) > 1]
    if not leaks.empty:
        lines = []
        for fold, part in leaks.groupby(level=0):
            who = ", ".join(f"{s} ({', '.join(r)})" for (_, s), r in part.items())
            lines.append(f"fold {fold}: subjects in more than one role: {who}")
        raise LeakageError("speaker leakage: " + "; ".join(lines))
    for fold, roles in sheet.groupby("fold")["role"]:
        present = set(roles)
        if "train" not in present or not present & {"dev", "test"}:
            raise LeakageError(f"fold {fold} lacks a train or evaluation role: {sorted(present)}")


def sheet_hash(sheet: pd.DataFrame) -> str:
    """SHA-256 of the sheet's canonical CSV (sorted rows, fixed columns)."""
    canon = sheet[list(SHEET_COLUMNS)].sort_values(["fold", "item_id"], kind="stable")
    return hashlib.sha256(canon.to_csv(index=False).encode()).hexdigest()


#: protocol name -> corpora it applies to (the default DAG writes every applicable sheet)
PROTOCOLS: dict[str, tuple[str, ...]] = {
    "avec2016": ("recola_avec2016",),
    "recola46": ("recola_full",),
    "loso": ("rml", "enterface05", "emodb"),
    "logso": ("baum1s",),
    "official": ("omg_emotion", "afew", "yt8m"),
    "yt8m_shards": ("yt8m",),
}


def protocols_for(corpus: str) -> list[str]:
    """Names of the protocols defined for ``corpus``."""
    return [p for p, corpora in PROTOCOLS.items() if corpus in corpora]


def make_sheet(
    protocol: str,
    index: pd.DataFrame,
    *,
    seed: int,
    logso_groups: int = 5,
    recola46_sizes: Sequence[int] = (16, 15, 15),
) -> pd.DataFrame:
    """Build the fold sheet of ``protocol`` for ``index`` and check it for leakage."""
    if protocol in ("avec2016", "official"):
        sheet = fixed_partition(index)
    elif protocol == "recola46":
        sheet = stratified_split(index, sizes=recola46_sizes, seed=seed)
    elif protocol == "loso":
        sheet = loso(index)
    elif protocol == "yt8m_shards":
        sheet = shard_holdout(index, seed=seed)
    elif protocol == "logso":
        sheet = logso(index, k=logso_groups, seed=seed)
    else:
        raise ConfigError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    check_disjoint(sheet)
    return sheet
