from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.profiles.models import Profile
from tests.app.factories import auth, make_account, profile_payload


@pytest.fixture
def admin(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "admin"), settings)


@pytest.fixture
def talent(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "talent"), settings)


def test_create_read_update_delete(client: TestClient, db: Session, talent: dict[str, str]) -> None:
    r = client.post("/api/v1/profiles", json=profile_payload(), headers=talent)
    assert r.status_code == 201, r.json()
    created = r.json()
    pid = created["id"]
    assert created["fields"] == ["盐碱地改良", "水稻"]
    assert created["contact"]["masked"] is False
    assert client.get("/api/v1/profiles/me", headers=talent).json()["id"] == pid

    r = client.patch(
        f"/api/v1/profiles/{pid}",
        headers=talent,
        json={
            "capacity": 3,
            "fields": ["水稻", "水稻", "耐盐品种"],
            "contact": {"email": "new@example.cn"},
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["capacity"] == 3
    assert body["fields"] == ["水稻", "耐盐品种"]
    assert body["contact"] == {"phone": "13812345678", "email": "new@example.cn", "masked": False}
    assert body["updated_at"] > created["updated_at"]

    assert client.delete(f"/api/v1/profiles/{pid}", headers=talent).status_code == 204
    assert client.get(f"/api/v1/profiles/{pid}", headers=talent).status_code == 404
    actions = db.exec(
        select(AuditEvent.action).where(
            AuditEvent.entity_id == str(pid), AuditEvent.entity == "profile"
        )
    ).all()
    assert list(actions) == ["profile.create", "profile.update", "profile.delete"]


def test_a_talent_owns_at_most_one_profile(client: TestClient, talent: dict[str, str]) -> None:
    assert (
        client.post("/api/v1/profiles", json=profile_payload(), headers=talent).status_code == 201
    )
    second = client.post("/api/v1/profiles", json=profile_payload(name="另一人"), headers=talent)
    assert second.status_code == 409
    assert second.json()["code"] == "profile_exists"


def test_admin_creates_on_behalf_of_a_talent(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    owner = make_account(db, "talent")
    r = client.post("/api/v1/profiles", json=profile_payload(owner_id=owner.id), headers=admin)
    assert r.status_code == 201
    assert r.json()["owner_id"] == owner.id
    province = make_account(db, "province")
    bad = client.post("/api/v1/profiles", json=profile_payload(owner_id=province.id), headers=admin)
    assert bad.status_code == 422
    assert bad.json()["field"] == "owner_id"
    # Beyond PostgreSQL's integer: refused with the field, not a 500 (found by make fuzz).
    huge = client.post("/api/v1/profiles", json=profile_payload(owner_id=2**59), headers=admin)
    assert huge.status_code == 422, huge.text[:200]
    assert huge.json()["field"] == "owner_id"
    assert huge.json()["errors"][0]["code"] == "less_than_equal"


def test_talent_cannot_create_for_someone_else(
    client: TestClient, db: Session, talent: dict[str, str]
) -> None:
    other = make_account(db, "talent")
    r = client.post("/api/v1/profiles", json=profile_payload(owner_id=other.id), headers=talent)
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"kind": "wizard"}, "kind", "enum"),
        ({"availability": "sometimes"}, "availability", "enum"),
        ({"name": ""}, "name", "string_too_short"),
        ({"name": "   "}, "name", "string_too_short"),
        ({"expertise": "长" * 4001}, "expertise", "string_too_long"),
        ({"capacity": 0}, "capacity", "greater_than_equal"),
        ({"capacity": 11}, "capacity", "less_than_equal"),
        ({"capacity": "three"}, "capacity", "int_parsing"),
        ({"capacity": 10**30}, "capacity", "less_than_equal"),
        ({"fields": "水稻"}, "fields", "list_type"),
        (
            {"fields": ["这个标签写得实在是太长了已经超过了二十个字符的限制"]},
            "fields.0",
            "string_too_long",
        ),
        ({"preferred_regions": ["north"]}, "preferred_regions.0", "enum"),
        ({"hometown_county_code": "22"}, "hometown_county_code", "string_pattern_mismatch"),
        ({"hometown_county_code": "229999"}, "hometown_county_code", "unknown_county"),
        ({"contact": {"phone": "12345"}}, "contact.phone", "value_error"),
        ({"contact": {"phone": "138123456789"}}, "contact.phone", "value_error"),
        ({"contact": {"email": "not-an-email"}}, "contact.email", "value_error"),
        ({"contact": {"email": "a@b"}}, "contact.email", "value_error"),
        ({"contact": "13812345678"}, "contact", "model_attributes_type"),
        ({"expertise": "含有\x00控制字符"}, "expertise", "value_error"),
        ({"active": "maybe"}, "active", "bool_parsing"),
        ({"unexpected": 1}, "unexpected", "extra_forbidden"),
        ({"name": 123}, "name", "string_type"),
    ],
)
def test_bad_profile_input_names_the_field(
    client: TestClient,
    db: Session,
    admin: dict[str, str],
    change: dict[str, Any],
    field: str,
    code: str,
) -> None:
    before = db.exec(select(Profile)).all()
    r = client.post("/api/v1/profiles", json=profile_payload(**change), headers=admin)
    assert r.status_code == 422, r.json()
    body = r.json()
    assert body["field"] == field
    assert body["errors"][0]["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])
    assert db.exec(select(Profile)).all() == before  # nothing half-written


def test_missing_required_fields_are_all_named(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post("/api/v1/profiles", json={}, headers=admin)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"kind", "name", "affiliation", "title", "expertise", "availability"}
    assert r.json()["errors"][0]["message"].endswith("为必填项")


def test_patch_cannot_null_a_required_field(client: TestClient, talent: dict[str, str]) -> None:
    pid = client.post("/api/v1/profiles", json=profile_payload(), headers=talent).json()["id"]
    r = client.patch(f"/api/v1/profiles/{pid}", json={"expertise": None}, headers=talent)
    assert r.status_code == 422
    assert r.json()["field"] == "expertise"
    cleared = client.patch(
        f"/api/v1/profiles/{pid}", json={"hometown_county_code": None}, headers=talent
    )
    assert cleared.json()["hometown_county_code"] is None


def test_phone_is_normalised(client: TestClient, talent: dict[str, str]) -> None:
    body = profile_payload(contact={"phone": "+86 138-1234-5678", "email": "A.B@Example.CN"})
    r = client.post("/api/v1/profiles", json=body, headers=talent)
    assert r.json()["contact"] == {
        "phone": "13812345678",
        "email": "a.b@example.cn",
        "masked": False,
    }


def test_list_filters_and_pagination(client: TestClient, admin: dict[str, str]) -> None:
    for i in range(5):
        client.post(
            "/api/v1/profiles",
            headers=admin,
            json=profile_payload(
                name=f"人员{i}",
                kind="returnee" if i % 2 else "expert",
                hometown_county_code="220822" if i < 2 else "220581",
                fields=["人参"] if i == 4 else ["水稻"],
                expertise="人参连作障碍" if i == 3 else "盐碱地 100% 改良_技术",
                contact={"phone": f"1381234560{i}"},
            ),
        )

    def names(**params: Any) -> list[str]:
        r = client.get("/api/v1/profiles", params=params, headers=admin)
        assert r.status_code == 200, r.json()
        return [p["name"] for p in r.json()["items"]]

    assert names(kind="returnee") == ["人员1", "人员3"]
    assert names(hometown="220822") == ["人员0", "人员1"]
    assert names(field="人参") == ["人员4"]
    assert names(text="连作") == ["人员3"]
    assert names(text="100%") == ["人员0", "人员1", "人员2", "人员4"]
    assert names(text="_技") == ["人员0", "人员1", "人员2", "人员4"]
    assert names(text="%") != names(text="zzz")  # a literal percent sign, not a wildcard
    page = client.get("/api/v1/profiles", params={"page": 2, "page_size": 2}, headers=admin).json()
    assert page["total"] == 5
    assert [p["name"] for p in page["items"]] == ["人员2", "人员3"]
    assert (
        client.get("/api/v1/profiles", params={"page_size": 101}, headers=admin).status_code == 422
    )
    assert client.get("/api/v1/profiles", params={"page": 0}, headers=admin).status_code == 422


def test_deactivated_profile_still_listed_but_flagged(
    client: TestClient, admin: dict[str, str]
) -> None:
    pid = client.post("/api/v1/profiles", json=profile_payload(), headers=admin).json()["id"]
    client.patch(f"/api/v1/profiles/{pid}", json={"active": False}, headers=admin)
    assert (
        client.get("/api/v1/profiles", params={"active": False}, headers=admin).json()["total"] == 1
    )
    assert (
        client.get("/api/v1/profiles", params={"active": True}, headers=admin).json()["total"] == 0
    )
