"""Plans: start one, compute it, store what it advises, read it back.

The life of a plan is one small table, as placements have theirs:

=========  ===========================================  =========
from       event                                        to
=========  ===========================================  =========
(none)     ``create`` (province or admin asks)          running
running    ``store`` (computed)                         done
running    ``mark_failed`` (an error; its process died)  failed
=========  ===========================================  =========

A plan places nobody; ``done`` and ``failed`` are final. One plan runs at a time in the whole
service: a partial unique index allows one ``running`` row. The computing itself happens outside
any write transaction (``compute`` reads, ``store`` writes in one short transaction), in a thread
of the process that accepted the request (``runner``). Every step writes an audit event.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.actor import Actor
from app.auth.models import Account
from app.counties.models import County
from app.db import utcnow
from app.errors import AppError, conflict, not_found
from app.matches.matcher import Matcher
from app.needs.models import Need
from app.plans.candidates import TOP_K, Candidates, Scope, generate
from app.plans.models import Plan, PlanAssignment, PlanUnfilled
from app.plans.schemas import (
    STATUS_LABELS,
    AssignmentPublic,
    PlanCreate,
    PlanFigures,
    PlanListItem,
    PlanPublic,
    PlanStatus,
    PlanSummary,
    ShortageRow,
    TakenPublic,
    UnfilledPublic,
)
from app.profiles.models import Profile
from matching import allocation
from matching.allocation import REASON_LABELS, Allocation, AllocationSummary

# CP-SAT runs only with an employer limit the flow's plan breaks (matching/allocation.py).
SOLVE_SECONDS = 30.0
HEARTBEAT_SECONDS = 10.0
# A running plan whose process has not said it is alive for this long is taken for dead.
STALE_AFTER = timedelta(seconds=60)
ORPHANED = "计算规划的服务进程已重启或退出，规划未完成，请重新发起"


def runner_tag() -> str:
    """This process, as a plan's ``runner`` names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _orphaned(plan: Plan, *, computing_here: int | None) -> bool:
    """Whether a running plan has nobody computing it any more (``computing_here``: the plan
    this process's runner is computing, if any)."""
    if plan.runner == runner_tag():
        return plan.id != computing_here
    host, _, pid = (plan.runner or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid)):
        return True
    beat = plan.heartbeat_at or plan.created_at
    return utcnow() - beat > STALE_AFTER


def snapshot(plan: Plan) -> dict[str, Any]:
    return audit.fields_of(plan, ["status", "parameters", "model_version", "error"])


# --- starting ---------------------------------------------------------------------------------


def check_scope(session: Session, data: PlanCreate) -> None:
    """The prefecture must exist and lie in the region, if both are given."""
    if data.prefecture is None:
        return
    regions = set(
        session.exec(select(County.region).where(County.prefecture == data.prefecture)).all()
    )
    if not regions:
        raise AppError(
            422,
            "unknown_prefecture",
            f"没有名为「{data.prefecture}」的市（州）",
            field="prefecture",
        )
    if data.region is not None and data.region.value not in regions:
        raise AppError(
            422, "prefecture_not_in_region", "所选市（州）不在所选区域内", field="prefecture"
        )


def running(session: Session) -> Plan | None:
    return session.exec(select(Plan).where(Plan.status == PlanStatus.running)).first()


def fail_orphans(session: Session, *, computing_here: int | None) -> list[int]:
    """Mark failed the running plans whose process is gone (at start-up and before a new one)."""
    failed = []
    for plan in session.exec(select(Plan).where(Plan.status == PlanStatus.running)).all():
        if _orphaned(plan, computing_here=computing_here):
            assert plan.id is not None
            mark_failed(session, plan=plan, message=ORPHANED, actor=Actor.system("plans"))
            failed.append(plan.id)
    return failed


def create(session: Session, *, data: PlanCreate, actor: Actor) -> Plan:
    """A new running plan; 409 while another one runs. The caller has reserved this process's
    runner, so a plan this process left running is an orphan."""
    check_scope(session, data)
    fail_orphans(session, computing_here=None)
    other = running(session)
    if other is not None:
        raise conflict(
            "plan_running",
            f"统筹规划 #{other.id} 正在计算，请等待其完成后再发起",
            field=None,
            plan_id=other.id,
        )
    now = utcnow()
    plan = Plan(
        status=PlanStatus.running,
        parameters=data.model_dump(mode="json"),
        created_by_id=actor.id,
        created_at=now,
        runner=runner_tag(),
        heartbeat_at=now,
    )
    audit.record_saved(
        session, actor=actor, action="plan.create", entity="plan", row=plan, after=snapshot(plan)
    )
    return plan


