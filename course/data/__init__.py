"""Data for the course: loaders (IMDB, UD English EWT, plain texts),
vocabularies and tf.data pipelines.

Every loader reads from a local directory when one is given (`data_dir=` or
the `COURSE_DATA_DIR` environment variable) and otherwise downloads; offline it
raises `DataUnavailableError` at once. Importing this package does not import
TensorFlow; the functions that build a `tf.data.Dataset` do.
"""

from course.data.conllu import Sentence, Token, iter_conllu, parse_conllu, read_conllu
from course.data.imdb import IMDB_SPLITS, imdb_dataset, load_imdb, load_reviews, read_imdb_jsonl
from course.data.paths import (
    DATA_DIR_ENV,
    DataUnavailableError,
    data_source,
    network_available,
    resolve_data_dir,
)
from course.data.pipelines import (
    length_bucketed_dataset,
    length_buckets,
    padded_batches,
    padding_fraction,
    sequence_dataset,
)
from course.data.text import TEXT_SOURCES, lm_windows, load_text, split_text
from course.data.ud import (
    UD_SPLITS,
    UPOS_TAGS,
    build_tagging_vocabs,
    load_ud_english_ewt,
    tagging_dataset,
)
from course.data.vocab import PAD, UNK, Vocabulary, char_tokenize, word_tokenize

__all__ = [
    "DATA_DIR_ENV",
    "DataUnavailableError",
    "IMDB_SPLITS",
    "PAD",
    "Sentence",
    "TEXT_SOURCES",
    "Token",
    "UD_SPLITS",
    "UNK",
    "UPOS_TAGS",
    "Vocabulary",
    "build_tagging_vocabs",
    "data_source",
    "char_tokenize",
    "imdb_dataset",
    "length_bucketed_dataset",
    "length_buckets",
    "iter_conllu",
    "lm_windows",
    "load_imdb",
    "load_reviews",
    "load_text",
    "load_ud_english_ewt",
    "network_available",
    "padded_batches",
    "padding_fraction",
    "parse_conllu",
    "read_conllu",
    "read_imdb_jsonl",
    "resolve_data_dir",
    "sequence_dataset",
    "split_text",
    "tagging_dataset",
    "word_tokenize",
]
