"""The province's need figures agree with a known set of needs: every number, every grouping,
the period, who may read them, the workbook and the statistics page."""

import io
import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update
from sqlmodel import Session

from app.auth.actor import Actor
from app.db import utcnow
from app.needs import service as needs
from app.needs.models import Need
from app.needs.schemas import NeedCreate
from app.placements.models import Placement
from app.profiles import service as profiles
from app.profiles.schemas import ProfileCreate
from tests.app.factories import (
    auth,
    make_account,
    need_payload,
    page_sign_in,
    profile_payload,
)

BEIJING = ZoneInfo("Asia/Shanghai")
TONGYU, TAONAN, LISHU = "220822", "220881", "220322"  # 白城市 ×2 (west), 四平市 (central)
SC, RH = "science_commissioner", "return_home"
FIGURES = (
    "posted",
    "open",
    "filled",
    "closed",
    "open_unproposed",
    "overdue",
    "headcount_open",
    "places_held",
)


def _figures(group: dict[str, Any]) -> tuple[int, ...]:
    return tuple(group[f] for f in FIGURES)


@pytest.fixture
def known(db: Session, settings: Any) -> dict[str, Any]:
    """Six needs:
    通榆县  A open, no proposal, deadline ahead        (科技特派员, 2 people)
            B open, past its deadline, 1 accepted + 1 proposed + 1 declined (科技特派员, 3)
            C filled, one placement completed          (三乡工程, 1)
    洮南市  D closed, no proposal                       (科技特派员, 1)
    梨树县  E open, no proposal, past its deadline      (三乡工程, 2)
            F open, posted 400 days ago, no deadline, one placement active (科技特派员, 1)
    """
    system = Actor.system("test")
    people = [
        profiles.create(
            db, data=ProfileCreate(**profile_payload(name=f"专家{i}", contact={})), actor=system
        )
        for i in range(4)
    ]
    today = utcnow().astimezone(BEIJING).date()
    past, ahead = today - timedelta(days=10), today + timedelta(days=30)

    def need(code: str, program: str, headcount: int, **fields: Any) -> Need:
        row = needs.create(
            db,
            data=NeedCreate(
                **need_payload(
                    county_code=code, program=program, headcount=headcount, deadline=None
                )
            ),
            actor=system,
        )
        db.flush()
        if fields:
            db.execute(update(Need).where(Need.id == row.id).values(**fields))  # type: ignore[arg-type]
        return row

    a = need(TONGYU, SC, 2, deadline=ahead)
    b = need(TONGYU, SC, 3, deadline=past)
    c = need(TONGYU, RH, 1, status="filled", deadline=past)  # filled: never overdue
    need(TAONAN, SC, 1, status="closed", deadline=past)  # closed: never overdue
    need(LISHU, RH, 2, deadline=past)
    long_ago = utcnow() - timedelta(days=400)
    f = need(LISHU, SC, 1, created_at=long_ago, updated_at=long_ago)
    assert a.id

    def placement(n: Need, person: int, status: str) -> None:
        db.add(
            Placement(
                need_id=n.id,
                profile_id=people[person].id,
                county_code=n.county_code,
                program=n.program,
                status=status,
            )
        )

    placement(b, 0, "accepted")
    placement(b, 1, "proposed")
    placement(b, 2, "declined")
    placement(c, 3, "completed")
    placement(f, 3, "active")
    db.commit()
    return {
        "province": auth(make_account(db, "province", username="needstatsprov"), settings),
        "admin": auth(make_account(db, "admin"), settings),
        "county": auth(make_account(db, "county", TONGYU), settings),
        "talent": auth(make_account(db, "talent"), settings),
        "today": today,
        "long_ago": long_ago.astimezone(BEIJING).date(),
    }


