"""What is specific to lesson A5 (tagging): the spelling features of a word.

A tagger that only looks words up in a vocabulary knows nothing about a word
it never saw in training. Two cheap, per-word features carry most of what a
spelling says about a part of speech:

- the **suffix**, the last few characters in lower case (`-ing`, `-ly`,
  `-ed`, `-ion`), looked up in a vocabulary of suffixes seen in training;
- the **shape**, a small id built from five yes/no questions about the
  spelling (see `SHAPE_FLAGS`): capitalised? all capitals? any digit? a
  hyphen? no letter or digit at all (punctuation, symbols)?

`feature_ids` turns sentences into padded suffix and shape ids aligned with
the words (`course.data.length_buckets` batches them by length). Which tags
a tagger mixes up: `course.classification` and `course.plots`.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from course.validation import positive_int
from course.data.vocab import Vocabulary


SHAPE_FLAGS: tuple[str, ...] = (
    "starts with a capital",
    "all capitals (two letters or more)",
    "has a digit",
    "has a hyphen",
    "no letter or digit",
)
"""The yes/no questions behind `word_shape`; flag `i` adds `2**i` to the id."""

NUM_SHAPES: int = 1 + 2 ** len(SHAPE_FLAGS)
"""Number of shape ids, padding included: 0 is padding, words get 1..32."""


def _check_word(word: Any) -> str:
    if not isinstance(word, str):
        raise TypeError(f"Expected a word (str); got {type(word).__name__}: {word!r:.40}.")
    if not word:
        raise ValueError("Expected a non-empty word; got ''.")
    return word


def word_shape(word: str) -> int:
    """The shape id of a word: 1 plus one bit per flag of `SHAPE_FLAGS`.

    Args:
        word: The word, with its original capitalisation.

    Returns:
        An int in `[1, NUM_SHAPES)`; 0 is never returned (it is padding).
        For example `word_shape("dog") == 1`, `word_shape("Paris") == 1 + 1`,
        `word_shape("NASA") == 1 + 1 + 2`, `word_shape("3-D") == 1 + 4 + 8`
        and `word_shape(",") == 1 + 16`.

    Raises:
        TypeError: If `word` is not a str.
        ValueError: If `word` is empty.
    """
    word = _check_word(word)
    letters = [ch for ch in word if ch.isalpha()]
    flags = (
        word[0].isupper(),
        len(letters) >= 2 and all(ch.isupper() for ch in letters),
        any(ch.isdigit() for ch in word),
        "-" in word,
        not any(ch.isalnum() for ch in word),
    )
    return 1 + sum(1 << i for i, flag in enumerate(flags) if flag)


def suffix_of(word: str, length: int = 3) -> str:
    """The last `length` characters of `word`, lower-cased (the whole word if shorter).

    Args:
        word: The word.
        length: How many characters to keep (>= 1).

    Returns:
        The suffix, e.g. `suffix_of("Running") == "ing"`, `suffix_of("It") == "it"`.
    """
    word = _check_word(word)
    positive_int(length, "length")
    return word.lower()[-length:]


def _check_sentences(sentences: Any) -> list[Sequence[str]]:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise TypeError(f"`sentences` must be a list of word lists; got {type(sentences).__name__}.")
    for i, words in enumerate(sentences):
        if isinstance(words, str) or not isinstance(words, Sequence):
            raise TypeError(f"sentences[{i}] must be a list of words; got {type(words).__name__}: {words!r:.40}.")
    return list(sentences)


def build_suffix_vocab(sentences: Sequence[Sequence[str]], length: int = 3, min_count: int = 2) -> Vocabulary:
    """A vocabulary of the word suffixes seen in `sentences`.

    Args:
        sentences: Lists of words (training sentences).
        length: Suffix length, as in `suffix_of`.
        min_count: Suffixes seen fewer times map to `<unk>` (id 1).

    Returns:
        A `Vocabulary` with `<pad>` at 0, `<unk>` at 1, frequent suffixes first.
    """
    sentences = _check_sentences(sentences)
    return Vocabulary.build(([suffix_of(w, length) for w in words] for words in sentences), min_count=min_count)


def feature_ids(
    sentences: Sequence[Sequence[str]], suffix_vocab: Vocabulary, length: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Suffix ids and shape ids for a batch of sentences, padded with 0.

    Args:
        sentences: `N` lists of words (original capitalisation).
        suffix_vocab: From `build_suffix_vocab`; unknown suffixes map to 1.
        length: Suffix length the vocabulary was built with.

    Returns:
        `(suffix_ids, shape_ids)`, both int32 of shape `(N, T_max)` where
        `T_max` is the longest sentence; row `i` holds sentence `i`'s words
        in order, then zeros.
    """
    sentences = _check_sentences(sentences)
    if not isinstance(suffix_vocab, Vocabulary):
        raise TypeError(f"`suffix_vocab` must be a course.data.Vocabulary; got {type(suffix_vocab).__name__}.")
    t_max = max((len(words) for words in sentences), default=0)
    suffix_ids = np.zeros((len(sentences), t_max), np.int32)  # (N, T)
    shape_ids = np.zeros((len(sentences), t_max), np.int32)  # (N, T)
    for i, words in enumerate(sentences):
        suffix_ids[i, : len(words)] = suffix_vocab.encode([suffix_of(w, length) for w in words])
        shape_ids[i, : len(words)] = [word_shape(w) for w in words]
    return suffix_ids, shape_ids
