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
    _, ids, _ = copy.search(query, 6)
    found = [i for i in ids[0].tolist() if i >= 0]
    assert 15 not in found  # removed meanwhile
    assert 12 not in found  # excluded (full)
    assert sorted(found) == [11, 13, 14, 16]


def test_the_copy_scores_a_pool_from_the_batch_product_as_from_the_vectors() -> None:
    """A need's pool is scored from its row of the batch's product (computed for the top k
    anyway): the same scores as the gathered vectors give, for any ids, held or not."""
    from app.plans import candidates
    from matching.encoders import ModelVersion, l2_normalise
    from matching.index import DenseIndex

    rng = np.random.default_rng(9)
    index = DenseIndex(ModelVersion("t", 16, "0"))
    ids = rng.choice(10_000, 400, replace=False).astype(np.int64)
    index.add(ids.tolist(), rng.standard_normal((400, 16)).astype(np.float32))
    copy = candidates._DenseCopy(index, ids[:7], _NoLock())
    matrix = l2_normalise(rng.standard_normal((5, 16)).astype(np.float32))
    top, top_ids, rows = copy.search(matrix, 10)
    assert rows.shape == (5, 400)
    wanted = np.concatenate([ids[:50], np.array([-3, 10_001, 2**40], np.int64)])
    for j in range(5):
        q = matrix[j]
        plain, held = copy.scores_present(q, wanted)
        fast, held_fast = copy.scores_present(q, wanted, rows[j])
        assert held.tolist() == held_fast.tolist() == [True] * 50 + [False] * 3
        np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-6)
        # the excluded are out of the top k but keep their similarity in the row
        assert not set(top_ids[j].tolist()) & set(ids[:7].tolist())
        np.testing.assert_allclose(rows[j][:7], index.scores_for(q, ids[:7]), rtol=1e-5, atol=1e-6)
        natives = ids[100:160]
        a = copy.search_among(q[None, :], 5, natives, ids[100:102])
        b = copy.search_among(q[None, :], 5, natives, ids[100:102], rows[j])
        assert a[1].tolist() == b[1].tolist()
        assert not set(a[1][0].tolist()) & set(ids[100:102].tolist())
        # a prefetched channel uses the row only for the query it was computed for
        pre = candidates._Prefetched(
            index, (top[j : j + 1], top_ids[j : j + 1]), 10, copy, q, rows[j]
        )
        np.testing.assert_allclose(pre.scores_for(q, wanted), plain, rtol=1e-5, atol=1e-6)
        other = l2_normalise(rng.standard_normal((1, 16)).astype(np.float32))[0]
        np.testing.assert_allclose(
            pre.scores_for(other, wanted), copy.scores_for(other, wanted), rtol=1e-6
        )


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
