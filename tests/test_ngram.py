import math
import re
from pathlib import Path

import pytest

from course.ngram import NGramModel, table_entries_vs_n

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TINY = [["a", "b"], ["a", "c"], ["b", "a", "b"]]


def words(path: Path) -> list[str]:
    return re.findall(r"[a-z]+", path.read_text(encoding="utf-8").lower())


@pytest.fixture(scope="module")
def timemachine() -> list[str]:
    path = DATA / "text" / "timemachine.txt"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return words(path)


def test_add_k_hand_computed():
    lm = NGramModel(2, smoothing="add_k", k=1.0).fit([["a", "b"], ["a", "c"]])
    assert sorted(lm.vocabulary) == sorted(["a", "b", "c", "</s>", "<unk>"])
    V = 5
    assert lm.count(["<s>", "a"]) == 2 and lm.count(["a", "b"]) == 1 and lm.count(["a"]) == 2
    assert lm.prob("a", []) == pytest.approx(3 / (2 + V))       # (2 + 1) / (2 + 5)
    assert lm.prob("b", ["a"]) == pytest.approx(2 / (2 + V))
    assert lm.prob("</s>", ["a"]) == pytest.approx(1 / (2 + V))
    assert lm.prob("a", ["b"]) == pytest.approx(1 / (1 + V))
    assert lm.prob("zebra", ["a"]) == pytest.approx(lm.prob("<unk>", ["a"]))
    assert lm.prob("a", ["zebra"]) == pytest.approx(1 / V)       # unseen context: uniform
    ll, n = lm.sequence_log_likelihood(["a", "b"])
    expected = math.log(3 / 7) + math.log(2 / 7) + math.log(2 / 6)
    assert n == 3 and ll == pytest.approx(expected)
    assert lm.perplexity(["a", "b"]) == pytest.approx(math.exp(-expected / 3))
    half = NGramModel(2, k=0.5).fit([["a", "b"], ["a", "c"]])
    assert half.prob("b", ["a"]) == pytest.approx(1.5 / (2 + 0.5 * V))


def test_mle_zero_probability_gives_infinite_perplexity():
    lm = NGramModel(2, k=0.0).fit([["a", "b"]])
    assert lm.prob("b", ["a"]) == 1.0
    assert lm.perplexity(["a", "b"]) == pytest.approx(1.0)   # perfect model
    assert lm.perplexity(["b", "a"]) == math.inf             # zero-probability label


@pytest.mark.parametrize("smoothing", ["add_k", "kneser_ney"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_distributions_sum_to_one(smoothing, n):
    lm = NGramModel(n, smoothing=smoothing, k=0.3).fit(TINY)
    contexts = {ctx for ctx, _ in ((g[:-1], g[-1]) for g in lm.counts)}
    contexts |= {("a", "a"), ("zebra", "b"), ()}
    for ctx in contexts:
        total = sum(lm.distribution(list(ctx)).values())
        assert total == pytest.approx(1.0, abs=1e-12), ctx
    assert all(p > 0 for p in lm.distribution(["a"]).values())


def test_kneser_ney_sums_to_one_on_real_text(timemachine):
    lm = NGramModel(3, smoothing="kneser_ney").fit(timemachine[:5000])
    for ctx in (["the", "time"], ["of", "the"], ["qqq", "zzz"], []):
        assert sum(lm.distribution(ctx).values()) == pytest.approx(1.0, abs=1e-9)


def test_kneser_ney_hand_computed_unigram_level():
    # Bigram KN with a fixed discount: the unigram level uses continuation counts.
    lm = NGramModel(2, smoothing="kneser_ney", discount=0.5).fit([["a", "b"], ["c", "b"]])
    # Bigrams: (<s>,a) (a,b) (b,</s>) (<s>,c) (c,b) (b,</s>); continuation counts:
    # a:1 (<s>), b:2 (a, c), c:1 (<s>), </s>:1 (b)  -> total 5, 4 types; V = 5.
    p_uni_b = (2 - 0.5) / 5 + 0.5 * 4 / 5 / 5
    # context "a": count(a,b) = 1, total 1, 1 type.
    assert lm.prob("b", ["a"]) == pytest.approx((1 - 0.5) / 1 + 0.5 * 1 / 1 * p_uni_b)
    assert lm.prob("b", ["zebra"]) == pytest.approx(p_uni_b)


def test_kneser_ney_beats_add_one_on_held_out_text(timemachine):
    cut = int(len(timemachine) * 0.9)
    train, test = timemachine[:cut], timemachine[cut:]
    for n in (2, 3):
        kn = NGramModel(n, smoothing="kneser_ney", min_count=2).fit(train).perplexity(test)
        add1 = NGramModel(n, smoothing="add_k", k=1.0, min_count=2).fit(train).perplexity(test)
        assert math.isfinite(kn) and kn < add1, (n, kn, add1)
    uni = NGramModel(1, min_count=2).fit(train)
    assert uni.perplexity(test) < len(uni.vocabulary)  # beats the uniform baseline


def test_memory_grows_with_n(timemachine):
    table = table_entries_vs_n(timemachine[:3000], ns=range(1, 6))
    entries = [table[n][0] for n in range(1, 6)]
    nbytes = [table[n][1] for n in range(1, 6)]
    assert all(a < b for a, b in zip(entries, entries[1:]))
    assert all(a < b for a, b in zip(nbytes, nbytes[1:]))
    assert table[3] == NGramModel(3).fit(timemachine[:3000]).memory_footprint()


def test_memory_footprint_hand_computed():
    lm = NGramModel(2).fit([["a", "b"], ["a", "c"]])
    # unigrams a, b, c, </s> (4) ; bigrams (<s>,a) (a,b) (a,c) (b,</s>) (c,</s>) (5)
    assert lm.memory_footprint() == (9, 4 * (4 + 4) + 5 * (2 * 4 + 4))


def test_unknown_words_and_errors():
    lm = NGramModel(2, min_count=2).fit([["a", "b"], ["a", "c"]])
    assert "b" not in lm.vocabulary and "<unk>" in lm.vocabulary
    assert lm.count(["a", "<unk>"]) == 2 and lm.count(["a", "b"]) == 2  # b -> <unk>
    with pytest.raises(TypeError, match="str"):
        NGramModel(2).fit("a b c")
    with pytest.raises(ValueError, match="smoothing"):
        NGramModel(2, smoothing="witten_bell")
    with pytest.raises(ValueError, match="n"):
        NGramModel(0)
    with pytest.raises(ValueError, match="fit"):
        NGramModel(2).prob("a", [])
    with pytest.raises(ValueError, match="begin"):
        lm.prob("<s>", [])
