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


def test_a_profile_removed_while_the_plan_copies_the_vectors_is_never_advised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from app.plans import candidates
    from matching.encoders import ModelVersion
    from matching.index import DenseIndex

    rng = np.random.default_rng(5)
    index = DenseIndex(ModelVersion("t", 8, "0"))
    vectors = rng.standard_normal((6, 8)).astype(np.float32)
    index.add([11, 12, 13, 14, 15, 16], vectors)
    query = vectors[4:5]  # closest to profile 15

    class RemovesMidway:
        """The corpus lock, as another thread that removes profile 15 between two chunks."""

        def __init__(self) -> None:
            self.lock, self.holds = threading.Lock(), 0

        def __enter__(self) -> None:
            self.lock.acquire()
            self.holds += 1
            if self.holds == 3:  # after the ids and the first chunk were read
                index.remove([15])

        def __exit__(self, *exc: object) -> None:
            self.lock.release()

    monkeypatch.setattr(candidates, "COPY_CHUNK", 3)
    lock = RemovesMidway()
    copy = candidates._DenseCopy(index, np.array([12], dtype=np.int64), lock)
    assert lock.holds == 3  # the ids, then two chunks: never the whole copy under one hold
    _, ids = copy.search(query, 6)
    found = [i for i in ids[0].tolist() if i >= 0]
    assert 15 not in found  # removed meanwhile
    assert 12 not in found  # excluded (full)
    assert sorted(found) == [11, 13, 14, 16]