def _get(client: TestClient, known: dict[str, Any], **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/stats/needs", params=params, headers=known["province"])
    assert r.status_code == 200, r.json()
    body: dict[str, Any] = r.json()
    return body


def test_every_figure_by_county(client: TestClient, known: dict[str, Any]) -> None:
    body = _get(client, known, group_by="county")
    groups = {g["key"]: g for g in body["groups"]}
    assert len(groups) == 60  # every county, zeros included
    assert groups[TONGYU]["label"] == "通榆县"
    #                                 posted open filled closed unproposed overdue asked held
    assert _figures(groups[TONGYU]) == (3, 2, 1, 0, 1, 1, 5, 1)
    assert _figures(groups[TAONAN]) == (1, 0, 0, 1, 0, 0, 0, 0)
    assert _figures(groups[LISHU]) == (2, 2, 0, 0, 1, 1, 3, 1)
    assert _figures(groups["220621"]) == (0,) * 8  # 抚松县: nothing
    assert _figures(body["totals"]) == (6, 4, 1, 1, 2, 2, 8, 2)
    assert body["totals"]["label"] == "合计"
    assert body["today"] == known["today"].isoformat()
    for f in FIGURES:
        assert sum(g[f] for g in body["groups"]) == body["totals"][f]


def test_prefecture_region_program(client: TestClient, known: dict[str, Any]) -> None:
    prefectures = {g["key"]: g for g in _get(client, known, group_by="prefecture")["groups"]}
    assert _figures(prefectures["白城市"]) == (4, 2, 1, 1, 1, 1, 5, 1)
    assert _figures(prefectures["四平市"]) == (2, 2, 0, 0, 1, 1, 3, 1)
    assert _figures(prefectures["长春市"]) == (0,) * 8
    regions = {g["key"]: g for g in _get(client, known, group_by="region")["groups"]}
    assert [(k, g["label"]) for k, g in regions.items()] == [
        ("east", "东部"),
        ("central", "中部"),
        ("west", "西部"),
    ]
    assert _figures(regions["west"]) == (4, 2, 1, 1, 1, 1, 5, 1)
    assert _figures(regions["central"]) == (2, 2, 0, 0, 1, 1, 3, 1)
    assert _figures(regions["east"]) == (0,) * 8
    programs = {g["key"]: g for g in _get(client, known, group_by="program")["groups"]}
    assert _figures(programs[SC]) == (4, 3, 0, 1, 1, 1, 6, 2)
    assert _figures(programs[RH]) == (2, 1, 1, 0, 1, 1, 2, 0)
    assert programs[RH]["label"] == "三乡工程"


@pytest.mark.parametrize("group_by", ["county", "prefecture", "region", "program"])
def test_groups_in_the_order_of_the_placement_statistics(
    client: TestClient, known: dict[str, Any], group_by: str
) -> None:
    need_keys = [g["key"] for g in _get(client, known, group_by=group_by)["groups"]]
    placement_keys = [
        g["key"]
        for g in client.get(
            "/api/v1/stats/placements", params={"group_by": group_by}, headers=known["admin"]
        ).json()["groups"]
    ]
    assert need_keys == placement_keys


def test_months_from_the_first_need_to_the_last(client: TestClient, known: dict[str, Any]) -> None:
    body = _get(client, known, group_by="month")
    months = [g["key"] for g in body["groups"]]
    first, last = known["long_ago"].strftime("%Y-%m"), known["today"].strftime("%Y-%m")
    assert (months[0], months[-1]) == (first, last)
    assert months == sorted(set(months))
    assert 13 <= len(months) <= 15  # every month between, with zeros
    by_month = {g["key"]: g for g in body["groups"]}
    assert _figures(by_month[first]) == (1, 1, 0, 0, 0, 0, 1, 1)  # F
    assert by_month[last]["posted"] == 5
    assert sum(g["posted"] for g in body["groups"][1:-1]) == 0
    assert _figures(body["totals"]) == (6, 4, 1, 1, 2, 2, 8, 2)


def test_period_counts_needs_by_the_day_they_were_posted(
    client: TestClient, known: dict[str, Any]
) -> None:
    recent = _get(
        client,
        known,
        group_by="county",
        **{"from": (known["today"] - timedelta(days=30)).isoformat()},
    )
    lishu = next(g for g in recent["groups"] if g["key"] == LISHU)
    assert _figures(lishu) == (1, 1, 0, 0, 1, 1, 2, 0)  # F was posted before the period
    assert recent["totals"]["posted"] == 5
    day = known["long_ago"].isoformat()
    only_f = _get(client, known, group_by="program", **{"from": day, "to": day})
    assert _figures(only_f["totals"]) == (1, 1, 0, 0, 0, 0, 1, 1)
    assert (only_f["date_from"], only_f["date_to"]) == (day, day)
    nothing = _get(client, known, group_by="month", to=(known["long_ago"] - timedelta(days=1)))
    assert (nothing["groups"], nothing["totals"]["posted"]) == ([], 0)


def test_bad_requests_name_the_field(client: TestClient, known: dict[str, Any]) -> None:
    h = known["province"]
    r = client.get("/api/v1/stats/needs", params={"group_by": "village"}, headers=h)
    assert r.status_code == 422
    assert r.json()["field"] == "group_by"
    r = client.get(
        "/api/v1/stats/needs", params={"from": "2027-02-01", "to": "2027-01-01"}, headers=h
    )
    assert (r.status_code, r.json()["field"]) == (422, "from")
    assert r.json()["message"] == "起始日期不能晚于截止日期"
    for bad in ("2027-13-01", "0", "20270101"):  # ISO dates only, as every date filter
        r = client.get("/api/v1/stats/needs", params={"to": bad}, headers=h)
        assert (r.status_code, r.json()["field"]) == (422, "to")
    r = client.get("/api/v1/stats/export.xlsx", params={"group_by": "village"}, headers=h)
    assert (r.status_code, r.json()["field"]) == (422, "group_by")


@pytest.mark.parametrize("path", ["/api/v1/stats/needs", "/api/v1/stats/export.xlsx"])
def test_only_the_province_and_administrators(
    client: TestClient, known: dict[str, Any], path: str
) -> None:
    for role in ("county", "talent"):
        r = client.get(path, headers=known[role])
        assert r.status_code == 403
        assert r.json()["message"]
    assert client.get(path).status_code == 401
    assert client.get(path, headers=known["admin"]).status_code == 200


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(values_only=True))


