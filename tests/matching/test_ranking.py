from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matching.corpus import ProfileCorpus
from matching.fusion import FusionWeights, compute_signals, fuse, normalise
from matching.index import DenseIndex
from matching.lexical import LexicalIndex
from matching.scoring import page_to_matches
from matching.table import ProfileTable
from matching.tokenizer import ChineseTokenizer
from matching.types import CountyInfo, Match, MatchFilters, NeedDoc, ProfileDoc, Query

from .test_index import VERSION

D = VERSION.dim
TONGYU = "220822"  # 通榆县, 白城市, west
ZHENLAI = "220821"  # 镇赉县, 白城市
CHANGLING = "220722"  # 长岭县, 松原市, west
ANTU = "222426"  # 安图县, 延边, east


def axis(i: int, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    v = np.zeros(D, np.float32)
    v[i] = 1.0
    if noise:
        v += noise * np.random.default_rng(seed).standard_normal(D).astype(np.float32)
    return v / np.linalg.norm(v)


def profile(pid: int, **kw: object) -> ProfileDoc:
    base = ProfileDoc(
        id=pid,
        kind="expert",
        name=f"专家{pid}",
        affiliation="吉林农业大学",
        title="研究员",
        fields=("盐碱地改良",),
        expertise="长期从事苏打盐渍土改良。在通榆推广水稻耐盐栽培。",
        availability="part_time",
        preferred_regions=(),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


class World:
    """Profiles, their vectors and tokens, and the corpus of the three structures built from them."""

    def __init__(self, items: list[tuple[ProfileDoc, np.ndarray, list[str]]]) -> None:
        self.profiles = {p.id: p for p, _, _ in items}
        live = [(p, v, t) for p, v, t in items if p.active]
        self.dense = DenseIndex.build(
            [p.id for p, _, _ in live], np.stack([v for _, v, _ in live]), VERSION
        )
        self.lexical = LexicalIndex.build([p.id for p, _, _ in live], [t for _, _, t in live])
        self.table = ProfileTable.build(self.profiles.values())
        self.corpus = ProfileCorpus(self.dense, self.lexical, self.table)

    def matches(self, query: Query, counties: dict[str, CountyInfo], **kw: object) -> list[Match]:
        """The corpus's page for ``query`` with its reasons, as the service writes them."""
        page = self.corpus.search(query, counties=counties, **kw)  # type: ignore[arg-type]
        return page_to_matches(page, profiles=self.profiles, counties=counties)

    def rank(
        self,
        need: NeedDoc,
        vec: np.ndarray,
        toks: list[str],
        counties: dict[str, CountyInfo],
        **kw: object,
    ) -> list[int]:
        ms = self.matches(Query.for_need(need, vec, toks), counties, **kw)
        assert [m.rank for m in ms] == list(range(1, len(ms) + 1))
        assert all(a.score >= b.score for a, b in zip(ms, ms[1:], strict=False))
        return [m.profile_id for m in ms]


SALINE = ["盐碱地", "改良", "水稻"]


def need(program: str = "return_home", county: str = TONGYU) -> NeedDoc:
    return NeedDoc(
        id=1,
        county_code=county,
        program=program,  # type: ignore[arg-type]
        title="盐碱地改良",
        description="碱巴拉地返碱死苗，需要盐碱地改良和水稻种植的能人",
        industry="种植业",
    )


def equal_world(**overrides: dict[str, object]) -> World:
    """Five equally able profiles (same vector, same tokens) that differ in one attribute."""
    items = []
    for pid in range(1, 6):
        kw = overrides.get(str(pid), {})
        items.append((profile(pid, **kw), axis(0), list(SALINE)))
    # a clearly weaker, unrelated profile
    items.append((profile(9, fields=("梅花鹿",), expertise="梅花鹿养殖"), axis(5), ["梅花鹿"]))
    return World(items)


def test_hometown_beats_equal_stranger_and_prefecture_is_second(
    counties: dict[str, CountyInfo],
) -> None:
    w = equal_world(
        **{
            "4": {"hometown_county_code": ZHENLAI},  # same prefecture (白城市)
            "5": {"hometown_county_code": TONGYU},  # the county itself
            "2": {"hometown_county_code": ANTU},  # elsewhere
        }
    )
    order = w.rank(need(), axis(0), SALINE, counties)
    assert order[:2] == [5, 4]
    assert order[-1] == 9
    # science-commissioner needs do not weigh the hometown by default
    order_sc = w.rank(need("science_commissioner"), axis(0), SALINE, counties)
    assert order_sc[:5] == [1, 2, 3, 4, 5]  # ties broken by id


def test_hometown_does_not_outweigh_a_clearly_better_fit(counties: dict[str, CountyInfo]) -> None:
    w = World(
        [
            (profile(1), axis(0), list(SALINE)),
            (
                profile(2, hometown_county_code=TONGYU, fields=("梅花鹿",), expertise="梅花鹿养殖"),
                axis(5),
                ["梅花鹿", "养殖"],
            ),
            (profile(3, fields=("人参",), expertise="人参种植"), axis(6), ["人参"]),
        ]
    )
    assert w.rank(need(), axis(0), SALINE, counties)[0] == 1


def test_natives_enter_the_pool_outside_both_top_lists(counties: dict[str, CountyInfo]) -> None:
    rich = [*SALINE, "盐碱地", "水稻"]
    w = World(
        [
            (profile(1), axis(0), list(SALINE)),  # the best strangers by vector
            (profile(2), axis(0, 0.02, 1), list(SALINE)),
            (profile(3, hometown_county_code=TONGYU), axis(0, 0.05, 2), list(SALINE)),  # a native
            (profile(7), axis(5), rich),  # the best strangers by words
            (profile(8), axis(6), rich),
        ]
    )
    small = FusionWeights(pool=2)
    order = w.rank(need("return_home"), axis(0), SALINE, counties, weights=small)
    assert order[0] == 3
    # other programmes do not pull natives in
    order_sc = w.rank(need("science_commissioner"), axis(0), SALINE, counties, weights=small)
    assert 3 not in order_sc


def test_region_and_availability_break_ties(counties: dict[str, CountyInfo]) -> None:
    w = equal_world(
        **{
            "1": {"preferred_regions": ("east",)},  # listed regions exclude the west
            "2": {"preferred_regions": ("west",)},
            "3": {"availability": "remote"},
            "4": {"availability": "full_time"},
        }
    )
    order = w.rank(need("return_home"), axis(0), SALINE, counties)
    assert order.index(2) < order.index(5)  # region fits
    assert order.index(4) < order.index(5)  # full time beats part time
    assert order.index(5) < order.index(3)  # part time beats remote
    assert order.index(5) < order.index(1)  # a listed region that excludes the county
    # science-commissioner needs: region still counts, availability does not by default
    order = w.rank(need("science_commissioner"), axis(0), SALINE, counties)
    assert order[0] == 2
    assert order.index(3) < order.index(4) < order.index(5) < order.index(1)


def test_a_science_commissioner_need_prefers_whom_the_programme_sends(
    counties: dict[str, CountyInfo],
) -> None:
    # Same text, same vector: the returnee and the entrepreneur come after the expert, the
    # researcher and the team on a 科技特派员 need, and count alike on a 三乡工程 need.
    w = equal_world(
        **{
            "1": {"kind": "returnee"},
            "2": {"kind": "entrepreneur"},
            "3": {"kind": "team"},
            "4": {"kind": "researcher"},
        }
    )
    assert w.rank(need("science_commissioner"), axis(0), SALINE, counties)[:5] == [3, 4, 5, 1, 2]
    assert w.rank(need("return_home"), axis(0), SALINE, counties)[:5] == [1, 2, 3, 4, 5]
    sc = {
        m.profile_id: m
        for m in w.matches(Query.for_need(need("science_commissioner"), axis(0), SALINE), counties)
    }
    assert sc[1].components["programme"] == -1.0
    assert sc[5].components["programme"] == 0.0
    assert sc[5].score - sc[1].score == pytest.approx(FusionWeights().programme)
    # a clearly better fit still comes first, whoever the person is
    strong = World(
        [
            (profile(1, kind="returnee"), axis(0), [*SALINE, "盐碱地", "改良"]),
            (profile(2, fields=("梅花鹿",), expertise="梅花鹿养殖"), axis(5), ["梅花鹿"]),
        ]
    )
    assert strong.rank(need("science_commissioner"), axis(0), SALINE, counties)[0] == 1


def test_inactive_excluded_and_filters(counties: dict[str, CountyInfo]) -> None:
    w = equal_world(
        **{
            "1": {"active": False},
            "2": {"kind": "team", "availability": "full_time"},
            "3": {"kind": "team"},
        }
    )
    order = w.rank(need(), axis(0), SALINE, counties, limit=10)
    assert 1 not in order
    assert set(order) == {2, 3, 4, 5, 9}
    only_teams = w.rank(
        need(), axis(0), SALINE, counties, filters=MatchFilters(kinds=frozenset({"team"}))
    )
    assert only_teams == [2, 3]
    full_time_teams = w.rank(
        need(),
        axis(0),
        SALINE,
        counties,
        filters=MatchFilters(kinds=frozenset({"team"}), availabilities=frozenset({"full_time"})),
    )
    assert full_time_teams == [2]
    no_capacity = w.rank(
        need(), axis(0), SALINE, counties, filters=MatchFilters(exclude_ids=frozenset({2, 4}))
    )
    assert set(no_capacity) == {3, 5, 9}
    # a profile deactivated in the table but still in the indexes is never returned either
    w.table.upsert(replace(w.profiles[5], active=False))
    assert 5 not in w.rank(need(), axis(0), SALINE, counties)


def test_lexical_only_and_dense_only_candidates_both_surface(
    counties: dict[str, CountyInfo],
) -> None:
    w = World(
        [
            (profile(1), axis(0), ["梅花鹿"]),  # dense match, no shared term
            (profile(2), axis(7), list(SALINE)),  # lexical match, unrelated vector
            (profile(3), axis(8), ["人参"]),
        ]
    )
    ms = w.matches(Query.for_need(need(), axis(0), SALINE), counties, weights=FusionWeights(pool=1))
    ids = [m.profile_id for m in ms]
    assert set(ids[:2]) == {1, 2}
    by_id = {m.profile_id: m for m in ms}
    assert by_id[1].components["bm25"] == 0
    assert by_id[2].components["bm25"] > 0
    assert by_id[1].components["dense_cosine"] == pytest.approx(1.0)
    assert {"dense", "lexical", "hometown", "region", "availability"} <= set(by_id[1].components)


def test_match_carries_reasons(counties: dict[str, CountyInfo]) -> None:
    w = equal_world(**{"5": {"hometown_county_code": TONGYU, "preferred_regions": ("west",)}})
    page = w.corpus.search(Query.for_need(need(), axis(0), SALINE), counties=counties, limit=1)
    assert page.ids == [5]
    # only the shown profiles are needed to write the reasons
    ms = page_to_matches(page, profiles={5: w.profiles[5]}, counties=counties)
    assert ms[0].profile_id == 5
    reasons = ms[0].reasons
    assert reasons[0] == "籍贯为本县"
    assert any(r.startswith("匹配关键词：") and "盐碱地" in r for r in reasons)
    assert any(r.startswith("最相关经历：") and "苏打盐渍土" in r for r in reasons)
    assert "意向服务西部地区" in reasons


def test_free_text_search_without_county(counties: dict[str, CountyInfo]) -> None:
    w = equal_world(**{"5": {"hometown_county_code": TONGYU}})
    ms = w.matches(Query("盐碱地改良", axis(0), SALINE), counties)
    assert [m.profile_id for m in ms][:5] == [1, 2, 3, 4, 5]  # no hometown bonus without a county
    assert all(m.components["hometown"] == 0 for m in ms)


def test_rank_needs_for_profile(counties: dict[str, CountyInfo]) -> None:
    w = equal_world()
    me = profile(1, hometown_county_code=TONGYU)
    needs = [
        replace(need(), id=10, county_code=CHANGLING),
        replace(need(), id=11, county_code=TONGYU),
        replace(need(), id=12, county_code=ZHENLAI),
        replace(need(), id=13, title="梅花鹿", description="梅花鹿养殖"),
    ]
    vecs = np.stack([axis(0), axis(0), axis(0), axis(5)])
    toks = [SALINE, SALINE, SALINE, ["梅花鹿", "养殖"]]
    weights = FusionWeights()
    ms = w.corpus.needs_for_profile(
        me, axis(0), SALINE, needs, vecs, toks, counties=counties, weights=weights
    )
    assert [m.need_id for m in ms] == [11, 12, 10, 13]
    assert ms[0].reasons[0] == "籍贯为本县"
    assert ms[1].reasons[0] == "籍贯同属白城市"
    # a returnee sees a 三乡工程 need before an equal 科技特派员 need; an expert sees them alike
    sc_need = replace(need("science_commissioner"), id=14, county_code=CHANGLING)
    pair = [replace(need(), id=15, county_code=CHANGLING), sc_need]
    both = np.stack([axis(0), axis(0)])
    for kind, first in (("returnee", 15), ("expert", 14)):
        got = w.corpus.needs_for_profile(
            replace(me, kind=kind),
            axis(0),
            SALINE,
            pair,
            both,
            [SALINE, SALINE],
            counties=counties,
            weights=FusionWeights(region=0.0, availability_return_home=0.0),
        )
        assert got[0].need_id == first, kind
    assert (
        w.corpus.needs_for_profile(
            replace(me, active=False),
            axis(0),
            SALINE,
            needs,
            vecs,
            toks,
            counties=counties,
            weights=weights,
        )
        == []
    )


def test_normalise() -> None:
    x = np.array([0.83, 0.91, 0.87])
    np.testing.assert_allclose(normalise(x, "minmax"), [0.0, 1.0, 0.5])
    np.testing.assert_allclose(normalise(x, "max"), x / 0.91)
    z = normalise(x, "zscore")
    assert z.mean() == pytest.approx(0.0)
    assert z.std() == pytest.approx(1.0)
    r = normalise(x, "rrf", rrf_k=60)
    np.testing.assert_allclose(r, [61 / 63, 1.0, 61 / 62])
    np.testing.assert_array_equal(normalise(np.array([2.0, 2.0]), "minmax"), [0.0, 0.0])
    with pytest.raises(ValueError, match="unknown"):
        normalise(x, "softmax")
    with pytest.raises(ValueError, match="norm"):
        FusionWeights(norm="softmax")


def test_signals(counties: dict[str, CountyInfo]) -> None:
    t = ProfileTable.build(
        [
            profile(
                1,
                hometown_county_code=TONGYU,
                preferred_regions=("west",),
                availability="full_time",
            ),
            profile(2, hometown_county_code=ZHENLAI, preferred_regions=("east", "central")),
            profile(3, hometown_county_code=None, availability="remote"),
        ]
    )
    s = compute_signals(t.attributes([1, 2, 3, 99]), TONGYU, counties)
    np.testing.assert_array_equal(s.hometown, [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(s.region, [1.0, -1.0, 0.0, 0.0])
    np.testing.assert_array_equal(s.availability, [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(s.programme, [0.0, 0.0, 0.0, 0.0])
    kinds = ProfileTable.build(
        [profile(i, kind=k) for i, k in enumerate(("returnee", "entrepreneur", "team"), 1)]
    )
    k = compute_signals(kinds.attributes([1, 2, 3, 99]), TONGYU, counties)
    np.testing.assert_array_equal(k.programme, [-1.0, -1.0, 0.0, 0.0])
    k = compute_signals(kinds.attributes([1, 3]), None, counties)  # no county: still known
    np.testing.assert_array_equal(k.programme, [-1.0, 0.0])
    total, comps = fuse([0.9, 0.9, 0.9, 0.9], [1.0, 1.0, 1.0, 1.0], s, FusionWeights(), True)
    assert total[0] > total[1] > total[2]
    assert set(comps) >= {"dense", "lexical", "hometown", "region", "availability", "programme"}


def test_encoded_need_and_free_text_through_the_corpus(
    counties: dict[str, CountyInfo], tokenizer: ChineseTokenizer
) -> None:
    """The service's recipe: a need's dense text encoded as a query and its expanded tokens; a
    free text encoded as it is and tokenised with synonym expansion."""
    from matching.text import need_dense_text, need_tokens

    from .test_text import FakeEncoder

    w = World(
        [
            (
                profile(1, fields=("梅花鹿",), expertise="梅花鹿养殖与鹿茸加工"),
                axis(5),
                ["梅花鹿", "鹿茸"],
            ),
            (profile(2), axis(0), list(SALINE)),
        ]
    )
    enc = FakeEncoder(dim=D)
    deer = replace(need("science_commissioner"), title="梅花鹿", description="鹿场的梅花鹿不长茸")
    vec = enc.encode_queries([need_dense_text(deer)])[0]
    ms = w.matches(Query.for_need(deer, vec, need_tokens(deer, tokenizer)), counties)
    by_id = {m.profile_id: m for m in ms}
    assert by_id[1].components["bm25"] > 0
    assert by_id[2].components["bm25"] == 0
    assert enc.calls[0] == [
        "梅花鹿；种植业；鹿场的梅花鹿不长茸"
    ]  # need_dense_text, encoded as a query
    text = "碱巴拉地"
    query = Query(text, enc.encode_queries([text])[0], tokenizer.tokenize_query(text))
    by_id = {m.profile_id: m for m in w.matches(query, counties)}
    assert by_id[2].components["bm25"] > 0  # 碱巴拉地 reaches 盐碱地 through the synonyms


def test_minmax_keeps_a_float_noise_tie_tied() -> None:
    # The same text encoded twice gives cosines equal up to ~1e-8: still a tie after scaling,
    # so that the programme signals (hometown, region) decide, not float noise.
    tied = np.array([0.49110001, 0.49110003, 0.49110002])
    for method in ("minmax", "zscore"):
        assert np.allclose(normalise(tied, method), 0.0)
    spread = normalise(np.array([0.2, 0.5, 0.8]), "minmax")
    assert np.allclose(spread, [0.0, 0.5, 1.0])
