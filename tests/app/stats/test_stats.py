"""The province's numbers agree with the placements they count: a known set, every number."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select

from app.db import BEIJING, beijing_today, utcnow
from app.needs.models import Need
from app.placements.models import Placement
from tests.app.factories import auth, make_account, need_payload, profile_payload

REPORT = {"period": "2027年4月", "text": "服务记录"}


@pytest.fixture
def known(client: TestClient, db: Session, settings: Any) -> dict[str, Any]:
    """Placements in 通榆县 (白城, west, poverty), 梨树县 (四平, central), 抚松县 (白山, east)."""
    admin = auth(make_account(db, "admin"), settings)
    province = auth(make_account(db, "province"), settings)
    counties = {
        code: auth(make_account(db, "county", code), settings)
        for code in ("220822", "220322", "220621")
    }
    talents = []
    for i in range(6):
        acc = make_account(db, "talent")
        h = auth(acc, settings)
        pid = client.post(
            "/api/v1/profiles",
            headers=h,
            json=profile_payload(name=f"专家{i}", capacity=3, contact={"phone": f"1370000{i:04d}"}),
        ).json()["id"]
        talents.append((h, pid))

    def need(code: str, program: str = "science_commissioner", headcount: int = 5) -> int:
        r = client.post(
            "/api/v1/needs",
            headers=counties[code],
            json=need_payload(county_code=code, program=program, headcount=headcount),
        )
        assert r.status_code == 201
        return int(r.json()["id"])

    def place(
        code: str,
        nid: int,
        t: int,
        steps: list[str],
        reports: list[dict[str, int]] = (),  # type: ignore[assignment]
        reason: str = "测试",
    ) -> int:
        h, pid = talents[t]
        r = client.post(
            "/api/v1/placements",
            headers=counties[code],
            json={"need_id": nid, "profile_id": pid, "reason": reason},
        )
        assert r.status_code == 201, r.json()
        plid = int(r.json()["id"])
        for step in steps:
            who = h if step in ("accept", "decline") else counties[code]
            if step == "report":
                rep = reports.pop(0)
                assert (
                    client.post(
                        f"/api/v1/placements/{plid}/reports", headers=who, json={**REPORT, **rep}
                    ).status_code
                    == 201
                )
                continue
            body = (
                {"reason": "计划调整"}
                if step == "cancel"
                else {"reason_code": "distance"}
                if step == "decline"
                else None
            )
            assert (
                client.post(f"/api/v1/placements/{plid}/{step}", headers=who, json=body).status_code
                == 200
            )
        return plid

    tongyu_sc, tongyu_rh = need("220822"), need("220822", "return_home")
    lishu = need("220322")
    place(
        "220822",
        tongyu_sc,
        0,
        ["accept", "start", "report", "report", "complete"],
        [
            {
                "service_days": 5,
                "trainings": 30,
                "problems_solved": 2,
                "techniques_promoted": 1,
                "jobs_created": 0,
            },
            {"service_days": 3, "trainings": 10, "jobs_created": 4},
        ],
    )
    place(
        "220822", tongyu_sc, 1, ["accept", "start", "report"], [{"service_days": 2, "trainings": 5}]
    )
    place("220822", tongyu_rh, 2, ["decline"])
    place("220322", lishu, 3, ["accept"])
    place("220322", lishu, 4, ["cancel"])
    place("220322", lishu, 5, [])
    # A stale need: open, 40 days old, nobody proposed.
    stale = need("220621")
    db.execute(
        update(Need).where(Need.id == stale).values(created_at=utcnow() - timedelta(days=40))
    )
    db.commit()
    return {"admin": admin, "province": province, "stale": stale}


def test_by_county(client: TestClient, known: Any) -> None:
    r = client.get(
        "/api/v1/stats/placements", params={"group_by": "county"}, headers=known["province"]
    )
    assert r.status_code == 200
    body = r.json()
    groups = {g["key"]: g for g in body["groups"]}
    assert len(groups) == 60  # every county, with zeros where nothing happened
    tongyu, lishu, fusong = groups["220822"], groups["220322"], groups["220621"]
    assert (
        tongyu["label"],
        tongyu["total"],
        tongyu["completed"],
        tongyu["active"],
        tongyu["declined"],
    ) == ("通榆县", 3, 1, 1, 1)
    assert tongyu["outcomes"] == {
        "reports": 3,
        "service_days": 10,
        "trainings": 45,
        "problems_solved": 2,
        "techniques_promoted": 1,
        "jobs_created": 4,
    }
    assert (lishu["total"], lishu["accepted"], lishu["cancelled"], lishu["proposed"]) == (
        3,
        1,
        1,
        1,
    )
    assert lishu["outcomes"]["reports"] == 0
    assert fusong["total"] == 0
    totals = body["totals"]
    assert (
        totals["total"],
        totals["proposed"],
        totals["accepted"],
        totals["declined"],
        totals["active"],
        totals["completed"],
        totals["cancelled"],
    ) == (6, 1, 1, 1, 1, 1, 1)
    assert totals["outcomes"]["trainings"] == 45
    assert sum(g["total"] for g in body["groups"]) == totals["total"]


def test_by_region_prefecture_program_month(client: TestClient, known: Any) -> None:
    h = known["admin"]

    def groups(by: str) -> dict[str, int]:
        body = client.get("/api/v1/stats/placements", params={"group_by": by}, headers=h).json()
        return {g["key"]: g["total"] for g in body["groups"]}

    assert groups("region") == {"east": 0, "central": 3, "west": 3}
    prefectures = groups("prefecture")
    assert (prefectures["白城市"], prefectures["四平市"], prefectures["白山市"]) == (3, 3, 0)
    assert groups("program") == {"science_commissioner": 5, "return_home": 1}
    month = groups("month")
    assert sum(month.values()) == 6
    assert len(month) == 1


def test_date_range(client: TestClient, db: Session, known: Any) -> None:
    h = known["admin"]
    # Move one placement into last year: a range ending before today leaves only it.
    first = db.exec(select(Placement).order_by(Placement.id)).first()  # type: ignore[arg-type]
    assert first is not None
    db.execute(
        update(Placement)
        .where(Placement.id == first.id)
        .values(created_at=utcnow() - timedelta(days=400))
    )
    db.commit()
    # Ranges are Beijing days (the date turns at 16:00 UTC).
    last_year = (utcnow() - timedelta(days=400)).astimezone(BEIJING).date().isoformat()
    body = client.get(
        "/api/v1/stats/placements",
        headers=h,
        params={"group_by": "region", "from": last_year, "to": last_year},
    ).json()
    assert body["totals"]["total"] == 1
    body = client.get(
        "/api/v1/stats/placements", headers=h, params={"from": beijing_today().isoformat()}
    ).json()
    assert body["totals"]["total"] == 5
    bad = client.get(
        "/api/v1/stats/placements", headers=h, params={"from": "2027-02-01", "to": "2027-01-01"}
    )
    assert bad.status_code == 422


def test_findings(client: TestClient, known: Any) -> None:
    r = client.get("/api/v1/stats/findings", headers=known["province"])
    assert r.status_code == 200
    f = r.json()
    assert f["poverty_counties_total"] == 8
    without = {c["code"]: c for c in f["poverty_counties_without_active"]}
    # 通榆县 is a 2018 poverty county with an active placement; the other seven have none.
    assert "220822" not in without
    assert len(without) == 7
    assert f["over_capacity"] == []
    assert f["profiles_checked"] == 6
    assert len(f["off_list"]) == 0 or all(o["reason"] for o in f["off_list"])
    assert [n["need_id"] for n in f["stale_open_needs"]] == [known["stale"]]
    assert f["stale_open_needs"][0]["days_open"] >= 40


def test_export_csv_and_xlsx(client: TestClient, known: Any) -> None:
    import io

    from openpyxl import load_workbook

    h = known["province"]
    r = client.get(
        "/api/v1/placements/export", params={"format": "csv", "county_code": "220822"}, headers=h
    )
    assert r.status_code == 200
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("对接编号,县（市、区）,市（州）")
    assert len(lines) == 4
    assert "通榆县" in lines[1]
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    x = client.get("/api/v1/placements/export", params={"format": "xlsx"}, headers=h)
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("对接编号", "县（市、区）", "市（州）")
    assert len(rows) == 7
    completed = next(r for r in rows[1:] if r[10] == "已完成")
    assert completed[rows[0].index("服务天数")] == 8
    # A sheet to work with at once: header frozen and bold, with a filter; readable widths;
    # times are date cells (Beijing time), not text.
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert ws.auto_filter.ref == f"A1:AB{len(rows)}"
    assert ws.column_dimensions["G"].width == 36  # 需求
    proposed_at = completed[rows[0].index("推荐时间")]
    assert isinstance(proposed_at, datetime)
    assert abs(proposed_at - datetime.now(UTC).astimezone(BEIJING).replace(tzinfo=None)) < (
        timedelta(minutes=5)
    )
    assert completed[rows[0].index("取消时间")] is None
    # The CSV writes the same times as text.
    assert re.search(r",\d{4}-\d{2}-\d{2} \d{2}:\d{2},", lines[1])
    assert (
        client.get("/api/v1/placements/export", params={"format": "pdf"}, headers=h).status_code
        == 422
    )
