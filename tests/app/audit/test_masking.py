"""Contact details in the audit trail: administrators read them in full, auditors masked; the
stored payload, and so the hash chain, is untouched."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from tests.app.factories import auth, make_account, page_sign_in, profile_payload

PHONE, NEW_PHONE, EMAIL = "13812345678", "13987650001", "wang.lixin@example.cn"


@pytest.fixture
def trail(client: TestClient, db: Session, settings: Any) -> dict[str, dict[str, str]]:
    """A profile created with contacts and its phone changed: both payloads hold contacts."""
    admin = auth(make_account(db, "admin", username="maskadmin"), settings)
    province = auth(make_account(db, "province", username="maskprov"), settings)
    pid = client.post("/api/v1/profiles", json=profile_payload(), headers=admin).json()["id"]
    r = client.patch(
        f"/api/v1/profiles/{pid}", json={"contact": {"phone": NEW_PHONE}}, headers=admin
    )
    assert r.status_code == 200, r.json()
    return {"admin": admin, "province": province}


def _profile_events(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/api/v1/audit/events", params={"entity": "profile"}, headers=headers)
    assert r.status_code == 200, r.json()
    return sorted(r.json()["items"], key=lambda e: e["seq"])


def test_province_reads_contacts_masked(client: TestClient, trail: Any) -> None:
    created, updated = _profile_events(client, trail["province"])
    assert created["after"]["contact_phone"] == "138****5678"
    assert created["after"]["contact_email"] == "w***@example.cn"
    assert (updated["before"]["contact_phone"], updated["after"]["contact_phone"]) == (
        "138****5678",
        "139****0001",
    )
    r = client.get("/api/v1/audit/events", headers=trail["province"])
    for secret in (PHONE, NEW_PHONE, EMAIL):
        assert secret not in r.text


def test_admin_reads_contacts_in_full(client: TestClient, trail: Any) -> None:
    created, updated = _profile_events(client, trail["admin"])
    assert (created["after"]["contact_phone"], created["after"]["contact_email"]) == (PHONE, EMAIL)
    assert updated["after"]["contact_phone"] == NEW_PHONE


def test_stored_payload_is_unmasked_and_the_chain_verifies(
    client: TestClient, db: Session, trail: Any
) -> None:
    stored = db.exec(select(AuditEvent.after).where(AuditEvent.action == "profile.create")).one()
    assert PHONE in (stored or "")
    r = client.get("/api/v1/audit/verify", headers=trail["province"])
    assert r.status_code == 200
    assert r.json()["ok"] is True
    assert r.json()["checked"] >= 2


_sign_in = page_sign_in


def test_audit_page_masks_contacts_for_the_province(client: TestClient, trail: Any) -> None:
    _sign_in(client, "maskprov")
    html = client.get("/audit/events", params={"entity": "profile"}).text
    assert "138****5678" in html
    for secret in (PHONE, NEW_PHONE, EMAIL):
        assert secret not in html
    _sign_in(client, "maskadmin")
    html = client.get("/audit/events", params={"entity": "profile"}).text
    assert PHONE in html
    assert NEW_PHONE in html


def test_audit_page_leaves_sign_ins_out_unless_asked(client: TestClient, trail: Any) -> None:
    _sign_in(client, "maskprov")  # itself a sign-in record
    html = client.get("/audit/events").text
    assert "修改档案" in html
    assert "登录成功" not in html.split("<tbody>")[-1]
    html = client.get("/audit/events", params={"sign_ins": "1"}).text
    assert "登录成功" in html.split("<tbody>")[-1]
