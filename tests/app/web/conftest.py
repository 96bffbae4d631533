"""The real app served by uvicorn on a free port, and Debian's Chromium driven by Playwright.

One server per backend for the whole session, on a database built by the migrations and
seeded with part of the demo data (the province's lists) plus one account per role. Every test
gets fresh browser contexts (no cookies shared between roles or tests).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.auth.actor import Actor
from app.config import PROJECT_ROOT, Settings
from app.imports.parsing import Limits
from app.imports.service import import_file
from app.main import create_app
from app.needs import importing as need_import
from app.profiles import importing as profile_import
from tests.app.factories import PASSWORD, make_account
from tests.app.placements.conftest import placed  # noqa: F401  (the page tests' small world)
from tests.conftest import BACKENDS, Databases, migrated_engine

CHROMIUM = "/usr/bin/chromium"
# The pictures in docs/screenshots are refreshed only by `make screenshots`; an ordinary run
# takes the same screenshots into a temporary folder (tests must not rewrite tracked files).
SCREENSHOTS = (
    PROJECT_ROOT / "docs" / "screenshots"
    if os.environ.get("XIANGCAI_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "xiangcai-screenshots"
)
SEED = PROJECT_ROOT / "seed"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# Enough of the demo lists for realistic pages, few enough to encode in a few seconds.
SEED_PROFILES = 80
SEED_NEEDS = 40

COUNTY = "220822"  # 通榆县 (a 2018 poverty county, western region)
OTHER_COUNTY = "220882"  # 大安市
ACCOUNTS = {
    "county": ("county", COUNTY, "通榆县科技局"),
    "county_other": ("county", OTHER_COUNTY, "大安市人社局"),
    "province": ("province", None, "省委组织部人才处"),
    "admin": ("admin", None, "系统管理员"),
}


def _seed_lines(name: str, limit: int) -> bytes:
    lines = (SEED / name).read_bytes().splitlines(keepends=True)
    return b"".join(lines[:limit])


def seed(engine: Engine) -> None:
    actor = Actor.system("test-seed")
    with Session(engine, expire_on_commit=False) as session:
        for module, name, limit in (
            (profile_import, "demo_profiles.jsonl", SEED_PROFILES),
            (need_import, "demo_needs.jsonl", SEED_NEEDS),
        ):
            report = import_file(
                session,
                kind=module.KIND,
                filename=name,
                data=_seed_lines(name, limit),
                partial=False,
                actor=actor,
                limits=Limits.of(Settings()),
            )
            assert report.imported, report.rejected[:3]
        session.commit()
        for username, (role, county, display) in ACCOUNTS.items():
            account = make_account(session, role, county, username=username)
            account.display_name = display
            session.add(account)
        session.commit()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    """A running server: where it is and what it runs on."""

    base_url: str
    backend: str
    engine: Engine
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    # Off while a test walks through steps whose pictures another test takes.
    pictures: bool = True

    @property
    def screenshots(self) -> bool:
        # One set of pictures, from the SQLite run; the PostgreSQL run checks the same pages.
        return self.pictures and self.backend == "sqlite"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


def start_site(engine: Engine, backend: str, data_dir: Path, **overrides: object) -> Site:
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database_url=str(engine.url),
        # A short match list, so that a person outside it (an off-list proposal) is easy to find.
        match_window=5,
        **overrides,  # type: ignore[arg-type]
    )
    app = create_app(settings=settings, engine=engine)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{backend}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    return Site(f"http://127.0.0.1:{port}", backend, engine, server, thread)


class Sites:
    """One running server per backend, started when a test first needs it."""

    def __init__(self, databases: Databases) -> None:
        self.databases = databases
        self.running: dict[str, Site] = {}
        self.dirs: list[Path] = []

    def get(self, backend: str) -> Site:
        if backend not in self.running:
            engine = migrated_engine(self.databases, backend)
            seed(engine)
            data_dir = Path(tempfile.mkdtemp(prefix=f"xiangcai-web-{backend}-"))
            self.dirs.append(data_dir)
            self.running[backend] = start_site(engine, backend, data_dir)
        return self.running[backend]

    def stop(self) -> None:
        for running in self.running.values():
            running.stop()
            running.engine.dispose()
        for data_dir in self.dirs:
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def sites(databases: Databases) -> Iterator[Sites]:
    all_sites = Sites(databases)
    yield all_sites
    all_sites.stop()


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, sites: Sites) -> Site:
    """The server on each backend in turn (for the whole story)."""
    return sites.get(request.param)


@pytest.fixture
def sqlite_site(sites: Sites) -> Site:
    """The SQLite server, for checks of the pages themselves."""
    return sites.get("sqlite")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make install` (it installs Debian's chromium)")
    # No --user-data-dir: Playwright refuses it in launch() and gives every launch a fresh
    # temporary profile of its own, which is what the flag was for.
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--lang=zh-CN",  # date boxes and built-in messages as a Chinese user sees them
        ],
    )
    yield chromium
    chromium.close()


NewPage = Callable[[Site], Page]
# Console errors seen by each page (checked by ``snap``).
console_errors: dict[Page, list[str]] = {}


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """A page in a context of its own (its own cookies), as a separate person would have."""
    contexts: list[BrowserContext] = []

    def make(site: Site) -> Page:
        context = browser.new_context(
            base_url=site.base_url, viewport=DESKTOP, locale="zh-CN", accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        # Destructive actions ask first; the person says yes.
        page.on("dialog", lambda dialog: dialog.accept())
        # Script errors and refusals by the Content-Security-Policy show up here.
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        console_errors[page] = errors
        return page

    yield make
    for context in contexts:
        context.close()
    console_errors.clear()


# --- helpers used by the tests ------------------------------------------------------------------


def login(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, flash_text(page)


def flash_text(page: Page) -> str:
    return " ".join(page.locator(".flash, .alert").all_inner_texts())


def no_horizontal_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def snap(page: Page, site: Site, name: str) -> None:
    """Check the page at phone width (no sideways scrolling); save both widths for the docs."""
    # A refused form answers 4xx on purpose; Chromium logs that too.
    expected = "Failed to load resource: the server responded with a status of 4"
    errors = [e for e in console_errors.get(page, []) if not e.startswith(expected)]
    assert not errors, f"{name}: errors in the browser console: {errors}"
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page), f"{name}: the page scrolls sideways at 375 px"
    if site.screenshots:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}-phone.png", full_page=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=SCREENSHOTS / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def id_from_url(page: Page, pattern: str) -> int:
    found = re.search(pattern, page.url)
    assert found, f"{pattern} not in {page.url}"
    return int(found.group(1))
