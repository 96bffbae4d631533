"""Province-wide plans through the API, on SQLite and PostgreSQL.

The API tests run the plan in the request's own session (``InlineRunner``);
``test_background_runner_*`` runs the real thread on a database of its own.
"""

from __future__ import annotations

import io
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from app.auth.actor import Actor
from app.config import Settings
from app.db import utcnow
from app.matches import service as matches
from app.matches.matcher import Matcher
from app.needs import service as needs
from app.needs.schemas import NeedCreate
from app.placements.models import Placement
from app.plans import service
from app.plans.candidates import Scope, generate
from app.plans.models import Plan, PlanAssignment
from app.plans.runner import PlanRunner
from app.plans.schemas import PlanCreate
from app.profiles import service as profiles
from app.profiles.schemas import ProfileCreate
from tests.app.factories import auth, make_account, need_payload, profile_payload
from tests.app.plans.inline import InlineRunner
from tests.conftest import Databases, migrated_engine

POOR = "220822"  # 通榆县, 白城市: a 2018 poverty county
RICH = "220322"  # 梨树县, 四平市: not one
SYSTEM = Actor.system("test")


@dataclass
class World:
    h: dict[str, dict[str, str]]
    first: int  # need in 梨树县, posted first
    poor: int  # need in 通榆县, posted later
    person: int  # the one person who fits both
    others: list[int]  # people who fit neither


# Only the saline-soil expert is an adequate candidate at this minimum score; the others are on
# every list (there are only four people) far below it.
ADEQUATE = 0.5


SALINE = "长期从事苏打盐渍土改良研究，擅长脱硫石膏施用、盐碱地水稻与玉米栽培。"


def _need(db: Session, county: str, title: str, **extra: Any) -> int:
    defaults = {
        "headcount": 1,
        "description": "盐碱地返碱严重，玉米水稻出苗差，需要盐碱地改良专家现场指导。",
        "industry": "盐碱地治理/水稻种植",
    }
    body = need_payload(county_code=county, title=title, **(defaults | extra))
    need = needs.create(db, data=NeedCreate(**body), actor=SYSTEM)
    assert need.id is not None
    return need.id


def _person(db: Session, **extra: Any) -> int:
    defaults = {
        "name": "王立新",
        "capacity": 1,
        "expertise": SALINE,
        "hometown_county_code": None,
        "preferred_regions": [],
    }
    phone = extra.pop("phone", "13811112222")
    body = profile_payload(**(defaults | extra), contact={"phone": phone})
    profile = profiles.create(db, data=ProfileCreate(**body), actor=SYSTEM)
    assert profile.id is not None
    return profile.id


def _distractors(db: Session) -> list[int]:
    return [
        _person(db, name=name, phone=phone, expertise=text, fields=[field])
        for name, phone, text, field in (
            ("赵电商", "13800000001", "农村电商直播带货，网店运营与短视频营销。", "电子商务"),
            ("钱中医", "13800000002", "中医药膳与针灸推拿，基层卫生院中医诊疗。", "中医药"),
            ("孙会计", "13800000003", "乡镇财务核算与合作社会计代账。", "财务"),
        )
    ]


@pytest.fixture
def world(client: TestClient, db: Session, settings: Settings, matcher: Matcher) -> World:
    accounts = {
        "admin": make_account(db, "admin"),
        "province": make_account(db, "province"),
        "county": make_account(db, "county", POOR),
        "county_rich": make_account(db, "county", RICH),
        "talent": make_account(db, "talent"),
    }
    first = _need(db, RICH, "盐碱地改良（梨树）")
    poor = _need(db, POOR, "盐碱地改良（通榆）")
    person = _person(db)
    others = _distractors(db)
    db.commit()
    client.app.state.plans = InlineRunner(db, matcher)  # type: ignore[attr-defined]
    h = {role: auth(a, settings) for role, a in accounts.items()}
    h["anon"] = {}
    return World(h, first, poor, person, others)


def _run(client: TestClient, w: World, **params: Any) -> dict[str, Any]:
    r = client.post("/api/v1/plans", json=params, headers=w.h["province"])
    assert r.status_code == 202, r.json()
    assert r.json()["status"] == "running"
    plan = client.get(f"/api/v1/plans/{r.json()['id']}", headers=w.h["province"])
    assert plan.status_code == 200
    body: dict[str, Any] = plan.json()
    assert body["status"] == "done", body["error"]
    return body


