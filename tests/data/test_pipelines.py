"""length_buckets and padding_fraction: batches of similar-length items, checked by brute force."""

import numpy as np
import pytest

from course.data import length_buckets, padding_fraction


def brute_padding(lengths, batches):
    cells = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    return 1 - sum(lengths) / cells


@pytest.mark.parametrize("seed", [None, 0, 1])
def test_buckets_partition_the_items_and_group_similar_lengths(seed):
    lengths = np.random.default_rng(5).integers(1, 60, size=103)
    rng = None if seed is None else np.random.default_rng(seed)
    batches = length_buckets(lengths, 16, rng)
    assert sorted(np.concatenate(batches).tolist()) == list(range(103))
    assert sorted(len(b) for b in batches) == [7] + [16] * 6
    # consecutive in sorted order: no other item's length falls strictly inside a batch's range
    for b in batches:
        low, high = lengths[b].min(), lengths[b].max()
        inside = np.flatnonzero((lengths > low) & (lengths < high))
        assert set(inside) <= set(b.tolist())
    assert padding_fraction(lengths, batches) == pytest.approx(brute_padding(lengths.tolist(), batches))


def test_buckets_pad_less_than_random_batches():
    lengths = np.random.default_rng(0).integers(1, 80, size=500)
    order = np.random.default_rng(1).permutation(500)
    random_batches = [order[i : i + 32] for i in range(0, 500, 32)]
    assert padding_fraction(lengths, length_buckets(lengths, 32)) < padding_fraction(lengths, random_batches) / 4


def test_bucket_order_is_repeatable_with_a_seed_and_varies_across_seeds():
    lengths = np.arange(200) % 37
    a = length_buckets(lengths, 10, np.random.default_rng(3))
    b = length_buckets(lengths, 10, np.random.default_rng(3))
    c = length_buckets(lengths, 10, np.random.default_rng(4))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_bucket_arguments_are_checked():
    with pytest.raises(ValueError, match="batch_size"):
        length_buckets([1, 2], 0)
    with pytest.raises(ValueError, match="1-D"):
        length_buckets([[1, 2]], 2)
    with pytest.raises(ValueError, match=">= 0"):
        length_buckets([3, -1], 2)
    with pytest.raises(ValueError, match="no token"):
        padding_fraction([0, 0], [np.array([0, 1])])
