"""Fixed-window rate counters in the database, shared by every worker process.

A counter holds the attempts of its window that count (failed sign-ins, registrations) plus
those still in flight: ``reserve`` adds one to each counter *before* the slow part (the argon2
check) in a single upsert that returns the new count, so thirty concurrent attempts see thirty
different counts and only those within the limit go ahead; ``give_back`` returns an attempt
that turned out not to count (a successful sign-in, a refused registration).

Transaction rules: each function runs one short write transaction on the session it is given
and commits it (a limit that the request's later rollback could undo would limit nothing). The
session must have no uncommitted work. Nothing slow happens inside.

Windows are fixed (they start at the first counted attempt), so right after a window rolls over
up to twice the limit can pass in a short time; the limits are chosen with that in mind.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.auth.models import RateCounter
from app.db import UTCDateTime, utcnow

# Roughly one reservation in this many also deletes counters whose window ended a day ago.
_SWEEP_EVERY = 200


@dataclass(frozen=True)
class Limit:
    key: str
    max_hits: int
    window: timedelta
    kind: str = ""  # what it limits, for the audit trail (e.g. "address")


@dataclass(frozen=True)
class Reservation:
    """What ``reserve`` counted: each limit with the start of the window it counted in."""

    counted: tuple[tuple[Limit, datetime], ...]
    retry_after: int | None = None
    full: Limit | None = None  # the first limit found full, when refused
    refused: int = 0  # when refused: how many that limit's window has refused so far


def _hit(session: Session, limit: Limit, now: datetime) -> tuple[int, datetime]:
    table = RateCounter.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new_row = insert(table).values(key=limit.key, hits=1, window_started_at=now)
    expired = table.c.window_started_at <= literal(now - limit.window, UTCDateTime)
    stmt = new_row.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "hits": case((expired, 1), else_=table.c.hits + 1),
            "window_started_at": case(
                (expired, new_row.excluded.window_started_at), else_=table.c.window_started_at
            ),
        },
    ).returning(table.c.hits, table.c.window_started_at)
    hits, started = session.execute(stmt).one()
    return int(hits), started


def _give_back(session: Session, limit: Limit, started: datetime) -> None:
    session.execute(
        update(RateCounter)
        .where(
            col(RateCounter.key) == limit.key,
            col(RateCounter.window_started_at) == started,
            col(RateCounter.hits) > 0,
        )
        .values(hits=col(RateCounter.hits) - 1)
    )


def reserve(session: Session, limits: Sequence[Limit]) -> Reservation:
    """Count one attempt against every limit, or none if any is full (then ``retry_after``,
    the first full limit and how many refusals its window has counted, this one included)."""
    now = utcnow()
    counted: list[tuple[Limit, datetime]] = []
    retry_after: int | None = None
    full: Limit | None = None
    # Always the same order of keys per kind of attempt, so that two transactions on
    # PostgreSQL never wait for each other's rows crosswise.
    for limit in limits:
        hits, started = _hit(session, limit, now)
        counted.append((limit, started))
        if hits > limit.max_hits:
            wait = math.ceil((started + limit.window - now).total_seconds())
            retry_after = max(retry_after or 1, wait)
            full = full or limit
    refused = 0
    if full is not None:
        for limit, started in counted:
            _give_back(session, limit, started)
        counted = []
        # the refusal is counted too, on a counter of its own (same window length)
        refused, _ = _hit(session, Limit(f"refused:{full.key}", 0, full.window), now)
    if random.randrange(_SWEEP_EVERY) == 0:
        longest = max(limit.window for limit in limits)
        session.execute(
            delete(RateCounter).where(
                col(RateCounter.window_started_at) < now - longest - timedelta(days=1)
            )
        )
    session.commit()
    return Reservation(tuple(counted), retry_after, full, refused)


def worth_recording(refused: int) -> bool:
    """The refusals written to the audit trail: the 1st, 2nd, 4th, 8th … of a window, so that
    a client refused a million times adds about twenty events, each with the count so far."""
    return refused > 0 and refused & (refused - 1) == 0


def give_back(session: Session, reservation: Reservation, keys: Sequence[str]) -> None:
    """Uncount the attempt for the counters named in ``keys`` (in the caller's transaction)."""
    for limit, started in reservation.counted:
        if limit.key in keys:
            _give_back(session, limit, started)


def reset(session: Session, key: str) -> None:
    """Forget a counter (in the caller's transaction)."""
    session.execute(delete(RateCounter).where(col(RateCounter.key) == key))
