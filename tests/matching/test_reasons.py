from __future__ import annotations

from matching.problems import ProblemMap, load_problems
from matching.reasons import (
    best_sentence,
    build_reasons,
    display_terms,
    hometown_note,
    problem_note,
)
from matching.types import CountyInfo, ProfileDoc

P = ProfileDoc(
    id=1,
    kind="researcher",
    name="李",
    affiliation="吉林省农业科学院",
    title="研究员",
    fields=("盐碱地改良", "水稻"),
    expertise="主要研究玉米高产栽培。长期从事苏打盐渍土改良与水稻耐盐栽培；在白城推广三万亩。",
    achievements="获省科技进步一等奖。",
    hometown_county_code="220821",
    availability="full_time",
    preferred_regions=("west",),
)


def test_display_terms_drops_contained_terms_and_keeps_order() -> None:
    assert display_terms(["盐碱", "盐碱地", "水稻", "碱地", "苏打盐渍土"]) == [
        "盐碱地",
        "水稻",
        "苏打盐渍土",
    ]
    assert display_terms([f"词{i}" for i in range(9)], limit=3) == ["词0", "词1", "词2"]


def test_informative_terms_drop_common_words() -> None:
    from matching.reasons import informative_terms

    assert informative_terms(["盐碱", "利用", "西部"], [4.0, 1.2, 1.7]) == ["盐碱", "西部"]
    assert informative_terms(["鱼苗", "水产"], [1.5, 1.2]) == ["鱼苗", "水产"]
    assert informative_terms(["利用"], [0.1]) == ["利用"]
    assert informative_terms([], []) == []


def test_best_sentence_prefers_specific_terms() -> None:
    sents = ["主要研究玉米高产栽培", "长期从事苏打盐渍土改良与水稻耐盐栽培"]
    assert best_sentence(sents, ["苏打盐渍土", "栽培"], [5.0, 0.5], "") == sents[1]
    assert best_sentence(sents, ["玉米", "栽培"], [3.0, 0.5], "") == sents[0]
    # no term: fall back to shared character bigrams with the need
    assert best_sentence(sents, [], [], "碱地盐渍化，死苗") == sents[1]
    assert best_sentence([], ["玉米"], [1.0], "") is None
    long = "很" * 100
    out = best_sentence([long], ["很"], [1.0], "")
    assert out is not None
    assert len(out) == 60
    assert out.endswith("…")


def test_hometown_note(counties: dict[str, CountyInfo]) -> None:
    assert hometown_note("220822", "220822", counties) == "籍贯为本县"
    assert hometown_note("220821", "220822", counties) == "籍贯同属白城市"
    assert hometown_note("222426", "220822", counties) is None
    assert hometown_note(None, "220822", counties) is None


def test_build_reasons(counties: dict[str, CountyInfo]) -> None:
    r = build_reasons(
        P,
        county_code="220822",
        program="return_home",
        counties=counties,
        matched_terms=["苏打盐渍土", "水稻", "盐渍"],
        term_weights=[4.0, 2.0, 2.5],
        need_text="碱巴拉地返碱",
        dense_strength=0.9,
        remaining_capacity=2,
    )
    assert r[0] == "籍贯同属白城市"
    assert r[1] == "匹配关键词：苏打盐渍土、水稻"
    assert r[2] == "最相关经历：长期从事苏打盐渍土改良与水稻耐盐栽培"
    assert "意向服务西部地区" in r
    assert "可全职服务" in r
    assert "尚可承接2项服务" in r
    # a purely semantic match says so; science-commissioner needs put the hometown last
    r2 = build_reasons(
        P,
        county_code="220822",
        program="science_commissioner",
        counties=counties,
        matched_terms=[],
        term_weights=[],
        need_text="碱巴拉地返碱死苗",
        dense_strength=0.95,
        remaining_capacity=0,
    )
    assert r2[0] == "语义相近（无共同关键词）"
    assert r2.index("籍贯同属白城市") > 0
    assert "服务名额已满" in r2


def test_generic_and_common_terms_are_not_offered_as_reasons() -> None:
    from matching.reasons import MAX_REASON_SHARE, generic_terms, telling_terms

    assert {"万亩", "品种", "培训班", "乡镇"} <= generic_terms()
    terms = ["碱巴拉地", "万亩", "水稻", "品种"]
    shares = [0.01, 0.01, MAX_REASON_SHARE * 2, 0.01]
    # A large pool: the generic words and the term half the pool holds are left out.
    assert telling_terms(terms, shares, corpus_size=5000) == ["碱巴拉地"]
    # In a handful of profiles every share is large: only the generic words go.
    assert telling_terms(terms, shares, corpus_size=12) == ["碱巴拉地", "水稻"]