def heartbeat(session: Session, plan_id: int) -> None:
    plan = session.get(Plan, plan_id)
    if plan is not None and plan.status == PlanStatus.running:
        plan.heartbeat_at = utcnow()
        session.add(plan)


# --- computing --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Outcome:
    """A computed plan, before it is stored."""

    candidates: Candidates
    plan: Allocation
    baseline: Allocation
    summary: PlanSummary
    shortage: tuple[allocation.ShortageCell, ...]


def _figures(s: AllocationSummary, unfilled: int) -> PlanFigures:
    return PlanFigures(
        open_needs=s.needs_open,
        filled_needs=s.needs_filled,
        covered_needs=s.needs_covered,
        unfilled_needs=unfilled,
        seats_open=s.seats_open,
        seats_filled=s.seats_filled,
        total_score=round(s.total_score, 6),
        poverty_needs_open=s.poverty_needs_open,
        poverty_needs_covered=s.poverty_needs_covered,
        poverty_counties_open=s.poverty_counties_open,
        poverty_counties_covered=s.poverty_counties_covered,
        counties_covered=s.counties_covered,
        hometown_placements=s.hometown_placements or 0,
    )


def compute(session: Session, matcher: Matcher, data: PlanCreate, *, top_k: int = TOP_K) -> Outcome:
    """Candidates from the live matcher, the plan, the first-come baseline, the figures and the
    shortage table. Reads only."""
    scope = Scope(
        program=data.program.value if data.program else None,
        region=data.region.value if data.region else None,
        prefecture=data.prefecture,
    )
    cands = generate(session, matcher, scope, top_k)
    problem = cands.problem(
        poverty_floor=data.poverty_floor,
        min_score=data.min_score,
        max_per_employer=data.max_per_employer,
    )
    started = time.perf_counter()
    plan = allocation.solve(problem, time_limit_s=SOLVE_SECONDS, workers=1)
    baseline = allocation.greedy(problem)
    if not plan.optimal and _objective(problem, baseline) > _objective(problem, plan):
        # CP-SAT stopped at its time limit with a plan worse than first come, first served (at
        # province scale with a binding employer limit): advise the baseline, and say so.
        plan = baseline
    solve_seconds = time.perf_counter() - started
    both = allocation.compare(problem, plan, baseline, cands.cand_hometown)
    shortage = allocation.shortage_report(plan.unfilled, cands.need_terms, cands.need_prefecture)
    summary = PlanSummary(
        **_figures(both.plan, len(plan.unfilled)).model_dump(),
        greedy=_figures(both.baseline, len(baseline.unfilled)),
        method=plan.method,
        optimal=plan.optimal,
        gap=plan.gap,
        unfilled_by_reason=dict(both.plan.unfilled_by_reason),
        candidates=len(cands.cand_need),
        people=len(cands.profile_ids),
        top_k=top_k,
        candidate_seconds=round(cands.seconds, 3),
        solve_seconds=round(solve_seconds, 3),
    )
    return Outcome(cands, plan, baseline, summary, shortage)


def _objective(problem: allocation.AllocationProblem, a: Allocation) -> tuple[int, float]:
    """What the plan maximises, comparable between two allocations: poverty needs covered
    (when the floor is on), then the total score."""
    covered = int((problem.need_poverty & (a.need_filled > 0)).sum())
    return (covered if problem.poverty_floor is not False else 0, a.total_score)


def _digest(rows: Sequence[tuple[int, int]]) -> str:
    """What the audit trail keeps of the advice: a hash of its (need, person) pairs."""
    text = "\n".join(f"{n}:{p}" for n, p in sorted(rows))
    return hashlib.sha256(text.encode()).hexdigest()


