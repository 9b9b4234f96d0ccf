"""course.lessons.tagging: the spelling features of a word, against hand-made cases."""

import numpy as np
import pytest

from course.data import Vocabulary
from course.lessons.tagging import (
    NUM_SHAPES,
    SHAPE_FLAGS,
    build_suffix_vocab,
    feature_ids,
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
