"""course.lessons.sentiment against independent references: scikit-learn, Keras' own GRU, hand counts."""

from __future__ import annotations

import numpy as np
import pytest

from course.lessons.sentiment import BagOfWords, classifier_weights, gru_cell_from_weights, tokenize

DOCS = [
    "A great, great film.<br /><br />I don't regret it: 9/10!",
    "Dull. The plot's holes are BIG; the acting isn't.",
    "great acting",
    "",
]


def ids_and_vocab(docs):
    """Padded id matrix over a vocabulary holding every token (ids from 2), as a reference would see it."""
    tokens = [tokenize(d) for d in docs]
    vocab = sorted({t for doc in tokens for t in doc})
    index = {t: i + 2 for i, t in enumerate(vocab)}
    width = max(len(doc) for doc in tokens)
    ids = np.zeros((len(docs), width), np.int64)
    for row, doc in enumerate(tokens):
        ids[row, : len(doc)] = [index[t] for t in doc]
    return ids, vocab


def test_tokenize_lowercases_drops_markup_and_keeps_contractions():
    assert tokenize(DOCS[0]) == ["a", "great", "great", "film", "i", "don't", "regret", "it", "9", "10"]
    assert tokenize(DOCS[1]) == ["dull", "the", "plot's", "holes", "are", "big", "the", "acting", "isn't"]
    assert tokenize("") == [] and tokenize("'quoted'") == ["quoted"]
    with pytest.raises(TypeError, match="must be a str"):
        tokenize(["not", "a", "string"])


@pytest.mark.parametrize("mode,options", [
    ("binary", {"binary": True}),
    ("count", {}),
    ("tfidf", {"sublinear_tf": True}),
])
def test_bag_of_words_matches_scikit_learn(mode, options):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    ids, vocab = ids_and_vocab(DOCS)
    reference_class = TfidfVectorizer if mode == "tfidf" else CountVectorizer
    reference = reference_class(analyzer=tokenize, vocabulary=vocab, **options)
    expected = reference.fit_transform(DOCS).toarray()  # (N, V - 2)
    ours = BagOfWords(len(vocab) + 2, mode).fit_transform(ids)
    assert ours.dtype == np.float32 and ours.shape == (len(DOCS), len(vocab) + 2)
    np.testing.assert_array_equal(ours[:, :2], 0.0)  # padding never counts; no OOV here
    np.testing.assert_allclose(ours[:, 2:], expected, rtol=1e-6, atol=1e-7)


def test_tfidf_uses_the_training_idf_on_new_documents():
    from sklearn.feature_extraction.text import TfidfVectorizer

    ids, vocab = ids_and_vocab(DOCS)
    reference = TfidfVectorizer(analyzer=tokenize, vocabulary=vocab, sublinear_tf=True).fit(DOCS[:3])
    bow = BagOfWords(len(vocab) + 2).fit(ids[:3])
    np.testing.assert_allclose(bow.transform(ids[1:])[:, 2:], reference.transform(DOCS[1:]).toarray(), rtol=1e-6)
    np.testing.assert_array_equal(bow.transform(ids[3:]), 0.0)  # an empty review is the zero vector


def test_bag_of_words_counts_oov_and_checks_its_inputs():
    assert BagOfWords(4, "count").transform(np.array([[1, 1, 3, 0]])).tolist() == [[0.0, 2.0, 0.0, 1.0]]
    with pytest.raises(ValueError, match="before `transform`"):
        BagOfWords(4).transform(np.array([[2]]))
    with pytest.raises(ValueError, match=r"lie in \[0, 4\)"):
        BagOfWords(4, "binary").transform(np.array([[4]]))
    with pytest.raises(ValueError, match="2-D integer"):
        BagOfWords(4, "binary").transform(np.array([1, 2]))
    with pytest.raises(ValueError, match="`mode` must be one of"):
        BagOfWords(4, "tf-idf")


def test_gru_cell_from_weights_steps_like_keras_gru():
    import keras

    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 1, 4)).astype(np.float32)  # (B, 1, D): one step
    layer = keras.layers.GRU(5)
    layer(x)
    layer.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in layer.get_weights()])
    cell = gru_cell_from_weights(*layer.get_weights())
    h, _ = cell(x[:, 0], [np.zeros((3, 5), np.float32)])
    np.testing.assert_allclose(np.asarray(h), np.asarray(layer(x)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expected recurrent_kernel"):
        gru_cell_from_weights(np.zeros((4, 15)), np.zeros((5, 12)), np.zeros((2, 15)))


def test_classifier_weights_of_uni_and_bidirectional_models():
    import keras
    from keras import layers

    for bidirectional in (False, True):
        gru = layers.GRU(3)
        model = keras.Sequential([keras.Input((None,), dtype="int32"), layers.Embedding(10, 4, mask_zero=True),
                                  layers.Bidirectional(gru) if bidirectional else gru, layers.Dropout(0.5),
                                  layers.Dense(1)])
        weights = classifier_weights(model)
        assert weights["embedding"].shape == (10, 4)
        assert [w.shape for w in weights["forward"]] == [(4, 9), (3, 9), (2, 9)]
        assert (weights["backward"] is not None) == bidirectional
        assert weights["dense_kernel"].shape == ((6 if bidirectional else 3), 1)
    with pytest.raises(ValueError, match="found no"):
        classifier_weights(keras.Sequential([keras.Input((3,)), layers.Dense(1)]))
