"""The plan's batched top-k selection (no database)."""

import numpy as np
import pytest

from app.plans.candidates import top_columns


@pytest.mark.parametrize(("n", "m"), [(100_000, 100), (40_000, 100), (5_000, 100), (100_000, 3)])
def test_top_columns_are_the_rows_largest(n: int, m: int) -> None:
    rng = np.random.default_rng(n + m)
    scores = rng.standard_normal((40, n)).astype(np.float32)
    scores[:, rng.integers(0, n, 500)] = -np.inf  # people excluded from every search
    scores[3] = -np.inf
    scores[3, :50] = 1.0  # fewer finite values than the sample's cut: the whole row is used
    scores[5, : 2 * m] = 10.0  # many values at the top, all from the first columns
    got = np.sort(np.take_along_axis(scores, top_columns(scores, m), axis=1), axis=1)
    want = np.sort(-np.partition(-scores, m - 1, axis=1)[:, :m], axis=1)
    assert np.array_equal(got, want)
    assert all(len(set(row)) == m for row in top_columns(scores, m).tolist())
