"""我有意向 on the pages, without a browser: a talent browses open needs with a filter, opens one,
sees the county's contact person and steps forward; the county sees the mark on its match list,
the list of interests, and proposes from it with the interest attached."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.interests.models import Interest
from app.placements.models import Placement
from tests.app.factories import (
    auth,
    form_token,
    make_account,
    need_payload,
    page_sign_in,
    profile_payload,
)

COUNTY = "220822"  # 通榆县
OTHER = "220322"  # 梨树县


_token = form_token


def sign_in(app: FastAPI, username: str) -> TestClient:
    """A browser of one's own (its own cookies), signed in."""
    client = TestClient(app)
    page_sign_in(client, username)
    return client


def post_form(client: TestClient, form_page: str, action: str, **fields: Any) -> Any:
    token = _token(client.get(form_page).text)
    return client.post(action, data={"csrf_token": token, **fields})


class World:
    def __init__(self, app: FastAPI, db: Session, settings: Any) -> None:
        client = TestClient(app)
        self.county = make_account(db, "county", COUNTY)
        self.other_county = make_account(db, "county", OTHER)
        self.talent = make_account(db, "talent")
        self.newcomer = make_account(db, "talent")
        h = auth(self.county, settings)
        r = client.post(
            "/api/v1/profiles",
            json=profile_payload(name="王立新", contact={"phone": "13811112222"}),
            headers=auth(self.talent, settings),
        )
        assert r.status_code == 201, r.json()
        self.profile_id: int = r.json()["id"]
        r = client.post(
            "/api/v1/needs",
            headers=h,
            json=need_payload(
                county_code=COUNTY,
                title="碱巴拉地返碱死苗",
                description="西部乡镇盐碱地多，春天返碱严重，水稻死苗，需要盐碱地改良专家指导。",
                industry="盐碱地治理",
                contact_name="刘建国",
                contact_phone="13944445555",
            ),
        )
        assert r.status_code == 201, r.json()
        self.need_id: int = r.json()["id"]
        r = client.post(
            "/api/v1/needs",
            headers=auth(self.other_county, settings),
            json=need_payload(county_code=OTHER, title="玉米秸秆还田出苗不齐"),
        )
        assert r.status_code == 201, r.json()
        self.other_need_id: int = r.json()["id"]


@pytest.fixture
def world(app: FastAPI, db: Session, settings: Any) -> World:
    return World(app, db, settings)


def test_talent_browses_opens_a_need_and_steps_forward(
    app: FastAPI, db: Session, world: World
) -> None:
    talent = sign_in(app, world.talent.username)
    assert 'href="/me/needs"' in talent.get("/me").text  # in the talent's navigation

    page = talent.get("/me/needs", params={"county_code": COUNTY}).text
    assert "碱巴拉地返碱死苗" in page
    assert "玉米秸秆还田出苗不齐" not in page
    # The person's own score for the need, as on 适合我的需求.
    row = page[page.index("碱巴拉地返碱死苗") :]
    assert re.search(r"\d+ · [高中低] <span class=\"muted small\">第 \d+ 名", row)
    page = talent.get("/me/needs", params={"text": "秸秆", "prefecture": "四平市"}).text
    assert "玉米秸秆还田出苗不齐" in page
    assert "碱巴拉地返碱死苗" not in page
    page = talent.get("/me/needs", params={"region": "west", "program": "return_home"}).text
    assert "碱巴拉地返碱死苗" not in page  # a 科技特派员 need
    assert talent.get("/me/needs", params={"region": "north"}).status_code == 200  # lenient

    need_page = f"/me/needs/{world.need_id}"
    page = talent.get(need_page).text
    assert "刘建国" in page
    assert "13944445555" in page
    assert "我有意向" in page
    assert "撤回意向" not in page

    r = post_form(talent, need_page, f"{need_page}/interest", note="四月可以到县里现场指导")
    assert r.url.path == need_page
    assert "已表达意向" in r.text
    assert "撤回意向" in r.text
    assert "四月可以到县里现场指导" in r.text
    interest = db.exec(select(Interest).where(Interest.need_id == world.need_id)).one()
    assert interest.status == "active"
    assert 'class="badge badge-interest">已表达意向' in talent.get("/me/needs").text

    r = post_form(talent, need_page, f"{need_page}/interest/withdraw")
    assert "已撤回意向" in r.text
    assert "我有意向" in r.text
    db.refresh(interest)
    assert interest.status == "withdrawn"


def test_interest_form_says_what_is_wrong_beside_the_note(
    app: FastAPI, db: Session, world: World
) -> None:
    talent = sign_in(app, world.talent.username)
    need_page = f"/me/needs/{world.need_id}"
    r = post_form(talent, need_page, f"{need_page}/interest", note="x" * 4001)
    assert r.status_code == 422
    assert 'id="err-f-note"' in r.text
    assert "留言" in r.text
    assert not db.exec(select(Interest).where(Interest.need_id == world.need_id)).all()
    # Without the form token the post is refused.
    r = talent.post(f"{need_page}/interest", data={"note": "伪造"})
    assert r.status_code == 403
    assert not db.exec(select(Interest).where(Interest.need_id == world.need_id)).all()


