"""Small array helpers for a `# CASES` cell's inputs (the grading process; numpy only).

A case's `make_args(rng)` builds its arguments from the case's seeded
generator. These helpers name the usual ones, so that a case says what it
feeds, not how numpy spells it; each draws from `rng` exactly as the spelled-out
numpy would, so rewriting a case with them changes none of its values.

Example:

```python
from autograder.authoring.inputs import integers, mask, normal

def xent_args(B, T, V, lengths=None):
    return lambda rng: [normal(rng, B, T, V), integers(rng, V, B, T), mask(B, T, lengths)]
```
"""

from __future__ import annotations

import numpy as np


def normal(rng: np.random.Generator, *shape: int, scale: float = 1.0, dtype: str = "float32") -> np.ndarray:
    """Standard-normal values times `scale`: `(rng.normal(size=shape) * scale).astype(dtype)`.

    Args:
        rng: the case's generator.
        *shape: the array's shape, e.g. `normal(rng, B, T, D)`.
        scale: the standard deviation.
        dtype: the array's dtype (float32, as Keras computes).
    """
    return (rng.normal(size=shape) * scale).astype(dtype)


def integers(rng: np.random.Generator, high: int, *shape: int, low: int = 0, dtype: str = "int32") -> np.ndarray:
    """Integers in `[low, high)`: `rng.integers(low, high, size=shape).astype(dtype)` (token ids, labels).

    Raises:
        ValueError: `high` is not above `low`.
    """
    if high <= low:
        raise ValueError(f"integers() needs high > low; got low={low}, high={high}")
    return rng.integers(low, high, size=shape).astype(dtype)


def mask(batch: int, time: int, lengths: list[int] | tuple[int, ...] | None = None,
         dtype: str = "float32") -> np.ndarray:
    """A (batch, time) padding mask: 1 on each row's first `lengths[b]` positions, 0 after.

    Rows past `len(lengths)` (all rows, when `lengths` is None) are unpadded.

    Raises:
        ValueError: more lengths than rows, or a length outside `[0, time]`.
    """
    lengths = list(lengths or [])
    if len(lengths) > batch or any(not 0 <= n <= time for n in lengths):
        raise ValueError(f"mask({batch}, {time}) needs at most {batch} lengths in [0, {time}]; got {lengths}")
    out = np.ones((batch, time), dtype)
    for b, n in enumerate(lengths):
        out[b, n:] = 0
    return out
