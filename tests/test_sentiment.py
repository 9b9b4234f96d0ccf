"""course.sentiment and course.binary_eval against independent references: scikit-learn, Keras' own GRU, hand counts."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from course import sentiment
from course.binary_eval import binary_scores, confusion_matrix, most_confident_errors, plot_confusion_matrix
from course.sentiment import (
    BagOfWords,
    classifier_weights,
    gru_cell_from_weights,
    length_bucketed_dataset,
    load_reviews,
    tokenize,
)

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


def test_confusion_matrix_and_scores_match_scikit_learn():
    from sklearn import metrics

    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), metrics.confusion_matrix(y_true, y_pred))
    scores = binary_scores(y_true, y_pred)
    assert scores["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert scores["precision"] == pytest.approx(metrics.precision_score(y_true, y_pred))
    assert scores["recall"] == pytest.approx(metrics.recall_score(y_true, y_pred))
    assert scores["f1"] == pytest.approx(metrics.f1_score(y_true, y_pred))
    assert binary_scores([0, 0], [0, 0]) == {"accuracy": 1.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    with pytest.raises(ValueError, match="0/1 labels"):
        confusion_matrix([0, 2], [0, 1])


def test_confusion_plot_shows_counts_and_row_shares():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = plot_confusion_matrix(np.array([[30, 10], [5, 55]]), title="t")
    assert [t.get_text() for t in ax.texts] == ["30\n75.0%", "10\n25.0%", "5\n8.3%", "55\n91.7%"]
    np.testing.assert_allclose(ax.get_images()[0].get_array(), [[0.75, 0.25], [5 / 60, 55 / 60]])
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.ones((2, 3)))


def test_most_confident_errors_by_hand():
    y_true = np.array([1, 0, 1, 0, 1])
    probs = np.array([0.9, 0.95, 0.2, 0.4, 0.45])  # wrong: 1 (by 0.45), 2 (0.3), 4 (0.05)
    assert most_confident_errors(y_true, probs, k=5).tolist() == [1, 2, 4]
    assert most_confident_errors(y_true, probs, k=2).tolist() == [1, 2]
    assert most_confident_errors([1, 0], [0.9, 0.1]).tolist() == []


def test_length_buckets_trim_padding_and_keep_every_review_once():
    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 30, size=50)
    ids = np.zeros((50, 30), np.int32)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(2, 9, size=n)
    labels = np.arange(50)  # the label tells which review a row is
    seen = []
    for x, y in length_bucketed_dataset(ids, labels, batch_size=8, bucket_batches=3, seed=0):
        x, y = x.numpy(), y.numpy()
        assert x.shape[1] == lengths[y].max()  # trimmed to the batch's longest review
        np.testing.assert_array_equal(x, ids[y, : x.shape[1]])
        seen += y.tolist()
    assert sorted(seen) == list(range(50))
    in_order = np.concatenate([y.numpy() for _, y in length_bucketed_dataset(ids, labels, 8, shuffle=False)])
    assert sorted(in_order.tolist()) == list(range(50))
    with pytest.raises(ValueError, match="shape \\(50,\\)"):
        length_bucketed_dataset(ids, labels[:3], 8)


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


def write_split(directory, split, n):
    rows = [{"id": f"{split}/{i}", "rating": 1, "label": i % 2, "text": f"review {i}"} for i in range(n)]
    path = directory / "imdb" / f"{split}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))


def test_load_reviews_reads_a_local_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    write_split(tmp_path, "test", 6)
    texts, labels = load_reviews("test", data_dir=tmp_path, limit=4)
    assert texts == ["review 0", "review 1", "review 2", "review 3"] and labels.tolist() == [0, 1, 0, 1]


def test_load_reviews_samples_a_balanced_subset_of_a_download(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    labels = np.array([0] * 30 + [1] * 10)
    fake = ([f"r{i}" for i in range(40)], labels)
    monkeypatch.setattr(sentiment, "SUBSET_PER_SPLIT", 12)
    monkeypatch.setattr(sentiment, "load_imdb", lambda split, data_dir=None, limit=None: fake)
    texts, picked = load_reviews("train", seed=3)
    assert len(texts) == 12 and picked.tolist().count(1) == 6
    assert texts == sorted(texts, key=lambda t: int(t[1:]))  # original order kept
    assert load_reviews("train", seed=3)[0] == texts  # the seed fixes the sample


def test_full_imdb_ignores_the_local_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    seen = {}

    def fake_load(split, data_dir=None, limit=None):
        import os

        seen["env"] = os.environ.get("COURSE_DATA_DIR")
        return ["x"], np.array([1])

    monkeypatch.setattr(sentiment, "load_imdb", fake_load)
    load_reviews("train", full=True)
    assert seen["env"] is None
    assert __import__("os").environ["COURSE_DATA_DIR"] == str(tmp_path)  # restored afterwards