def test_talent_without_a_profile_is_asked_to_write_one(app: FastAPI, world: World) -> None:
    newcomer = sign_in(app, world.newcomer.username)
    assert "您还没有人才档案" in newcomer.get("/me/needs").text
    page = newcomer.get(f"/me/needs/{world.need_id}").text
    assert "填写人才档案" in page
    assert f'action="/me/needs/{world.need_id}/interest"' not in page
    # The county's own need pages stay closed to talents.
    assert newcomer.get(f"/needs/{world.need_id}").status_code == 403
    assert newcomer.get(f"/needs/{world.need_id}/interests").status_code == 403


def test_county_sees_the_mark_and_the_list_and_proposes_from_the_interest(
    app: FastAPI, db: Session, world: World
) -> None:
    talent = sign_in(app, world.talent.username)
    need_page = f"/me/needs/{world.need_id}"
    post_form(talent, need_page, f"{need_page}/interest", note="做过苏打盐渍土治理")
    interest = db.exec(select(Interest).where(Interest.need_id == world.need_id)).one()

    county = sign_in(app, world.county.username)
    assert f'href="/needs/{world.need_id}/interests"' in county.get(f"/needs/{world.need_id}").text
    page = county.get(f"/needs/{world.need_id}/matches").text
    assert re.search(r"王立新</a> <span class=\"badge badge-interest\">有意向</span>", page)

    page = county.get(f"/needs/{world.need_id}/interests").text
    assert f'href="/profiles/{world.profile_id}"' in page
    assert "做过苏打盐渍土治理" in page
    assert re.search(r"第 \d+ 名", page)
    link = f"/needs/{world.need_id}/propose?profile_id={world.profile_id}&amp;interest_id={interest.id}"
    assert link in page

    form_page = link.replace("&amp;", "&")
    page = county.get(form_page).text
    assert f'name="interest_id" value="{interest.id}"' in page
    assert "来自人才意向" in page
    r = post_form(
        county,
        form_page,
        f"/needs/{world.need_id}/propose",
        profile_id=str(world.profile_id),
        interest_id=str(interest.id),
        reason="本人主动表达意向",
    )
    assert r.url.path.startswith("/placements/"), r.text
    assert "来自人才意向" in r.text
    placement = db.exec(select(Placement).where(Placement.need_id == world.need_id)).one()
    assert placement.interest_id == interest.id

    # Another county's officer cannot see the list.
    other = sign_in(app, world.other_county.username)
    assert other.get(f"/needs/{world.need_id}/interests").status_code == 403


def test_propose_form_with_a_withdrawn_interest_says_so(
    app: FastAPI, db: Session, world: World
) -> None:
    talent = sign_in(app, world.talent.username)
    need_page = f"/me/needs/{world.need_id}"
    post_form(talent, need_page, f"{need_page}/interest")
    post_form(talent, need_page, f"{need_page}/interest/withdraw")
    interest = db.exec(select(Interest).where(Interest.need_id == world.need_id)).one()

    county = sign_in(app, world.county.username)
    form_page = (
        f"/needs/{world.need_id}/propose?profile_id={world.profile_id}&interest_id={interest.id}"
    )
    r = post_form(
        county,
        form_page,
        f"/needs/{world.need_id}/propose",
        profile_id=str(world.profile_id),
        interest_id=str(interest.id),
        reason="试",
    )
    assert r.status_code == 422
    assert "该人才已撤回此意向" in r.text
    assert 'name="interest_id"' not in r.text  # the next submit proposes without it
    assert not db.exec(select(Placement).where(Placement.need_id == world.need_id)).all()


def test_county_need_form_takes_a_contact_person(app: FastAPI, db: Session, world: World) -> None:
    county = sign_in(app, world.county.username)
    fields = {
        "program": "science_commissioner",
        "title": "梅花鹿养殖防疫",
        "description": "养殖户多，防疫知识欠缺，需要兽医专家定期指导。",
        "industry": "梅花鹿养殖",
        "headcount": "1",
        "contact_name": "赵敏",
        "contact_phone": "12345",
    }
    r = post_form(county, "/needs/new", "/needs/new", **fields)
    assert r.status_code == 422
    assert 'id="err-f-contact_phone"' in r.text
    assert "手机号格式不正确" in r.text
    assert 'value="赵敏"' in r.text  # kept
    r = post_form(
        county, "/needs/new", "/needs/new", **{**fields, "contact_phone": "139 4444 6666"}
    )
    assert r.url.path.startswith("/needs/"), r.text
    assert "赵敏 13944446666" in r.text
    need_id = int(r.url.path.rsplit("/", 1)[1])
    page = county.get(f"/needs/{need_id}/edit").text
    assert 'value="13944446666"' in page
    # Clearing the contact on the edit form clears it.
    r = post_form(
        county,
        f"/needs/{need_id}/edit",
        f"/needs/{need_id}/edit",
        **{**fields, "status": "open", "contact_name": "", "contact_phone": ""},
    )
    assert r.url.path == f"/needs/{need_id}", r.text
    assert "赵敏" not in r.text