def test_greedy_leaves_the_poverty_county_empty_and_the_plan_does_not(
    client: TestClient, world: World
) -> None:
    plan = _run(client, world, min_score=ADEQUATE)
    s = plan["summary"]
    # First come, first served: 梨树县 posted first and took the only person.
    assert s["greedy"]["poverty_counties_covered"] == 0
    assert s["greedy"]["filled_needs"] == 1
    # The plan gives the person to 通榆县, a former poverty county.
    assert s["poverty_counties_open"] == 1
    assert s["poverty_counties_covered"] == 1
    assert s["filled_needs"] == 1
    assert s["open_needs"] == 2
    assert [(a["need_id"], a["profile_id"], a["rank"]) for a in plan["assignments"]] == [
        (world.poor, world.person, 1)
    ]
    assert plan["assignments"][0]["county_name"] == "通榆县"
    # 梨树县's need says why it stays open, and who took its candidate where.
    [left] = plan["unfilled"]
    assert left["need_id"] == world.first
    assert left["reason"] == "capacity_taken"
    assert left["reason_label"] == "合格候选人的服务名额已被其他需求占用"
    assert left["taken"] == [{"profile_id": world.person, "need_ids": [world.poor]}]
    # ... and it is a shortage of people with its skills in its prefecture.
    cells = {(c["term"], c["prefecture"]): c for c in plan["shortage"]}
    assert cells[("盐碱地治理", "四平市")]["needs"] == 1
    assert ("盐碱地治理", "白城市") not in cells
    assert plan["parameters"]["poverty_floor"] is True
    assert plan["model_version"]


def test_scores_are_what_the_match_list_shows(client: TestClient, world: World) -> None:
    plan = _run(client, world, min_score=ADEQUATE)
    [advised] = plan["assignments"]
    matches = client.get(
        f"/api/v1/needs/{world.poor}/matches?limit=10", headers=world.h["province"]
    ).json()["items"]
    assert matches[0]["profile_id"] == world.person
    assert advised["score"] == pytest.approx(matches[0]["score"], abs=1e-6)
    assert all(m["score"] < ADEQUATE for m in matches[1:])


def test_without_a_minimum_score_everyone_is_placed_somewhere(
    client: TestClient, world: World
) -> None:
    plan = _run(client, world, poverty_floor=False)
    assert plan["summary"]["filled_needs"] == 2
    assert plan["summary"]["greedy"]["filled_needs"] == 2
    # The plan's total is at least the baseline's: it is the optimum of the same problem.
    assert plan["summary"]["total_score"] >= plan["summary"]["greedy"]["total_score"] - 1e-9
    assert plan["parameters"]["poverty_floor"] is False


def test_every_unfilled_need_says_why(client: TestClient, world: World) -> None:
    below = _run(client, world, min_score=3)
    assert {u["reason"] for u in below["unfilled"]} == {"below_min_score"}
    assert below["assignments"] == []
    assert {(c["term"], c["prefecture"]) for c in below["shortage"]} >= {
        ("盐碱地治理", "四平市"),
        ("盐碱地治理", "白城市"),
        ("水稻种植", "白城市"),
    }
    scoped = _run(client, world, prefecture="四平市", min_score=ADEQUATE)
    assert scoped["summary"]["open_needs"] == 1
    assert [a["need_id"] for a in scoped["assignments"]] == [world.first]


def test_a_need_without_any_candidate(client: TestClient, db: Session, world: World) -> None:
    for pid in [world.person, *world.others]:
        profiles.update(db, profile=profiles.get(db, pid), data=_inactive(), actor=SYSTEM)
    db.commit()
    plan = _run(client, world)
    assert {u["reason"] for u in plan["unfilled"]} == {"no_candidate"}
    assert plan["summary"]["greedy"]["covered_needs"] == 0


def _inactive() -> Any:
    from app.profiles.schemas import ProfileUpdate

    return ProfileUpdate(active=False)


