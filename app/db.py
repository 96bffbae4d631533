"""Database engine, session dependency and the column types shared by all features."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, create_engine, select

from app import sqlite_writers
from app.errors import not_found

# Constraint names are fixed so that migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


_Row = TypeVar("_Row", bound=SQLModel)


def get_or_404(session: Session, model: type[_Row], key: Any, what: str, field: str = "id") -> _Row:
    """The row of ``model`` with primary key ``key``, or a 404 naming ``what`` (Chinese)."""
    row = session.get(model, key)
    if row is None:
        raise not_found(what, field=field)
    return row


def page_of(
    session: Session,
    model: type[_Row],
    conditions: Sequence[Any],
    order_by: Sequence[Any],
    page: int,
    page_size: int,
) -> tuple[list[_Row], int]:
    """One page of ``model`` rows matching ``conditions`` in ``order_by`` order, and the total."""
    total = session.exec(select(func.count()).select_from(model).where(*conditions)).one()
    rows = session.exec(
        select(model)
        .where(*conditions)
        .order_by(*order_by)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), int(total)


# Jilin keeps Beijing time: every calendar day a person sees or asks for is a Beijing day.
BEIJING = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def beijing_today() -> date:
    """Today's date in Beijing (it turns at 16:00 UTC)."""
    return utcnow().astimezone(BEIJING).date()


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Execution option that marks a transaction as read-only. On SQLite it begins with a plain
# (deferred) BEGIN under ``PRAGMA query_only``, so it never takes the write lock and a write
# attempted in it fails at once instead of upgrading the lock halfway (which WAL refuses with
# "database is locked" as soon as another writer committed in between). PostgreSQL needs no
# such care: its readers never block writers.
READ_ONLY = {"xiangcai_read_only": True}
# How long a SQLite writer waits for the others before "database is locked".
BUSY_SECONDS = 30.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for every transaction that may write.

    pysqlite starts transactions lazily and a read-then-write transaction can fail with
    "database is locked" when another writer got there first; taking the write lock at BEGIN
    serialises writers, which is what the capacity checks need. Transactions marked
    ``READ_ONLY`` (requests that only read, the access check of every request) take no lock:
    WAL lets them read a consistent snapshot while one writer works. Writers queue for their
    turn on a lock that wakes the next one (``app.sqlite_writers``) before ``BEGIN IMMEDIATE``,
    so SQLite's busy handler, which sleeps in steps of up to 100 ms, rarely has to wait.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("xiangcai_read_only"):
            conn.exec_driver_sql("PRAGMA query_only=1")
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("PRAGMA query_only=0")
            # queue with this database's other writers first (app/sqlite_writers.py)
            dbapi = conn.connection.dbapi_connection
            hold = getattr(dbapi, "hold_writer", None)
            if hold is not None:
                hold()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if hold is not None:
                    dbapi.let_go()
                raise


def begin_read_only(session: Session) -> None:
    """Start the session's next transaction as read-only (no SQLite write lock).

    Call it when no transaction is open; inside one it changes nothing (the transaction
    already has its connection).
    """
    if not session.in_transaction():
        session.connection(execution_options=READ_ONLY)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        # Enough connections for every worker thread of a busy process (anyio's default pool
        # has 40): a request waiting for a connection is slower than an idle SQLite handle.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 30)
        factory = sqlite_writers.connection_class(make_url(url).database or "", BUSY_SECONDS)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_SECONDS, "factory": factory},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; routes commit explicitly before they answer.

    An async generator on purpose: its clean-up (rollback, connection back to the pool) runs on
    the event loop. A sync generator's clean-up waits for a free worker thread, and when every
    worker is blocked waiting for a connection or a lock held by a finished request, nothing
    frees them (a deadlock seen with fifty concurrent requests). The clean-up is a rollback of
    an already finished request, so it does not hold the loop for long.

    The session of a GET (or HEAD, OPTIONS) request only reads: all its transactions are
    ``READ_ONLY``. Other requests write in ``BEGIN IMMEDIATE`` transactions on SQLite.
    """
    engine: Engine = request.app.state.engine
    bind = engine.execution_options(**READ_ONLY) if request.method in SAFE_METHODS else engine
    with Session(bind, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
