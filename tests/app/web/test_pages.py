"""The pages themselves in Chromium: signing in by keyboard, refusals, forms that keep what was
typed, CSRF, phone width, accounts and bulk import. (The whole placement story is in
test_story.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, func, select

from app.auth.models import Account
from app.needs.models import Need
from app.profiles.models import Profile
from tests.app.web.conftest import (
    OTHER_COUNTY,
    NewPage,
    Site,
    flash_text,
    login,
    snap,
)

pytestmark = pytest.mark.browser


def field_error(page: Page, input_id: str) -> str:
    """The message shown in the same form field as the input (beside it, not at the top)."""
    box = page.locator(".field", has=page.locator(f"#{input_id}"))
    return box.locator(".field-error").inner_text().removeprefix("⚠ ").strip()


def need_count(site: Site) -> int:
    with Session(site.engine) as session:
        return int(session.exec(select(func.count()).select_from(Need)).one())


def test_anonymous_visitor_signs_in_by_keyboard_and_returns_to_the_page(
    sqlite_site: Site, new_page: NewPage
) -> None:
    page = new_page(sqlite_site)
    page.goto("/placements")
    assert "/login?next=/placements" in page.url
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "username":
            break
    else:
        pytest.fail("the user name box cannot be reached with the Tab key")
    focus = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert focus == ["solid", "3px"], "keyboard focus is not visible"
    page.keyboard.type("county")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type("wrong-password-1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "用户名或密码错误" in flash_text(page)
    expect(page.get_by_label("用户名")).to_have_value("county")  # kept after the failure
    page.get_by_label("密码").fill("Passw0rd123")
    with page.expect_navigation(url="**/placements"):
        page.get_by_label("密码").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("本县对接记录")
    assert "欢迎" in flash_text(page)


def test_failed_need_form_keeps_what_was_typed_and_says_why_beside_each_field(
    sqlite_site: Site, new_page: NewPage
) -> None:
    page = new_page(sqlite_site)
    login(page, "county")
    page.goto("/needs/new")
    description = "全县杂粮杂豆种植面积大，绿豆品种老化、抗旱性差，需要育种专家指导换种。"
    page.get_by_label("项目类别").select_option("science_commissioner")
    page.get_by_label("需求描述").fill(description)
    page.get_by_label("所属产业").fill("杂粮杂豆")
    page.get_by_label("需求人数").fill("25")
    before = need_count(sqlite_site)
    page.get_by_role("button", name="发布需求").click()
    page.wait_for_load_state()

    assert field_error(page, "f-title") == "需求标题为必填项"
    assert field_error(page, "f-headcount") == "需求人数不能大于 20"
    expect(page.locator("#f-title")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-title")).to_be_focused()
    expect(page.get_by_label("需求描述")).to_have_value(description)
    expect(page.get_by_label("所属产业")).to_have_value("杂粮杂豆")
    expect(page.get_by_label("需求人数")).to_have_value("25")
    expect(page.get_by_label("项目类别")).to_have_value("science_commissioner")
    assert need_count(sqlite_site) == before
    snap(page, sqlite_site, "county-need-form-errors")

    page.get_by_label("需求标题").fill("绿豆抗旱品种更新")
    page.get_by_label("需求人数").fill("2")
    page.get_by_role("button", name="发布需求").click()
    page.wait_for_url("**/needs/*")
    assert "需求已发布" in flash_text(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("绿豆抗旱品种更新")
    assert need_count(sqlite_site) == before + 1


def test_county_officer_cannot_open_another_countys_need(
    sqlite_site: Site, new_page: NewPage
) -> None:
    with Session(sqlite_site.engine) as session:
        other = session.exec(select(Need).where(Need.county_code == OTHER_COUNTY)).first()
    assert other is not None
    page = new_page(sqlite_site)
    login(page, "county")
    for path in (f"/needs/{other.id}", f"/needs/{other.id}/matches", f"/needs/{other.id}/edit"):
        response = page.goto(path)
        assert response is not None
        assert response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("无权访问")
        body = page.locator("main").inner_text()
        assert other.title not in body
        assert other.description[:20] not in body
    # The officer's own list shows only the county's needs, whatever the address asks for.
    page.goto(f"/needs?county_code={OTHER_COUNTY}")
    assert other.title not in page.locator("main").inner_text()
    snap(page, sqlite_site, "county-needs")


def test_forged_post_without_the_csrf_token_is_refused(
    sqlite_site: Site, new_page: NewPage
) -> None:
    page = new_page(sqlite_site)
    login(page, "county")
    form = {
        "program": "science_commissioner",
        "title": "伪造的需求",
        "description": "不应写入",
        "industry": "无",
        "headcount": "1",
    }
    before = need_count(sqlite_site)
    # The browser's own cookies go along (same context), only the token is missing or wrong.
    for token in (None, "not-the-token"):
        data = form if token is None else {**form, "csrf_token": token}
        response = page.request.post("/needs/new", form=data, max_redirects=0)
        assert response.status == 403
        assert "请求来源无法验证" in response.text()
    # A token from another person's session does not work in this one.
    other = new_page(sqlite_site)
    login(other, "county_other")
    other.goto("/needs/new")
    stolen = other.locator("input[name=csrf_token]").first.input_value()
    response = page.request.post("/needs/new", form={**form, "csrf_token": stolen})
    assert response.status == 403
    assert need_count(sqlite_site) == before
    # Signing out takes the session's token with it.
    page.goto("/needs/new")
    old_token = page.locator("input[name=csrf_token]").first.input_value()
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login")
    response = page.request.post("/logout", form={"csrf_token": old_token}, max_redirects=0)
    assert response.status == 403


PAGES_BY_ROLE = {
    None: [("/", "home"), ("/login", "login"), ("/register", "register")],
    "county": [("/needs/new", "county-need-new"), ("/placements", "county-placements")],
    "province": [
        ("/needs", "province-needs"),
        ("/audit/events", "province-audit-events"),
        ("/stats/map", "province-map"),
        ("/notifications", "province-notifications"),
    ],
    "admin": [
        ("/admin/accounts", "admin-accounts"),
        ("/admin/accounts/new", "admin-account-new"),
        ("/admin/import", "admin-import"),
    ],
}


@pytest.mark.parametrize("role", list(PAGES_BY_ROLE))
def test_main_pages_fit_a_phone_screen(
    sqlite_site: Site, new_page: NewPage, role: str | None
) -> None:
    page = new_page(sqlite_site)
    if role:
        login(page, role)
    for path, name in PAGES_BY_ROLE[role]:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        snap(page, sqlite_site, name)
        # Every visible control has a label a screen reader can announce.
        unlabeled = page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                .map(el => el.name)"""
        )
        assert unlabeled == [], f"{path}: controls without a label: {unlabeled}"


