"""Bulk import: every row validated, all-or-nothing unless partial=true, and clear reports."""

import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.needs.models import Need
from app.profiles.models import Profile
from tests.app.factories import auth, make_account

HEADER = "姓名,类型,单位,职称,领域,专长,籍贯,服务方式,服务容量,意向地区,手机号,邮箱\n"
GOOD = [
    "李春明,专家,吉林农业大学,教授,人参、林下参,人参连作障碍与土壤修复,抚松县,兼职,2,东部,13900000001,li@example.cn",
    "王海燕,科研人员,吉林省农业科学院,研究员,盐碱地;水稻,苏打盐渍土改良,220822,全职,1,西部、中部,13900000002,",
    "陈刚,返乡人员,个体,农民企业家,黑木耳,木耳菌包生产与销售,汪清县,full_time,1,,13900000003,",
]


@pytest.fixture
def admin(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "admin"), settings)


def upload(
    client: TestClient,
    headers: dict[str, str],
    what: str,
    name: str,
    data: bytes,
    partial: bool = False,
) -> Any:
    return client.post(
        f"/api/v1/{what}/import",
        headers=headers,
        params={"partial": str(partial).lower()},
        files={"file": (name, io.BytesIO(data), "application/octet-stream")},
    )


def count(db: Session, model: Any) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def test_csv_with_chinese_headers_and_labels(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    r = upload(
        client, admin, "profiles", "名单.csv", (HEADER + "\n".join(GOOD)).encode("utf-8-sig")
    )
    assert r.status_code == 200, r.json()
    report = r.json()
    assert (report["format"], report["total"], report["accepted_count"]) == ("csv", 3, 3)
    assert report["imported"] is True
    assert [a["row"] for a in report["accepted"]] == [2, 3, 4]
    li = db.get(Profile, report["accepted"][0]["id"])
    assert li is not None
    assert (li.kind, li.availability, li.hometown_county_code) == ("expert", "part_time", "220621")
    assert li.fields == ["人参", "林下参"]
    wang = db.get(Profile, report["accepted"][1]["id"])
    assert wang is not None
    assert wang.preferred_regions == ["west", "central"]
    events = db.exec(select(AuditEvent).where(AuditEvent.action == "profile.create")).all()
    assert len(events) == 3
    assert json.loads(events[0].context or "{}")["row"] == 2


def test_gbk_csv_from_chinese_excel(client: TestClient, db: Session, admin: dict[str, str]) -> None:
    r = upload(client, admin, "profiles", "名单.csv", (HEADER + GOOD[0]).encode("gb18030"))
    assert r.status_code == 200, r.json()
    assert db.exec(select(Profile.name)).all() == ["李春明"]


def test_xlsx(client: TestClient, db: Session, admin: dict[str, str]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(list(HEADER.strip().split(",")))
    ws.append(
        [
            "赵雪",
            "团队",
            "吉林大学",
            "科技特派团",
            "冰雪旅游",
            "冰雪旅游线路策划与运营",
            "安图县",
            "兼职",
            5,
            "东部",
            13900000004,
            "zhao@example.cn",
        ]
    )
    ws.append([None] * 12)  # blank rows are skipped
    ws.append(
        [
            "孙强",
            "法人科技特派员",
            "吉林某生物公司",
            "企业",
            "中药材",
            "中药材GAP种植",
            None,
            "远程",
            3.0,
            None,
            None,
            None,
        ]
    )
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(client, admin, "profiles", "commissioners.xlsx", buf.getvalue())
    assert r.status_code == 200, r.json()
    assert r.json()["format"] == "xlsx"
    assert [a["row"] for a in r.json()["accepted"]] == [2, 4]
    zhao = db.exec(select(Profile).where(Profile.name == "赵雪")).one()
    assert (zhao.kind, zhao.capacity, zhao.contact_phone) == ("team", 5, "13900000004")


def test_jsonl_in_api_shape(client: TestClient, db: Session, admin: dict[str, str]) -> None:
    line = {
        "kind": "expert",
        "name": "周敏",
        "affiliation": "延边大学",
        "title": "副教授",
        "fields": ["朝鲜族食品"],
        "expertise": "泡菜发酵工艺",
        "availability": "part_time",
        "contact": {"phone": "13900000005", "email": "zhou@example.cn"},
    }
    data = (json.dumps(line, ensure_ascii=False) + "\n\n").encode()
    r = upload(client, admin, "profiles", "list.jsonl", data)
    assert r.status_code == 200, r.json()
    assert db.exec(select(Profile.contact_email)).all() == ["zhou@example.cn"]


def test_bad_rows_import_nothing_and_are_all_reported(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    bad = [
        "刘洋,巫师,吉林大学,教授,,玉米育种,,兼职,1,,13900000006,",  # kind
        "吴静,专家,吉林大学,教授,,玉米育种,火星县,兼职,1,,13900000007,",  # hometown
        "郑华,专家,吉林大学,教授,,玉米育种,,兼职,99,,13900000008,",  # capacity
        "冯军,专家,吉林大学,教授,,,,兼职,1,,12345,bad-email",  # expertise, phone, email
    ]
    data = (HEADER + "\n".join(GOOD + bad)).encode()
    r = upload(client, admin, "profiles", "名单.csv", data)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "import_rejected"
    report = body["report"]
    assert report["imported"] is False
    assert report["accepted_count"] == 3
    rejected = {(e["row"], e["field"]) for e in report["rejected"]}
    assert rejected == {
        (5, "kind"),
        (6, "hometown_county_code"),
        (7, "capacity"),
        (8, "expertise"),
        (8, "contact.phone"),
        (8, "contact.email"),
    }
    assert {e["column"] for e in report["rejected"] if e["row"] == 7} == {"服务容量"}
    assert all(any("\u4e00" <= c <= "\u9fff" for c in e["message"]) for e in report["rejected"])
    assert count(db, Profile) == 0
    assert count(db, AuditEvent) == 0

    r = upload(client, admin, "profiles", "名单.csv", data, partial=True)
    assert r.status_code == 200
    assert r.json()["accepted_count"] == 3
    assert r.json()["rejected_count"] == 6
    assert sorted(db.exec(select(Profile.name)).all()) == sorted(["李春明", "王海燕", "陈刚"])


def test_duplicates_in_file_and_in_database(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    assert (
        upload(client, admin, "profiles", "a.csv", (HEADER + GOOD[0]).encode()).status_code == 200
    )
    data = (HEADER + GOOD[1] + "\n" + GOOD[1] + "\n" + GOOD[0]).encode()
    r = upload(client, admin, "profiles", "b.csv", data, partial=True)
    assert r.status_code == 200
    assert [(e["row"], e["code"]) for e in r.json()["rejected"]] == [
        (3, "duplicate"),
        (4, "duplicate"),
    ]
    assert count(db, Profile) == 2


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("empty.csv", b"", 400, "empty_file"),
        ("blank.csv", b"\n\n  \n", 400, "empty_file"),
        ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 400, "not_a_spreadsheet"),
        ("zip.xlsx", b"PK\x03\x04" + b"junk" * 20, 400, "not_a_spreadsheet"),
        ("old.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 64, 400, "unsupported_format"),
        ("binary.csv", b"\x00\x01\x02\x03abc", 400, "not_text"),
        ("columns.csv", "姓名,年龄,爱好\n张三,30,钓鱼\n".encode(), 422, "unknown_column"),
        ("missing.csv", "姓名,类型\n张三,专家\n".encode(), 422, "missing_column"),
        ("twice.csv", "姓名,name,类型\n".encode(), 400, "duplicate_column"),
        ("header_only.csv", HEADER.encode(), 200, None),
    ],
)
def test_broken_files(
    client: TestClient,
    db: Session,
    admin: dict[str, str],
    name: str,
    data: bytes,
    status: int,
    code: str | None,
) -> None:
    r = upload(client, admin, "profiles", name, data)
    assert r.status_code == status, r.json()
    if code:
        assert r.json()["code"] == code
        assert r.json()["field"] == "file"
    assert count(db, Profile) == 0


def test_jsonl_with_broken_lines(client: TestClient, db: Session, admin: dict[str, str]) -> None:
    data = b'{"name": "x"\n[1, 2]\n{"nickname": "y"}\n'
    r = upload(client, admin, "profiles", "bad.jsonl", data, partial=True)
    assert r.status_code == 200
    rejected = r.json()["rejected"]
    codes = [(e["row"], e["code"], e["field"]) for e in rejected]
    assert codes[:3] == [
        (1, "json_invalid", None),
        (2, "json_type", None),
        (3, "extra_forbidden", "nickname"),
    ]
    # The unknown key does not hide the line's other problems.
    assert {e["field"] for e in rejected[3:]} == {
        "kind",
        "name",
        "affiliation",
        "title",
        "expertise",
        "availability",
    }
    assert {(e["row"], e["code"]) for e in rejected[3:]} == {(3, "missing")}
    assert count(db, Profile) == 0


def test_file_too_large(client: TestClient, admin: dict[str, str], app: Any) -> None:
    app.state.settings = app.state.settings.model_copy(update={"import_max_bytes": 1024})
    r = upload(client, admin, "profiles", "big.csv", (HEADER + GOOD[0] * 100).encode())
    assert r.status_code == 413
    assert r.json()["code"] == "file_too_large"


@pytest.mark.slow
def test_ten_thousand_rows(client: TestClient, db: Session, admin: dict[str, str]) -> None:
    rows = [
        f"人员{i},专家,吉林农业大学,教授,玉米,玉米保护性耕作技术{i},梨树县,兼职,1,中部,"
        f"1{3 + i % 7}{i:09d},"
        for i in range(10_000)
    ]
    rows[9_998] = rows[9_998].replace(",兼职,", ",偶尔,")
    data = (HEADER + "\n".join(rows)).encode()
    r = upload(client, admin, "profiles", "big.csv", data)
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["report"]["rejected"]] == [
        (10_000, "availability")
    ]
    assert count(db, Profile) == 0
    r = upload(client, admin, "profiles", "big.csv", data, partial=True)
    assert r.status_code == 200
    assert r.json()["accepted_count"] == 9_999
    assert count(db, Profile) == 9_999


def test_needs_import(client: TestClient, db: Session, admin: dict[str, str]) -> None:
    data = (
        "县（市、区）,项目类别,需求标题,需求描述,产业,需求人数,截止日期\n"
        "通榆县,科技特派员,盐碱地水稻,碱巴拉地返碱死苗,盐碱地治理,2,2027-04-30\n"
        "220621,三乡工程,林下参电商,找懂电商的返乡青年,人参产业,1,\n"
        "火星县,科技特派员,x,y,z,1,\n"
        "220322,科技特派员,黑土地,保护性耕作,现代农业,30,\n"
        "220322,科技特派员,黑土地,保护性耕作,现代农业,1,2027-13-01\n"
    ).encode()
    r = upload(client, admin, "needs", "needs.csv", data)
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["report"]["rejected"]] == [
        (4, "county_code"),
        (5, "headcount"),
        (6, "deadline"),
    ]
    assert count(db, Need) == 0
    r = upload(client, admin, "needs", "needs.csv", data, partial=True)
    assert r.status_code == 200
    needs = db.exec(select(Need).order_by(Need.id)).all()  # type: ignore[arg-type]
    assert [(n.county_code, n.program) for n in needs] == [
        ("220822", "science_commissioner"),
        ("220621", "return_home"),
    ]
    assert str(needs[0].deadline) == "2027-04-30"


def test_import_requires_a_file(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post("/api/v1/profiles/import", headers=admin)
    assert r.status_code == 422
    assert r.json()["field"] == "file"
