"""One placement from proposal to completion in Chromium, on SQLite and PostgreSQL, where each
side learns of every step only through the service: the unread badge in the header, the 消息
page, the to-do lists, and e-mail captured by a real SMTP server on loopback."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

from tests.app.outbox.conftest import Mailbox, free_port
from tests.app.web.conftest import NewPage, Site, flash_text, login, seed, snap, start_site
from tests.app.web.test_story import (
    NEED_TITLE,
    TALENT,
    post_need,
    propose_top_person,
    register_talent,
)
from tests.conftest import BACKENDS, Databases, migrated_engine

pytestmark = pytest.mark.browser

COUNTY_MAIL = "kjj@tongyu.example.cn"
TALENT_MAIL = "lihong@example.cn"  # the e-mail of the profile register_talent fills in


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, str]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, f"smtp://127.0.0.1:{port}"
    controller.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def talk_site(
    request: pytest.FixtureRequest, databases: Databases, mailbox: tuple[Mailbox, str]
) -> Iterator[Site]:
    engine = migrated_engine(databases, request.param)
    seed(engine)
    data_dir = Path(tempfile.mkdtemp(prefix="xiangcai-talk-"))
    site = start_site(
        engine,
        request.param,
        data_dir,
        smtp_url=mailbox[1],
        outbox_poll_seconds=0.2,
        public_url="https://xiangcai.example.cn",
    )
    yield site
    site.stop()
    engine.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def no_pictures(site: Site) -> Iterator[None]:
    """Steps borrowed from the story test: their pictures are that test's."""
    site.pictures = False
    try:
        yield
    finally:
        site.pictures = True


def mail_to(box: Mailbox, address: str, subject_part: str, timeout: float = 30.0) -> str:
    """The body of the e-mail to ``address`` whose subject has ``subject_part`` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with box.lock:
            for mail in box.messages:
                if mail["To"] == address and subject_part in str(mail["Subject"]):
                    return str(mail.get_content())
        time.sleep(0.1)
    with box.lock:
        seen = [(m["To"], str(m["Subject"])) for m in box.messages]
    raise AssertionError(f"no e-mail to {address} about {subject_part!r}; got {seen}")


def badge(page: Page) -> str:
    page.reload()
    found = page.locator(".inbox-link .unread-badge")
    return found.inner_text() if found.count() else "0"


def open_newest(page: Page, title_part: str) -> None:
    """On the 消息 page, open the notice whose title has ``title_part``."""
    page.goto("/notifications")
    item = page.locator(".inbox-item.unread", has_text=title_part).first
    expect(item).to_be_visible()
    item.get_by_role("button", name="查看").click()
    page.wait_for_load_state()


def test_both_sides_learn_of_every_step_through_the_service(
    talk_site: Site, new_page: NewPage, mailbox: tuple[Mailbox, str]
) -> None:
    site = talk_site
    box = mailbox[0]

    talent = new_page(site)
    with no_pictures(site):
        register_talent(talent, site)
    # The talent can look through the open needs before anyone proposes them.
    talent.goto("/me/needs")
    expect(talent.get_by_role("heading", level=1)).to_be_visible()
    snap(talent, site, "talent-needs")
    county = new_page(site)
    login(county, "county")
    # The county officer gives an address for e-mail notices.
    county.goto("/settings/notifications")
    county.get_by_label("邮箱").fill("不是邮箱")
    county.get_by_role("button", name="保存").click()
    county.wait_for_load_state()
    expect(county.locator("#err-f-email")).to_be_visible()
    county.get_by_label("邮箱").fill(COUNTY_MAIL)
    expect(county.get_by_label("通过邮件接收消息")).to_be_checked()
    county.get_by_role("button", name="保存").click()
    county.wait_for_url("**/settings/notifications")
    assert "已保存" in flash_text(county)
    with no_pictures(site):
        need_id = post_need(county, site)
        placement_id = propose_top_person(county, site, need_id)

    # The talent hears of the proposal: badge, to-do list, e-mail with a link to it.
    talent.goto("/me")
    assert badge(talent) == "1"
    todos = talent.locator(".todos")
    expect(todos).to_contain_text("待答复的推荐")
    expect(todos).to_contain_text(NEED_TITLE)
    snap(talent, site, "talent-todos")
    body = mail_to(box, TALENT_MAIL, NEED_TITLE)
    assert f"https://xiangcai.example.cn/placements/{placement_id}" in body
    talent.goto("/notifications")
    expect(talent.locator(".inbox-item.unread")).to_have_count(1)
    snap(talent, site, "notifications")
    open_newest(talent, NEED_TITLE)
    assert f"/placements/{placement_id}" in talent.url
    assert badge(talent) == "0"  # opening it read it
    talent.get_by_role("button", name="接受推荐").click()
    talent.wait_for_load_state()
    assert "您已接受推荐" in flash_text(talent)

    # The county hears of the acceptance and finds it on its to-do list.
    county.goto("/needs")
    assert badge(county) == "1"
    todo = county.locator(".todos")
    expect(todo).to_contain_text("已接受待开始")
    snap(county, site, "county-todos")
    assert "联系方式已对本县开放" in mail_to(box, COUNTY_MAIL, "已接受")
    todo.get_by_role("link", name=f"{TALENT['name']}已接受「{NEED_TITLE}」，请确认开始服务").click()
    county.wait_for_url(f"**/placements/{placement_id}")
    county.get_by_role("button", name="确认开始服务").click()
    county.wait_for_load_state()
    assert "已确认开始服务" in flash_text(county)

    # Both sides hear that service started.
    mail_to(box, TALENT_MAIL, "已开始服务")
    mail_to(box, COUNTY_MAIL, "已开始服务")
    talent.goto("/me")
    assert badge(talent) == "1"

    county.get_by_label("服务期间").fill("2027年5月")
    county.get_by_label("服务天数").fill("5")
    county.get_by_label("服务情况").fill("在向海乡建绿豆坐水种示范田，培训种植户 30 人次。")
    county.get_by_role("button", name="提交服务记录").click()
    county.wait_for_load_state()
    county.get_by_role("button", name="确认服务完成").click()
    county.wait_for_load_state()
    assert "已确认服务完成" in flash_text(county)

    mail_to(box, TALENT_MAIL, "服务已完成")
    mail_to(box, COUNTY_MAIL, "服务已完成")
    assert badge(talent) == "2"
    talent.goto("/notifications")
    titles = talent.locator(".inbox-item strong").all_inner_texts()
    assert [t for t in titles if NEED_TITLE in t][:3] == [
        f"通榆县「{NEED_TITLE}」服务已完成",
        f"通榆县「{NEED_TITLE}」已开始服务",
        f"通榆县推荐您对接「{NEED_TITLE}」",
    ]
    talent.get_by_role("button", name="全部标为已读").click()
    talent.wait_for_load_state()
    assert badge(talent) == "0"
    expect(talent.locator(".inbox-item.unread")).to_have_count(0)
