"""Hostile uploads (zip bombs, a million blank rows, endless lines) are refused early, with a
Chinese message naming the limit, before they cost the server memory or minutes."""

import io
import json
import struct
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.profiles.models import Profile
from tests.app.factories import auth, make_account
from tests.app.imports.test_import import GOOD, HEADER, count, upload

MB = 1024 * 1024
_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{_REL}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}
HEADERS = HEADER.strip().split(",")


def _row(number: int, first_string: int, width: int) -> bytes:
    cells = b"".join(
        b'<c r="%s%d" t="s"><v>%d</v></c>' % (bytes([65 + i]), number, first_string + i)
        for i in range(width)
    )
    return b'<row r="%d">%s</row>' % (number, cells)


def xlsx(strings: list[str], rows: bytes, *, extra_sheet: bytes = b"") -> bytes:
    """A workbook written by hand, with shared strings (Excel's way, and the bomb's)."""
    sst = b"<sst " + _NS + b">"
    sst += b"".join(b"<si><t>" + s.encode() + b"</t></si>" for s in strings) + b"</sst>"
    sheet = (
        b"<worksheet " + _NS + b"><sheetData>" + rows + extra_sheet + b"</sheetData></worksheet>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _PARTS.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        z.writestr("xl/sharedStrings.xml", sst)
    return buf.getvalue()


def good_xlsx(*, rows_before_record: bytes = b"", record_row: int = 2) -> bytes:
    """The header and one good record (row ``record_row``), all text as shared strings."""
    record = GOOD[2].split(",")
    strings = HEADERS + record
    return xlsx(
        strings,
        _row(1, 0, len(HEADERS)) + rows_before_record + _row(record_row, len(HEADERS), 11),
    )


def lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the member's declared uncompressed size in both of its zip headers."""
    out = bytearray(data)
    i = 0
    while (i := out.find(b"PK\x01\x02", i)) >= 0:
        (name_len,) = struct.unpack("<H", out[i + 28 : i + 30])
        if out[i + 46 : i + 46 + name_len] == member.encode():
            out[i + 24 : i + 28] = struct.pack("<I", size)
            (local,) = struct.unpack("<I", out[i + 42 : i + 46])
            out[local + 22 : local + 26] = struct.pack("<I", size)
        i += 4
    return bytes(out)


@pytest.fixture
def admin(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "admin"), settings)


