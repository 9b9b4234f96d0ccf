"""A small CoNLL-U reader (the format of Universal Dependencies treebanks).

Only the syntactic words are kept: comment lines (`# ...`), multiword-token
ranges (ids like `3-4`) and empty nodes (ids like `8.1`) are skipped. See
https://universaldependencies.org/format.html.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import pathlib
from collections.abc import Iterable, Iterator
from typing import NamedTuple

FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")


class Token(NamedTuple):
    """One word line of a CoNLL-U file (all ten columns as strings, `id` as int)."""

    id: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: str
    head: str
    deprel: str
    deps: str
    misc: str


@dataclasses.dataclass
class Sentence:
    """A parsed sentence.

    Attributes:
        tokens: The words, in order (ids 1, 2, ...).
        metadata: The `# key = value` comments, e.g. `sent_id` and `text`.
    """

    tokens: list[Token] = dataclasses.field(default_factory=list)
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def words(self) -> list[str]:
        """The word forms."""
        return [t.form for t in self.tokens]

    @property
    def upos(self) -> list[str]:
        """The universal part-of-speech tags, aligned with `words`."""
        return [t.upos for t in self.tokens]

    def __len__(self) -> int:
        return len(self.tokens)


def iter_conllu(lines: Iterable[str], source: str = "<string>") -> Iterator[Sentence]:
    """Parses CoNLL-U lines into sentences, lazily.

    Args:
        lines: The lines of a CoNLL-U document (with or without newlines).
        source: A name for error messages (e.g. the file name).

    Yields:
        A `Sentence` per blank-line-terminated block that has words.

    Raises:
        ValueError: For a word line without 10 tab-separated columns or with a
            malformed id.
    """
    sentence = Sentence()
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if sentence.tokens:
                yield sentence
            sentence = Sentence()
            continue
        if line.startswith("#"):
            key, sep, value = line[1:].partition("=")
            if sep:
                sentence.metadata[key.strip()] = value.strip()
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise ValueError(f"{source}:{lineno}: expected 10 tab-separated columns; got {len(cols)}: {line[:80]!r}")
        word_id = cols[0]
        if "-" in word_id or "." in word_id:  # multiword token or empty node
            continue
        if not word_id.isdigit():
            raise ValueError(f"{source}:{lineno}: expected an integer id, a range like 3-4 or a decimal like 8.1; "
                             f"got {word_id!r}")
        sentence.tokens.append(Token(int(word_id), *cols[1:]))
    if sentence.tokens:
        yield sentence


def parse_conllu(text: str) -> list[Sentence]:
    """Parses a CoNLL-U document held in a string.

    Args:
        text: The document.

    Returns:
        The list of sentences.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}.")
    return list(iter_conllu(text.splitlines()))


def read_conllu(path: str | os.PathLike) -> list[Sentence]:
    """Reads a `.conllu` or `.conllu.gz` file.

    Args:
        path: The file.

    Returns:
        The list of sentences.
    """
    path = pathlib.Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return list(iter_conllu(f, source=str(path)))
