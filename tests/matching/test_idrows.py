import numpy as np
import pytest

from matching.idrows import IdRows


def reference(pairs: dict[int, int], ids: list[int]) -> list[int]:
    return [pairs.get(i, -1) for i in ids]


def test_rows_agree_with_a_dict_through_edits_and_large_or_negative_ids() -> None:
    rng = np.random.default_rng(3)
    start = rng.choice(5000, 300, replace=False).astype(np.int64)
    start[:3] = [IdRows.LOOKUP_MAX + 7, -5, 2**40]
    m = IdRows(start)
    truth = {int(d): r for r, d in enumerate(start.tolist())}
    for step in range(2000):
        d = int(rng.integers(-10, 12000)) if step % 50 else IdRows.LOOKUP_MAX + step
        if rng.random() < 0.3:
            assert m.pop(d) == truth.pop(d, None)
        else:
            m[d] = truth[d] = step
    probe = list(truth) + [int(x) for x in rng.integers(-20, 20000, 500)] + [2**50, -(2**40)]
    assert m.rows(np.array(probe, np.int64)).tolist() == reference(truth, probe)
    assert len(m) == len(truth)
    assert all(m.get(d) == truth[d] and d in m for d in truth)


def test_a_repeated_id_keeps_its_last_row_as_a_dict_would() -> None:
    m = IdRows(np.array([4, 9, 4], np.int64))
    assert m.rows(np.array([4, 9, 5])).tolist() == [2, 1, -1]
    assert len(m) == 2


@pytest.mark.parametrize("ids", [[], [0]])
def test_small_maps(ids: list[int]) -> None:
    m = IdRows(np.array(ids, np.int64))
    assert m.rows(np.array([0, 1])).tolist() == [0 if ids else -1, -1]
    assert m.rows(np.zeros(0, np.int64)).tolist() == []