@pytest.fixture
def unzipped(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the bytes every reader of an upload inflates out of its zip members."""
    read = zipfile.ZipExtFile.read
    total = [0]

    def counting(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
        data = read(self, n)
        total[0] += len(data)
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    return total


def limit(app: Any, **limits: int) -> None:
    app.state.settings = app.state.settings.model_copy(update=limits)


def test_the_hand_written_workbook_imports(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    r = upload(client, admin, "profiles", "ok.xlsx", good_xlsx())
    assert r.status_code == 200, r.json()
    assert r.json()["accepted_count"] == 1
    assert count(db, Profile) == 1


def test_shared_string_bomb_is_refused_without_inflating_it(
    client: TestClient, db: Session, admin: dict[str, str], app: Any, unzipped: list[int]
) -> None:
    # 8 MB of one letter deflates to about 8 KB; the real attack inflated to 300 MB.
    bomb = xlsx([*HEADERS, "A" * (8 * MB)], _row(1, 0, len(HEADERS)) + _row(2, len(HEADERS), 1))
    assert len(bomb) < 64 * 1024
    limit(app, import_max_shared_strings_bytes=1 * MB)
    r = upload(client, admin, "profiles", "bomb.xlsx", bomb)
    assert r.status_code == 413, r.json()
    assert (r.json()["code"], r.json()["field"]) == ("xlsx_too_large", "file")
    assert "1 MB" in r.json()["message"]
    assert unzipped[0] < 1 * MB
    assert count(db, Profile) == 0


def test_whole_workbook_inflating_past_the_limit_is_refused(
    client: TestClient, db: Session, admin: dict[str, str], app: Any, unzipped: list[int]
) -> None:
    padding = (
        b'<row r="3"><c r="A3" t="inlineStr"><is><t>' + b"B" * (8 * MB) + b"</t></is></c></row>"
    )
    bomb = xlsx([*HEADERS], _row(1, 0, len(HEADERS)), extra_sheet=padding)
    limit(app, import_max_unzipped_bytes=2 * MB)
    r = upload(client, admin, "profiles", "bomb.xlsx", bomb)
    assert r.status_code == 413, r.json()
    assert r.json()["code"] == "xlsx_too_large"
    assert "2 MB" in r.json()["message"]
    assert unzipped[0] < 2 * MB
    assert count(db, Profile) == 0


def test_member_lying_about_its_size_is_not_inflated(
    client: TestClient, db: Session, admin: dict[str, str], app: Any, unzipped: list[int]
) -> None:
    bomb = xlsx([*HEADERS, "A" * (8 * MB)], _row(1, 0, len(HEADERS)))
    bomb = lie_about_size(bomb, "xl/sharedStrings.xml", 1000)
    limit(app, import_max_shared_strings_bytes=1 * MB)
    r = upload(client, admin, "profiles", "bomb.xlsx", bomb)
    assert 400 <= r.status_code < 500, r.json()
    assert r.json()["field"] == "file"
    assert unzipped[0] < 1 * MB
    assert count(db, Profile) == 0


def test_zip_of_many_members_is_refused(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in _PARTS.items():
            z.writestr(name, text)
        for i in range(5000):
            z.writestr(f"x/{i}", b"")
    r = upload(client, admin, "profiles", "many.xlsx", buf.getvalue())
    assert r.status_code == 413, r.json()
    assert r.json()["code"] == "xlsx_too_large"
    assert count(db, Profile) == 0


def _blank_rows() -> bytes:
    rows = b"".join(b'<row r="%d"/>' % n for n in range(2, 20_002))
    return good_xlsx(rows_before_record=rows, record_row=20_002)


@pytest.mark.parametrize(
    ("shape", "before_opening"),
    [
        # Rows that are in the file are counted in its bytes, before the reader walks them.
        pytest.param(_blank_rows, True, id="blank-rows"),
        # Missing rows exist only as the reader numbers them, and are counted as it does.
        pytest.param(lambda: good_xlsx(record_row=20_002), False, id="gap-of-missing-rows"),
    ],
)
def test_blank_rows_count_towards_the_row_limit(
    client: TestClient,
    db: Session,
    admin: dict[str, str],
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
    shape: Any,
    before_opening: bool,
) -> None:
    if before_opening:
        monkeypatch.setattr("openpyxl.load_workbook", _must_not_open)
    limit(app, import_max_rows=1000)
    r = upload(client, admin, "profiles", "blank.xlsx", shape())
    assert r.status_code == 413, r.json()
    assert (r.json()["code"], r.json()["field"]) == ("too_many_rows", "file")
    assert "1000 行" in r.json()["message"]
    assert count(db, Profile) == 0


def _must_not_open(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("the workbook was opened before the limits were checked")


def test_workbook_of_too_many_cells_is_refused_before_opening(
    client: TestClient,
    db: Session,
    admin: dict[str, str],
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("openpyxl.load_workbook", _must_not_open)
    limit(app, import_max_rows=100)
    wide = b"".join(b'<row r="%d">%s</row>' % (n, b"<c/>" * 60) for n in range(2, 52))
    r = upload(client, admin, "profiles", "wide.xlsx", xlsx(HEADERS, _row(1, 0, 12) + wide))
    assert r.status_code == 413, r.json()
    assert r.json()["code"] == "xlsx_too_large"
    assert "2020 个" in r.json()["message"]
    assert count(db, Profile) == 0


def test_workbook_of_too_many_shared_strings_is_refused_before_opening(
    client: TestClient,
    db: Session,
    admin: dict[str, str],
    app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each small string costs the reader far more memory and time than its bytes.
    monkeypatch.setattr("openpyxl.load_workbook", _must_not_open)
    limit(app, import_max_rows=100)
    strings = [*HEADERS, *(f"字{i}" for i in range(3000))]
    r = upload(client, admin, "profiles", "strings.xlsx", xlsx(strings, _row(1, 0, 12)))
    assert r.status_code == 413, r.json()
    assert r.json()["code"] == "xlsx_too_large"
    assert "2020 个" in r.json()["message"]
    assert count(db, Profile) == 0


def test_blank_lines_count_towards_the_row_limit_in_csv_and_jsonl(
    client: TestClient, db: Session, admin: dict[str, str], app: Any
) -> None:
    limit(app, import_max_rows=1000)
    csv_data = (HEADER + "\n" * 2000 + GOOD[0]).encode()
    line = json.dumps({"name": "张三", "kind": "expert"}, ensure_ascii=False)
    for name, data in (("blank.csv", csv_data), ("blank.jsonl", ("\n" * 2000 + line).encode())):
        r = upload(client, admin, "profiles", name, data)
        assert r.status_code == 413, (name, r.json())
        assert r.json()["code"] == "too_many_rows"
        assert "1000 行" in r.json()["message"]
    assert count(db, Profile) == 0


def test_endless_line_is_refused(
    client: TestClient, db: Session, admin: dict[str, str], app: Any
) -> None:
    limit(app, import_max_line_chars=10_000)
    long_csv = (HEADER + GOOD[0].replace("人参连作障碍", "人参" * 6000)).encode()
    long_jsonl = json.dumps({"name": "张三", "expertise": "长" * 20_000}, ensure_ascii=False)
    for name, data in (("long.csv", long_csv), ("long.jsonl", long_jsonl.encode())):
        r = upload(client, admin, "profiles", name, data)
        assert r.status_code == 413, (name, r.json())
        assert (r.json()["code"], r.json()["field"]) == ("line_too_long", "file")
        assert "10000 个字符" in r.json()["message"]
        assert "第 " in r.json()["message"]
    assert count(db, Profile) == 0
