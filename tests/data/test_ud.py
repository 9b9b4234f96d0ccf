import gzip
import time

import numpy as np
import pytest

from course.data import (
    UPOS_TAGS,
    DataUnavailableError,
    Vocabulary,
    build_tagging_vocabs,
    load_ud_english_ewt,
    parse_conllu,
    read_conllu,
    tagging_dataset,
)

TINY = """# sent_id = s1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_
4.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t0:root\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

# sent_id = s2
1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_tiny_conllu_skips_multiword_tokens_and_empty_nodes():
    sentences = parse_conllu(TINY)
    assert len(sentences) == 2
    first = sentences[0]
    assert first.metadata == {"sent_id": "s1", "text": "I don't know."}
    assert first.words == ["I", "do", "n't", "know", "."]
    assert first.upos == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert [t.id for t in first.tokens] == [1, 2, 3, 4, 5]
    assert sentences[1].words == ["Hi"] and sentences[1].upos == ["INTJ"]  # no trailing blank line


def test_read_conllu_gz(tmp_path):
    path = tmp_path / "tiny.conllu.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(TINY)
    assert [s.words for s in read_conllu(path)] == [s.words for s in parse_conllu(TINY)]


def test_malformed_line_is_reported():
    with pytest.raises(ValueError, match="10 tab-separated columns"):
        parse_conllu("1\tI\tI\tPRON\n")


@pytest.mark.parametrize(
    ("split", "sentences", "words"),
    [("train", 12_544, 204_577), ("dev", 2_001, 25_147), ("test", 2_077, 25_094)],
)
def test_split_counts_match_readme(shared_data, split, sentences, words):
    data = load_ud_english_ewt(split, data_dir=shared_data)
    assert len(data) == sentences
    assert sum(len(w) for w, _ in data) == words
    assert all(len(w) == len(t) for w, t in data)
    assert {tag for _, tags in data for tag in tags} == set(UPOS_TAGS)


def test_upos_tags_constant():
    assert len(UPOS_TAGS) == 17 == len(set(UPOS_TAGS))
    assert "PROPN" in UPOS_TAGS and "_" not in UPOS_TAGS


def test_validation_alias_and_lowercase(shared_data):
    dev = load_ud_english_ewt("validation", data_dir=shared_data, lowercase=True)
    assert len(dev) == 2_001
    assert all(w == w.lower() for words, _ in dev[:200] for w in words)


def test_bad_split_names_the_valid_ones(shared_data):
    with pytest.raises(ValueError) as info:
        load_ud_english_ewt("training", data_dir=shared_data)
    for name in ("'train'", "'dev'", "'test'"):
        assert name in str(info.value)


def test_env_var_is_honoured(shared_data, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(shared_data))
    assert len(load_ud_english_ewt("test")) == 2_077


def test_offline_raises_fast_with_a_clear_message(offline):
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as info:
        load_ud_english_ewt("train")
    assert time.monotonic() - start < 5
    assert "COURSE_DATA_DIR" in str(info.value) and "data_dir=" in str(info.value)


def test_padded_batches_keep_words_and_tags_aligned(shared_data):
    data = load_ud_english_ewt("dev", data_dir=shared_data)[:50]
    word_vocab, tag_vocab = build_tagging_vocabs(data)
    assert tag_vocab.tokens[2:] == list(UPOS_TAGS)
    seen = 0
    for words, tags in tagging_dataset(data, word_vocab, tag_vocab, batch_size=8):
        words, tags = words.numpy(), tags.numpy()
        assert words.shape == tags.shape and words.dtype == np.int32
        batch = data[seen : seen + len(words)]
        lengths = [len(w) for w, _ in batch]
        assert words.shape[1] == max(lengths)  # padded to the batch's longest sentence
        for row, (sent_words, sent_tags) in enumerate(batch):
            n = len(sent_words)
            assert word_vocab.decode(words[row, :n]) == sent_words
            assert tag_vocab.decode(tags[row, :n]) == sent_tags
            assert (words[row, n:] == 0).all() and (tags[row, n:] == 0).all()
            assert (words[row, :n] != 0).all() and (tags[row, :n] != 0).all()
        seen += len(words)
    assert seen == 50


def test_tagging_dataset_unknown_words_and_shuffle():
    data = [(["a", "b"], ["DET", "NOUN"]), (["c"], ["X"]), (["a", "d", "b"], ["DET", "ADJ", "NOUN"])]
    word_vocab = Vocabulary.build([w for w, _ in data[:1]])
    tag_vocab = Vocabulary(UPOS_TAGS)
    words, tags = next(iter(tagging_dataset(data, word_vocab, tag_vocab, batch_size=3)))
    assert words.numpy().tolist() == [[2, 3, 0], [1, 0, 0], [2, 1, 3]]
    assert tag_vocab.decode(tags.numpy()[2]) == ["DET", "ADJ", "NOUN"]
    a = [w.numpy().tolist() for w, _ in tagging_dataset(data, word_vocab, tag_vocab, 1, shuffle=True, seed=0)]
    b = [w.numpy().tolist() for w, _ in tagging_dataset(data, word_vocab, tag_vocab, 1, shuffle=True, seed=0)]
    assert a == b and sorted(map(str, a)) == sorted(str([x]) for x in [[2, 3], [1], [2, 1, 3]])


def test_tagging_dataset_rejects_misaligned_sentences():
    vocab = Vocabulary(["a"])
    with pytest.raises(ValueError, match="aligned"):
        tagging_dataset([(["a", "a"], ["X"])], vocab, Vocabulary(UPOS_TAGS))
    with pytest.raises(TypeError, match="Vocabulary"):
        tagging_dataset([(["a"], ["X"])], {"a": 2}, Vocabulary(UPOS_TAGS))
