"""The whole story in Chromium, on SQLite and PostgreSQL: a talent registers and fills in a
profile; the county officer posts a need, reads the match list and proposes the top person
(and one person off the list, with a reason); the talent accepts; the county sees the contact
details, starts the service and reports; the provincial auditor finds the placement with its
history, checks the audit chain and exports Excel."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from app.placements.export import HEADERS
from tests.app.web.conftest import NewPage, Site, flash_text, id_from_url, login, snap

pytestmark = pytest.mark.browser

TALENT = {
    "username": "lihong",
    "password": "Lvdou-Baicheng-27",
    "name": "李红",
    "phone": "13904361234",
}
EXPERTISE = (
    "从事绿豆、红小豆等杂粮杂豆品种选育与抗旱保苗栽培二十年，选育白绿系列绿豆品种。"
    "擅长干旱沙土地绿豆坐水种、膜下滴灌和病虫害绿色防控，能在县里建示范田、培训种植户。"
)
NEED_TITLE = "沙土地绿豆抗旱保苗与品种更新"
NEED_TEXT = (
    "我县西部沙土地干旱少雨，绿豆、红小豆等杂粮杂豆品种老化，出苗差、病虫害多。"
    "希望请杂粮杂豆品种选育和抗旱保苗栽培专家，指导坐水种、膜下滴灌和病虫害绿色防控，"
    "在村里建示范田并培训种植户。"
)
OFF_LIST_REASON = "该同志曾在我县开展梅花鹿养殖培训，熟悉本地农户，可兼顾庭院经济指导。"


def register_talent(page: Page, site: Site) -> None:
    page.goto("/register")
    page.get_by_label("用户名").fill(TALENT["username"])
    page.get_by_label("姓名").fill(TALENT["name"])
    page.locator("#f-password").fill(TALENT["password"])
    page.get_by_label("确认密码").fill(TALENT["password"])
    page.get_by_role("button", name="注册").click()
    page.wait_for_url("**/me/profile/edit")
    assert "注册成功" in flash_text(page)

    page.get_by_label("人才类型").select_option("expert")
    expect(page.get_by_label("姓名/名称")).to_have_value(TALENT["name"])
    page.get_by_label("工作单位").fill("白城市农业科学院")
    page.get_by_label("职称/职务").fill("研究员")
    page.get_by_label("领域标签").fill("绿豆、杂粮杂豆、抗旱栽培")
    page.get_by_label("专长").fill(EXPERTISE)
    page.get_by_label("籍贯县（市、区）").select_option("220822")
    page.get_by_label("服务方式").select_option("part_time")
    page.get_by_label("可同时服务的需求数").fill("2")
    page.get_by_label("西部").check()
    page.get_by_label("手机号").fill("1390436")  # a digit short: refused, the rest kept
    page.get_by_label("邮箱").fill("lihong@example.cn")
    page.get_by_role("button", name="保存档案").click()
    page.wait_for_load_state()
    expect(page.locator("#err-f-phone")).to_contain_text("手机号格式不正确")
    expect(page.get_by_label("专长")).to_have_value(EXPERTISE)
    expect(page.get_by_label("西部")).to_be_checked()
    snap(page, site, "talent-profile-form")
    page.get_by_label("手机号").fill(TALENT["phone"])
    page.get_by_role("button", name="保存档案").click()
    page.wait_for_url("**/me/profile")
    assert "人才档案已建立" in flash_text(page)
    expect(page.locator("main")).to_contain_text(TALENT["phone"])  # the owner sees it in full
    snap(page, site, "talent-profile")


def post_need(page: Page, site: Site) -> int:
    page.goto("/needs/new")
    page.get_by_label("项目类别").select_option("science_commissioner")
    page.get_by_label("需求标题").fill(NEED_TITLE)
    page.get_by_label("需求描述").fill(NEED_TEXT)
    page.get_by_label("所属产业").fill("杂粮杂豆")
    page.get_by_label("需求人数").fill("1")
    page.get_by_label("截止日期").fill("2027-06-30")
    page.get_by_role("button", name="发布需求").click()
    page.wait_for_url("**/needs/*")
    assert "需求已发布" in flash_text(page)
    snap(page, site, "county-need-detail")
    return id_from_url(page, r"/needs/(\d+)$")


def propose_top_person(page: Page, site: Site, need_id: int) -> int:
    page.get_by_role("link", name="查看匹配名单").click()
    page.wait_for_url(f"**/needs/{need_id}/matches")
    top = page.locator(".match").first
    expect(top.locator("h3")).to_have_text(TALENT["name"])
    expect(top.locator(".rank")).to_have_text("1")
    reasons = top.locator(".reasons li").all_inner_texts()
    assert reasons, "a match without reasons"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(reasons)), reasons
    expect(top.locator(".components")).to_contain_text("语义相近")
    # an expert on a 科技特派员 need: the programme signal reads in words
    expect(top.locator(".components")).to_contain_text("属科技特派员选派对象")
    snap(page, site, "county-need-matches")

    # The filters narrow the list: a team-only list has no place for an individual expert.
    page.get_by_label("人才类型").select_option("team")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    for kind in page.locator(".match .match-head .muted").all_inner_texts():
        assert kind.startswith("科技特派团"), kind
    expect(page.locator(".match h3", has_text=TALENT["name"])).to_have_count(0)
    page.get_by_label("人才类型").select_option("expert")
    page.get_by_label("服务方式").select_option("part_time")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    expect(page.locator(".match").first.locator("h3")).to_have_text(TALENT["name"])

    page.locator(".match").first.get_by_role("link", name=f"推荐{TALENT['name']}").click()
    page.wait_for_url(f"**/needs/{need_id}/propose?profile_id=*")
    expect(page.locator("main")).to_contain_text("排第 1 名")
    page.get_by_label("备注（可选）").fill("请于五月上旬到县农业技术推广中心报到。")
    snap(page, site, "county-propose")
    page.get_by_role("button", name="确认推荐").click()
    page.wait_for_url("**/placements/*")
    assert f"已向{TALENT['name']}发出推荐" in flash_text(page)
    expect(page.locator(".page-head .badge").first).to_have_text("已推荐")
    masked = TALENT["phone"][:3] + "****" + TALENT["phone"][-4:]
    expect(page.locator("main")).to_contain_text(masked)  # not yet accepted: masked
    assert TALENT["phone"] not in page.locator("main").inner_text()
    return id_from_url(page, r"/placements/(\d+)$")


def propose_off_list(page: Page, site: Site, need_id: int) -> None:
    page.goto(f"/needs/{need_id}/candidates?text=梅花鹿")
    first = page.locator("table.data tbody tr").first
    name = first.locator("td").first.locator("a").inner_text()
    first.get_by_role("link", name="推荐").click()
    page.wait_for_url(f"**/needs/{need_id}/propose?profile_id=*")
    expect(page.locator("main")).to_contain_text("名单外推荐")
    page.get_by_label("备注（可选）").fill("先电话沟通。")
    page.get_by_role("button", name="确认推荐").click()
    page.wait_for_load_state()
    expect(page.locator("#err-f-reason")).to_contain_text("请填写推荐理由")
    expect(page.get_by_label("备注（可选）")).to_have_value("先电话沟通。")
    snap(page, site, "county-propose-off-list")
    page.get_by_label("推荐理由").fill(OFF_LIST_REASON)
    page.get_by_role("button", name="确认推荐").click()
    page.wait_for_url("**/placements/*")
    assert f"已向{name}发出推荐" in flash_text(page)
    expect(page.locator(".badge-offlist")).to_have_text("名单外推荐")


def talent_accepts(page: Page, site: Site) -> None:
    page.goto("/me")
    pending = page.locator(".match", has_text=NEED_TITLE)
    expect(pending).to_contain_text("通榆县")
    pending.get_by_role("button", name="接受推荐").click()
    page.wait_for_load_state()
    assert "您已接受推荐" in flash_text(page)
    expect(page.locator(".page-head .badge").first).to_have_text("已接受")
    page.goto("/me")
    expect(page.locator("#ongoing").locator("xpath=..")).to_contain_text(NEED_TITLE)
    snap(page, site, "talent-home")
    page.goto("/me/matches")
    expect(page.get_by_role("heading", level=1)).to_have_text("适合我的需求")
    expect(page.locator(".match").first.locator(".reasons li").first).not_to_be_empty()
    snap(page, site, "talent-matches")


def county_starts_and_reports(page: Page, site: Site, placement_id: int) -> None:
    page.goto(f"/placements/{placement_id}")
    expect(page.locator("main")).to_contain_text(TALENT["phone"])  # accepted: in full
    page.get_by_role("button", name="确认开始服务").click()
    page.wait_for_load_state()
    assert "已确认开始服务" in flash_text(page)
    expect(page.locator(".page-head .badge").first).to_have_text("服务中")
    page.get_by_label("服务期间").fill("2027年5月")
    page.get_by_label("服务天数").fill("6")
    page.get_by_label("培训人次").fill("45")
    page.get_by_label("解决技术难题（项）").fill("2")
    page.get_by_label("推广新技术（项）").fill("1")
    page.get_by_label("带动就业（人）").fill("3")
    page.get_by_label("服务情况").fill("在向海乡建绿豆坐水种示范田 50 亩，培训种植户 45 人次。")
    page.get_by_role("button", name="提交服务记录").click()
    page.wait_for_load_state()
    assert "服务记录已提交" in flash_text(page)
    expect(page.locator("#reports").locator("xpath=..").locator("tbody tr")).to_have_count(1)
    snap(page, site, "county-placement")


def auditor_reviews(page: Page, site: Site, placement_id: int, tmp_path: Path) -> None:
    page.goto("/stats")
    expect(page.locator(".bars").first).to_contain_text("西部")
    snap(page, site, "province-stats")
    page.goto("/stats?group_by=county")
    row = page.locator("table.data tbody tr", has_text="通榆县")
    cells = row.locator("td").all_inner_texts()
    total, active, off_list = int(cells[1]), int(cells[4]), int(cells[8])
    assert total >= 2, cells
    assert active >= 1, cells
    assert off_list >= 1, cells

    page.goto("/stats/findings")
    expect(page.locator("section", has=page.locator("#offlist-list"))).to_contain_text(
        OFF_LIST_REASON
    )
    uncovered = page.locator("section", has=page.locator("#uncovered"))
    expect(uncovered).not_to_contain_text("通榆县")  # it has a person in service now
    snap(page, site, "province-findings")

    page.goto("/placements")
    page.get_by_label("县（市、区）").select_option("220822")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    snap(page, site, "province-placements")
    page.get_by_role("link", name=f"#{placement_id}", exact=True).click()
    page.wait_for_url(f"**/placements/{placement_id}")
    expect(page.get_by_role("button", name="确认服务完成")).to_have_count(0)  # read only
    snap(page, site, "province-placement")
    page.get_by_role("link", name="完整历史").click()
    page.wait_for_url(f"**/placements/{placement_id}/history")
    actions = [
        t.split(" · ")[0]
        for t in page.locator(".timeline > li > div:first-child").all_inner_texts()
    ]
    assert actions == ["推荐人选", "接受推荐", "开始服务", "提交服务记录"], actions
    expect(page.locator(".timeline")).to_contain_text("lihong")
    snap(page, site, "province-placement-history")

    page.goto("/audit")
    page.get_by_role("button", name="立即校验").click()
    page.wait_for_load_state()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("校验通过")
    expect(result).to_contain_text("审计链完整")
    snap(page, site, "province-audit")

    page.goto("/placements?county_code=220822")
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    target = tmp_path / "export.xlsx"
    info.value.save_as(target)
    assert target.read_bytes()[:2] == b"PK"
    sheet = load_workbook(target, read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == HEADERS
    assert "县（市、区）" in rows[0]
    mine = [r for r in rows[1:] if r[0] == placement_id]
    assert len(mine) == 1
    record = dict(zip(HEADERS, mine[0], strict=True))
    assert record["县（市、区）"] == "通榆县"
    assert record["人才"] == TALENT["name"]
    assert record["状态"] == "服务中"
    assert record["服务天数"] == 6
    assert all(r[1] == "通榆县" for r in rows[1:])  # the page's filter went into the export


def test_county_proposes_talent_accepts_county_reports_auditor_checks(
    site: Site, new_page: NewPage, tmp_path: Path
) -> None:
    talent = new_page(site)
    register_talent(talent, site)

    county = new_page(site)
    login(county, "county")
    need_id = post_need(county, site)
    placement_id = propose_top_person(county, site, need_id)
    propose_off_list(county, site, need_id)

    talent_accepts(talent, site)
    county_starts_and_reports(county, site, placement_id)

    auditor = new_page(site)
    login(auditor, "province")
    auditor_reviews(auditor, site, placement_id, tmp_path)
