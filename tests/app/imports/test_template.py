"""The downloadable templates: Chinese headings the importer reads, one example row that imports
as it is, and a sheet that explains the columns."""

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session, select

from app.imports.parsing import normalise_header
from app.imports.router import KINDS
from app.needs.models import Need
from app.profiles.models import Profile
from tests.app.factories import auth, make_account
from tests.app.imports.test_import import upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def admin(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "admin"), settings)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_template_heading_is_read_and_covers_the_required_columns(kind: str) -> None:
    spec = KINDS[kind]
    keys = [spec.aliases.get(normalise_header(c.heading)) for c in spec.template]
    assert None not in keys
    assert len(set(keys)) == len(keys)
    assert spec.required <= set(keys)


@pytest.mark.parametrize(
    ("kind", "model", "field", "value"),
    [
        ("profiles", Profile, "hometown_county_code", "220621"),
        ("needs", Need, "county_code", "220881"),
    ],
)
def test_template_downloads_and_imports_back(
    client: TestClient,
    db: Session,
    admin: dict[str, str],
    kind: str,
    model: Any,
    field: str,
    value: str,
) -> None:
    r = client.get(f"/api/v1/imports/templates/{kind}.xlsx", headers=admin)
    assert r.status_code == 200
    assert r.headers["content-type"] == XLSX
    assert "attachment" in r.headers["content-disposition"]
    assert "filename*=UTF-8''" in r.headers["content-disposition"]

    book = load_workbook(io.BytesIO(r.content))
    sheet = book.worksheets[0]
    headings = [c.value for c in sheet[1]]
    assert headings == [c.heading for c in KINDS[kind].template]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row == 2  # the headings and one example
    assert all((sheet.column_dimensions[c.column_letter].width or 0) >= 10 for c in sheet[1])
    notes = book["填写说明"]
    explained = {row[0]: row[1:] for row in notes.iter_rows(min_row=5, values_only=True)}
    assert set(explained) == set(headings)
    assert {h for h, (need, *_rest) in explained.items() if need == "必填"} == {
        c.heading
        for c in KINDS[kind].template
        if KINDS[kind].aliases[normalise_header(c.heading)] in KINDS[kind].required
    }

    r = upload(client, admin, kind, f"{kind}.xlsx", r.content)
    assert r.status_code == 200, r.json()
    assert (r.json()["accepted_count"], r.json()["rejected_count"]) == (1, 0)
    assert [getattr(m, field) for m in db.exec(select(model)).all()] == [value]


def test_template_explains_allowed_values(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/imports/templates/profiles.xlsx", headers=admin)
    notes = load_workbook(io.BytesIO(r.content))["填写说明"]
    explained = {row[0]: row[2] for row in notes.iter_rows(min_row=5, values_only=True)}
    assert "专家" in explained["类型"]
    assert "法人科技特派员" in explained["类型"]
    assert "全职、兼职、远程" in explained["服务方式"]
    assert "洮南" in explained["籍贯"]
    r = client.get("/api/v1/imports/templates/needs.xlsx", headers=admin)
    notes = load_workbook(io.BytesIO(r.content))["填写说明"]
    explained = {row[0]: row[2] for row in notes.iter_rows(min_row=5, values_only=True)}
    assert "科技特派员、三乡工程" in explained["项目类别"]


def test_unknown_template_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    r = client.get("/api/v1/imports/templates/placements.xlsx", headers=admin)
    assert r.status_code == 422
    assert r.json()["field"] == "kind"


def test_the_import_page_previews_each_template(client: TestClient, db: Session) -> None:
    from tests.app.factories import page_sign_in

    account = make_account(db, "admin")
    page_sign_in(client, account.username)
    html = client.get("/admin/import").text
    assert "人才档案导入模板预览" in html
    assert "县域需求导入模板预览" in html
    preview = html[html.index("人才档案导入模板预览") : html.index("县域需求导入模板预览")]
    assert "<strong>姓名</strong>" in preview
    assert "必填" in preview
    assert "选填" in preview
