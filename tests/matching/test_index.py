from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from matching.encoders import ModelVersion
from matching.index import DenseIndex, vectors_from_bytes, vectors_to_bytes
from matching.persist import CorruptIndexError, IncompatibleIndexError, sidecar_path

D = 32
VERSION = ModelVersion("fake", D, "0123456789abcdef")


def unit(rng: np.random.Generator, n: int, d: int = D, centres: int = 20) -> np.ndarray:
    """Clustered unit vectors (like sentence embeddings, not uniform noise)."""
    c = rng.standard_normal((centres, d)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact(xb: np.ndarray, ids: np.ndarray, xq: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ref = faiss.IndexFlatIP(xb.shape[1])
    ref.add(xb)
    s, i = ref.search(xq, k)
    return s, ids[i]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    xb = unit(rng, 6000)
    ids = rng.choice(10**9, 6000, replace=False).astype(np.int64)
    xq = unit(rng, 50)
    return xb, ids, xq


def recall(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.mean([len(set(g) & set(w)) / len(w) for g, w in zip(got, want, strict=True)]))


def test_exact_index_equals_flat(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    xb, ids, xq = data
    idx = DenseIndex.build(ids, xb, VERSION)
    assert idx.kind == "exact"
    s, i = idx.search(xq, 10)
    rs, ri = exact(xb, ids, xq, 10)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_allclose(s, rs, rtol=1e-5)


def test_ivf_above_threshold_keeps_recall(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    xb, ids, xq = data
    idx = DenseIndex.build(ids, xb, VERSION, exact_threshold=1000, nprobe=16, nlist=64)
    assert idx.kind == "ivf"
    assert len(idx) == len(ids)
    _, i = idx.search(xq, 10)
    _, ri = exact(xb, ids, xq, 10)
    assert recall(i, ri) >= 0.9
    idx.nprobe = 1
    _, i1 = idx.search(xq, 10)
    assert recall(i1, ri) < recall(i, ri)  # the IVF path really is approximate


@pytest.mark.parametrize("threshold", [10**6, 1000])
def test_add_replace_remove(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: int
) -> None:
    xb, ids, _ = data
    idx = DenseIndex.build(ids[:5000], xb[:5000], VERSION, exact_threshold=threshold)
    rng = np.random.default_rng(1)
    # new ids become searchable at once
    idx.add(ids[5000:5010], xb[5000:5010])
    _, got = idx.search(xb[5003], 1)
    assert got[0, 0] == ids[5003]
    # replacing an id's vector moves it: its old neighbourhood no longer finds it first
    new_vec = unit(rng, 1)
    idx.add(ids[:1], new_vec)
    assert len(idx) == 5010
    _, got = idx.search(new_vec[0], 1)
    assert got[0, 0] == ids[0]
    np.testing.assert_allclose(idx.vectors_for(ids[:1]), new_vec, rtol=1e-6)
    # removal
    assert idx.remove(ids[1:4]) == 3
    assert idx.remove(ids[1:4]) == 0
    assert len(idx) == 5007
    _, got = idx.search(xb[1:4], 5)
    assert not set(got.ravel().tolist()) & set(ids[1:4].tolist())
    assert int(ids[1]) not in idx
    assert int(ids[5]) in idx


@pytest.mark.parametrize(
    ("threshold", "subset_max"),
    [(10**6, 2000), (1000, 2000)],  # exact index; IVF reconstruct
)
def test_filtered_search_is_exact_for_small_allow_lists(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: int, subset_max: int
) -> None:
    xb, ids, xq = data
    idx = DenseIndex.build(
        ids, xb, VERSION, exact_threshold=threshold, nprobe=1, exact_subset_max=subset_max
    )
    rng = np.random.default_rng(3)
    pick = rng.choice(len(ids), 60, replace=False)  # 1% of the ids
    s, i = idx.search(xq, 10, allowed_ids=ids[pick])
    rs, ri = exact(xb[pick], ids[pick], xq, 10)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_allclose(s, rs, rtol=1e-5)


def test_selective_filter_on_ivf_probes_more_lists(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    xb, ids, xq = data
    idx = DenseIndex.build(ids, xb, VERSION, exact_threshold=1000, nprobe=4, nlist=64)
    idx.exact_subset_max = 10  # force the selector path for 60 ids (1 %)
    rng = np.random.default_rng(3)
    pick = rng.choice(len(ids), 60, replace=False)
    _, i = idx.search(xq, 10, allowed_ids=ids[pick])
    _, ri = exact(xb[pick], ids[pick], xq, 10)
    assert set(i.ravel().tolist()) <= set(ids[pick].tolist()) | {-1}
    # nprobe 4 alone finds few of them; 2 x 4 / sqrt(0.01) = 80 >= 64 probes every list
    assert recall(i, ri) == 1.0
    unfiltered = idx._search_params(None, 1.0)
    assert unfiltered.nprobe == 4


def test_filtered_search_large_allow_list_on_ivf(
    data: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    xb, ids, xq = data
    idx = DenseIndex.build(ids, xb, VERSION, exact_threshold=1000, nprobe=8, nlist=64)
    idx.exact_subset_max = 100  # force the selector path
    rng = np.random.default_rng(4)
    pick = rng.choice(len(ids), 600, replace=False)  # 10%
    _, i = idx.search(xq, 10, allowed_ids=ids[pick])
    _, ri = exact(xb[pick], ids[pick], xq, 10)
    assert set(i.ravel().tolist()) <= set(ids[pick].tolist()) | {-1}
    assert recall(i, ri) >= 0.9


def test_exclusions(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    xb, ids, xq = data
    idx = DenseIndex.build(ids, xb, VERSION)
    _, first = idx.search(xq[:1], 5)
    _, again = idx.search(xq[:1], 5, exclude_ids=first[0, :2].tolist())
    assert again[0].tolist() == first[0, 2:].tolist() + again[0, 3:].tolist()
    assert not set(again[0].tolist()) & set(first[0, :2].tolist())
    big = ids[:2000].tolist()
    _, got = idx.search(xq, 10, exclude_ids=big)
    assert not set(got.ravel().tolist()) & set(big)


def test_search_pads_small_indexes() -> None:
    idx = DenseIndex(VERSION)
    s, i = idx.search(np.ones(D, np.float32), 3)
    assert i.tolist() == [[-1, -1, -1]]
    idx.add([5], np.ones((1, D), np.float32))
    s, i = idx.search(np.ones(D, np.float32), 3)
    assert i.tolist() == [[5, -1, -1]]
    assert s[0, 0] == pytest.approx(1.0)
    assert np.isneginf(s[0, 1])


def test_bad_input_is_rejected() -> None:
    idx = DenseIndex(VERSION)
    with pytest.raises(ValueError, match="shape"):
        idx.add([1, 2], np.ones((1, D), np.float32))
    with pytest.raises(ValueError, match="duplicate"):
        idx.add([1, 1], np.ones((2, D), np.float32))
    with pytest.raises(ValueError, match="dimension"):
        idx.search(np.ones(D + 1, np.float32), 1)


@pytest.mark.parametrize("threshold", [10**6, 1000])
def test_save_load_round_trip(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray, np.ndarray], threshold: int
) -> None:
    xb, ids, xq = data
    idx = DenseIndex.build(ids, xb, VERSION, exact_threshold=threshold, nprobe=8)
    idx.remove(ids[:10])
    path = tmp_path / "dense.faiss"
    idx.save(path)
    back = DenseIndex.load(path, VERSION)
    assert back.kind == idx.kind
    assert back.nprobe == 8
    assert len(back) == len(idx)
    s1, i1 = idx.search(xq, 10)
    s2, i2 = back.search(xq, 10)
    np.testing.assert_array_equal(i1, i2)
    # the loaded index still updates
    back.remove(ids[10:11])
    assert int(ids[10]) not in back


def test_load_refuses_corrupt_truncated_and_foreign_files(
    tmp_path: Path, data: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    xb, ids, _ = data
    idx = DenseIndex.build(ids[:500], xb[:500], VERSION)
    path = tmp_path / "dense.faiss"
    idx.save(path)
    raw = path.read_bytes()

    with pytest.raises(IncompatibleIndexError):
        DenseIndex.load(path, ModelVersion("fake", D, "ffffffffffffffff"))
    with pytest.raises(IncompatibleIndexError):
        DenseIndex.load(path, ModelVersion("other", D, VERSION.digest))
    with pytest.raises(IncompatibleIndexError):
        DenseIndex.load(path, ModelVersion("fake", 2 * D, VERSION.digest))

    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptIndexError, match="truncated"):
        DenseIndex.load(path, VERSION)

    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(flipped))
    with pytest.raises(CorruptIndexError, match="checksum"):
        DenseIndex.load(path, VERSION)

    path.write_bytes(raw)
    DenseIndex.load(path, VERSION)  # intact again
    sidecar_path(path).write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptIndexError):
        DenseIndex.load(path, VERSION)
    sidecar_path(path).unlink()
    with pytest.raises(CorruptIndexError):
        DenseIndex.load(path, VERSION)

    # a FAISS file that is not ours (no sidecar) and a missing file
    other = tmp_path / "other.faiss"
    faiss.write_index(faiss.IndexFlatL2(D), str(other))
    with pytest.raises(CorruptIndexError):
        DenseIndex.load(other, VERSION)
    with pytest.raises(CorruptIndexError):
        DenseIndex.load(tmp_path / "missing.faiss", VERSION)


def test_needs_rebuild_and_rebuilt(data: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    xb, ids, xq = data
    idx = DenseIndex.build(ids[:2000], xb[:2000], VERSION, exact_threshold=1000)
    assert idx.kind == "ivf"
    assert not idx.needs_rebuild
    idx.remove(ids[:1600])
    assert idx.needs_rebuild
    small = idx.rebuilt()
    assert small.kind == "exact"
    assert set(small.ids.tolist()) == set(ids[1600:2000].tolist())


def test_vector_bytes_round_trip() -> None:
    x = np.random.default_rng(0).standard_normal((3, D)).astype(np.float32)
    blobs = vectors_to_bytes(x)
    assert len(blobs) == 3
    assert all(len(b) == 4 * D for b in blobs)
    np.testing.assert_array_equal(vectors_from_bytes(blobs, D), x)
    with pytest.raises(ValueError, match="dimension"):
        vectors_from_bytes(blobs, D + 1)


def test_build_takes_unit_vectors_as_they_are_and_normalises_others() -> None:
    rng = np.random.default_rng(3)
    raw = rng.standard_normal((50, 8)).astype(np.float32) * 3
    unit = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    version = ModelVersion("t", 8, "0")
    for given in (raw, unit):
        idx = DenseIndex.build(np.arange(50), given, version)
        np.testing.assert_allclose(idx.vectors_for(np.arange(50)), unit, atol=1e-6)
        scores, ids = idx.search(unit[7], 1)
        assert ids[0, 0] == 7
        assert abs(scores[0, 0] - 1.0) < 1e-5


@pytest.mark.parametrize("n_replaced", [1, 100])  # one path per id, and the sorted path
def test_replacing_in_the_exact_index_writes_in_place_and_equals_a_fresh_build(
    data: tuple[np.ndarray, np.ndarray, np.ndarray], n_replaced: int
) -> None:
    """An edited profile's vector is overwritten where it is stored (no removal, which moves
    every later vector); the result is the index a fresh build of the same vectors gives."""
    xb, ids, queries = data
    idx = DenseIndex.build(ids[:3000], xb[:3000], VERSION)
    rng = np.random.default_rng(7)
    picked = rng.choice(3000, n_replaced, replace=False)
    new = unit(rng, n_replaced)
    added = ids[3000:3003]
    idx.add(np.concatenate([ids[picked], added]), np.vstack([new, xb[3000:3003]]))
    assert len(idx) == 3003
    # in place: every id keeps its position (a removal would have moved the replaced to the end)
    np.testing.assert_array_equal(faiss.vector_to_array(idx._index.id_map), ids[:3003])
    expected = xb[:3003].copy()
    expected[picked] = new
    fresh = DenseIndex.build(ids[:3003], expected, VERSION)
    np.testing.assert_allclose(idx.vectors_for(ids[:3003]), expected, rtol=1e-6, atol=1e-7)
    d1, i1 = idx.search(queries[:20], 10)
    d2, i2 = fresh.search(queries[:20], 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-5)


@pytest.mark.parametrize("threshold", [10**6, 4])
def test_holds_answers_for_many_ids_at_once(threshold: int) -> None:
    # database ids in a bitmap, others (here 7e10 and a negative one) in a set; kept in step
    # by add, replace and remove, on exact and IVF alike
    rng = np.random.default_rng(3)
    ids = np.array([3, 70_000_000_000, 5, 9, 11, 12, 13, 14], dtype=np.int64)
    xb = rng.standard_normal((len(ids), D)).astype(np.float32)
    idx = DenseIndex.build(ids, xb, VERSION, exact_threshold=threshold, nlist=2)
    ask = np.array([3, 4, 5, 70_000_000_000, -1, 1 << 30], dtype=np.int64)
    assert idx.holds(ask).tolist() == [True, False, True, True, False, False]
    idx.remove([3, 70_000_000_000])
    assert idx.holds(ask).tolist() == [False, False, True, False, False, False]
    idx.add([-1, 5], xb[:2])  # -1 new, 5 replaced
    assert idx.holds(ask).tolist() == [False, False, True, False, True, False]
    assert 5 in idx
    assert 3 not in idx
    vecs = idx.vectors_for([4, 5, -1])
    assert not vecs[0].any()
    np.testing.assert_allclose(vecs[1], xb[1] / np.linalg.norm(xb[1]), atol=1e-6)
    np.testing.assert_allclose(vecs[2], xb[0] / np.linalg.norm(xb[0]), atol=1e-6)
