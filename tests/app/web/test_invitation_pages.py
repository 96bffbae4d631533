"""The invitation pages without a browser: the match list's 已注册 / 需线下联系 and its 邀请注册
button, the code shown once, /claim, and the proposal that waits for an invited person."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.actor import Actor
from app.needs import service as needs
from app.needs.schemas import NeedCreate
from app.profiles import service as profiles
from app.profiles.models import Profile
from app.profiles.schemas import ProfileCreate
from tests.app.factories import (
    form_token,
    make_account,
    need_payload,
    page_sign_in,
    profile_payload,
)

NEW_PASSWORD = "Heitudi2027"


_token = form_token
sign_in = page_sign_in


def _match_entry(html: str, name: str) -> str:
    """The <li> of the match list that names the person."""
    for entry in html.split('<li class="match">')[1:]:
        if f">{name}</a>" in entry:
            return entry
    raise AssertionError(f"{name} is not on the match list")


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    make_account(db, "county", "220822", username="tongyu")
    make_account(db, "talent", username="owner1")
    owner = make_account(db, "talent", username="owner2")
    system = Actor.system("test")
    imported = profiles.create(
        db,
        data=ProfileCreate(**profile_payload(name="赵春生", contact={"phone": "13900001111"})),
        actor=system,
    )
    owned = profiles.create(
        db,
        data=ProfileCreate(**profile_payload(name="孙有田", owner_id=owner.id, contact={})),
        actor=system,
    )
    need = needs.create(
        db,
        data=NeedCreate(
            **need_payload(
                county_code="220822",
                title="盐碱地返碱死苗",
                industry="盐碱地治理",
                description="西部乡镇盐碱地多，开春返碱，水稻出苗不齐，想找懂盐碱地改良的专家。",
            )
        ),
        actor=system,
    )
    db.commit()
    return {"profile_id": imported.id, "owned_id": owned.id, "need_id": need.id}


def test_county_invites_from_the_match_list_and_the_person_claims_at_claim(
    app: FastAPI, db: Session, world: dict[str, Any]
) -> None:
    need_id, profile_id = world["need_id"], world["profile_id"]
    with TestClient(app) as county:
        sign_in(county, "tongyu")
        page = county.get(f"/needs/{need_id}/matches?limit=50")
        assert page.status_code == 200
        offline = _match_entry(page.text, "赵春生")
        assert "需线下联系" in offline
        assert f'action="/profiles/{profile_id}/invite"' in offline
        registered = _match_entry(page.text, "孙有田")
        assert "已注册" in registered
        assert "/invite" not in registered

        issued = county.post(
            f"/profiles/{profile_id}/invite",
            data={"csrf_token": _token(page.text), "next": f"/needs/{need_id}/matches"},
        )
        assert issued.status_code == 200
        code = re.search(r'id="invitation-code">([0-9A-Z-]+)<', issued.text)
        assert code, issued.text
        assert "有效期至" in issued.text
        assert "短信" in issued.text
        assert f'href="/needs/{need_id}/matches"' in issued.text
        again = county.get(f"/needs/{need_id}/matches?limit=50")
        assert "已邀请，待注册" in _match_entry(again.text, "赵春生")
        assert code.group(1) not in again.text  # shown once

    with TestClient(app) as person:
        form = person.get("/claim")
        assert form.status_code == 200
        assert "凭邀请码注册" in form.text
        done = person.post(
            "/claim",
            data={
                "csrf_token": _token(form.text),
                "code": code.group(1).lower(),
                "username": "zhaochunsheng",
                "password": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        )
        assert done.status_code == 200
        assert done.url.path == "/me"
        assert "注册成功" in done.text
        profile = db.get(Profile, profile_id)
        assert profile is not None
        db.refresh(profile)
        assert profile.owner_id is not None

    with TestClient(app) as county:
        sign_in(county, "tongyu")
        after = county.get(f"/needs/{need_id}/matches?limit=50")
        entry = _match_entry(after.text, "赵春生")
        assert "已注册" in entry
        assert "/invite" not in entry


def test_a_wrong_code_is_shown_beside_the_code_box(app: FastAPI, world: dict[str, Any]) -> None:
    with TestClient(app) as person:
        form = person.get("/claim?code=abcde-fghjk")
        assert 'value="abcde-fghjk"' in form.text
        r = person.post(
            "/claim",
            data={
                "csrf_token": _token(form.text),
                "code": "ABCDE-FGHJK",
                "username": "guesser",
                "password": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        )
        assert r.status_code == 400
        assert 'id="err-f-code"' in r.text
        assert "邀请码不正确" in r.text
        assert 'value="guesser"' in r.text  # what was typed is kept
        assert "xiangcai_session" not in r.cookies


def test_the_proposal_page_shows_the_person_must_be_reached_or_is_invited(
    app: FastAPI, world: dict[str, Any]
) -> None:
    with TestClient(app) as county:
        sign_in(county, "tongyu")
        propose = county.get(f"/needs/{world['need_id']}/propose?profile_id={world['profile_id']}")
        r = county.post(
            f"/needs/{world['need_id']}/propose",
            data={
                "csrf_token": _token(propose.text),
                "profile_id": str(world["profile_id"]),
                "reason": "本县老熟人",
            },
        )
        assert r.status_code == 200
        assert r.url.path.startswith("/placements/")
        assert "需线下联系" in r.text
        assert "无法在线答复" in r.text
        listing = county.get("/placements")
        assert "需线下联系" in listing.text
        issued = county.post(
            f"/profiles/{world['profile_id']}/invite",
            data={"csrf_token": _token(r.text), "next": r.url.path},
        )
        assert issued.status_code == 200
        detail = county.get(r.url.path)
        assert "已邀请，待注册" in detail.text
        assert "重新邀请注册" in detail.text


def test_a_talent_cannot_invite(app: FastAPI, world: dict[str, Any]) -> None:
    with TestClient(app) as talent:
        sign_in(talent, "owner1")
        r = talent.post(
            f"/profiles/{world['profile_id']}/invite",
            data={"csrf_token": _token(talent.get("/me").text)},
        )
        assert r.status_code == 403
        assert "无权访问" in r.text
