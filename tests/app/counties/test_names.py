"""Counties as people write them: full names, short forms, prefecture+county and codes, each
accepted only when it names one county-level division (pure: no database)."""

import pytest

from app.counties.models import County
from app.counties.service import (
    CountyNameError,
    CountyNames,
    read_csv,
    reference_names,
    resolve,
    short_forms,
)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("洮南市", "220881"),
        ("洮南", "220881"),
        ("白城市洮南市", "220881"),
        ("白城洮南", "220881"),
        ("白城市 洮南", "220881"),
        ("吉林省白城市洮南市", "220881"),
        ("220881", "220881"),
        ("２２０８８１", "220881"),  # full-width digits, as some input methods type them
        (220881, "220881"),  # a number cell in Excel
        ("梨树", "220322"),
        ("长白", "220623"),  # 长白朝鲜族自治县
        ("长白县", "220623"),
        ("伊通县", "220323"),
        ("前郭", "220721"),  # 前郭尔罗斯蒙古族自治县
        ("延边州延吉", "222401"),
        ("二道", "220105"),  # 长春市二道区, not 通化市二道江区
        ("二道江", "220503"),
        ("通化县", "220521"),
    ],
)
def test_accepted_forms(written: str | int, code: str) -> None:
    assert resolve(written, reference_names()) == code


def test_unknown_name_is_refused_with_what_to_write() -> None:
    with pytest.raises(CountyNameError) as caught:
        resolve("火星县", reference_names())
    assert caught.value.code == "unknown_county"
    assert "火星县" in caught.value.message
    assert "6 位代码" in caught.value.message
    with pytest.raises(CountyNameError, match="未知的县（市、区）代码：229999"):
        resolve("229999", reference_names())
    with pytest.raises(CountyNameError):
        resolve("长春洮南", reference_names())  # 洮南 is not in 长春


def test_tonghua_is_ambiguous_in_jilin() -> None:
    # 通化 is 通化县 and also the prefecture 通化市 around it: the one real collision in Jilin.
    with pytest.raises(CountyNameError) as caught:
        resolve("通化", reference_names())
    assert caught.value.code == "ambiguous_county"
    assert caught.value.candidates == ["通化县（通化市，220521）", "通化市（地级市）"]
    assert "通化县（通化市，220521）" in caught.value.message


def test_a_prefecture_is_not_a_county() -> None:
    with pytest.raises(CountyNameError) as caught:
        resolve("白城市", reference_names())
    assert caught.value.code == "not_a_county"
    assert caught.value.candidates == ["洮北区", "镇赉县", "通榆县", "洮南市", "大安市"]


def test_no_other_short_form_in_jilin_names_two_places() -> None:
    names = reference_names()
    assert len(names.codes) == 60
    ambiguous = {form for form, places in names.loose.items() if len(places) > 1}
    assert ambiguous == {"通化"}
    # Every county is found by its full name and by every other short form of it.
    for county in read_csv():
        for form in short_forms(county.name) - ambiguous:
            assert resolve(form, names) == county.code


def _county(code: str, name: str, prefecture: str) -> County:
    return County(code=code, name=name, prefecture=prefecture, kind="", region="east")


def test_a_district_and_a_county_that_share_a_stem() -> None:
    names = CountyNames.of(
        [
            _county("100102", "新城区", "甲市"),
            _county("100201", "新城县", "乙市"),
            _county("100202", "河口县", "乙市"),
        ]
    )
    with pytest.raises(CountyNameError) as caught:
        resolve("新城", names)
    assert caught.value.code == "ambiguous_county"
    assert caught.value.candidates == ["新城区（甲市，100102）", "新城县（乙市，100201）"]
    assert resolve("新城区", names) == "100102"
    assert resolve("新城县", names) == "100201"
    assert resolve("甲市新城", names) == "100102"
    assert resolve("乙市新城", names) == "100201"
    assert resolve("河口", names) == "100202"


def test_a_full_name_wins_over_a_short_form_spelled_the_same() -> None:
    names = CountyNames.of(
        [_county("100101", "长白县", "甲市"), _county("100201", "长白朝鲜族自治县", "乙市")]
    )
    assert resolve("长白县", names) == "100101"
    with pytest.raises(CountyNameError):
        resolve("长白", names)


def test_short_forms() -> None:
    assert short_forms("洮南市") == {"洮南市", "洮南"}
    assert short_forms("义县") == {"义县"}  # a one-character stem is no name
    assert short_forms("延边朝鲜族自治州") == {"延边朝鲜族自治州", "延边", "延边州"}
