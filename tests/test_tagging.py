import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import confusion_matrix as sk_confusion_matrix  # noqa: E402

from course.data import Vocabulary  # noqa: E402
from course.tagging import (  # noqa: E402
    NUM_SHAPES,
    SHAPE_FLAGS,
    build_suffix_vocab,
    confusion_matrix,
    feature_ids,
    most_confused,
    plot_confusions,
    suffix_of,
    word_shape,
)


# ----------------------------------------------------------------------------- word features
@pytest.mark.parametrize(
    "word, flags",
    [
        ("dog", ()),
        ("Paris", ("capital",)),
        ("NASA", ("capital", "caps")),
        ("U.S.", ("capital", "caps")),
        ("I", ("capital",)),  # one letter is not "all capitals"
        ("3-D", ("digit", "hyphen")),
        ("1990s", ("digit",)),
        ("e-mail", ("hyphen",)),
        (",", ("symbol",)),
        ("--", ("hyphen", "symbol")),
        ("Covid-19", ("capital", "digit", "hyphen")),
    ],
)
def test_word_shape_sets_one_bit_per_flag(word, flags):
    bits = {"capital": 1, "caps": 2, "digit": 4, "hyphen": 8, "symbol": 16}
    assert word_shape(word) == 1 + sum(bits[f] for f in flags)


def test_shape_ids_fit_the_declared_range():
    assert len(SHAPE_FLAGS) == 5 and NUM_SHAPES == 33
    words = ["dog", "Paris", "NASA", "3-D", ",", "A-1", "AB-12", "x", "ÉCOLE", "naïve"]
    assert all(1 <= word_shape(w) < NUM_SHAPES for w in words)


def test_word_features_reject_non_words():
    with pytest.raises(ValueError, match="non-empty"):
        word_shape("")
    with pytest.raises(TypeError, match="str"):
        word_shape(3)
    with pytest.raises(ValueError, match="positive int"):
        suffix_of("dog", 0)


def test_suffix_is_lower_case_and_at_most_length_characters():
    assert suffix_of("Running") == "ing"
    assert suffix_of("It") == "it"
    assert suffix_of("QUICKLY", 2) == "ly"


def test_suffix_vocab_keeps_suffixes_seen_often_enough():
    sentences = [["Running", "fast"], ["jumping", "last", "Dog"], ["dog"]]
    vocab = build_suffix_vocab(sentences, length=3, min_count=2)
    # ing x2, ast x2, dog x2; everything else once
    assert vocab.tokens == ["<pad>", "<unk>", "ast", "dog", "ing"]


def test_feature_ids_are_padded_and_aligned_with_the_words():
    vocab = Vocabulary(["ing", "dog"])  # ids 2, 3
    suffix_ids, shape_ids = feature_ids([["Running", "Dog", "!"], ["dog"]], vocab)
    assert suffix_ids.dtype == np.int32 and shape_ids.dtype == np.int32
    np.testing.assert_array_equal(suffix_ids, [[2, 3, 1], [3, 0, 0]])
    np.testing.assert_array_equal(shape_ids, [[2, 2, 17], [1, 0, 0]])


def test_feature_ids_of_an_empty_batch_and_bad_inputs():
    suffix_ids, shape_ids = feature_ids([], Vocabulary())
    assert suffix_ids.shape == shape_ids.shape == (0, 0)
    with pytest.raises(TypeError, match="list of words"):
        feature_ids(["a sentence as one string"], Vocabulary())
    with pytest.raises(TypeError, match="Vocabulary"):
        feature_ids([["a"]], {"a": 2})


# ----------------------------------------------------------------------------- confusions
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


def test_plot_shows_only_the_tags_involved_in_the_top_mistakes():
    labels = ["A", "B", "C", "D"]
    confusion = np.array([[90, 8, 0, 0], [5, 70, 0, 0], [0, 0, 30, 1], [0, 0, 0, 20]])
    ax = plot_confusions(confusion, labels, k=2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["A", "B"]
    assert sorted(t.get_text() for t in ax.texts) == ["5", "8"]
    image = ax.get_images()[0].get_array()
    assert image[0, 1] == pytest.approx(8 / 98) and image[1, 0] == pytest.approx(5 / 75)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="no mistake"):
        plot_confusions(np.eye(3, dtype=int), ["a", "b", "c"])
