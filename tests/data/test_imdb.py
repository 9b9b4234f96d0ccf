import time

import numpy as np
import pytest

from course.data import DataUnavailableError, imdb_dataset, load_imdb


def test_train_split_matches_readme(shared_data):
    texts, labels = load_imdb("train", data_dir=shared_data)
    assert len(texts) == len(labels) == 5_000
    assert labels.dtype.kind == "i"
    assert np.bincount(labels).tolist() == [2_500, 2_500]
    np.testing.assert_array_equal(labels, np.arange(5_000) % 2)
    assert all(isinstance(t, str) and t for t in texts)
    assert "<br />" in "".join(texts[:200])  # verbatim, tags kept


def test_test_split_and_limit(shared_data):
    texts, labels = load_imdb("test", data_dir=shared_data, limit=10)
    assert len(texts) == 10 and labels.tolist() == [0, 1] * 5
    full, _ = load_imdb("test", data_dir=shared_data)
    assert len(full) == 5_000 and full[:10] == texts


def test_env_var_is_honoured(shared_data, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_data))
    texts, _ = load_imdb("train", limit=3)
    assert len(texts) == 3


def test_bad_split_names_the_valid_ones(shared_data):
    with pytest.raises(ValueError) as info:
        load_imdb("validation", data_dir=shared_data)
    assert "'train'" in str(info.value) and "'test'" in str(info.value)


def test_bad_limit(shared_data):
    with pytest.raises(TypeError, match="limit"):
        load_imdb("train", data_dir=shared_data, limit="10")
    with pytest.raises(ValueError, match="limit"):
        load_imdb("train", data_dir=shared_data, limit=-1)


def test_missing_file_lists_paths_tried(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_imdb("train", data_dir=tmp_path)
    assert str(tmp_path / "imdb" / "train.jsonl.gz") in str(info.value)


def test_offline_raises_fast_with_a_clear_message(offline):
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as info:
        load_imdb("train")
    assert time.monotonic() - start < 5
    assert "COURSE_DATA_DIR" in str(info.value) and "data_dir=" in str(info.value)


def test_imdb_dataset_batches_texts_and_labels(shared_data):
    texts, labels = load_imdb("train", data_dir=shared_data, limit=10)
    batches = list(imdb_dataset(texts, labels, batch_size=4, shuffle=False))
    assert [int(b[1].shape[0]) for b in batches] == [4, 4, 2]
    assert batches[0][0][1].numpy().decode("utf-8") == texts[1]
    assert batches[0][1].numpy().tolist() == [0, 1, 0, 1]
    shuffled = list(imdb_dataset(texts, labels, batch_size=10, shuffle=True, seed=3))[0]
    assert sorted(t.decode("utf-8") for t in shuffled[0].numpy()) == sorted(texts)
    with pytest.raises(ValueError, match="same length"):
        imdb_dataset(texts, labels[:5])
