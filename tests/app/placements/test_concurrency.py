"""Capacity holds when many requests race, on a real server and a real database.

The app runs under uvicorn in a thread (its own thread pool, its own connections) and fifty
clients fire at once; nothing is serialised by the test itself.
"""

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app.auth.actor import Actor
from app.config import Settings
from app.main import create_app
from app.needs import service as needs
from app.needs.schemas import NeedCreate
from app.profiles import service as profiles
from app.profiles.schemas import ProfileCreate
from tests.app.factories import auth, make_account, need_payload, profile_payload
from tests.app.live import Server
from tests.conftest import BACKENDS, Databases, migrated_engine

pytestmark = [pytest.mark.concurrency, pytest.mark.slow]


@pytest.fixture(params=BACKENDS)
def live(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Any
) -> Iterator[tuple[str, Any, Settings]]:
    engine = migrated_engine(databases, request.param)
    settings = Settings(env="test", data_dir=tmp_path, database_url=str(engine.url))
    app = create_app(settings=settings, engine=engine)  # starts its own matcher
    with Server(app) as base:
        yield base, engine, settings
    engine.dispose()


def _fire(base: str, calls: list[tuple[str, dict[str, str]]]) -> list[int]:
    barrier = threading.Barrier(len(calls))

    def one(call: tuple[str, dict[str, str]]) -> int:
        path, headers = call
        with httpx.Client(base_url=base, timeout=120) as c:
            barrier.wait()
            return c.post(path, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def test_fifty_accepts_for_capacity_one_leave_exactly_one(live: tuple[str, Any, Settings]) -> None:
    base, engine, settings = live
    with Session(engine) as db:
        county = make_account(db, "county", "220822")
        talent = make_account(db, "talent")
        profile = profiles.create(
            db,
            data=ProfileCreate(**profile_payload(owner_id=talent.id, capacity=1)),
            actor=Actor.system("test"),
        )
        need_ids = []
        for i in range(50):
            need = needs.create(
                db,
                data=NeedCreate(
                    **need_payload(county_code="220822", title=f"需求{i}", headcount=1)
                ),
                actor=Actor.system("test"),
            )
            need_ids.append(need.id)
        db.commit()
        county_h, talent_h, profile_id = auth(county, settings), auth(talent, settings), profile.id
    with httpx.Client(base_url=base, timeout=120) as c:
        placement_ids = []
        for nid in need_ids:
            r = c.post(
                "/api/v1/placements",
                json={"need_id": nid, "profile_id": profile_id, "reason": "测试并发"},
                headers=county_h,
            )
            assert r.status_code == 201, r.json()
            placement_ids.append(r.json()["id"])
    codes = _fire(base, [(f"/api/v1/placements/{pid}/accept", talent_h) for pid in placement_ids])
    assert Counter(codes) == {200: 1, 409: 49}
    with httpx.Client(base_url=base, timeout=120) as c:
        listing = c.get(
            "/api/v1/placements",
            params={"profile_id": profile_id, "status": "accepted"},
            headers=county_h,
        ).json()
        assert listing["total"] == 1
        findings = c.get("/api/v1/stats/findings", headers=auth_admin(engine, settings)).json()
        assert findings["over_capacity"] == []
        verify = c.get("/api/v1/audit/verify", headers=auth_admin(engine, settings)).json()
        assert verify["ok"] is True


def auth_admin(engine: Any, settings: Settings) -> dict[str, str]:
    with Session(engine) as db:
        return auth(make_account(db, "admin"), settings)


def test_twenty_talents_race_for_a_need_of_headcount_one(live: tuple[str, Any, Settings]) -> None:
    base, engine, settings = live
    with Session(engine) as db:
        county = make_account(db, "county", "220822")
        need = needs.create(
            db,
            data=NeedCreate(**need_payload(county_code="220822", headcount=1)),
            actor=Actor.system("test"),
        )
        talents = []
        for i in range(20):
            t = make_account(db, "talent")
            p = profiles.create(
                db,
                data=ProfileCreate(
                    **profile_payload(
                        owner_id=t.id, name=f"人员{i}", contact={"phone": f"1390000{i:04d}"}
                    )
                ),
                actor=Actor.system("test"),
            )
            talents.append((auth(t, settings), p.id))
        db.commit()
        county_h, need_id = auth(county, settings), need.id
    calls = []
    with httpx.Client(base_url=base, timeout=120) as c:
        for headers, pid in talents:
            r = c.post(
                "/api/v1/placements",
                json={"need_id": need_id, "profile_id": pid, "reason": "测试并发"},
                headers=county_h,
            )
            assert r.status_code == 201, r.json()
            calls.append((f"/api/v1/placements/{r.json()['id']}/accept", headers))
    codes = _fire(base, calls)
    assert Counter(codes) == {200: 1, 409: 19}
    with httpx.Client(base_url=base, timeout=120) as c:
        assert c.get(f"/api/v1/needs/{need_id}", headers=county_h).json()["status"] == "filled"


def test_concurrent_retries_with_one_key_make_one_placement(
    live: tuple[str, Any, Settings],
) -> None:
    base, engine, settings = live
    with Session(engine) as db:
        county = make_account(db, "county", "220822")
        need = needs.create(
            db, data=NeedCreate(**need_payload(county_code="220822")), actor=Actor.system("t")
        )
        p = profiles.create(db, data=ProfileCreate(**profile_payload()), actor=Actor.system("t"))
        db.commit()
        headers = {**auth(county, settings), "Idempotency-Key": "same-click"}
        body = {"need_id": need.id, "profile_id": p.id, "reason": "测试"}

    barrier = threading.Barrier(10)

    def one(_: int) -> tuple[int, Any]:
        with httpx.Client(base_url=base, timeout=120) as c:
            barrier.wait()
            r = c.post("/api/v1/placements", json=body, headers=headers)
            return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(one, range(10)))
    assert {code for code, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
