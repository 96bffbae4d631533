"""SQLite writers queue on a lock that wakes the next one (app/sqlite_writers.py)."""

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.db import begin_read_only, make_engine
from app.sqlite_writers import WriterLock, writer_lock


def _taken_elsewhere(lock_file: Path) -> bool:
    """Whether another process holds the writer lock (a flock from a new open file: as another
    process would see it)."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


@pytest.fixture
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "w.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine, tmp_path / "w.db-writer.lock"
    engine.dispose()


def test_a_write_transaction_holds_the_writer_lock_until_it_ends(db) -> None:  # type: ignore[no-untyped-def]
    engine, lock_file = db
    open_files = len(os.listdir("/proc/self/fd"))
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert _taken_elsewhere(lock_file), "a writer holds the lock for its whole transaction"
        session.commit()
        assert not _taken_elsewhere(lock_file)
        # the lock file is open only while held: no descriptor kept per database written to
        assert len(os.listdir("/proc/self/fd")) == open_files
        session.execute(text("INSERT INTO t VALUES (2)"))
        assert _taken_elsewhere(lock_file)
        session.rollback()
        assert not _taken_elsewhere(lock_file)
        session.execute(text("INSERT INTO t VALUES (3)"))
    # a session closed without commit hands its connection back rolled back: lock released
    assert not _taken_elsewhere(lock_file)
    with Session(engine) as session:
        begin_read_only(session)
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1
        assert not _taken_elsewhere(lock_file), "readers never take it"


def test_a_waiting_writer_goes_as_soon_as_the_one_before_it_commits(db) -> None:  # type: ignore[no-untyped-def]
    engine, _ = db
    order: list[str] = []
    first = Session(engine)
    first.execute(text("INSERT INTO t VALUES (1)"))

    def second() -> None:
        with Session(engine) as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
            order.append("second wrote")
            session.commit()

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)  # not a timing assertion: give the second writer time to start waiting
    assert order == [], "the second writer waits while the first transaction is open"
    order.append("first commits")
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert order == ["first commits", "second wrote"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]


def test_a_thread_that_begins_a_second_write_gives_up_like_sqlite(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "x-writer.lock", timeout=0.2)
    lock.acquire()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        lock.acquire()
    lock.release()
    lock.acquire()  # free again after the release
    lock.release()


def test_a_writer_gives_up_after_the_timeout_when_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    lock_file = tmp_path / "x-writer.lock"
    other = os.open(lock_file, os.O_RDWR | os.O_CREAT)  # an open file of its own: as a process
    fcntl.flock(other, fcntl.LOCK_EX)
    lock = WriterLock(lock_file, timeout=0.2)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        lock.acquire()
    fcntl.flock(other, fcntl.LOCK_UN)
    lock.acquire()  # and the thread lock was not left taken by the failed try
    assert _taken_elsewhere(lock_file)
    lock.release()
    os.close(other)


def test_an_in_memory_database_has_no_writer_lock() -> None:
    assert writer_lock(":memory:", 1.0) is None
    assert writer_lock("", 1.0) is None