def store(session: Session, *, plan: Plan, outcome: Outcome, actor: Actor) -> Plan:
    """Write what a computed plan advises and mark it done."""
    assert plan.id is not None
    if plan.status != PlanStatus.running:
        raise conflict("plan_finished", "该规划已结束", field="status")
    before = snapshot(plan)
    c, chosen = outcome.candidates, outcome.plan
    edges = chosen.assign_edge
    need_ids = c.need_ids[chosen.assign_need].tolist()
    profile_ids = c.profile_ids[chosen.assign_person].tolist()
    rows = [
        {"plan_id": plan.id, "need_id": n, "profile_id": p, "score": float(s), "rank": int(r)}
        for n, p, s, r in zip(
            need_ids,
            profile_ids,
            c.cand_score[edges].tolist(),
            c.cand_rank[edges].tolist(),
            strict=True,
        )
    ]
    if rows:
        session.execute(insert(PlanAssignment), rows)
    unfilled = [
        {
            "plan_id": plan.id,
            "need_id": int(c.need_ids[u.need]),
            "reason": u.reason,
            "detail": {
                "missing": u.missing,
                "taken": [
                    {
                        "profile_id": int(c.profile_ids[t.person]),
                        "need_ids": [int(c.need_ids[n]) for n in t.needs],
                    }
                    for t in u.taken
                ],
                "free": [int(c.profile_ids[p]) for p in u.free],
            },
        }
        for u in chosen.unfilled
    ]
    if unfilled:
        session.execute(insert(PlanUnfilled), unfilled)
    plan.status = PlanStatus.done
    plan.finished_at = utcnow()
    plan.model_version = c.model_version
    plan.summary = outcome.summary.model_dump(mode="json")
    plan.shortage = [
        {"term": s.term, "prefecture": s.prefecture, "needs": s.needs, "seats": s.seats}
        for s in outcome.shortage
    ]
    session.add(plan)
    session.flush()
    figures = outcome.summary
    audit.record(
        session,
        actor=actor,
        action="plan.finish",
        entity="plan",
        entity_id=plan.id,
        before=before,
        after=snapshot(plan),
        context={
            "assignments": len(rows),
            "assignments_sha256": _digest(list(zip(need_ids, profile_ids, strict=True))),
            "filled_needs": figures.filled_needs,
            "open_needs": figures.open_needs,
            "poverty_counties_covered": figures.poverty_counties_covered,
            "greedy_poverty_counties_covered": figures.greedy.poverty_counties_covered,
        },
    )
    return plan


def mark_failed(session: Session, *, plan: Plan, message: str, actor: Actor) -> None:
    if plan.status != PlanStatus.running:
        return
    before = snapshot(plan)
    plan.status = PlanStatus.failed
    plan.error = message[:2000]
    plan.finished_at = utcnow()
    session.add(plan)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="plan.fail",
        entity="plan",
        entity_id=plan.id,
        before=before,
        after=snapshot(plan),
    )


def run(session: Session, matcher: Matcher, *, plan_id: int, actor: Actor) -> Plan:
    """Compute and store a plan in one session (tests; the runner splits it in two)."""
    plan = get(session, plan_id)
    outcome = compute(session, matcher, PlanCreate(**plan.parameters))
    return store(session, plan=plan, outcome=outcome, actor=actor)


# --- reading ----------------------------------------------------------------------------------


