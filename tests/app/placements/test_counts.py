"""What app/placements/counts.py answers as a placement moves through its states."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.placements import counts
from tests.app.factories import need_payload
from tests.app.placements.conftest import Placed, propose


def test_counts_follow_the_status_groups(client: TestClient, db: Session, placed: Placed) -> None:
    w = placed
    a, b = w.profiles["talent_a"], w.profiles["talent_b"]  # capacity 1 and 2
    assert not counts.has_any_for_need(db, w.need_id)
    pid = propose(client, w).json()["id"]

    # Proposed: under way, but holding no place and showing no contact.
    assert counts.live_profiles_of_need(db, w.need_id) == {a: pid}
    assert counts.open_count_of_profile(db, a) == 0
    assert counts.open_count_of_need(db, w.need_id) == 0
    assert counts.has_any_for_need(db, w.need_id)
    assert counts.has_any_for_profile(db, a)
    assert not counts.has_any_for_profile(db, b)
    assert not counts.seen_by_county(db, profile_id=a, county_code="220822")

    r = client.post(f"/api/v1/placements/{pid}/accept", headers=w.h["talent_a"])
    assert r.status_code == 200, r.json()
    assert counts.open_count_of_profile(db, a) == 1
    assert counts.open_count_of_need(db, w.need_id) == 1
    assert counts.open_counts_by_profile(db) == {a: 1}
    assert counts.open_counts_by_profile(db, [b]) == {}
    assert counts.full_profile_ids(db) == frozenset({a})
    assert counts.over_capacity(db) == []
    assert counts.seen_by_county(db, profile_id=a, county_code="220822")
    assert not counts.seen_by_county(db, profile_id=a, county_code="220322")

    r = client.post(
        f"/api/v1/placements/{pid}/cancel", json={"reason": "时间冲突"}, headers=w.h["county"]
    )
    assert r.status_code == 200, r.json()
    assert counts.live_profiles_of_need(db, w.need_id) == {}
    assert counts.open_count_of_profile(db, a) == 0
    assert counts.full_profile_ids(db) == frozenset()
    assert not counts.seen_by_county(db, profile_id=a, county_code="220822")
    assert counts.has_any_for_need(db, w.need_id)


def test_match_lists_follow_places_left_as_placements_and_capacities_change(
    client: TestClient, placed: Placed
) -> None:
    """Each process holds who is full and the places left (app/matches/places.py) and keeps
    them in step through the audit events: a placement, and a capacity edit of someone holding
    a place, show on the very next list."""
    w = placed
    a, b = w.profiles["talent_a"], w.profiles["talent_b"]  # capacity 1 and 2
    other = client.post(
        "/api/v1/needs",
        headers=w.h["county"],
        json=need_payload(
            county_code="220822", title="盐碱地水稻保苗", description="盐碱地改良，水稻返碱死苗"
        ),
    )
    assert other.status_code == 201, other.json()

    def listed() -> dict[int, list[str]]:
        r = client.get(f"/api/v1/needs/{other.json()['id']}/matches", headers=w.h["county"])
        assert r.status_code == 200, r.json()
        return {item["profile_id"]: item["reasons"] for item in r.json()["items"]}

    def places_reason(reasons: list[str]) -> list[str]:
        return [x for x in reasons if x.startswith("尚可承接")]

    first = listed()
    assert places_reason(first[a]) == ["尚可承接1项服务"]
    assert places_reason(first[b]) == ["尚可承接2项服务"]

    pid = propose(client, w).json()["id"]
    assert a in listed()  # proposed: holds no place yet
    assert (
        client.post(f"/api/v1/placements/{pid}/accept", headers=w.h["talent_a"]).status_code == 200
    )
    assert a not in listed()  # full now

    r = client.patch(f"/api/v1/profiles/{a}", json={"capacity": 3}, headers=w.h["talent_a"])
    assert r.status_code == 200, r.json()
    assert places_reason(listed()[a]) == ["尚可承接2项服务"]

    r = client.post(
        f"/api/v1/placements/{pid}/cancel", json={"reason": "时间冲突"}, headers=w.h["county"]
    )
    assert r.status_code == 200, r.json()
    assert places_reason(listed()[a]) == ["尚可承接3项服务"]
