"""course.classification against scikit-learn and hand counts."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from course.classification import (
    binary_confusion_matrix,
    binary_scores,
    confusion_matrix,
    most_confident_errors,
    most_confused,
)


def test_confusion_matrix_and_scores_match_scikit_learn():
    from sklearn import metrics

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    np.testing.assert_array_equal(binary_confusion_matrix(y_true, y_pred), metrics.confusion_matrix(y_true, y_pred))
    scores = binary_scores(y_true, y_pred)
    assert scores["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert scores["precision"] == pytest.approx(metrics.precision_score(y_true, y_pred))
    assert scores["recall"] == pytest.approx(metrics.recall_score(y_true, y_pred))
    assert scores["f1"] == pytest.approx(metrics.f1_score(y_true, y_pred))
    assert binary_scores([0, 0], [0, 0]) == {"accuracy": 1.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    with pytest.raises(ValueError, match="0/1 labels"):
        binary_confusion_matrix([0, 2], [0, 1])


def test_most_confident_errors_by_hand():
    y_true = np.array([1, 0, 1, 0, 1])
    probs = np.array([0.9, 0.95, 0.2, 0.4, 0.45])  # wrong: 1 (by 0.45), 2 (0.3), 4 (0.05)
    assert most_confident_errors(y_true, probs, k=5).tolist() == [1, 2, 4]
    assert most_confident_errors(y_true, probs, k=2).tolist() == [1, 2]
    assert most_confident_errors([1, 0], [0.9, 0.1]).tolist() == []


def test_confusion_matrix_matches_sklearn_and_respects_the_mask():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 6, size=(8, 11)), rng.integers(0, 6, size=(8, 11))
    mask = rng.random((8, 11)) < 0.7
    ours = confusion_matrix(y_true, y_pred, 6, mask=mask)
    expected = sk_confusion_matrix(y_true[mask], y_pred[mask], labels=range(6))
    np.testing.assert_array_equal(ours, expected)
    assert ours.sum() == mask.sum()
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, 6), sk_confusion_matrix(y_true.ravel(), y_pred.ravel(), labels=range(6))
    )


def test_confusion_matrix_checks_its_inputs():
    with pytest.raises(ValueError, match="shape"):
        confusion_matrix([1, 2], [1], 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        confusion_matrix([1, 3], [1, 1], 3)
    with pytest.raises(TypeError, match="integer"):
        confusion_matrix([1.0], [1.0], 3)
    with pytest.raises(ValueError, match="mask"):
        confusion_matrix([1, 2], [1, 2], 3, mask=[1])


def test_most_confused_lists_off_diagonal_counts_largest_first():
    confusion = np.array([[50, 3, 0], [7, 40, 1], [3, 0, 9]])
    assert most_confused(confusion, ["A", "B", "C"], k=3) == [("B", "A", 7), ("A", "B", 3), ("C", "A", 3)]
    assert most_confused(confusion, ["A", "B", "C"], k=10)[-1] == ("B", "C", 1)  # zeros are left out
    with pytest.raises(ValueError, match="labels"):
        most_confused(confusion, ["A", "B"])