def test_workbook_has_both_sheets_by_the_same_grouping(
    client: TestClient, known: dict[str, Any]
) -> None:
    r = client.get(
        "/api/v1/stats/export.xlsx", params={"group_by": "county"}, headers=known["province"]
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["需求统计", "对接统计"]
    need_sheet, placement_sheet = wb["需求统计"], wb["对接统计"]
    needs_rows = _rows(need_sheet)
    assert needs_rows[0] == (
        "县（市、区）",
        "发布需求",
        "征集中",
        "已满员",
        "已关闭",
        "征集中·从未推荐",
        "征集中·已过截止日期",
        "征集中需求人数",
        "已占名额",
    )
    assert len(needs_rows) == 1 + 60 + 1  # header, every county, totals
    tongyu = next(row for row in needs_rows if row[0] == "通榆县")
    assert tongyu[1:] == (3, 2, 1, 0, 1, 1, 5, 1)
    assert needs_rows[-1] == ("合计", 6, 4, 1, 1, 2, 2, 8, 2)
    placement_rows = _rows(placement_sheet)
    assert placement_rows[0][:4] == ("县（市、区）", "对接合计", "已推荐", "已接受")
    assert placement_rows[0][-1] == "带动就业"
    assert [row[0] for row in placement_rows[1:]] == [row[0] for row in needs_rows[1:]]
    head = placement_rows[0]
    by_county = {row[0]: dict(zip(head, row, strict=True)) for row in placement_rows[1:]}
    assert (by_county["通榆县"]["对接合计"], by_county["通榆县"]["已完成"]) == (4, 1)
    assert (by_county["梨树县"]["对接合计"], by_county["梨树县"]["服务中"]) == (1, 1)
    assert by_county["合计"]["对接合计"] == 5
    for ws in (need_sheet, placement_sheet):
        assert ws.freeze_panes == "B2"
        assert ws["A1"].font.bold
        assert ws["B1"].font.bold
        assert ws.cell(row=ws.max_row, column=1).font.bold  # 合计
        assert not ws["A2"].font.bold
        assert ws.column_dimensions["A"].width == 16
        assert ws.column_dimensions["B"].width >= 10


def test_workbook_follows_grouping_and_period(client: TestClient, known: dict[str, Any]) -> None:
    day = known["long_ago"].isoformat()
    r = client.get(
        "/api/v1/stats/export.xlsx",
        params={"group_by": "region", "from": day, "to": day},
        headers=known["admin"],
    )
    wb = load_workbook(io.BytesIO(r.content))
    assert _rows(wb["需求统计"]) == [
        _rows(wb["需求统计"])[0],
        ("东部", 0, 0, 0, 0, 0, 0, 0, 0),
        ("中部", 1, 1, 0, 0, 0, 0, 1, 1),
        ("西部", 0, 0, 0, 0, 0, 0, 0, 0),
        ("合计", 1, 1, 0, 0, 0, 0, 1, 1),
    ]
    assert _rows(wb["需求统计"])[0][0] == "区域"
    # The placements were all proposed today: none in that day.
    assert [row[1] for row in _rows(wb["对接统计"])[1:]] == [0, 0, 0, 0]
    assert day in r.headers["content-disposition"]


_sign_in = page_sign_in


def _needs_section(html: str) -> str:
    found = re.search(
        r'<section class="card" aria-labelledby="needs-head">.*?</section>', html, re.S
    )
    assert found, "the page has a 需求统计 section"
    return found[0]


def _row_cells(section: str, label: str) -> list[str]:
    row = re.search(rf"<tr[^>]*>\s*<td data-label=\"[^\"]+\">{label}</td>(.*?)</tr>", section, re.S)
    assert row, label
    return re.findall(r'class="num">(\d+)</td>', row[1])


def test_statistics_page_shows_the_needs(client: TestClient, known: dict[str, Any]) -> None:
    _sign_in(client, "needstatsprov")
    r = client.get("/stats", params={"group_by": "county"})
    assert r.status_code == 200
    section = _needs_section(r.text)
    assert '<h2 id="needs-head">需求统计</h2>' in section
    assert _row_cells(section, "通榆县") == ["3", "2", "1", "0", "1", "1", "5", "1"]
    assert _row_cells(section, "合计") == ["6", "4", "1", "1", "2", "2", "8", "2"]
    # Counties with no need are one click away, as in the placement table.
    assert "抚松县" not in section
    assert "另有 57 个县（市、区）所选期间没有发布需求" in section
    assert "抚松县" in _needs_section(client.get("/stats", params={"all": "1"}).text)
    # A bar per county with needs: open and filled segments, drawn without inline styles.
    bars = re.findall(r'<span class="bar-label" title="([^"]+)">', section)
    assert bars == ["通榆县", "梨树县", "洮南市"]
    assert 'aria-label="通榆县：共 3 项，征集中 2，已满员 1"' in section
    assert "style=" not in r.text
    assert 'href="/stats/export?group_by=county"' in r.text
    assert "导出统计 Excel" in r.text
    # The page's grouping and period apply to the needs too.
    by_region = _needs_section(
        client.get("/stats", params={"group_by": "region", "to": known["long_ago"]}).text
    )
    assert _row_cells(by_region, "中部") == ["1", "1", "0", "0", "0", "0", "1", "1"]
    assert _row_cells(by_region, "西部") == ["0"] * 8
    months = _needs_section(client.get("/stats", params={"group_by": "month"}).text)
    assert _row_cells(months, known["today"].strftime("%Y-%m"))[0] == "5"


def test_page_download(client: TestClient, known: dict[str, Any]) -> None:
    _sign_in(client, "needstatsprov")
    r = client.get("/stats/export", params={"group_by": "program"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert [row[0] for row in _rows(wb["需求统计"])] == [
        "项目类别",
        "科技特派员",
        "三乡工程",
        "合计",
    ]
    assert [row[0] for row in _rows(wb["对接统计"])] == [
        "项目类别",
        "科技特派员",
        "三乡工程",
        "合计",
    ]
    # A choice the page refuses goes back to the page, which says what is wrong.
    bad = client.get(
        "/stats/export", params={"from": "2027-02-01", "to": "2027-01-01"}, follow_redirects=False
    )
    assert bad.status_code == 303
    assert bad.headers["location"].startswith("/stats?")
    assert "起始日期不能晚于截止日期" in client.get(bad.headers["location"]).text


def test_a_period_without_needs(client: TestClient, known: dict[str, Any]) -> None:
    _sign_in(client, "needstatsprov")
    before = date(2001, 1, 1)
    html = client.get("/stats", params={"to": before, "group_by": "prefecture"}).text
    assert "所选期间没有发布需求" in _needs_section(html)
