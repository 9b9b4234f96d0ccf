"""course.data: the reviews lesson A4 loads and their length-bucketed batches."""

import gzip
import json

import numpy as np
import pytest

from course.data import imdb, length_bucketed_dataset, load_reviews


def write_split(directory, split, n):
    rows = [{"id": f"{split}/{i}", "rating": 1, "label": i % 2, "text": f"review {i}"} for i in range(n)]
    path = directory / "imdb" / f"{split}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))


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


def test_load_reviews_reads_a_local_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    write_split(tmp_path, "test", 6)
    texts, labels = load_reviews("test", data_dir=tmp_path, limit=4)
    assert texts == ["review 0", "review 1", "review 2", "review 3"] and labels.tolist() == [0, 1, 0, 1]


def test_load_reviews_samples_a_balanced_subset_of_a_download(monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    labels = np.array([0] * 30 + [1] * 10)
    fake = ([f"r{i}" for i in range(40)], labels)
    monkeypatch.setattr(imdb, "SUBSET_PER_SPLIT", 12)
    monkeypatch.setattr(imdb, "load_imdb", lambda split, data_dir=None, limit=None: fake)
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

    monkeypatch.setattr(imdb, "load_imdb", fake_load)
    load_reviews("train", full=True)
    assert seen["env"] is None
    assert __import__("os").environ["COURSE_DATA_DIR"] == str(tmp_path)  # restored afterwards
