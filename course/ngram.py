"""N-gram language models with add-k or interpolated Kneser-Ney smoothing.

An N-gram model predicts a token from the `N - 1` tokens before it, from counts. Each
sentence is padded with `N - 1` begin tokens (`<s>`) and one end token (`</s>`), so the
first word has a full context and the model learns where sentences stop. Tokens outside
the vocabulary (seen fewer than `min_count` times in training) become `<unk>`.

The vocabulary over which every distribution `P(. | context)` sums to 1 is the training
words plus `</s>` and `<unk>` (`<s>` is never predicted).

The table grows fast with N: capturing longer dependencies needs a longer context, and
the number of distinct N-grams (the memory the model needs) climbs with it; see
`NGramModel.memory_footprint` and `table_entries_vs_n`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Iterable, Sequence

SMOOTHINGS = ("add_k", "kneser_ney")
Context = tuple[str, ...]


def _as_sentences(data: object) -> list[list[str]]:
    """A token list becomes one sentence; a list of token lists stays a list of sentences."""
    if isinstance(data, str):
        raise TypeError("expected a list of tokens or a list of sentences (lists of tokens), got a str; "
                        "tokenize it first, e.g. `text.split()` (words) or `list(text)` (characters).")
    if not isinstance(data, Iterable):
        raise TypeError(f"expected a list of tokens or a list of sentences, got {type(data).__name__}.")
    items = list(data)
    if all(isinstance(t, str) for t in items):
        return [items]
    if all(isinstance(s, (list, tuple)) and all(isinstance(t, str) for t in s) for s in items):
        return [list(s) for s in items]
    raise TypeError("expected a list of str tokens or a list of lists of str tokens, got elements of types "
                    f"{sorted({type(t).__name__ for t in items})}.")


class NGramModel:
    """A count-based N-gram language model.

    Args:
        n: order of the model (1 = unigram, 2 = bigram, ...).
        smoothing: `"add_k"` (add `k` to every count) or `"kneser_ney"` (interpolated
            Kneser-Ney with one absolute discount per order, estimated from the counts).
        k: pseudo-count for add-k smoothing (`k=1` is Laplace; `k=0` is the raw
            maximum-likelihood estimate). Ignored by Kneser-Ney.
        min_count: training tokens seen fewer times become `<unk>`.
        discount: fixed Kneser-Ney discount in (0, 1); `None` estimates
            `D = n1 / (n1 + 2 n2)` per order (n1, n2: N-grams seen once, twice).
        bos, eos, unk: the begin, end and unknown tokens.

    Example:

    >>> lm = NGramModel(2, smoothing="add_k", k=1.0).fit([["a", "b"], ["a", "c"]])
    >>> round(lm.prob("b", ["a"]), 4)   # (1 + 1) / (2 + 1 * 5)
    0.2857
    """

    def __init__(self, n: int, smoothing: str = "add_k", k: float = 1.0, min_count: int = 1,
                 discount: float | None = None, bos: str = "<s>", eos: str = "</s>", unk: str = "<unk>"):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"`n` must be an int >= 1, got {n!r}.")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"`smoothing` must be one of {SMOOTHINGS}, got {smoothing!r}.")
        if isinstance(k, bool) or not isinstance(k, (int, float)) or k < 0:
            raise ValueError(f"`k` must be a number >= 0, got {k!r}.")
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"`min_count` must be an int >= 1, got {min_count!r}.")
        if discount is not None and not 0 < discount < 1:
            raise ValueError(f"`discount` must lie in (0, 1) or be None, got {discount!r}.")
        if len({bos, eos, unk}) != 3:
            raise ValueError(f"`bos`, `eos` and `unk` must differ, got {bos!r}, {eos!r}, {unk!r}.")
        self.n, self.smoothing, self.k, self.min_count = n, smoothing, float(k), min_count
        self.fixed_discount = discount
        self.bos, self.eos, self.unk = bos, eos, unk
        self.vocabulary: list[str] = []
        self._vocab: set[str] = set()
        # _tables[m][context][word]: counts used at order m (1..n), context of length m - 1.
        # Raw counts at every order for add-k; for Kneser-Ney, the lower orders hold
        # continuation counts (raw counts for N-grams starting with <s>).
        self._raw: dict[int, dict[Context, Counter]] = {}
        self._tables: dict[int, dict[Context, Counter]] = {}
        self._totals: dict[int, dict[Context, tuple[int, int]]] = {}  # (sum of counts, distinct words)
        self.discounts: dict[int, float] = {}

    # ----------------------------------------------------------------------------- fitting
    def fit(self, data: Sequence[str] | Sequence[Sequence[str]]) -> "NGramModel":
        """Counts the N-grams of `data` (one token list, or a list of sentences). Returns self."""
        sentences = _as_sentences(data)
        if not any(sentences):
            raise ValueError("`data` holds no token: expected at least one non-empty sentence.")
        freq = Counter(t for s in sentences for t in s)
        bad = {self.bos, self.eos} & set(freq)
        if bad:
            raise ValueError(f"training tokens must not contain the padding tokens, found {sorted(bad)}.")
        words = sorted(w for w, c in freq.items() if c >= self.min_count and w != self.unk)
        self.vocabulary = words + [self.eos, self.unk]
        self._vocab = set(self.vocabulary)
        n = self.n
        raw = {m: defaultdict(Counter) for m in range(1, n + 1)}
        for sentence in sentences:
            seq = [self.bos] * (n - 1) + [self._map(t) for t in sentence] + [self.eos]
            for i in range(n - 1, len(seq)):
                w = seq[i]
                for m in range(1, n + 1):
                    raw[m][tuple(seq[i - m + 1:i])][w] += 1
        self._raw = {m: dict(t) for m, t in raw.items()}
        self._tables = dict(self._raw)
        if self.smoothing == "kneser_ney":
            for m in range(1, n):
                cont: dict[Context, Counter] = defaultdict(Counter)
                for ctx, row in self._raw[m + 1].items():  # each entry = one distinct left word
                    for w in row:
                        cont[ctx[1:]][w] += 1
                for ctx, row in self._raw[m].items():  # nothing precedes <s>: keep raw counts
                    if ctx and ctx[0] == self.bos:
                        cont[ctx] = Counter(row)
                self._tables[m] = dict(cont)
        self._totals = {m: {ctx: (sum(row.values()), len(row)) for ctx, row in t.items()}
                        for m, t in self._tables.items()}
        self.discounts = {m: self._estimate_discount(m) for m in range(1, n + 1)}
        return self

    def _estimate_discount(self, m: int) -> float:
        if self.fixed_discount is not None:
            return self.fixed_discount
        values = Counter(c for row in self._tables[m].values() for c in row.values())
        n1, n2 = values[1], values[2]
        if n1 == 0 or n2 == 0:
            return 0.75
        return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)

    def _check_fitted(self) -> None:
        if not self._tables:
            raise ValueError("the model is not fitted: call `fit(tokens)` first.")

    def _map(self, token: str) -> str:
        return token if token in self._vocab or token == self.bos else self.unk

    # ----------------------------------------------------------------------------- counts
    @property
    def counts(self) -> dict[tuple[str, ...], int]:
        """Raw counts of the order-N N-grams, `{(w_1, ..., w_N): count}` (with padding)."""
        self._check_fitted()
        return {ctx + (w,): c for ctx, row in self._raw[self.n].items() for w, c in row.items()}

    def count(self, ngram: Sequence[str]) -> int:
        """Raw training count of `ngram` (any order 1..N; unknown words map to `<unk>`)."""
        self._check_fitted()
        gram = tuple(self._map(t) for t in ngram)
        if not 1 <= len(gram) <= self.n:
            raise ValueError(f"`ngram` must have 1..{self.n} tokens, got {len(gram)}.")
        return self._raw[len(gram)].get(gram[:-1], Counter())[gram[-1]]

    # ----------------------------------------------------------------------------- probabilities
    def _context(self, context: Sequence[str] | None) -> Context:
        if isinstance(context, str):
            raise TypeError(f"`context` must be a sequence of tokens, got the str {context!r}; wrap it in a list.")
        ctx = [self._map(t) for t in (context or [])]
        ctx = [self.bos] * (self.n - 1) + ctx
        return tuple(ctx[len(ctx) - (self.n - 1):]) if self.n > 1 else ()

    def prob(self, word: str, context: Sequence[str] | None = None) -> float:
        """`P(word | context)`: the last N-1 tokens of `context` count, missing ones are `<s>`.

        Args:
            word: the predicted token; unknown words map to `<unk>`.
            context: the preceding tokens (a list of str), or None for a sentence start.

        Returns:
            A probability in [0, 1] (0 only for add-k with `k=0`).
        """
        self._check_fitted()
        if not isinstance(word, str):
            raise TypeError(f"`word` must be a str token, got {type(word).__name__}.")
        if word == self.bos:
            raise ValueError(f"`word` cannot be the begin token {self.bos!r}: it is never predicted.")
        w, ctx = self._map(word), self._context(context)
        if self.smoothing == "add_k":
            row = self._tables[self.n].get(ctx)
            total = self._totals[self.n][ctx][0] if row else 0
            denom = total + self.k * len(self.vocabulary)
            if denom == 0:  # k = 0 and an unseen context: fall back to uniform
                return 1.0 / len(self.vocabulary)
            return ((row.get(w, 0) if row else 0) + self.k) / denom  # (c(h, w) + k) / (c(h) + k |V|)
        return self._kn(self.n, ctx, w)

    def _kn(self, m: int, ctx: Context, w: str) -> float:
        if m == 0:
            return 1.0 / len(self.vocabulary)
        lower = self._kn(m - 1, ctx[1:], w)
        row = self._tables[m].get(ctx)
        if not row:  # unseen context: all mass to the lower order
            return lower
        total, types = self._totals[m][ctx]
        d = self.discounts[m]
        return max(row.get(w, 0) - d, 0.0) / total + d * types / total * lower

    def log_prob(self, word: str, context: Sequence[str] | None = None) -> float:
        """Natural log of `prob(word, context)` (`-inf` for probability 0)."""
        p = self.prob(word, context)
        return math.log(p) if p > 0 else -math.inf

    def distribution(self, context: Sequence[str] | None = None) -> dict[str, float]:
        """`{word: P(word | context)}` over the whole vocabulary (sums to 1)."""
        return {w: self.prob(w, context) for w in self.vocabulary}

    def sequence_log_likelihood(self, tokens: Sequence[str] | Sequence[Sequence[str]]) -> tuple[float, int]:
        """Total natural-log likelihood of one sentence or a list of sentences.

        Each sentence is padded like in training, so its `</s>` is predicted too.

        Returns:
            `(total_log_likelihood, n_predicted_tokens)`.
        """
        self._check_fitted()
        total, count = 0.0, 0
        for sentence in _as_sentences(tokens):
            history: list[str] = []
            for w in list(sentence) + [self.eos]:
                total += self.log_prob(w, history[-(self.n - 1):] if self.n > 1 else None)
                history.append(w)
                count += 1
        return total, count

    def perplexity(self, tokens: Sequence[str] | Sequence[Sequence[str]]) -> float:
        """`exp(-log-likelihood / n_predicted_tokens)`; `inf` when a token has probability 0."""
        total, count = self.sequence_log_likelihood(tokens)
        mean_nll = -total / count
        return math.inf if mean_nll > 709 else math.exp(mean_nll)

    # ----------------------------------------------------------------------------- memory
    def memory_footprint(self, id_bytes: int = 4, count_bytes: int = 4) -> tuple[int, int]:
        """Size of the count tables, as a packed array would store them.

        Every stored N-gram of order m (m = 1..N, all orders are kept for smoothing)
        is one entry of `m` word ids (`id_bytes` each, int32 by default) and one count
        (`count_bytes`). Python's dicts take several times more; the packed figure is
        the floor any implementation pays, and it is what grows with N.

        Returns:
            `(table_entries, bytes)` with `bytes = sum_m entries_m * (m * id_bytes + count_bytes)`.
        """
        self._check_fitted()
        entries = nbytes = 0
        for m, table in self._raw.items():
            e = sum(len(row) for row in table.values())
            entries += e
            nbytes += e * (m * id_bytes + count_bytes)
        return entries, nbytes


def table_entries_vs_n(tokens: Sequence[str] | Sequence[Sequence[str]],
                       ns: Iterable[int] = range(1, 7)) -> dict[int, tuple[int, int]]:
    """`{n: NGramModel(n).fit(tokens).memory_footprint()}`: how the table grows with N.

    Args:
        tokens: one token list or a list of sentences.
        ns: the orders to measure.

    Returns:
        `{n: (table_entries, bytes)}`, ready to plot against `n`.
    """
    return {int(n): NGramModel(int(n)).fit(tokens).memory_footprint() for n in ns}
