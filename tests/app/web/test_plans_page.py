"""全省统筹 in Chromium: the province runs a plan on the page, watches it finish and reads it
beside first come first served; a county officer then proposes from the 省级统筹建议 of a need
with one click, and the placement records the plan."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from app.needs.models import Need
from app.placements.models import Placement
from app.plans.models import Plan, PlanAssignment
from tests.app.web.conftest import COUNTY, NewPage, Site, id_from_url, login, snap

pytestmark = pytest.mark.browser


def test_the_province_runs_a_plan_and_a_county_proposes_from_it(
    sqlite_site: Site, new_page: NewPage
) -> None:
    site = sqlite_site
    page = new_page(site)
    login(page, "province")
    page.get_by_role("link", name="全省统筹").click()
    expect(page.get_by_role("heading", name="全省统筹")).to_be_visible()
    expect(page.get_by_label("脱贫县优先（先让脱贫县的需求都有人）")).to_be_checked()
    # A bad parameter is refused beside its field.
    page.get_by_label("最低匹配分（可选）").fill("9")
    page.get_by_role("button", name="开始规划").click()
    expect(page.locator("#err-f-min_score")).to_contain_text("最低匹配分")
    page.get_by_label("最低匹配分（可选）").fill("0.3")
    page.get_by_label("同一单位每县人数上限（可选）").fill("2")
    page.get_by_role("button", name="开始规划").click()
    plan_id = id_from_url(page, r"/plans/(\d+)$")
    # Computed in the background; the page refreshes itself until it is done.
    expect(page.get_by_role("heading", name="规划与先到先得对比")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("rowheader", name="得到安排的脱贫县", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="人才缺口：哪些专业在哪些市（州）缺人")).to_be_visible()
    snap(page, site, "province-plan")
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    page.get_by_role("link", name="全部规划").click()
    expect(page.get_by_role("link", name=f"#{plan_id}")).to_be_visible()

    with Session(site.engine) as db:
        plan = db.get(Plan, plan_id)
        assert plan is not None
        assert plan.status == "done"
        assert plan.summary is not None
        assert (
            plan.summary["poverty_counties_covered"]
            >= plan.summary["greedy"]["poverty_counties_covered"]
        )
        advised = db.exec(
            select(PlanAssignment.need_id, PlanAssignment.profile_id)
            .join(Need, col(Need.id) == PlanAssignment.need_id)
            .where(PlanAssignment.plan_id == plan_id, Need.county_code == COUNTY)
            .order_by(col(PlanAssignment.need_id))
        ).first()
    assert advised is not None, "the plan advises somebody for 通榆县 (a poverty county)"
    need_id, profile_id = advised

    county = new_page(site)
    login(county, "county")
    county.goto(f"/needs/{need_id}")
    expect(county.get_by_role("heading", name="省级统筹建议")).to_be_visible()
    advice = county.locator("section", has=county.get_by_role("heading", name="省级统筹建议"))
    advice.get_by_role("link", name="推荐").first.click()
    expect(county.get_by_text(f"省级统筹规划 #{plan_id}")).to_be_visible()
    snap(county, site, "county-propose-from-plan")
    county.get_by_role("button", name="确认推荐").click()
    placement_id = id_from_url(county, r"/placements/(\d+)$")
    with Session(site.engine) as db:
        placement = db.get(Placement, placement_id)
        assert placement is not None
        assert placement.plan_id == plan_id
        assert placement.need_id == need_id
