"""The SVM LOSO step against plain libsvm and scikit-learn loops on the same features.

    python benchmarks/svm_loso_speed.py [--items 720] [--speakers 8] [--features 6373]
        [--classes 6] [--C 0.01] [--repeats 3] [--seed 0]

Synthetic utterance functionals (``--items`` rows, ``--features`` columns, class means apart,
speaker offsets: shaped like RML with ComParE_2016; ``--features 88`` for eGeMAPS), a
leave-one-speaker-out sheet from :func:`emorepro.protocols.loso`, then, best of
``--repeats``:

(a) emorepro: :func:`emorepro.families.baselines.runs.svm_over_folds` (fold handling, the
    fold's z-scoring, libsvm C-SVC, the result table and its summary);
(b) a plain libsvm loop: per held-out speaker, z-score with the training rows' statistics,
    ``svm_train(-s 0 -t 0 -c C)``, ``svm_predict``;
(c) scikit-learn: ``StandardScaler`` + ``SVC(kernel="linear", C)`` per held-out speaker.

Prints seconds, items/s, the ratio (a)/(b) (the target: ≤ 1.05, no slower than the plain
loop) and the share of test predictions on which (a) agrees with (b) and (c).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from libsvm.svmutil import svm_parameter, svm_predict, svm_problem, svm_train
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from emorepro.families.baselines.runs import svm_over_folds
from emorepro.protocols import loso


def make_data(items: int, speakers: int, features: int, classes: int, seed: int):
    rng = np.random.default_rng(seed)
    labels = np.array([f"c{k}" for k in rng.integers(0, classes, items)])
    subject = np.array([f"s{k:02d}" for k in np.arange(items) % speakers])
    means = rng.normal(0, 0.6, (classes, features))
    offsets = rng.normal(0, 0.5, (speakers, features))
    x = rng.normal(0, 1, (items, features))
    x += means[np.searchsorted(np.unique(labels), labels)]
    x += offsets[np.arange(items) % speakers]
    ids = [f"i{k:05d}" for k in range(items)]
    feats = pd.DataFrame(x, index=pd.Index(ids, name="item_id"))
    feats.columns = [f"f{k}" for k in range(features)]
    index = pd.DataFrame({"item_id": ids, "subject": subject, "emotion": labels})
    return feats, index


def plain_libsvm(feats: pd.DataFrame, index: pd.DataFrame, C: float) -> pd.Series:
    out = {}
    x_all, y_all = feats.to_numpy(), index["emotion"].to_numpy()
    classes = np.unique(y_all)
    for held in sorted(index["subject"].unique()):
        test = (index["subject"] == held).to_numpy()
        scaler = StandardScaler().fit(x_all[~test])
        y = np.searchsorted(classes, y_all[~test]).astype(float)
        order = np.argsort(y, kind="stable")
        xt = scaler.transform(x_all[~test])[order]
        model = svm_train(svm_problem(y[order], xt), svm_parameter(f"-s 0 -t 0 -c {C} -q"))
        pred, _, _ = svm_predict(np.zeros(test.sum()), scaler.transform(x_all[test]), model, "-q")
        for item, p in zip(index.loc[test, "item_id"], pred, strict=True):
            out[item] = classes[int(p)]
    return pd.Series(out)


def plain_sklearn(feats: pd.DataFrame, index: pd.DataFrame, C: float) -> pd.Series:
    out = {}
    x_all, y_all = feats.to_numpy(), index["emotion"].to_numpy()
    for held in sorted(index["subject"].unique()):
        test = (index["subject"] == held).to_numpy()
        scaler = StandardScaler().fit(x_all[~test])
        model = SVC(kernel="linear", C=C).fit(scaler.transform(x_all[~test]), y_all[~test])
        pred = model.predict(scaler.transform(x_all[test]))
        out.update(zip(index.loc[test, "item_id"], pred, strict=True))
    return pd.Series(out)


def ours(feats: pd.DataFrame, index: pd.DataFrame, C: float) -> pd.Series:
    sheet = loso(index)
    labels = index.set_index("item_id")["emotion"]
    classes = sorted(labels.unique())
    table, _ = svm_over_folds(feats, sheet, labels, C=C, classes=classes)
    return table.set_index("item_id")["y_pred"]


def best_of(fn, repeats: int, *args) -> tuple[float, pd.Series]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=720)
    ap.add_argument("--speakers", type=int, default=8)
    ap.add_argument("--features", type=int, default=6373)
    ap.add_argument("--classes", type=int, default=6)
    ap.add_argument("--C", type=float, default=0.01)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    feats, index = make_data(args.items, args.speakers, args.features, args.classes, args.seed)
    print(
        f"{args.items} items x {args.features} features, {args.speakers} speakers (LOSO),"
        f" {args.classes} classes, C={args.C}; best of {args.repeats}"
    )
    rows = {}
    for name, fn in [("emorepro svm_over_folds", ours), ("plain libsvm loop", plain_libsvm),
                     ("scikit-learn SVC loop", plain_sklearn)]:  # fmt: skip
        rows[name] = best_of(fn, args.repeats, feats, index, args.C)
    ref = rows["emorepro svm_over_folds"][1]
    for name, (secs, pred) in rows.items():
        agree = float((pred.loc[ref.index] == ref).mean())
        print(f"  {name:26s} {secs:8.2f} s  {args.items / secs:8.1f} items/s  agree {agree:.3f}")
    ratio = rows["emorepro svm_over_folds"][0] / rows["plain libsvm loop"][0]
    print(f"emorepro / plain libsvm time: {ratio:.2f} (target <= 1.05)")
    return 0 if ratio <= 1.05 else 1


if __name__ == "__main__":
    sys.exit(main())