@pytest.mark.parametrize("role", ["county", "talent"])
def test_counties_and_talents_may_not_plan(client: TestClient, world: World, role: str) -> None:
    assert client.post("/api/v1/plans", json={}, headers=world.h[role]).status_code == 403
    assert client.get("/api/v1/plans", headers=world.h[role]).status_code == 403
    plan = _run(client, world)
    for path in ("", "/export.xlsx"):
        r = client.get(f"/api/v1/plans/{plan['id']}{path}", headers=world.h[role])
        assert r.status_code == 403
        assert r.json()["message"]
    assert (
        client.post(f"/api/v1/plans/{plan['id']}/apply", headers=world.h[role]).status_code == 403
    )
    assert client.get("/api/v1/plans", headers=world.h["anon"]).status_code == 401
    # The province plans but does not propose people in bulk.
    r = client.post(f"/api/v1/plans/{plan['id']}/apply", headers=world.h["province"])
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"min_score": -0.5}, "min_score", "validation_error"),
        ({"max_per_employer": 0}, "max_per_employer", "validation_error"),
        ({"program": "everything"}, "program", "validation_error"),
        ({"poverty_floor": "maybe"}, "poverty_floor", "validation_error"),
        ({"colour": "red"}, "colour", "validation_error"),
        ({"prefecture": "火星市"}, "prefecture", "unknown_prefecture"),
        ({"region": "east", "prefecture": "四平市"}, "prefecture", "prefecture_not_in_region"),
    ],
)
def test_parameters_are_checked(
    client: TestClient, world: World, body: dict[str, Any], field: str, code: str
) -> None:
    r = client.post("/api/v1/plans", json=body, headers=world.h["admin"])
    assert r.status_code == 422, r.json()
    assert r.json()["field"] == field
    assert r.json()["code"] == code
    assert r.json()["message"]


def test_one_plan_at_a_time_and_a_dead_ones_plan_is_failed(
    client: TestClient, db: Session, world: World
) -> None:
    live = Plan(runner="elsewhere:4242", heartbeat_at=utcnow(), parameters={})
    db.add(live)
    db.commit()
    r = client.post("/api/v1/plans", json={}, headers=world.h["province"])
    assert r.status_code == 409
    assert r.json()["code"] == "plan_running"
    assert r.json()["plan_id"] == live.id
    # Its process died on another host: no heartbeat for five minutes.
    live.heartbeat_at = utcnow() - timedelta(minutes=5)
    db.add(live)
    db.commit()
    _run(client, world)
    db.refresh(live)
    assert live.status == "failed"
    assert live.error == service.ORPHANED
    # A process of this host that is gone is recognised at once, heartbeat or not.
    gone = Plan(runner=f"{socket.gethostname()}:999999999", heartbeat_at=utcnow(), parameters={})
    db.add(gone)
    db.commit()
    # So is one this very process left running when nothing runs here any more.
    mine = Plan(runner=service.runner_tag(), heartbeat_at=utcnow(), parameters={})
    assert service.fail_orphans(db, computing_here=None) == [gone.id]
    db.add(mine)
    db.flush()
    assert service.fail_orphans(db, computing_here=mine.id) == []
    assert service.fail_orphans(db, computing_here=None) == [mine.id]
    db.commit()
    listed = client.get("/api/v1/plans", headers=world.h["province"]).json()
    assert [p["status"] for p in listed["items"]] == ["failed", "failed", "done", "failed"]
    assert listed["items"][0]["status_label"] == "失败"


def test_a_county_proposes_from_the_plan_and_the_placement_says_so(
    client: TestClient, db: Session, world: World
) -> None:
    plan = _run(client, world, min_score=ADEQUATE)
    wrong = {"need_id": world.first, "profile_id": world.person, "plan_id": plan["id"]}
    r = client.post("/api/v1/placements", json=wrong, headers=world.h["county_rich"])
    assert r.status_code == 422
    assert (r.json()["code"], r.json()["field"]) == ("plan_invalid", "plan_id")
    body = {"need_id": world.poor, "profile_id": world.person, "plan_id": plan["id"]}
    r = client.post("/api/v1/placements", json=body, headers=world.h["county"])
    assert r.status_code == 201, r.json()
    assert r.json()["plan_id"] == plan["id"]  # the county sees where the proposal came from
    placement = db.get(Placement, r.json()["id"])
    assert placement is not None
    assert placement.plan_id == plan["id"]
    assert not placement.off_list
    assert placement.match_rank == 1
    history = client.get(
        f"/api/v1/placements/{placement.id}/history", headers=world.h["province"]
    ).json()
    assert history[0]["after"]["plan_id"] == plan["id"]