def test_admin_creates_resets_and_deactivates_an_account(
    sqlite_site: Site, new_page: NewPage
) -> None:
    page = new_page(sqlite_site)
    login(page, "admin")
    page.goto("/admin/accounts/new")
    page.get_by_label("用户名").fill("zhenlai_rsj")
    page.get_by_label("显示名称").fill("镇赉县人社局")
    page.get_by_label("角色").select_option("county")
    page.get_by_label("初始密码").fill("Zhenlai2027")
    page.get_by_role("button", name="创建账号").click()
    page.wait_for_load_state()
    # A county officer needs a county: the message sits beside that field, the rest is kept.
    assert field_error(page, "f-county_code") == "县局账号必须指定所属县（市、区）"
    expect(page.get_by_label("显示名称")).to_have_value("镇赉县人社局")
    expect(page.get_by_label("初始密码")).to_have_value("")  # passwords are never echoed
    page.get_by_label("所属县（市、区）").select_option("220821")
    page.get_by_label("初始密码").fill("Zhenlai2027")
    page.get_by_role("button", name="创建账号").click()
    page.wait_for_url("**/admin/accounts/*")
    assert "已创建账号 zhenlai_rsj" in flash_text(page)
    snap(page, sqlite_site, "admin-account")

    page.get_by_label("新密码").fill("short")
    page.get_by_role("button", name="重置密码").click()
    page.wait_for_load_state()
    assert field_error(page, "f-password") == "密码长度须为 8–128 位"
    page.get_by_label("新密码").fill("Zhenlai2028")
    page.get_by_role("button", name="重置密码").click()
    page.wait_for_load_state()
    assert "密码已重置" in flash_text(page)

    officer = new_page(sqlite_site)
    login(officer, "zhenlai_rsj", "Zhenlai2028")
    expect(officer.locator(".who")).to_contain_text("镇赉县")

    page.get_by_role("button", name="停用账号").click()
    page.wait_for_load_state()
    assert "账号已停用" in flash_text(page)
    with Session(sqlite_site.engine) as session:
        account = session.exec(select(Account).where(Account.username == "zhenlai_rsj")).one()
        assert account.active is False

    # The open session ends with the account, and signing in again is refused.
    officer.goto("/needs")
    assert "/login?next=/needs" in officer.url
    officer.get_by_label("用户名").fill("zhenlai_rsj")
    officer.get_by_label("密码").fill("Zhenlai2028")
    officer.get_by_role("button", name="登录").click()
    officer.wait_for_load_state()
    assert "/login" in officer.url
    assert "账号已停用" in flash_text(officer)


