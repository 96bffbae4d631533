"""Date and time query parameters take ISO 8601 only: ``?to=0`` is refused rather than read as
1 January 1970, and a Unix timestamp rather than read as some moment nobody typed."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.app.factories import auth, make_account

# (path, parameter, a good value): every date or time filter of the API.
DATE_PARAMS = [
    ("/api/v1/stats/placements", "from", "2026-01-01"),
    ("/api/v1/stats/placements", "to", "2026-12-31"),
    ("/api/v1/stats/needs", "from", "2026-01-01"),
    ("/api/v1/stats/needs", "to", "2026-12-31"),
    ("/api/v1/placements", "date_from", "2026-01-01"),
    ("/api/v1/placements", "date_to", "2026-12-31"),
    ("/api/v1/placements/export", "date_from", "2026-01-01"),
    ("/api/v1/placements/export", "date_to", "2026-12-31"),
]
DATETIME_PARAMS = [
    ("/api/v1/audit/events", "since", "2026-01-01T08:00:00+08:00"),
    ("/api/v1/audit/events", "until", "2026-12-31T23:59"),
]


@pytest.fixture
def admin(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "admin"), settings)


@pytest.mark.parametrize(("path", "param", "good"), DATE_PARAMS + DATETIME_PARAMS)
@pytest.mark.parametrize("bad", ["0", "1767225600", "20260101", "2026-1-1", "today"])
def test_non_iso_dates_are_refused(
    client: TestClient, admin: dict[str, str], path: str, param: str, good: str, bad: str
) -> None:
    assert client.get(path, params={param: good}, headers=admin).status_code == 200
    r = client.get(path, params={param: bad}, headers=admin)
    assert r.status_code == 422, (bad, r.text[:200])
    body = r.json()
    assert body["field"] == param
    assert param in body["message"]
    assert "有效" in body["message"]


@pytest.mark.parametrize(("path", "param", "good"), DATETIME_PARAMS)
def test_times_accept_a_plain_date(
    client: TestClient, admin: dict[str, str], path: str, param: str, good: str
) -> None:
    assert client.get(path, params={param: "2026-01-01"}, headers=admin).status_code == 200


# A day's start in Beijing time moved to UTC, or the day after the last, must stay inside
# Python's dates: ``from=0001-01-01`` was a 500 (found by schemathesis against the served API).
OUT_OF_RANGE = {
    "date": ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"],
    "datetime": ["0001-01-01T00:00:00+14:00", "1899-12-31", "9999-12-31T23:59:59-14:00"],
}
EDGES = {
    "date": ["1900-01-01", "2999-12-31"],
    "datetime": ["1900-01-01T00:00:00+14:00", "2999-12-31T23:59:59-14:00"],
}


@pytest.mark.parametrize(
    ("path", "param", "kind"),
    [(p, q, "date") for p, q, _ in DATE_PARAMS]
    + [(p, q, "datetime") for p, q, _ in DATETIME_PARAMS],
)
def test_dates_beyond_the_range_are_refused_with_the_range(
    client: TestClient, admin: dict[str, str], path: str, param: str, kind: str
) -> None:
    for bad in OUT_OF_RANGE[kind]:
        r = client.get(path, params={param: bad}, headers=admin)
        assert r.status_code == 422, (bad, r.text[:200])
        body = r.json()
        assert body["field"] == param
        assert body["errors"][0]["code"] == "date_out_of_range"
        assert body["message"] == f"{param} 必须在 1900-01-01 至 2999-12-31 之间"
    for edge in EDGES[kind]:
        assert client.get(path, params={param: edge}, headers=admin).status_code == 200, edge
