"""The smaller parts of the placement conversation on the pages, without a browser: declining
with a reason, proposing someone again, tap-to-call phones, the to-do lists of each role, the
消息 page and the channel settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from app.db import utcnow
from app.placements.models import Placement
from tests.app.placements.conftest import REPORT, Placed, propose
from tests.app.web.test_interest_pages import _token, sign_in


def post_form(client: TestClient, page: str, action: str, data: dict[str, str]) -> Any:
    """Submit a form of ``page`` to ``action``, as the browser would (with the page's token)."""
    return client.post(action, data={**data, "csrf_token": _token(client.get(page).text)})


def test_declining_on_the_page_asks_for_a_reason(app: FastAPI, placed: Placed) -> None:
    w = placed
    pid = propose(client_of(app, w), w).json()["id"]
    talent = sign_in(app, w.accounts["talent_a"].username)
    page = talent.get(f"/placements/{pid}").text
    assert "婉拒理由" in page
    assert "路途太远" in page
    r = post_form(
        talent,
        f"/placements/{pid}",
        f"/placements/{pid}/decline",
        {"reason_code": "", "reason": ""},
    )
    assert r.status_code == 422
    assert "婉拒理由" in r.text
    r = post_form(
        talent,
        f"/placements/{pid}",
        f"/placements/{pid}/decline",
        {"reason_code": "other", "reason": ""},
    )
    assert r.status_code == 422
    assert "选择「其他」时请填写婉拒理由" in r.text
    r = post_form(
        talent,
        f"/placements/{pid}",
        f"/placements/{pid}/decline",
        {"reason_code": "schedule", "reason": "五月有课"},
    )
    assert r.status_code == 200
    assert "您已婉拒该推荐" in r.text
    assert "时间冲突：五月有课" in r.text


def client_of(app: FastAPI, w: Placed) -> TestClient:
    return TestClient(app)


def test_proposing_again_shows_the_earlier_placement_and_asks(app: FastAPI, placed: Placed) -> None:
    w = placed
    api = client_of(app, w)
    pid = propose(api, w).json()["id"]
    api.post(
        f"/api/v1/placements/{pid}/decline",
        json={"reason_code": "distance"},
        headers=w.h["talent_a"],
    )
    county = sign_in(app, w.accounts["county"].username)
    path = f"/needs/{w.need_id}/propose?profile_id={w.profiles['talent_a']}"
    page = county.get(path).text
    assert f"对接 #{pid}（已婉拒：路途太远）" in page
    assert "我已了解，仍要再次推荐" in page
    form = {"profile_id": str(w.profiles["talent_a"]), "csrf_token": _token(page)}
    r = county.post(f"/needs/{w.need_id}/propose", data=form)
    assert r.status_code == 409
    assert "如仍要再次推荐，请确认后重新提交" in r.text
    r = county.post(f"/needs/{w.need_id}/propose", data={**form, "repeat": "1"})
    assert r.status_code == 200
    assert "发出推荐" in r.text


def test_phones_are_tap_to_call_once_the_person_accepted(app: FastAPI, placed: Placed) -> None:
    w = placed
    api = client_of(app, w)
    pid = propose(api, w).json()["id"]
    county = sign_in(app, w.accounts["county"].username)
    assert 'href="tel:' not in county.get(f"/placements/{pid}").text  # masked before
    api.post(f"/api/v1/placements/{pid}/accept", headers=w.h["talent_a"])
    assert 'href="tel:13811112222"' in county.get(f"/placements/{pid}").text


def test_each_landing_page_shows_its_to_do_list(app: FastAPI, db: Session, placed: Placed) -> None:
    w = placed
    api = client_of(app, w)
    pid = propose(api, w).json()["id"]
    talent = sign_in(app, w.accounts["talent_a"].username)
    home = talent.get("/me").text
    assert "待办事项" in home
    assert "待答复的推荐" in home
    assert f'href="/placements/{pid}"' in home

    api.post(f"/api/v1/placements/{pid}/accept", headers=w.h["talent_a"])
    county = sign_in(app, w.accounts["county"].username)
    needs = county.get("/needs").text
    assert "已接受待开始" in needs
    api.post(f"/api/v1/placements/{pid}/start", headers=w.h["county"])
    # Forty days in service without a report: overdue on both sides.
    db.exec(
        update(Placement)
        .where(col(Placement.id) == pid)
        .values(started_at=utcnow() - timedelta(days=40))
    )
    db.commit()
    assert "服务记录逾期" in county.get("/needs").text
    assert "待提交的服务记录" in talent.get("/me").text
    api.post(f"/api/v1/placements/{pid}/reports", json=REPORT, headers=w.h["talent_a"])
    assert "服务记录逾期" not in county.get("/needs").text

    province = sign_in(app, w.accounts["province"].username)
    stats = province.get("/stats").text
    assert "待办事项" in stats
    assert "脱贫县无服务中的人才" in stats  # seven former poverty counties have nobody in service
    findings = province.get("/stats/findings").text
    assert "脱贫县" in findings
    assert "贫困县" not in findings.replace("2018 年国家级贫困县名单", "")
    assert "曾有服务已经完成、目前无人在岗的县也列在这里" in findings


def test_inbox_page_badge_and_settings(app: FastAPI, placed: Placed) -> None:
    w = placed
    propose(client_of(app, w), w)
    talent = sign_in(app, w.accounts["talent_a"].username)
    page = talent.get("/notifications").text
    assert 'class="unread-badge"' in page
    assert "新的推荐" in page
    r = talent.post("/notifications/read-all", data={"csrf_token": _token(page)})
    assert r.status_code == 200
    assert "已将 1 条消息标为已读" in r.text
    assert 'class="unread-badge"' not in r.text
    settings = talent.get("/settings/notifications").text
    assert "不填则使用档案中的邮箱：wang@example.cn" in settings
    assert "未开通邮件和短信发送" in settings
    r = talent.post(
        "/settings/notifications",
        data={"phone": "12", "notify_sms": "1", "csrf_token": _token(settings)},
    )
    assert r.status_code == 422
    assert "手机号" in r.text
