"""Universal Dependencies English Web Treebank (EWT): words and UPOS tags."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from course.data import paths
from course.data.conllu import read_conllu
from course.data.pipelines import padded_batches, sequence_dataset
from course.data.vocab import Vocabulary

if TYPE_CHECKING:  # pragma: no cover
    import tensorflow as tf

UPOS_TAGS: tuple[str, ...] = (
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM",
    "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X",
)  # fmt: skip
"""The 17 universal part-of-speech tags, in alphabetical order."""

UD_SPLITS: tuple[str, ...] = ("train", "dev", "test")
"""Split names `load_ud_english_ewt` accepts (plus `"validation"` for `"dev"`)."""

_ALIASES = {"validation": "dev", "valid": "dev"}
TFDS_HOST = "storage.googleapis.com"

TaggedSentence = tuple[list[str], list[str]]


def _check_split(split: str) -> str:
    if isinstance(split, str):
        split = _ALIASES.get(split, split)
    if split not in UD_SPLITS:
        raise ValueError(f"Unknown UD English EWT split {split!r}; expected one of {list(UD_SPLITS)} "
                         f"(or 'validation' for 'dev').")
    return split


def load_ud_english_ewt(
    split: str = "train", data_dir: str | os.PathLike | None = None, lowercase: bool = False
) -> list[TaggedSentence]:
    """Loads UD English EWT sentences as aligned words and UPOS tags.

    With a data directory (the argument, or `COURSE_DATA_DIR`), reads
    `<dir>/ud_english_ewt/en_ewt-ud-<split>.conllu.gz` (or `.conllu`, or the
    same names directly in `<dir>`). Otherwise loads tensorflow-datasets'
    `universal_dependencies/en_ewt`, failing fast when offline.
    Multiword-token lines and empty nodes are not words and are left out.

    Args:
        split: `"train"`, `"dev"` (alias `"validation"`) or `"test"`.
        data_dir: Local data directory, or `None`.
        lowercase: Whether to lower-case the words.

    Returns:
        A list of `(words, tags)` pairs, one per sentence, with
        `len(words) == len(tags)`; every tag is one of `UPOS_TAGS`.

    Raises:
        ValueError: For an unknown split.
        FileNotFoundError: If the data directory holds no file for the split.
        DataUnavailableError: If the data must be downloaded and cannot be.
    """
    split = _check_split(split)
    name = f"en_ewt-ud-{split}.conllu"
    layout = f"ud_english_ewt/{name}.gz"
    base = paths.resolve_data_dir(data_dir)
    if base is not None:
        candidates = [layout, f"ud_english_ewt/{name}", f"{name}.gz", name]
        path = paths.find_file(base, candidates, f"UD English EWT {split!r}")
        pairs = [(s.words, s.upos) for s in read_conllu(path)]
    else:
        pairs = _load_tfds(split, layout)
    if lowercase:
        pairs = [([w.lower() for w in words], tags) for words, tags in pairs]
    return pairs


def _load_tfds(split: str, layout: str) -> list[TaggedSentence]:
    """Loads a split through tensorflow-datasets (imported lazily)."""
    if not paths.network_available(TFDS_HOST):
        raise paths.DataUnavailableError("UD English EWT", f"no network connection to {TFDS_HOST}", layout)
    import tensorflow_datasets as tfds

    try:
        ds, info = tfds.load("universal_dependencies/en_ewt", split=split, with_info=True)
    except Exception as exc:  # tfds raises many kinds of download errors
        raise paths.DataUnavailableError("UD English EWT", f"tensorflow-datasets failed ({exc})", layout) from exc
    names = info.features["upos"].feature.names
    pairs = []
    for example in tfds.as_numpy(ds):
        words, tags = [], []
        for word, tag in zip(example["tokens"], example["upos"]):
            if names[tag] == "_":  # a multiword-token line, not a word
                continue
            words.append(word.decode("utf-8"))
            tags.append(names[tag])
        pairs.append((words, tags))
    return pairs


def build_tagging_vocabs(
    sentences: Sequence[TaggedSentence], min_count: int = 1, max_size: int | None = None
) -> tuple[Vocabulary, Vocabulary]:
    """Builds a word vocabulary from the sentences and the fixed UPOS vocabulary.

    Args:
        sentences: `(words, tags)` pairs, e.g. from `load_ud_english_ewt`.
        min_count: Words seen fewer times map to `<unk>`.
        max_size: Largest word-vocabulary size (counting `<pad>`, `<unk>`).

    Returns:
        `(word_vocab, tag_vocab)`. `tag_vocab` holds `UPOS_TAGS` in order at
        ids 2..18 (0 is padding), whatever the data.
    """
    word_vocab = Vocabulary.build((words for words, _ in sentences), min_count=min_count, max_size=max_size)
    return word_vocab, Vocabulary(UPOS_TAGS)


def tagging_dataset(
    sentences: Sequence[TaggedSentence],
    word_vocab: Vocabulary,
    tag_vocab: Vocabulary,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
) -> "tf.data.Dataset":
    """Makes padded batches of word ids and aligned tag ids.

    Each batch is padded with 0 (`<pad>` in both vocabularies) up to its
    longest sentence, so `word_ids != 0` is the padding mask.

    Args:
        sentences: `(words, tags)` pairs of equal lengths.
        word_vocab: Maps words to ids (unknown words to 1).
        tag_vocab: Maps tags to ids.
        batch_size: Sentences per batch.
        shuffle: Whether to shuffle the sentences (reshuffled every epoch).
        seed: Seed of the shuffle.
        drop_remainder: Whether to drop a last, smaller batch.

    Returns:
        A `tf.data.Dataset` of `(word_ids, tag_ids)`, both int32 of shape
        `(B, T_max)` where `T_max` is the batch's longest sentence.
    """
    for name, vocab in (("word_vocab", word_vocab), ("tag_vocab", tag_vocab)):
        if not isinstance(vocab, Vocabulary):
            raise TypeError(f"`{name}` must be a course.data.Vocabulary; got {type(vocab).__name__}.")
    word_ids, tag_ids = [], []
    for i, pair in enumerate(sentences):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"sentences[{i}] must be a (words, tags) pair; got {type(pair).__name__}.")
        words, tags = pair
        if len(words) != len(tags):
            raise ValueError(f"sentences[{i}] has {len(words)} words but {len(tags)} tags; they must be aligned.")
        word_ids.append(word_vocab.encode(words))
        tag_ids.append(tag_vocab.encode(tags))
    ds = sequence_dataset(word_ids, tag_ids)
    return padded_batches(ds, batch_size, shuffle=shuffle, seed=seed, drop_remainder=drop_remainder)