def get(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise not_found("统筹规划")
    return plan


def _creator(session: Session, plan: Plan) -> str | None:
    if plan.created_by_id is None:
        return None
    account = session.get(Account, plan.created_by_id)
    return (account.display_name or account.username) if account else None


def to_list_item(session: Session, plan: Plan) -> PlanListItem:
    assert plan.id is not None
    status = PlanStatus(plan.status)
    return PlanListItem(
        id=plan.id,
        status=status,
        status_label=STATUS_LABELS[status],
        created_at=plan.created_at,
        finished_at=plan.finished_at,
        created_by=_creator(session, plan),
        parameters=PlanCreate(**plan.parameters),
        model_version=plan.model_version,
        error=plan.error,
        summary=PlanSummary(**plan.summary) if plan.summary else None,
    )


def _need_facts(session: Session, need_ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
    """Need id -> (title, county code, county name); a need deleted since is absent."""
    out: dict[int, tuple[str, str, str]] = {}
    ids = sorted(set(need_ids))
    for start in range(0, len(ids), 500):
        rows = session.exec(
            select(Need.id, Need.title, Need.county_code, County.name)
            .join(County, col(County.code) == Need.county_code)
            .where(col(Need.id).in_(ids[start : start + 500]))
        ).all()
        out.update({int(i): (t, c, n) for i, t, c, n in rows if i is not None})
    return out


def _names(session: Session, profile_ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    ids = sorted(set(profile_ids))
    for start in range(0, len(ids), 500):
        rows = session.exec(
            select(Profile.id, Profile.name).where(col(Profile.id).in_(ids[start : start + 500]))
        ).all()
        out.update({int(i): name for i, name in rows if i is not None})
    return out


def assignments(session: Session, plan_id: int) -> list[AssignmentPublic]:
    rows = session.exec(
        select(PlanAssignment)
        .where(PlanAssignment.plan_id == plan_id)
        .order_by(col(PlanAssignment.need_id), col(PlanAssignment.rank))
    ).all()
    facts = _need_facts(session, [r.need_id for r in rows])
    names = _names(session, [r.profile_id for r in rows])
    out = []
    for r in rows:
        title, code, county = facts.get(r.need_id, (None, None, None))
        out.append(
            AssignmentPublic(
                need_id=r.need_id,
                profile_id=r.profile_id,
                score=r.score,
                rank=r.rank,
                need_title=title,
                county_code=code,
                county_name=county,
                profile_name=names.get(r.profile_id),
            )
        )
    return out


def unfilled(session: Session, plan_id: int) -> list[UnfilledPublic]:
    rows = session.exec(
        select(PlanUnfilled)
        .where(PlanUnfilled.plan_id == plan_id)
        .order_by(col(PlanUnfilled.need_id))
    ).all()
    facts = _need_facts(session, [r.need_id for r in rows])
    out = []
    for r in rows:
        title, code, county = facts.get(r.need_id, (None, None, None))
        out.append(
            UnfilledPublic(
                need_id=r.need_id,
                reason=r.reason,
                reason_label=REASON_LABELS.get(r.reason, r.reason),  # type: ignore[call-overload]
                missing=int(r.detail.get("missing", 0)),
                taken=[TakenPublic(**t) for t in r.detail.get("taken", [])],
                need_title=title,
                county_code=code,
                county_name=county,
            )
        )
    return out


def to_public(session: Session, plan: Plan) -> PlanPublic:
    assert plan.id is not None
    return PlanPublic(
        **to_list_item(session, plan).model_dump(),
        assignments=assignments(session, plan.id),
        unfilled=unfilled(session, plan.id),
        shortage=[ShortageRow(**s) for s in plan.shortage or []],
    )


def list_plans(session: Session, *, page: int, page_size: int) -> tuple[list[Plan], int]:
    total = session.exec(select(func.count()).select_from(Plan)).one()
    rows = session.exec(
        select(Plan).order_by(col(Plan.id).desc()).offset((page - 1) * page_size).limit(page_size)
    ).all()
    return list(rows), int(total)


# --- a plan's advice for one need -------------------------------------------------------------


def _covers(parameters: dict[str, Any], need: Need, county: County) -> bool:
    return (
        parameters.get("program") in (None, need.program)
        and parameters.get("region") in (None, county.region)
        and parameters.get("prefecture") in (None, county.prefecture)
    )


@dataclass(frozen=True)
class Advice:
    """The latest finished plan whose scope includes a need, and whom it suggests for it."""

    plan_id: int
    finished_at: Any
    people: list[AssignmentPublic]


def advice_for_need(session: Session, need: Need) -> Advice | None:
    """The newest done plan covering the need (None: no plan has looked at it yet)."""
    county = session.get(County, need.county_code)
    assert need.id is not None
    assert county is not None
    recent = session.exec(
        select(Plan).where(Plan.status == PlanStatus.done).order_by(col(Plan.id).desc()).limit(50)
    ).all()
    for plan in recent:
        if not _covers(plan.parameters, need, county):
            continue
        assert plan.id is not None
        rows = session.exec(
            select(PlanAssignment)
            .where(PlanAssignment.plan_id == plan.id, PlanAssignment.need_id == need.id)
            .order_by(col(PlanAssignment.rank))
        ).all()
        names = _names(session, [r.profile_id for r in rows])
        people = [
            AssignmentPublic(
                need_id=r.need_id,
                profile_id=r.profile_id,
                score=r.score,
                rank=r.rank,
                profile_name=names.get(r.profile_id),
            )
            for r in rows
        ]
        return Advice(plan.id, plan.finished_at, people)
    return None


def for_proposal(session: Session, *, plan_id: int, need_id: int, profile_id: int) -> None:
    """A proposal that says it follows a plan: the plan is done and advises exactly this."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise AppError(422, "plan_invalid", "所附的统筹规划不存在", field="plan_id")
    if plan.status != PlanStatus.done:
        raise AppError(422, "plan_invalid", "所附的统筹规划尚未完成", field="plan_id")
    found = session.exec(
        select(PlanAssignment.id).where(
            PlanAssignment.plan_id == plan_id,
            PlanAssignment.need_id == need_id,
            PlanAssignment.profile_id == profile_id,
        )
    ).first()
    if found is None:
        raise AppError(422, "plan_invalid", "该统筹规划没有为此需求建议该人选", field="plan_id")