def test_admin_bulk_import_shows_the_report_row_by_row(
    sqlite_site: Site, new_page: NewPage, tmp_path: Path
) -> None:
    csv = tmp_path / "科技特派员名单.csv"
    csv.write_text(
        "姓名,类型,工作单位,职称,专长,服务方式,手机号\n"
        "赵德山,专家,吉林省农业科学院,研究员,杂粮杂豆品种选育与抗旱栽培,兼职,13900001111\n"
        "钱玉梅,科研人员,吉林农业大学,副教授,,全职,13900002222\n"
        "孙海波,专家,延边大学,教授,黄牛冻精改良与繁育,兼职,123\n",
        encoding="utf-8",
    )
    page = new_page(sqlite_site)
    login(page, "admin")
    page.goto("/admin/import")
    page.get_by_label("导入内容").select_option("profiles")
    page.get_by_label("文件").set_input_files(csv)
    page.get_by_role("button", name="上传并校验").click()
    page.wait_for_load_state()
    report = page.locator("#import-report")
    expect(report).to_contain_text("未导入任何记录")
    rows = report.locator("table.data.stacked tbody tr")
    expect(rows).to_have_count(2)
    assert rows.nth(0).locator("td").all_inner_texts()[:2] == ["3", "专长"]
    assert "专长" in rows.nth(0).locator("td").nth(2).inner_text()
    assert rows.nth(1).locator("td").all_inner_texts()[:2] == ["4", "手机号"]
    assert "手机号格式不正确" in rows.nth(1).locator("td").nth(2).inner_text()

    page.get_by_label("文件").set_input_files(csv)
    page.get_by_label("只导入合格的行").check()
    page.get_by_role("button", name="上传并校验").click()
    page.wait_for_load_state()
    expect(page.locator("#import-report")).to_contain_text("已导入 1 条记录")
    snap(page, sqlite_site, "admin-import-report")
    with Session(sqlite_site.engine) as session:
        names = session.exec(
            select(Profile.name).where(col(Profile.name).in_(["赵德山", "钱玉梅", "孙海波"]))
        ).all()
        assert list(names) == ["赵德山"]


# Records, at the moment the form is sent, what the page shows and whether a second submission
# gets through; sessionStorage keeps it across the navigation to the answer.
_WATCH_SUBMIT = """() => {
  const form = document.querySelector("form[data-busy]");
  document.addEventListener("submit", () => {
    if (sessionStorage.getItem("busy")) return;
    const status = form.querySelector("[data-busy-status]");
    const seen = {
      disabled: form.querySelector("button[type=submit]").disabled,
      shown: !status.hidden,
      text: status.innerText,
      busy: form.getAttribute("aria-busy"),
    };
    sessionStorage.setItem("busy", JSON.stringify(seen));
    const again = new SubmitEvent("submit", {bubbles: true, cancelable: true});
    seen.second_sent = form.dispatchEvent(again);
    sessionStorage.setItem("busy", JSON.stringify(seen));
  });
}"""


def test_admin_import_template_link_busy_state_and_every_problem_of_a_row(
    sqlite_site: Site, new_page: NewPage, tmp_path: Path
) -> None:
    page = new_page(sqlite_site)
    login(page, "admin")
    page.goto("/admin/import")
    expect(page.locator("[data-busy-status]")).to_be_hidden()
    with page.expect_download() as download:
        page.get_by_role("link", name="人才档案导入模板").click()
    assert download.value.suggested_filename == "人才档案导入模板.xlsx"
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)

    page.get_by_label("导入内容").select_option("profiles")
    page.get_by_label("文件").set_input_files(template)
    page.evaluate(_WATCH_SUBMIT)
    page.get_by_role("button", name="上传并校验").click()
    page.wait_for_load_state()
    expect(page.locator("#import-report")).to_contain_text("已导入 1 条记录")
    seen = page.evaluate("() => JSON.parse(sessionStorage.getItem('busy'))")
    assert seen["disabled"] is True
    assert seen["shown"] is True
    assert "正在导入，请稍候…" in seen["text"]
    assert seen["busy"] == "true"
    assert seen["second_sent"] is False  # a second submission is refused while the first runs
    # The answer is a fresh page: the form can be used again.
    expect(page.get_by_role("button", name="上传并校验")).to_be_enabled()
    expect(page.locator("[data-busy-status]")).to_be_hidden()

    csv = tmp_path / "名单.csv"
    csv.write_text(
        "姓名,类型,工作单位,职称,专长,服务方式,籍贯,手机号\n"
        "周立新,专家,吉林大学,教授,玉米育种,偶尔,火星县,123\n",
        encoding="utf-8",
    )
    page.get_by_label("文件").set_input_files(csv)
    page.get_by_role("button", name="上传并校验").click()
    page.wait_for_load_state()
    rows = page.locator("#import-report table.data.stacked tbody tr")
    expect(rows).to_have_count(3)
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(3)]
    assert [c[:2] for c in cells] == [["2", "服务方式"], ["2", "籍贯"], ["2", "手机号"]]
    assert "火星县" in cells[1][2]
