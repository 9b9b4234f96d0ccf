import numpy as np
import pytest

from course.data import PAD, UNK, Vocabulary, char_tokenize, word_tokenize


def test_word_tokenize_replaces_non_letters_and_lowercases():
    assert word_tokenize("The Time-Machine, 1895! It's\nhere.") == ["the", "time", "machine", "it", "s", "here"]
    assert word_tokenize("  123 ... ") == []


def test_char_tokenize_keeps_every_character():
    assert char_tokenize("a b\n") == ["a", " ", "b", "\n"]
    with pytest.raises(TypeError):
        char_tokenize(["a"])


def test_reserved_ids_and_frequency_order():
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "b", "a"]])
    assert vocab.tokens == [PAD, UNK, "b", "a", "c"]
    assert (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert vocab.encode(["a", "zzz", "b"]) == [3, 1, 2]
    assert len(vocab) == 5


def test_ties_are_broken_alphabetically_independent_of_order():
    assert Vocabulary.build(list("zyx")).tokens == Vocabulary.build(list("xyz")).tokens == [PAD, UNK, "x", "y", "z"]


def test_min_count_and_max_size():
    tokens = list("aaaabbbccd")
    assert Vocabulary.build(tokens, min_count=2).tokens[2:] == ["a", "b", "c"]
    small = Vocabulary.build(tokens, max_size=4)
    assert len(small) == 4 and small.tokens[2:] == ["a", "b"]
    assert small.encode(["c", "d"]) == [1, 1]
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(tokens, min_count=0)
    with pytest.raises(ValueError, match="max_size"):
        Vocabulary.build(tokens, max_size=1)


def test_encode_decode_round_trip_and_skip_pad():
    vocab = Vocabulary.build(word_tokenize("the cat sat on the mat"))
    words = ["the", "mat", "sat"]
    ids = vocab.encode(words)
    assert vocab.decode(ids) == words
    assert vocab.decode(np.array([ids[0], 0, 0])) == ["the", PAD, PAD]
    assert vocab.decode([ids[0], 0], skip_pad=True) == ["the"]
    with pytest.raises(ValueError, match="Ids must be ints"):
        vocab.decode([len(vocab)])


def test_encode_rejects_a_plain_string():
    vocab = Vocabulary.build(list("abc"))
    with pytest.raises(TypeError, match="Tokenize"):
        vocab.encode("abc")


def test_json_round_trip():
    vocab = Vocabulary.build(list("hello world"))
    again = Vocabulary.from_json(vocab.to_json())
    assert again == vocab
    assert again.tokens == vocab.tokens
    assert again.counts["l"] == 3
    assert again.encode(list("low")) == vocab.encode(list("low"))


def test_duplicate_or_reserved_tokens_are_rejected():
    with pytest.raises(ValueError, match="Duplicate or reserved"):
        Vocabulary(["a", "a"])
    with pytest.raises(ValueError, match="Duplicate or reserved"):
        Vocabulary([PAD])