def test_applying_a_plan_twice_proposes_once(client: TestClient, db: Session, world: World) -> None:
    plan = _run(client, world, min_score=ADEQUATE)
    r = client.post(f"/api/v1/plans/{plan['id']}/apply", headers=world.h["admin"])
    assert r.status_code == 200, r.json()
    assert (r.json()["created"], r.json()["skipped"]) == (1, 0)
    again = client.post(f"/api/v1/plans/{plan['id']}/apply", headers=world.h["admin"]).json()
    assert (again["created"], again["skipped"]) == (0, 1)
    assert again["skipped_by_reason"] == {"already_proposed": 1}
    rows = db.exec(select(Placement).where(Placement.plan_id == plan["id"])).all()
    assert [(p.need_id, p.profile_id, p.status) for p in rows] == [
        (world.poor, world.person, "proposed")
    ]


def test_the_plan_exports_to_excel(client: TestClient, world: World) -> None:
    plan = _run(client, world, min_score=ADEQUATE)
    r = client.get(f"/api/v1/plans/{plan['id']}/export.xlsx", headers=world.h["province"])
    assert r.status_code == 200
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["概况", "规划安排", "未满足需求", "人才缺口"]
    rows = list(wb["规划安排"].iter_rows(values_only=True))
    assert rows[0][:3] == ("县（市、区）", "需求编号", "需求")
    assert rows[1][0] == "通榆县"
    assert rows[1][3] == world.person
    assert wb["规划安排"].freeze_panes == "A2"
    unfilled = list(wb["未满足需求"].iter_rows(values_only=True))
    assert unfilled[1][4] == "合格候选人的服务名额已被其他需求占用"
    overview = {row[0]: row[1:] for row in wb["概况"].iter_rows(values_only=True)}
    assert overview["得到安排的脱贫县"] == (1, 0)


def test_the_latest_covering_plan_is_the_advice_for_a_need(
    client: TestClient, db: Session, world: World
) -> None:
    need = needs.get(db, world.poor)
    assert service.advice_for_need(db, need) is None
    plan = _run(client, world, min_score=ADEQUATE)
    advice = service.advice_for_need(db, need)
    assert advice is not None
    assert advice.plan_id == plan["id"]
    assert [p.profile_id for p in advice.people] == [world.person]
    # A later plan for another prefecture does not hide it.
    _run(client, world, prefecture="四平市", min_score=ADEQUATE)
    again = service.advice_for_need(db, need)
    assert again is not None
    assert again.plan_id == plan["id"]


# --- the real background thread -------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def own_engine(request: pytest.FixtureRequest, databases: Databases) -> Any:
    engine = migrated_engine(databases, request.param)
    yield engine
    engine.dispose()


def test_background_runner_computes_and_records_the_plan(
    own_engine: Any, settings: Settings
) -> None:
    with Session(own_engine, expire_on_commit=False) as db:
        first = _need(db, RICH, "盐碱地改良（梨树）")
        poor = _need(db, POOR, "盐碱地改良（通榆）")
        person = _person(db)
        _distractors(db)
        db.commit()
    matcher = Matcher.start(
        settings.model_copy(update={"database_url": str(own_engine.url)}), own_engine
    )
    runner = PlanRunner(own_engine, lambda: matcher)
    assert runner.reserve()
    assert not runner.reserve()
    with Session(own_engine, expire_on_commit=False) as db:
        data = PlanCreate(min_score=ADEQUATE)
        plan = service.create(db, data=data, actor=SYSTEM)
        db.commit()
    assert plan.id is not None
    runner.launch(plan.id, SYSTEM)
    runner.wait(120)
    assert not runner.busy
    with Session(own_engine) as db:
        done = service.get(db, plan.id)
        assert done.status == "done", done.error
        assert done.summary is not None
        assert done.summary["poverty_counties_covered"] == 1
        rows = db.exec(select(PlanAssignment).where(PlanAssignment.plan_id == plan.id)).all()
        assert [(r.need_id, r.profile_id) for r in rows] == [(poor, person)]
        assert first not in {r.need_id for r in rows}
    assert runner.sweep() == []


