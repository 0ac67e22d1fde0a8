"""Shared fold loop and result summaries, against scikit-learn and hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from emorepro import metrics as M
from emorepro.errors import EmoreproError
from emorepro.evaluation import (
    Fold,
    fold_curves,
    folds_of,
    run_over_folds,
    summarise_classification,
    summarise_regression,
)
from emorepro.protocols import loso

CLASSES = ("anger", "joy", "sad")


def _index(n_subjects: int = 4, per: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {"item_id": f"s{s}_{k}", "subject": f"s{s}", "emotion": CLASSES[rng.integers(3)]}
        for s in range(n_subjects)
        for k in range(per)
    ]
    return pd.DataFrame(rows)


def test_folds_of_a_loso_sheet_hold_each_subject_out_once() -> None:
    index = _index()
    folds = folds_of(loso(index))
    assert [f.index for f in folds] == [0, 1, 2, 3]
    for fold in folds:
        held = {fold.subjects[i] for i in fold.test}
        assert len(held) == 1 and not held & {fold.subjects[i] for i in fold.train}
        assert sorted(fold.train + fold.test) == sorted(index["item_id"]) and not fold.dev


def test_run_over_folds_calls_every_fold_and_adds_fold_and_subject() -> None:
    index = _index()
    labels = index.set_index("item_id")["emotion"]
    seen: list[Fold] = []

    def majority(fold: Fold) -> pd.DataFrame:  # predict the training majority class
        seen.append(fold)
        guess = labels.loc[fold.train].mode().iloc[0]
        return pd.DataFrame(
            {"item_id": fold.test, "y_true": labels.loc[fold.test].to_numpy(), "y_pred": guess}
        )

    table = run_over_folds(loso(index), majority)
    assert len(seen) == 4 and len(table) == len(index)
    assert list(table.columns[:3]) == ["fold", "subject", "item_id"]
    assert (table["subject"] == table["item_id"].str.split("_").str[0]).all()


def test_run_over_folds_refuses_predictions_for_other_items() -> None:
    def wrong(fold: Fold) -> pd.DataFrame:
        return pd.DataFrame({"item_id": fold.train[:1], "y_true": "joy", "y_pred": "joy"})

    with pytest.raises(EmoreproError, match="fold 0: predictions cover other items"):
        run_over_folds(loso(_index()), wrong)


def test_classification_summary_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    n = 60
    table = pd.DataFrame(
        {
            "fold": np.repeat([0, 1, 2], n // 3),
            "subject": np.repeat(["a", "b", "c"], n // 3),
            "y_true": rng.choice(CLASSES, n),
            "y_pred": rng.choice(CLASSES, n),
        }
    )
    s = summarise_classification(table, CLASSES)
    y, p = table["y_true"], table["y_pred"]
    assert s.metrics["accuracy_pooled"] == pytest.approx(accuracy_score(y, p))
    assert s.metrics["uar_pooled"] == pytest.approx(balanced_accuracy_score(y, p))
    assert s.metrics["macro_f1_pooled"] == pytest.approx(
        f1_score(y, p, labels=list(CLASSES), average="macro", zero_division=0)
    )
    fold_acc = [accuracy_score(g["y_true"], g["y_pred"]) for _, g in table.groupby("fold")]
    assert s.metrics["accuracy_fold_mean"] == pytest.approx(np.mean(fold_acc))
    assert s.confusion["matrix"] == confusion_matrix(y, p, labels=list(CLASSES)).tolist()
    assert (s.metrics["n_folds"], s.metrics["n_items"]) == (3, n)
    assert [f["params"]["test_subjects"] for f in s.folds] == ["a", "b", "c"]
    assert set(s.metric_variants) == {k for k in s.metrics if not k.startswith("n_")}
    prec, rec, f1, _ = precision_recall_fscore_support(y, p, labels=list(CLASSES), zero_division=0)
    for i, c in enumerate(CLASSES):
        assert s.metrics[f"precision.{c}"] == pytest.approx(prec[i])
        assert s.metrics[f"recall.{c}"] == pytest.approx(rec[i])
        assert s.metrics[f"fscore.{c}"] == pytest.approx(f1[i])


def test_classification_summary_keeps_the_class_order_when_a_fold_lacks_a_class() -> None:
    table = pd.DataFrame(
        {
            "fold": [0, 0, 1, 1],
            "subject": list("aabb"),
            "y_true": ["sad", "sad", "joy", "sad"],
            "y_pred": ["sad", "joy", "joy", "sad"],
        }
    )
    s = summarise_classification(table, CLASSES)
    assert s.confusion["labels"] == list(CLASSES)
    assert s.confusion["matrix"][0] == [0, 0, 0]  # anger absent: a zero row, still present
    assert s.folds[0]["metrics"]["uar"] == pytest.approx(0.5)  # only "sad" present in fold 0


def test_regression_summary_is_one_pooled_ccc_per_target_and_role() -> None:
    rng = np.random.default_rng(1)
    rows = []
    for role in ("dev", "test"):
        for target in ("arousal", "valence"):
            gold = rng.normal(size=50)
            rows.append(
                pd.DataFrame(
                    {
                        "role": role,
                        "target": target,
                        "y_true": gold,
                        "y_pred": gold + rng.normal(scale=0.5, size=50),
                    }
                )
            )
    table = pd.concat(rows, ignore_index=True)
    s = summarise_regression(table, targets=("arousal", "valence"), fold_params={"x": 1})
    part = table[(table["role"] == "test") & (table["target"] == "valence")]
    assert s.metrics["valence.test.ccc"] == M.ccc(part["y_true"], part["y_pred"])
    assert set(s.metric_variants.values()) == {M.CCC_POOLED.describe()}
    assert s.folds == [{"fold": 0, "metrics": s.metrics, "params": {"x": 1}}]
    with pytest.raises(EmoreproError, match="no dev predictions for dominance"):
        summarise_regression(table, targets=("dominance",))


def test_confusion_rates_are_row_shares_and_the_diagonal_is_recall() -> None:
    from emorepro.evaluation import confusion_rates

    rng = np.random.default_rng(9)
    table = pd.DataFrame(
        {
            "fold": 0,
            "subject": "a",
            "y_true": rng.choice(CLASSES[:2], 40),
            "y_pred": rng.choice(CLASSES, 40),
        }
    )
    s = summarise_classification(table, CLASSES)
    rates = confusion_rates(s.confusion)
    assert len(rates) == 9
    for t in CLASSES[:2]:
        row = [rates[f"confusion.{t}.{p}"] for p in CLASSES]
        assert sum(row) == pytest.approx(1.0)
        assert rates[f"confusion.{t}.{t}"] == pytest.approx(s.metrics[f"recall.{t}"])
    assert [rates[f"confusion.sad.{p}"] for p in CLASSES] == [0.0, 0.0, 0.0]  # absent class


def test_fold_curves_are_one_entry_per_epoch_with_a_key_per_fold() -> None:
    curves = fold_curves({2: [0.9, 0.5], 0: [1.0, 0.7, 0.4], 1: []})
    assert curves == [
        {"epoch": 1, "fold0.train_loss": 1.0, "fold2.train_loss": 0.9},
        {"epoch": 2, "fold0.train_loss": 0.7, "fold2.train_loss": 0.5},
        {"epoch": 3, "fold0.train_loss": 0.4},
    ]
    assert fold_curves({}) == []
