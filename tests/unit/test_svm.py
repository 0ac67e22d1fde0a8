"""libsvm wrappers vs scikit-learn (same solver family), C selection, standardisation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.svm import SVC
from sklearn.svm import SVR as SkSVR

from emorepro.families.baselines.svm import Standardizer, select_c, train_linear_svc, train_svr
from emorepro.metrics import ccc, uar


def _regression(seed: int = 0, n: int = 120, d: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 5, size=d) + rng.normal(size=d)
    y = X @ rng.normal(size=d) / 5 + rng.normal(scale=0.3, size=n)
    return X, y


def _classes(seed: int = 0, n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.array(["neu", "ang", "sad"])
    y = labels[rng.integers(0, 3, size=n)]
    centres = {"neu": [0, 0, 0, 0], "ang": [2, 1, 0, 0], "sad": [0, -1, 2, 0]}
    X = np.array([centres[v] for v in y], dtype=float) + rng.normal(scale=1.2, size=(n, 4))
    return X, y


def test_standardizer_uses_train_stats_only() -> None:
    X_train = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    s = Standardizer().fit(X_train)
    np.testing.assert_allclose(s.mean_, [2.0, 1.0])
    np.testing.assert_allclose(s.scale_, [np.std([0, 2, 4]), 1.0])  # zero variance -> 1
    X_test = np.array([[100.0, 5.0]])
    np.testing.assert_allclose(s.transform(X_test), [[(100 - 2) / np.std([0, 2, 4]), 4.0]])
    with pytest.raises(RuntimeError):
        Standardizer().transform(X_test)


def test_models_keep_train_standardizer() -> None:
    X, y = _regression()
    m = train_svr(X[:80], y[:80])
    np.testing.assert_allclose(m.standardizer.mean_, X[:80].mean(axis=0))


@pytest.mark.parametrize(("C", "epsilon"), [(0.1, 0.1), (1.0, 0.05)])
def test_svr_matches_sklearn(C: float, epsilon: float) -> None:
    X, y = _regression()
    Xtr, Xte, ytr = X[:80], X[80:], y[:80]
    ours = train_svr(Xtr, ytr, C=C, epsilon=epsilon).predict(Xte)
    s = Standardizer().fit(Xtr)
    ref = SkSVR(kernel="linear", C=C, epsilon=epsilon).fit(s.transform(Xtr), ytr)
    np.testing.assert_allclose(ours, ref.predict(s.transform(Xte)), atol=1e-6)


def test_linear_svc_matches_sklearn_and_ignores_label_order() -> None:
    X, y = _classes()
    Xtr, Xte, ytr = X[:100], X[100:], y[:100]
    m = train_linear_svc(Xtr, ytr, C=1.0)
    assert m.decision_classes == ("ang", "neu", "sad")
    pred = m.predict(Xte)
    s = Standardizer().fit(Xtr)
    ref = SVC(kernel="linear", C=1.0).fit(s.transform(Xtr), ytr).predict(s.transform(Xte))
    np.testing.assert_array_equal(pred, ref)
    perm = np.random.default_rng(1).permutation(len(ytr))
    m2 = train_linear_svc(Xtr[perm], ytr[perm], C=1.0)
    np.testing.assert_array_equal(m2.predict(Xte), pred)
    # same solution up to libsvm's stopping tolerance (-e 0.001): row order changes the SMO path
    np.testing.assert_allclose(m2.decision_function(Xte), m.decision_function(Xte), atol=0.05)
    assert set(pred) <= {"ang", "neu", "sad"}


def test_select_c_picks_best_and_smaller_on_ties() -> None:
    X, y = _regression(n=200)
    best, scores = select_c(
        train_svr, X[:100], y[:100], X[100:], y[100:], grid=(1e-4, 1.0), score_fn=ccc
    )
    assert set(scores) == {1e-4, 1.0}
    assert best == 1.0 and scores[1.0] > scores[1e-4]  # C=1e-4 underfits badly

    class Const:
        def predict(self, X: np.ndarray) -> np.ndarray:
            return np.zeros(len(X))

    best, _ = select_c(
        lambda X, y, C: Const(), X, y, X, y, grid=(10, 0.1, 1), score_fn=lambda t, p: 0.5
    )
    assert best == 0.1


def test_select_c_with_classifier_and_uar() -> None:
    X, y = _classes(n=300)
    best, scores = select_c(
        train_linear_svc,
        X[:150],
        y[:150],
        X[150:],
        y[150:],
        grid=(1e-4, 1e-2, 1.0),
        score_fn=lambda t, p: uar(t, p, labels=["ang", "neu", "sad"]),
    )
    assert scores[best] == max(scores.values())
    assert scores[best] > scores[1e-4]


def test_wide_linear_svr_uses_the_gram_matrix_and_matches_libsvm_linear() -> None:
    """The precomputed-kernel path (-t 4) solves the same problem as -t 0."""
    from libsvm.svmutil import svm_parameter, svm_predict, svm_problem, svm_train

    from emorepro.families.baselines import svm as S

    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, S.GRAM_MIN_FEATURES + 44))
    y = X[:, :5].sum(axis=1) + 0.1 * rng.normal(size=80)
    model = S.train_svr(X[:60], y[:60], C=0.01, epsilon=0.1)
    assert model.gram_rows is not None
    std = S.Standardizer().fit(X[:60])
    ref = svm_train(
        svm_problem(y[:60], std.transform(X[:60])), svm_parameter("-s 3 -t 0 -c 0.01 -p 0.1 -q")
    )
    expected, _, _ = svm_predict(np.zeros(20), std.transform(X[60:]), ref, "-q")
    np.testing.assert_allclose(model.predict(X[60:]), expected, atol=1e-6)


def test_speaker_zscore_against_a_loop() -> None:
    import pandas as pd

    from emorepro.families.baselines.runs import speaker_zscore

    rng = np.random.default_rng(4)
    items = [f"i{k}" for k in range(30)]
    subjects = pd.Series(rng.choice(["a", "b", "c"], 30), index=items)
    feats = pd.DataFrame(rng.normal(3.0, 2.0, (30, 4)), index=items, columns=list("wxyz"))
    feats.loc[subjects == "c", "z"] = 5.0  # constant within speaker c
    got = speaker_zscore(feats, subjects)
    for spk in "abc":
        x = feats[subjects == spk].to_numpy()
        sd = x.std(axis=0)
        want = np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0), 0.0)
        np.testing.assert_allclose(got[subjects == spk].to_numpy(), want, atol=1e-12)
    assert list(got.index) == items
