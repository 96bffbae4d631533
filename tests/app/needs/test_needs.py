from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.needs.models import Need
from tests.app.factories import auth, make_account, need_payload


@pytest.fixture
def lishu(db: Session, settings: Any) -> dict[str, str]:
    """A county officer of 梨树县 (220322, 四平市, central)."""
    return auth(make_account(db, "county", "220322"), settings)


@pytest.fixture
def admin(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "admin"), settings)


def test_county_posts_for_its_own_county_by_default(
    client: TestClient, lishu: dict[str, str]
) -> None:
    body = need_payload()
    del body["county_code"]
    r = client.post("/api/v1/needs", json=body, headers=lishu)
    assert r.status_code == 201, r.json()
    need = r.json()
    assert need["county_code"] == "220322"
    assert need["county_name"] == "梨树县"
    assert need["prefecture"] == "四平市"
    assert need["region"] == "central"
    assert need["status"] == "open"
    assert need["deadline"] == "2027-03-31"


def test_admin_must_name_the_county(client: TestClient, admin: dict[str, str]) -> None:
    body = need_payload()
    del body["county_code"]
    r = client.post("/api/v1/needs", json=body, headers=admin)
    assert r.status_code == 422
    assert r.json()["field"] == "county_code"
    unknown = client.post("/api/v1/needs", json=need_payload(county_code="229999"), headers=admin)
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_county"


def test_update_and_delete(client: TestClient, db: Session, lishu: dict[str, str]) -> None:
    nid = client.post("/api/v1/needs", json=need_payload(), headers=lishu).json()["id"]
    r = client.patch(
        f"/api/v1/needs/{nid}", json={"status": "closed", "deadline": None}, headers=lishu
    )
    assert r.status_code == 200
    assert r.json()["status"] == "closed"
    assert r.json()["deadline"] is None
    assert (
        client.patch(f"/api/v1/needs/{nid}", json={"title": None}, headers=lishu).status_code == 422
    )
    assert (
        client.patch(
            f"/api/v1/needs/{nid}", json={"county_code": "220822"}, headers=lishu
        ).status_code
        == 422
    )  # a need cannot move county
    assert client.delete(f"/api/v1/needs/{nid}", headers=lishu).status_code == 204
    assert db.get(Need, nid) is None


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"program": "both"}, "program", "enum"),
        ({"headcount": 0}, "headcount", "greater_than_equal"),
        ({"headcount": 21}, "headcount", "less_than_equal"),
        ({"status": "pending"}, "status", "enum"),
        ({"deadline": "2027-02-30"}, "deadline", "date_from_datetime_parsing"),
        ({"deadline": "明年春天"}, "deadline", "date_parsing"),
        ({"deadline": 0}, "deadline", "date_parsing"),  # not 1 January 1970
        ({"deadline": 1767225600}, "deadline", "date_parsing"),  # not a Unix time
        ({"deadline": "0001-01-01"}, "deadline", "date_out_of_range"),
        ({"deadline": "9999-12-31"}, "deadline", "date_out_of_range"),
        ({"title": ""}, "title", "string_too_short"),
        ({"title": "长" * 101}, "title", "string_too_long"),
        ({"description": "长" * 4001}, "description", "string_too_long"),
        ({"industry": "行" * 51}, "industry", "string_too_long"),
        ({"county_code": "abc"}, "county_code", "string_pattern_mismatch"),
    ],
)
def test_bad_need_input(
    client: TestClient,
    db: Session,
    admin: dict[str, str],
    change: dict[str, Any],
    field: str,
    code: str,
) -> None:
    r = client.post("/api/v1/needs", json=need_payload(**change), headers=admin)
    assert r.status_code == 422, r.json()
    assert r.json()["field"] == field
    assert r.json()["errors"][0]["code"] == code
    assert db.exec(select(Need)).all() == []


def test_filters(client: TestClient, admin: dict[str, str]) -> None:
    rows = [
        ("220322", "science_commissioner", "玉米保护性耕作"),  # 梨树县 四平 central
        ("220822", "science_commissioner", "盐碱地水稻"),  # 通榆县 白城 west
        ("220822", "return_home", "返乡创业带头人"),
        ("220621", "return_home", "林下参电商"),  # 抚松县 白山 east
    ]
    for county, program, title in rows:
        client.post(
            "/api/v1/needs",
            headers=admin,
            json=need_payload(county_code=county, program=program, title=title),
        )

    def titles(**params: Any) -> set[str]:
        r = client.get("/api/v1/needs", params=params, headers=admin)
        assert r.status_code == 200, r.json()
        return {n["title"] for n in r.json()["items"]}

    assert titles(county_code="220822") == {"盐碱地水稻", "返乡创业带头人"}
    assert titles(prefecture="白山市") == {"林下参电商"}
    assert titles(region="west", program="return_home") == {"返乡创业带头人"}
    assert titles(program="science_commissioner") == {"玉米保护性耕作", "盐碱地水稻"}
    assert titles(text="电商") == {"林下参电商"}
    assert titles(status="closed") == set()
    assert client.get("/api/v1/needs", params={"region": "south"}, headers=admin).status_code == 422
