"""Tokenizers and a token <-> id vocabulary with reserved padding and OOV ids."""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

PAD = "<pad>"
UNK = "<unk>"
_NON_LETTERS = re.compile(r"[^A-Za-z]+")


def char_tokenize(text: str) -> list[str]:
    """Splits `text` into characters (every character is a token).

    Args:
        text: The text.

    Returns:
        A list with one string per character of `text`.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}.")
    return list(text)


def word_tokenize(text: str) -> list[str]:
    """Splits `text` into lower-case words made of letters only.

    As in d2l's Time Machine preprocessing, every run of non-letters (digits,
    punctuation, whitespace) becomes one space, then the text is lower-cased
    and split on spaces.

    Args:
        text: The text.

    Returns:
        The list of words, e.g. `word_tokenize("It's 1895!") == ["it", "s"]`.
    """
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str; got {type(text).__name__}.")
    return _NON_LETTERS.sub(" ", text).lower().split()


def _iter_tokens(tokens: Iterable[Any]) -> Iterable[str]:
    """Yields tokens from a flat iterable of strings or an iterable of
    token sequences (e.g. sentences)."""
    if isinstance(tokens, str):
        raise TypeError(
            "Expected an iterable of tokens (or of token lists); got a single str. "
            "Tokenize it first, e.g. with `char_tokenize` or `word_tokenize`."
        )
    for item in tokens:
        if isinstance(item, str):
            yield item
        elif isinstance(item, Iterable):
            for token in item:
                if not isinstance(token, str):
                    raise TypeError(f"Tokens must be str; got {type(token).__name__}: {token!r}.")
                yield token
        else:
            raise TypeError(f"Tokens must be str or sequences of str; got {type(item).__name__}: {item!r}.")


class Vocabulary:
    """Maps tokens to integer ids and back.

    Id 0 is always `"<pad>"` (padding) and id 1 is always `"<unk>"` (any token
    not in the vocabulary). The other tokens follow from id 2 on.

    Args:
        tokens: The non-reserved tokens, in id order (ids 2, 3, ...).
        counts: Optional token counts, kept for inspection.

    Example:

    >>> vocab = Vocabulary.build([["the", "cat"], ["the", "dog"]])
    >>> vocab.encode(["the", "bird"])
    [2, 1]
    """

    pad_token: str = PAD
    unk_token: str = UNK
    pad_id: int = 0
    unk_id: int = 1

    def __init__(self, tokens: Sequence[str] = (), counts: dict[str, int] | None = None):
        itos = [PAD, UNK]
        stoi = {PAD: 0, UNK: 1}
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"Vocabulary tokens must be str; got {type(token).__name__}: {token!r}.")
            if token in stoi:
                raise ValueError(f"Duplicate or reserved token {token!r}; each token may appear once and "
                                 f"{PAD!r}/{UNK!r} are added automatically.")
            stoi[token] = len(itos)
            itos.append(token)
        self._itos = itos
        self._stoi = stoi
        self.counts: dict[str, int] = dict(counts or {})

    @classmethod
    def build(cls, tokens: Iterable[Any], min_count: int = 1, max_size: int | None = None) -> "Vocabulary":
        """Builds a vocabulary from tokens, most frequent first.

        Ties in frequency are broken alphabetically, so the result does not
        depend on the order of the input.

        Args:
            tokens: A flat iterable of tokens, or an iterable of token
                sequences (e.g. a list of tokenized sentences).
            min_count: Tokens seen fewer times are left out (they map to
                `<unk>`).
            max_size: The largest vocabulary size, counting `<pad>` and
                `<unk>` (like Keras' `max_tokens`); `None` for no limit.

        Returns:
            A `Vocabulary`.
        """
        if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
            raise ValueError(f"`min_count` must be an int >= 1; got {min_count!r}.")
        if max_size is not None and (not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 2):
            raise ValueError(f"`max_size` must be None or an int >= 2 (it counts <pad> and <unk>); got {max_size!r}.")
        counter = collections.Counter(_iter_tokens(tokens))
        for reserved in (PAD, UNK):
            counter.pop(reserved, None)
        ranked = sorted((t for t, c in counter.items() if c >= min_count), key=lambda t: (-counter[t], t))
        if max_size is not None:
            ranked = ranked[: max_size - 2]
        return cls(ranked, counts={t: counter[t] for t in ranked})

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        return self._stoi.get(token, self.unk_id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._itos == other._itos

    def __repr__(self) -> str:
        preview = ", ".join(repr(t) for t in self._itos[2:7])
        more = ", ..." if len(self) > 7 else ""
        return f"Vocabulary(size={len(self)}, tokens=[{preview}{more}])"

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order, including `<pad>` and `<unk>`."""
        return list(self._itos)

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Maps tokens to ids; unknown tokens map to `unk_id` (1).

        Args:
            tokens: An iterable of str tokens (not a whole string: tokenize first).

        Returns:
            A list of ints, one per token.
        """
        if isinstance(tokens, str):
            raise TypeError(
                "`encode` expects a sequence of tokens; got a str. Tokenize it first, "
                "e.g. `vocab.encode(char_tokenize(text))`."
            )
        return [self._stoi.get(t, 1) for t in tokens]

    def decode(self, ids: Iterable[int] | np.ndarray, skip_pad: bool = False) -> list[str]:
        """Maps ids back to tokens.

        Args:
            ids: An iterable of ints (a list, a 1-D numpy array or tensor).
            skip_pad: Whether to leave out padding ids (0).

        Returns:
            A list of tokens.
        """
        out = []
        for i in np.asarray(ids).reshape(-1).tolist():
            if not isinstance(i, int) or not 0 <= i < len(self._itos):
                raise ValueError(f"Ids must be ints in [0, {len(self._itos)}); got {i!r}.")
            if skip_pad and i == self.pad_id:
                continue
            out.append(self._itos[i])
        return out

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable description of the vocabulary."""
        return {"tokens": self._itos[2:], "counts": self.counts}

    @classmethod
    def from_dict(cls, config: dict[str, Any]) -> "Vocabulary":
        """Rebuilds a vocabulary from `to_dict()`'s output."""
        if not isinstance(config, dict) or "tokens" not in config:
            raise ValueError(f"Expected a dict with a 'tokens' list (from `to_dict`); got {config!r:.80}.")
        return cls(config["tokens"], counts=config.get("counts"))

    def to_json(self) -> str:
        """Returns the vocabulary as a JSON string."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Vocabulary":
        """Rebuilds a vocabulary from `to_json()`'s output."""
        return cls.from_dict(json.loads(text))
