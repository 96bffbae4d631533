"""What app/placements/counts.py answers as a placement moves through its states."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.placements import counts
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
    assert counts.remaining_capacity(db, [a, b]) == {a: 1, b: 2}
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
    assert counts.remaining_capacity(db, [a, b]) == {a: 0, b: 2}
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
