"""Computing plans in a background thread of the service process.

One plan at a time per process (and, through the partial unique index on ``plan.status``, in
the whole service). The request that starts a plan reserves this process's slot, commits the
running row and hands it here; the answer goes back at once with the plan's id. The thread reads
in one read-only transaction (candidates from this process's matcher), solves with no
transaction open, and writes the result in one short transaction. The plan's status lives in the
database, so any worker process answers ``GET /plans/{id}``; while the thread works a second
thread refreshes ``heartbeat_at`` so that other processes can tell a live plan from the leftover
of a process that died (``service.fail_orphans``, also run at start-up).

The thread runs at nice 10 (as the password threads do): requests keep their share of the CPU,
and the plan uses every idle cycle. OR-Tools runs with one worker.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.auth.actor import Actor
from app.db import begin_read_only
from app.matches.matcher import Matcher
from app.plans import service
from app.plans.models import Plan
from app.plans.schemas import PlanCreate

log = logging.getLogger("xiangcai.plans")

PLAN_THREAD_NICE = 10
FAILED = "规划计算出错：{error}"


def _lower_priority() -> None:
    try:  # on Linux a thread's id names it for setpriority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PLAN_THREAD_NICE)
    except (AttributeError, OSError):
        pass


class PlanRunner:
    def __init__(self, engine: Engine, matcher_of: Callable[[], Matcher | None]) -> None:
        self.engine = engine
        self.matcher_of = matcher_of
        self._lock = threading.Lock()
        self._busy = False
        self.computing: int | None = None  # the plan the thread works on
        self.thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._busy

    def reserve(self) -> bool:
        """Take this process's slot; False while a plan is being computed here."""
        with self._lock:
            if self._busy:
                return False
            self._busy = True
            return True

    def release(self) -> None:
        with self._lock:
            self._busy = False
            self.computing = None

    def launch(self, plan_id: int, actor: Actor) -> None:
        """Compute the (committed, running) plan in a thread; the slot is freed at its end."""
        self.computing = plan_id
        self.thread = threading.Thread(
            target=self._work, args=(plan_id, actor), name=f"plan-{plan_id}", daemon=True
        )
        self.thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def sweep(self) -> list[int]:
        """Mark failed the plans left running by a process that is gone (start-up)."""
        with Session(self.engine) as session:
            begin_read_only(session)
            if service.running(session) is None:
                return []
            session.commit()
            failed = service.fail_orphans(session, computing_here=self.computing)
            session.commit()
        if failed:
            log.warning("plans %s were left running by a process that is gone: failed", failed)
        return failed

    # --- the thread ---------------------------------------------------------------------------

    def _beat(self, plan_id: int, done: threading.Event) -> None:
        while not done.wait(service.HEARTBEAT_SECONDS):
            try:
                with Session(self.engine) as session:
                    service.heartbeat(session, plan_id)
                    session.commit()
            except Exception:  # a missed beat is harmless; the next one may pass
                log.exception("plan %d: heartbeat failed", plan_id)

    def _work(self, plan_id: int, actor: Actor) -> None:
        _lower_priority()
        done = threading.Event()
        beat = threading.Thread(target=self._beat, args=(plan_id, done), daemon=True)
        beat.start()
        try:
            matcher = self.matcher_of()
            if matcher is None:
                raise RuntimeError("匹配服务尚未就绪")
            with Session(self.engine, expire_on_commit=False) as session:
                begin_read_only(session)
                data = PlanCreate(**service.get(session, plan_id).parameters)
                outcome = service.compute(session, matcher, data)
                session.commit()
            with Session(self.engine, expire_on_commit=False) as session:
                plan = session.get(Plan, plan_id, populate_existing=True)
                assert plan is not None
                service.store(session, plan=plan, outcome=outcome, actor=actor)
                session.commit()
            log.info(
                "plan %d done: %s",
                plan_id,
                outcome.summary.model_dump(
                    include={"filled_needs", "open_needs", "candidate_seconds", "solve_seconds"}
                ),
            )
        except Exception as exc:
            log.exception("plan %d failed", plan_id)
            self._fail(plan_id, FAILED.format(error=exc), actor)
        finally:
            done.set()
            self.release()

    def _fail(self, plan_id: int, message: str, actor: Actor) -> None:
        try:
            with Session(self.engine) as session:
                plan = session.get(Plan, plan_id)
                if plan is not None:
                    service.mark_failed(session, plan=plan, message=message, actor=actor)
                    session.commit()
        except Exception:
            log.exception("plan %d: could not record the failure", plan_id)
