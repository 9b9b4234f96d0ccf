import time

import numpy as np
import pytest

from course.data import (
    DataUnavailableError,
    Vocabulary,
    char_tokenize,
    lm_windows,
    load_text,
    resolve_data_dir,
    split_text,
    word_tokenize,
)
from course.data import paths


def test_timemachine_matches_readme_counts(shared_data):
    text = load_text("timemachine", data_dir=shared_data)
    assert len(text) == 178_979
    assert len(text.split()) == 32_306
    assert len(set(text)) == 70
    assert len(word_tokenize(text)) == 32_775


def test_tinyshakespeare_matches_readme_counts(shared_data):
    text = load_text("tinyshakespeare", data_dir=shared_data)
    assert len(text) == 1_115_394
    assert len(set(text)) == 65


def test_flat_layout_is_accepted(shared_data, tmp_path):
    (tmp_path / "timemachine.txt").write_text("hello time", encoding="utf-8")
    assert load_text("timemachine", data_dir=tmp_path) == "hello time"


def test_env_var_is_honoured(shared_data, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_data))
    assert resolve_data_dir(None) == shared_data
    assert len(load_text("timemachine")) == 178_979


def test_argument_wins_over_env_var(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert resolve_data_dir(shared_data) == shared_data
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert resolve_data_dir(None) is None


def test_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="tinyshakespeare"):
        load_text("war_and_peace", data_dir=tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        load_text("timemachine", data_dir=tmp_path)
    assert str(tmp_path / "text" / "timemachine.txt") in str(info.value)
    assert str(tmp_path / "timemachine.txt") in str(info.value)


def test_offline_raises_fast_with_a_clear_message(offline):
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as info:
        load_text("timemachine")
    assert time.monotonic() - start < 5
    assert "COURSE_DATA_DIR" in str(info.value) and "data_dir=" in str(info.value)


def test_network_check_is_quick_and_boolean():
    paths.clear_network_cache()
    start = time.monotonic()
    result = paths.network_available("host.invalid", timeout=1.0)
    assert result is False
    assert time.monotonic() - start < 5


def test_split_text_is_contiguous():
    text = "abcdefghij" * 10
    train, valid, test = split_text(text)
    assert (len(train), len(valid), len(test)) == (80, 10, 10)
    assert train + valid + test == text
    a, b, c = split_text(np.arange(10), (0.5, 0.5, 0.0))
    assert a.tolist() == [0, 1, 2, 3, 4] and len(c) == 0
    with pytest.raises(ValueError, match="sum to 1"):
        split_text(text, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="three"):
        split_text(text, (0.5, 0.5))


def test_lm_windows_targets_are_inputs_shifted_by_one():
    ids = np.arange(23)
    batches = list(lm_windows(ids, seq_len=5, batch_size=3, shuffle=False))
    x = np.concatenate([b[0].numpy() for b in batches])
    y = np.concatenate([b[1].numpy() for b in batches])
    assert x.shape == y.shape == (4, 5)  # (23 - 1) // 5 windows
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(x[:, 0], [0, 5, 10, 15])
    assert batches[0][0].shape == (3, 5) and batches[-1][0].shape == (1, 5)


def test_lm_windows_shuffle_is_seeded_and_keeps_pairs():
    ids = np.arange(101)
    first = np.concatenate([x.numpy() for x, _ in lm_windows(ids, 10, 4, shuffle=True, seed=1)])
    again = np.concatenate([x.numpy() for x, _ in lm_windows(ids, 10, 4, shuffle=True, seed=1)])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[:, 0], np.arange(0, 100, 10))
    assert sorted(first[:, 0].tolist()) == list(range(0, 100, 10))


def test_lm_windows_on_real_text(shared_data):
    text = load_text("timemachine", data_dir=shared_data)
    vocab = Vocabulary.build(char_tokenize(text))
    assert len(vocab) == 72  # 70 characters + <pad> + <unk>
    ids = vocab.encode(char_tokenize(text))
    x, y = next(iter(lm_windows(ids, 35, 8, shuffle=False)))
    assert "".join(vocab.decode(x[0])) == text[:35]
    assert "".join(vocab.decode(y[0])) == text[1:36]


def test_lm_windows_rejects_bad_arguments():
    with pytest.raises(ValueError, match="seq_len"):
        lm_windows([1, 2, 3], seq_len=0, batch_size=2)
    with pytest.raises(ValueError, match="at least"):
        lm_windows([1, 2, 3], seq_len=3, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        lm_windows([1, 2, 3], seq_len=1, batch_size=0)
    with pytest.raises(TypeError):
        lm_windows("abc", seq_len=1, batch_size=1)


def test_data_source_says_local_copy_or_download(tmp_path, monkeypatch):
    from course.data import DATA_DIR_ENV, data_source

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert data_source().startswith("downloaded on first use")
    assert data_source(tmp_path) == f"a local copy in {tmp_path}"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert data_source() == f"a local copy in {tmp_path}"
