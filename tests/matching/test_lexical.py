from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from matching.lexical import BM25Params, LexicalIndex
from matching.persist import CorruptIndexError, IncompatibleIndexError

CORPUS = {
    11: "苏打盐渍土改良 水稻 耐盐 栽培 盐碱地 水稻".split(),
    12: "梅花鹿 养殖 鹿茸 加工".split(),
    13: "黑木耳 菌包 林下 种植 木耳".split(),
    14: "水稻 育种 稻瘟病 防治".split(),
    15: "玉米 保护性耕作 秸秆还田 黑土地 玉米 玉米".split(),
    16: "人参 林下参 种植 栽培".split(),
}


def reference_bm25(
    docs: dict[int, list[str]], query: list[str], k1: float = 1.2, b: float = 0.75
) -> dict[int, float]:
    """Textbook Okapi BM25 with Lucene's idf, one document at a time."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs.values()) / n
    df: Counter[str] = Counter()
    for d in docs.values():
        df.update(set(d))
    out = {}
    for doc_id, d in docs.items():
        tf = Counter(d)
        s = 0.0
        for t in set(query):
            if tf[t] == 0:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            s += idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(d) / avgdl))
        out[doc_id] = s
    return out


QUERIES = [
    ["水稻", "盐碱地"],
    ["玉米", "黑土地", "水稻"],
    ["种植", "栽培", "林下"],
    ["梅花鹿"],
    ["不存在的词"],
]


@pytest.mark.parametrize("query", QUERIES)
def test_bm25_matches_reference(query: list[str]) -> None:
    idx = LexicalIndex.build(list(CORPUS), list(CORPUS.values()))
    ref = reference_bm25(CORPUS, query)
    got = idx.scores_for(query, list(CORPUS))
    np.testing.assert_allclose(got, [ref[i] for i in CORPUS], rtol=1e-5, atol=1e-6)


def test_bm25_params_are_used() -> None:
    idx = LexicalIndex.build(list(CORPUS), list(CORPUS.values()), params=BM25Params(k1=2.0, b=0.3))
    ref = reference_bm25(CORPUS, ["玉米", "水稻"], k1=2.0, b=0.3)
    np.testing.assert_allclose(
        idx.scores_for(["玉米", "水稻"], list(CORPUS)), [ref[i] for i in CORPUS], rtol=1e-5
    )


def test_search_orders_and_filters() -> None:
    idx = LexicalIndex.build(list(CORPUS), list(CORPUS.values()))
    ids, scores = idx.search(["水稻"], 10)
    assert set(ids.tolist()) == {11, 14}
    assert scores[0] >= scores[1]
    assert ids[0] == 11  # tf 2 beats tf 1 at similar length
    ids, _ = idx.search(["水稻"], 10, exclude_ids=[11])
    assert ids.tolist() == [14]
    ids, _ = idx.search(["水稻", "种植"], 10, allowed_ids=np.array([13, 14]))
    assert set(ids.tolist()) == {13, 14}
    ids, _ = idx.search(["水稻", "种植", "梅花鹿"], 2)
    assert len(ids) == 2


def _scores_by_id(idx: LexicalIndex, query: list[str], ids: list[int]) -> dict[int, float]:
    return dict(zip(ids, idx.scores_for(query, ids).tolist(), strict=True))


@pytest.mark.parametrize("min_merge", [1, 1000])
def test_incremental_updates_equal_full_rebuild(min_merge: int) -> None:
    rng = np.random.default_rng(7)
    vocab = [f"词{i}" for i in range(40)]
    docs = {i: list(rng.choice(vocab, rng.integers(3, 15))) for i in range(1, 61)}
    inc = LexicalIndex.build(list(range(1, 31)), [docs[i] for i in range(1, 31)])
    inc.min_merge_rows = min_merge
    inc.merge_fraction = 0.0
    current = {i: docs[i] for i in range(1, 31)}
    for i in range(31, 61):  # additions
        inc.add(i, docs[i])
        current[i] = docs[i]
    for i in range(1, 61, 4):  # replacements
        new = list(rng.choice(vocab, 6)) + ["新词"]
        inc.add(i, new)
        current[i] = new
    for i in range(2, 61, 7):  # removals
        assert inc.remove(i)
        del current[i]
    assert not inc.remove(9999)
    full = LexicalIndex.build(list(current), list(current.values()))
    assert len(inc) == len(full) == len(current)
    assert set(inc.ids.tolist()) == set(current)
    all_ids = list(range(1, 61))
    for q in (["词1", "词2"], ["新词", "词5", "词5"], vocab[:10]):
        a = _scores_by_id(inc, q, all_ids)
        b = _scores_by_id(full, q, all_ids)
        for i in all_ids:
            assert a[i] == pytest.approx(b[i], rel=1e-5, abs=1e-6)
        assert all(a[i] == 0 for i in all_ids if i not in current)
        ref = reference_bm25(current, q)
        for i in current:
            assert a[i] == pytest.approx(ref[i], rel=1e-5, abs=1e-6)


def test_removed_document_is_never_found() -> None:
    idx = LexicalIndex.build(list(CORPUS), list(CORPUS.values()))
    idx.remove(12)
    ids, _ = idx.search(["梅花鹿", "鹿茸"], 10)
    assert 12 not in ids.tolist()
    idx.compact()
    ids, _ = idx.search(["梅花鹿", "鹿茸"], 10)
    assert ids.tolist() == []
    idx.add(12, ["梅花鹿"])
    ids, _ = idx.search(["梅花鹿", "鹿茸"], 10)
    assert ids.tolist() == [12]


def test_matched_terms_and_doc_weights() -> None:
    idx = LexicalIndex.build(list(CORPUS), list(CORPUS.values()))
    idx.add(17, ["盐碱地", "水稻", "大豆"])
    terms = idx.matched_terms(["水稻", "盐碱地", "鹿茸"], [11, 17, 12, 999])
    assert set(terms[0]) == {"水稻", "盐碱地"}
    assert set(terms[1]) == {"水稻", "盐碱地"}
    assert terms[2] == ["鹿茸"]
    assert terms[3] == []
    # summing a document's term weights over a query's terms reproduces its BM25 score
    w = idx.doc_term_weights(CORPUS[15])
    q = ["玉米", "黑土地", "水稻"]
    assert sum(w.get(t, 0.0) for t in set(q)) == pytest.approx(
        float(idx.scores_for(q, [15])[0]), rel=1e-5
    )


def test_save_load_round_trip(tmp_path: Path) -> None:
    idx = LexicalIndex.build(list(CORPUS), list(CORPUS.values()), tokenizer_version="tok-1")
    idx.add(20, ["梅花鹿", "新词"])
    idx.remove(13)
    path = tmp_path / "lex.bin"
    idx.save(path)
    back = LexicalIndex.load(path, "tok-1")
    assert set(back.ids.tolist()) == set(idx.ids.tolist())
    for q in QUERIES + [["新词", "梅花鹿"]]:
        np.testing.assert_allclose(
            back.scores_for(q, list(range(10, 21))), idx.scores_for(q, list(range(10, 21)))
        )


def test_load_refuses_bad_files(tmp_path: Path) -> None:
    idx = LexicalIndex.build(list(CORPUS), list(CORPUS.values()), tokenizer_version="tok-1")
    path = tmp_path / "lex.bin"
    idx.save(path)
    with pytest.raises(IncompatibleIndexError):
        LexicalIndex.load(path, "tok-2")
    data = path.read_bytes()
    (tmp_path / "trunc.bin").write_bytes(data[: len(data) - 10])
    with pytest.raises(CorruptIndexError):
        LexicalIndex.load(tmp_path / "trunc.bin", "tok-1")
    flipped = bytearray(data)
    flipped[-5] ^= 0xFF
    (tmp_path / "flip.bin").write_bytes(bytes(flipped))
    with pytest.raises(CorruptIndexError):
        LexicalIndex.load(tmp_path / "flip.bin", "tok-1")
    (tmp_path / "foreign.bin").write_bytes(b"PK\x03\x04 not ours at all")
    with pytest.raises(CorruptIndexError):
        LexicalIndex.load(tmp_path / "foreign.bin", "tok-1")
    with pytest.raises(CorruptIndexError):
        LexicalIndex.load(tmp_path / "missing.bin", "tok-1")


@pytest.mark.parametrize("offset", [0, 10**12])
def test_isin_ids_both_paths(offset: int) -> None:
    from matching.lexical import isin_ids

    values = np.array([1, 5, 7, 9, 12], dtype=np.int64) + offset
    allowed = np.array([5, 9, 100], dtype=np.int64) + offset
    assert isin_ids(values, allowed).tolist() == [False, True, False, True, False]
    assert isin_ids(values[:0], allowed).tolist() == []
    assert isin_ids(values, allowed[:0]).tolist() == [False] * 5


def test_idf_and_doc_share_of_a_term_list_follow_the_definitions_after_edits() -> None:
    # known, unknown and repeated terms in any order; the statistics after an add and a removal
    # (a term whose every holder was removed stays known, with df 0)
    idx = LexicalIndex.build(list(CORPUS), list(CORPUS.values()))
    idx.add(17, "水稻 新词 盐碱地".split())
    idx.remove(12)
    docs = {k: v for k, v in CORPUS.items() if k != 12} | {17: "水稻 新词 盐碱地".split()}
    terms = ["水稻", "不存在", "新词", "水稻", "梅花鹿", "盐碱地", ""]
    n = len(docs)
    df = {t: sum(t in d for d in docs.values()) for t in terms}
    unknown = {"不存在", ""}
    expected_idf = [
        0.0 if t in unknown else math.log1p((n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms
    ]
    assert idx.idf(terms).tolist() == pytest.approx(expected_idf, rel=1e-6)
    assert idx.idf(terms).dtype == np.float32
    assert idx.doc_share(terms).tolist() == [df[t] / n for t in terms]
    assert idx.idf([]).shape == (0,)
    assert idx.doc_share([]).shape == (0,)
    assert LexicalIndex().doc_share(["水稻"]).tolist() == [0.0]


def test_a_long_delta_reads_as_its_merged_matrix() -> None:
    """Rows added since the last merge are read in place (their arrays grown past their first
    size: 300 rows, ~9,000 entries): the same scores to the bit and the same matched terms as
    after merging them."""
    rng = np.random.default_rng(11)
    vocab = [f"词{i}" for i in range(400)]
    idx = LexicalIndex.build(list(range(1, 51)), [list(rng.choice(vocab, 30)) for _ in range(50)])
    idx.min_merge_rows = 10**6
    for i in range(1, 351):  # 50 replacements, then 300 new rows
        idx.add(i, list(rng.choice(vocab, 30)) + [f"新{i % 7}"])
    assert len(idx._delta) == 350
    queries = [list(rng.choice(vocab, 8)) + ["新3"] for _ in range(5)]
    page = list(range(1, 351, 9))
    before = [idx.row_scores(q)[idx._rows_of(np.arange(1, 351))] for q in queries]
    terms_before = [idx.matched_terms(q, page) for q in queries]
    idx.compact()
    assert len(idx._delta) == 0
    for q, scores, terms in zip(queries, before, terms_before, strict=True):
        after = idx.row_scores(q)[idx._rows_of(np.arange(1, 351))]
        assert np.array_equal(scores, after)
        assert idx.matched_terms(q, page) == terms
