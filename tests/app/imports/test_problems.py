"""Every problem of a row in one report (one upload to fix a file), and counties written the way
people write them."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.needs.models import Need
from app.profiles.models import Profile
from tests.app.factories import auth, make_account
from tests.app.imports.test_import import GOOD, HEADER, count, upload


@pytest.fixture
def admin(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "admin"), settings)


def _problems(body: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    return [(e["row"], e["field"], e["code"]) for e in body["errors"]]


def test_a_row_reports_every_problem_at_once(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    assert (
        upload(client, admin, "profiles", "a.csv", (HEADER + GOOD[0]).encode()).status_code == 200
    )
    rows = [
        # unknown county, capacity out of range, bad phone: three problems in one row
        "刘洋,巫师,吉林大学,教授,,玉米育种,火星县,兼职,99,,12345,",
        # the person of GOOD[0] again (already registered) with a bad e-mail and no expertise
        "李春明,专家,吉林农业大学,教授,,,抚松县,兼职,2,东部,13900000001,bad-email",
        # twice in the file, the second time also with an unknown availability
        "周敏,专家,延边大学,副教授,,泡菜发酵,延吉,兼职,1,,13900000009,",
        "周敏,专家,延边大学,副教授,,泡菜发酵,延吉,偶尔,1,,139 0000 0009,",
    ]
    r = upload(client, admin, "profiles", "b.csv", (HEADER + "\n".join(rows)).encode())
    assert r.status_code == 422
    body = r.json()
    assert sorted(_problems(body)) == sorted(
        [
            (2, "kind", "enum"),
            (2, "hometown_county_code", "unknown_county"),
            (2, "capacity", "less_than_equal"),
            (2, "contact.phone", "value_error"),
            (3, "expertise", "missing"),
            (3, "contact.email", "value_error"),
            (3, "name", "duplicate"),
            (5, "availability", "enum"),
            (5, "name", "duplicate"),
        ]
    )
    report = body["report"]
    assert (report["rejected_count"], report["rejected_rows"], report["accepted_count"]) == (
        9,
        3,
        1,
    )
    assert body["message"].startswith("3 行共 9 处错误，未导入任何记录")
    by_field = {(e["row"], e["field"]): e for e in report["rejected"]}
    assert by_field[(2, "hometown_county_code")]["column"] == "籍贯"
    assert "火星县" in by_field[(2, "hometown_county_code")]["message"]
    assert by_field[(5, "name")]["message"] == "与第 4 行重复（同名同手机号）"
    assert all(any("\u4e00" <= c <= "\u9fff" for c in e["message"]) for e in report["rejected"])
    assert count(db, Profile) == 1  # nothing of the second file was written


def test_a_need_row_reports_every_problem_at_once(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    data = (
        "县（市、区）,项目类别,需求标题,需求描述,产业,需求人数,截止日期\n"
        "火星县,科技特派员,,碱巴拉地返碱死苗,盐碱地治理,30,2027-13-01\n"
        ",三乡,林下参电商,找懂电商的返乡青年,人参产业,1,\n"
    ).encode()
    r = upload(client, admin, "needs", "needs.csv", data)
    assert r.status_code == 422
    assert _problems(r.json()) == [
        (2, "county_code", "unknown_county"),
        (2, "title", "missing"),
        (2, "headcount", "less_than_equal"),
        (2, "deadline", "date_from_datetime_parsing"),
        (3, "county_code", "missing"),
    ]
    assert count(db, Need) == 0


def test_short_county_names_in_both_imports(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    profile = "赵雪,团队,吉林大学,科技特派团,,冰雪旅游线路策划,{county},兼职,5,东部,{phone},"
    rows = [
        profile.format(county="洮南", phone="13900000021"),
        profile.format(county="白城洮南", phone="13900000022"),
        profile.format(county="前郭", phone="13900000023"),
    ]
    r = upload(client, admin, "profiles", "p.csv", (HEADER + "\n".join(rows)).encode())
    assert r.status_code == 200, r.json()
    codes = db.exec(select(Profile.hometown_county_code).order_by(Profile.id)).all()  # type: ignore[arg-type]
    assert list(codes) == ["220881", "220881", "220721"]

    need = "{county},科技特派员,盐碱地水稻,碱巴拉地返碱死苗,盐碱地治理,1,"
    header = "县（市、区）,项目类别,需求标题,需求描述,产业,需求人数,截止日期\n"
    rows = [need.format(county=c) for c in ("洮南", "长春市朝阳区", "通化", "长春", "洮南县")]
    r = upload(client, admin, "needs", "n.csv", (header + "\n".join(rows)).encode(), partial=True)
    assert r.status_code == 200, r.json()
    assert [n.county_code for n in db.exec(select(Need).order_by(Need.id)).all()] == [  # type: ignore[arg-type]
        "220881",
        "220104",
    ]
    rejected = {e["row"]: e for e in r.json()["rejected"]}
    assert rejected[4]["code"] == "ambiguous_county"
    assert "通化县（通化市，220521）" in rejected[4]["message"]
    assert rejected[5]["code"] == "not_a_county"
    assert "南关区" in rejected[5]["message"]
    assert rejected[6]["code"] == "unknown_county"
    assert "洮南县" in rejected[6]["message"]