def test_match_degree_is_a_share_of_the_best_possible_score() -> None:
    from matching.fusion import FusionWeights, applicable_components, best_score, match_degree

    w = FusionWeights(dense=0.5, lexical=0.5, hometown=0.4, region=0.08, availability=0.0)
    # Science commissioners: hometown and availability do not count, so they are not shown; the
    # programme signal (is the person whom the programme sends?) counts for them alone.
    assert applicable_components(w, return_home=False) == (
        "dense",
        "lexical",
        "region",
        "programme",
    )
    assert applicable_components(w, return_home=True) == (
        "dense",
        "lexical",
        "hometown",
        "region",
        "availability",
    )
    assert best_score(w, return_home=False) == 1.08  # the programme signal is at best 0
    assert match_degree(1.08, w, return_home=False) == 100
    assert match_degree(0.54, w, return_home=False) == 50
    assert match_degree(-0.2, w, return_home=False) == 0
    assert (
        match_degree(1.08, w, return_home=True) == 68
    )  # 1.08 / 1.58: the same score counts for less


MAP = ProblemMap(
    load_problems(
        "水稻\t水稻 稻田\t盐碱死苗\t返碱 死苗\t苏打盐渍土改良 脱硫石膏\t土壤学\n"
        "水稻\t水稻 稻田\t稻瘟病\t叶子有斑 穗颈发黑\t稻瘟病防治\t植物病理学\n"
        "电商\t*\t卖不上价\t卖不上价 压货\t直播运营 品牌策划\t市场营销\n"
    )
)


def test_the_problem_reason_names_the_need_s_words_and_the_profile_s_techniques() -> None:
    found = MAP.find("稻田返碱，秧苗成片死苗，大米也卖不上价")
    assert [(p.name, phrase) for p, phrase in found] == [
        ("盐碱死苗", "返碱"),
        ("卖不上价", "卖不上价"),
    ]
    assert problem_note(P, found) == (
        "问题对应：需求所述「返碱」属「水稻·盐碱死苗」，其专长涉及：苏打盐渍土改良"
    )
    # the first recognised problem the profile answers is the one named
    assert problem_note(P, list(reversed(found))) == problem_note(P, found)
    # a problem the profile does not answer gives no reason; nor does a need with none
    assert problem_note(P, MAP.find("水稻叶子有斑")) is None
    assert problem_note(P, []) is None
    reasons = build_reasons(
        P,
        county_code=None,
        program="science_commissioner",
        counties={},
        matched_terms=["苏打盐渍土"],
        term_weights=[3.0],
        need_text="稻田返碱",
        dense_strength=0.5,
        problems=found,
    )
    assert reasons[:2] == (
        "匹配关键词：苏打盐渍土",
        "问题对应：需求所述「返碱」属「水稻·盐碱死苗」，其专长涉及：苏打盐渍土改良",
    )


def test_the_problem_reason_compares_terms_as_the_map_does_and_names_them_as_written() -> None:
    # a term written in full-width capitals matches a profile's plain lower case, and the reason
    # quotes the term as the map writes it; the derived column does not change the map's digest
    rows = "汽车\t汽车 主机厂\t整改单\t整改单\tＩＡＴＦ16949 8D分析\t质量管理\n"
    problems = load_problems(rows)
    assert problems[0].normalised_terms == ("iatf16949", "8d分析", "质量管理")
    profile = ProfileDoc(
        9, "expert", "张工", "某公司", "工程师", ("质量体系",), "熟悉iatf16949体系。"
    )
    note = problem_note(profile, ProblemMap(problems).find("主机厂发了整改单"))
    assert note == "问题对应：需求所述「整改单」属「汽车·整改单」，其专长涉及：ＩＡＴＦ16949"
    assert "normalised_terms" not in repr(problems[0])


def test_a_problem_read_as_the_nearest_is_named_without_a_phrase() -> None:
    problem = MAP.problems[0]
    assert problem_note(P, [(problem, "")]) == (
        "问题对应：需求所述近于「水稻·盐碱死苗」，其专长涉及：苏打盐渍土改良"
    )
