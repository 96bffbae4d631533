"""Reads and writes sharing one database: readers never wait for a writer, writers stay whole.

A real server (uvicorn in a thread, its own connections) on SQLite and PostgreSQL. Nothing here
is timed: a read that waited for the write lock would run into the client's time-out (SQLite's
busy time-out is longer), a write that lost its lock would answer 5xx.
"""

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.auth.actor import Actor
from app.config import Settings
from app.db import READ_ONLY
from app.main import create_app
from app.needs import service as needs
from app.needs.schemas import NeedCreate
from app.profiles import service as profiles
from app.profiles.models import Profile
from app.profiles.schemas import ProfileCreate
from tests.app.factories import auth, make_account, need_payload, profile_payload
from tests.app.live import Server
from tests.conftest import BACKENDS, Databases, migrated_engine

pytestmark = [pytest.mark.concurrency]


@pytest.fixture(params=BACKENDS)
def live(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Any
) -> Iterator[tuple[str, Any, Settings, dict[str, Any]]]:
    engine = migrated_engine(databases, request.param)
    settings = Settings(env="test", data_dir=tmp_path, database_url=str(engine.url))
    with Session(engine) as db:
        county = make_account(db, "county", "220822")
        need = needs.create(
            db,
            data=NeedCreate(**need_payload(county_code="220822")),
            actor=Actor.system("test"),
        )
        talents = []
        for i in range(6):
            account = make_account(db, "talent")
            profile = profiles.create(
                db,
                data=ProfileCreate(**profile_payload(owner_id=account.id, name=f"人员{i}")),
                actor=Actor.system("test"),
            )
            talents.append((auth(account, settings), profile.id))
        db.commit()
        world = {"county": auth(county, settings), "need_id": need.id, "talents": talents}
    app = create_app(settings=settings, engine=engine)
    with Server(app) as base:
        yield base, engine, settings, world
    engine.dispose()


def test_a_read_answers_while_a_writer_holds_the_lock(
    live: tuple[str, Any, Settings, dict[str, Any]],
) -> None:
    base, engine, _settings, world = live
    with engine.connect() as writer:
        # On SQLite the engine begins every unmarked transaction with BEGIN IMMEDIATE: this
        # one holds the database's write lock until the end of the block.
        writer.execute(
            text("UPDATE need SET title = title WHERE id = :id"), {"id": world["need_id"]}
        )
        with httpx.Client(base_url=base, timeout=10) as c:
            r = c.get(f"/api/v1/needs/{world['need_id']}/matches", headers=world["county"])
            assert r.status_code == 200, r.text
            assert len(r.json()["items"]) == 6
            assert (
                c.get(f"/api/v1/needs/{world['need_id']}", headers=world["county"]).status_code
                == 200
            )
        writer.rollback()


def test_a_read_only_transaction_refuses_to_write(databases: Databases) -> None:
    engine = migrated_engine(databases, "sqlite")
    with Session(engine.execution_options(**READ_ONLY)) as session:
        assert session.exec(select(Profile)).all() == []
        with pytest.raises(OperationalError, match="readonly"):
            session.execute(text("UPDATE county SET name = name"))
    # the same pooled connection writes again in an ordinary transaction
    with Session(engine) as session:
        session.execute(text("UPDATE county SET name = name"))
        session.commit()
    engine.dispose()


def test_a_crowd_of_readers_and_writers_all_succeed(
    live: tuple[str, Any, Settings, dict[str, Any]],
) -> None:
    """Twenty clients at once, four of five reading match lists, one of five editing a profile:
    every request answers 200, every profile ends with its own last write, the chain holds."""
    base, engine, settings, world = live
    last: dict[int, str] = {}
    locks = {pid: threading.Lock() for _h, pid in world["talents"]}

    def client(i: int) -> Counter[int]:
        codes: Counter[int] = Counter()
        with httpx.Client(base_url=base, timeout=120) as c:
            for j in range(10):
                if (i + j) % 5 == 0:
                    headers, pid = world["talents"][i % len(world["talents"])]
                    text_ = f"客户端{i}第{j}次修改：推广玉米密植技术。"
                    with locks[pid]:  # one writer per profile at a time: "last" is well defined
                        r = c.patch(
                            f"/api/v1/profiles/{pid}", json={"achievements": text_}, headers=headers
                        )
                        if r.status_code == 200:
                            last[pid] = text_
                else:
                    r = c.get(f"/api/v1/needs/{world['need_id']}/matches", headers=world["county"])
                codes[r.status_code] += 1
        return codes

    with ThreadPoolExecutor(max_workers=20) as pool:
        total = sum(pool.map(client, range(20)), Counter())
    assert total == Counter({200: 200})
    with Session(engine) as db:
        for pid, text_ in last.items():
            assert db.get(Profile, pid).achievements == text_  # type: ignore[union-attr]
    with Session(engine) as db:
        admin = auth(make_account(db, "admin"), settings)
    with httpx.Client(base_url=base, timeout=60) as c:
        assert c.get("/api/v1/audit/verify", headers=admin).json()["ok"] is True


def test_no_write_lock_is_held_while_a_profile_is_encoded(
    live: tuple[str, Any, Settings, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing a profile encodes its text before the write transaction opens: while the model
    runs, another writer gets the lock at once."""
    base, engine, _settings, world = live
    from app.matches import embeddings

    original = embeddings.prepare
    seen: list[bool] = []

    def encode_and_probe(*args: Any, **kwargs: Any) -> Any:
        with engine.connect() as other:  # an unmarked transaction: BEGIN IMMEDIATE on SQLite
            if engine.dialect.name == "sqlite":
                other.exec_driver_sql("PRAGMA busy_timeout=0")
            other.execute(text("UPDATE county SET name = name WHERE code = '220822'"))
            other.rollback()
            seen.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(embeddings, "prepare", encode_and_probe)
    headers, pid = world["talents"][0]
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.patch(
            f"/api/v1/profiles/{pid}",
            json={"expertise": "黑木耳菌包生产与病害防治"},
            headers=headers,
        )
    assert r.status_code == 200, r.text
    assert seen  # the edited text was encoded, and another writer was not kept waiting
    with Session(engine) as db:
        assert db.get(Profile, pid).expertise == "黑木耳菌包生产与病害防治"  # type: ignore[union-attr]