def test_candidates_are_each_needs_match_list(db: Session, world: World, matcher: Matcher) -> None:
    # More needs than a batch of dense searches needs to take FAISS's matrix-product path.
    texts = ("电商直播带货", "中医药膳", "合作社会计", "盐碱地水稻")
    for i in range(22):
        _need(db, (POOR, RICH)[i % 2], f"{texts[i % 4]}（{i}）", industry="现代农业")
    db.commit()
    cands = generate(db, matcher, Scope(), top_k=3)
    assert len(cands.need_ids) == 24
    assert cands.need_terms[-1] == ("现代农业",)
    for row, need_id in enumerate(cands.need_ids.tolist()):
        listed = matches.need_matches(db, matcher, need=needs.get(db, need_id), limit=3).items
        mine = cands.cand_need == row
        assert cands.profile_ids[cands.cand_person[mine]].tolist() == [m.profile_id for m in listed]
        # the same scores up to float32 summation order: the plan's batched matrix product and
        # the list's single query may round to 6 digits one unit apart (seen on AMD EPYC)
        assert cands.cand_score[mine].tolist() == pytest.approx([m.score for m in listed], abs=2e-6)
        assert cands.cand_rank[mine].tolist() == [1, 2, 3]
    assert cands.person_capacity.tolist() == [1, 1, 1, 1]
    # The same employer for all four (the factory's affiliation), none of them from 通榆 or 梨树.
    assert set(cands.person_employer.tolist()) == {0}
    assert not cands.cand_hometown.any()


def test_an_apply_stopped_half_way_keeps_its_chunks_and_applying_again_completes_it(
    client: TestClient, db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.plans import apply as applying

    plan = _run(client, world)  # no minimum score: both needs get someone
    assert plan["summary"]["filled_needs"] == 2
    monkeypatch.setattr(applying, "CHUNK", 1)
    real = applying.placements.propose
    calls = {"n": 0}

    def dies_at_the_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the worker stops")
        return real(*args, **kwargs)

    monkeypatch.setattr(applying.placements, "propose", dies_at_the_second)
    with pytest.raises(RuntimeError, match="the worker stops"):
        client.post(f"/api/v1/plans/{plan['id']}/apply", headers=world.h["admin"])
    db.expire_all()
    kept = db.exec(select(Placement).where(Placement.plan_id == plan["id"])).all()
    assert len(kept) == 1  # the first chunk was committed before the stop
    again = client.post(f"/api/v1/plans/{plan['id']}/apply", headers=world.h["admin"]).json()
    assert (again["created"], again["skipped"]) == (1, 1)
    assert again["skipped_by_reason"] == {"already_proposed": 1}
    rows = db.exec(select(Placement).where(Placement.plan_id == plan["id"])).all()
    assert {p.need_id for p in rows} == {world.first, world.poor}


@pytest.mark.parametrize(("exact_up_to", "method"), [(10_000, "cp_sat"), (0, "limited_flow")])
def test_an_employer_limit_holds_exact_or_by_the_limited_flow(
    client: TestClient,
    db: Session,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    exact_up_to: int,
    method: str,
) -> None:
    from matching import allocation

    # a second need in 梨树县: without a limit two people of the one employer serve there
    _need(db, RICH, "盐碱地改良（梨树二）")
    db.commit()
    monkeypatch.setattr(allocation, "MAX_EXACT_PAIRS", exact_up_to)
    free = _run(client, world)
    per_county = [a for a in free["assignments"] if a["need_id"] != world.poor]
    assert len(per_county) == 2  # the limit below binds
    plan = _run(client, world, max_per_employer=1)
    assert plan["summary"]["method"] == method
    assert plan["summary"]["optimal"] is (method == "cp_sat")
    rich = [a for a in plan["assignments"] if a["need_id"] != world.poor]
    assert len(rich) == 1  # one person of the employer in 梨树县
    reasons = {u["reason"] for u in plan["unfilled"]}
    assert reasons <= {"employer_limit", "not_chosen"}
