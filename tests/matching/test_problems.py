"""The problem map: which problems a need's text describes, and the terms they add."""

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
