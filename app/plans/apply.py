"""Applying a plan in bulk (admin): propose every advised person who can still be proposed.

Each proposal goes through ``placements.service.propose`` (the same checks, audit event and
notices as a county's own proposal) on behalf of the need's county, with the plan as its
provenance. A refusal does not undo the others: ``propose`` checks everything before it writes
anything, so a refused proposal leaves the session as it was and the loop goes on. (Not a
savepoint: rolling one back fires ``after_soft_rollback``, which drops every audit event queued
in the session, those of the proposals already made included.) What
can no longer be proposed is skipped with the refusal's code: already proposed or under way
(which makes applying twice create nothing new), need no longer open, person now full or
inactive, proposed before and declined or cancelled (never re-proposed in bulk).

The proposals are committed ``CHUNK`` at a time. One transaction for a whole plan held
SQLite's write lock for as long as the plan took to apply (5 ms a proposal: 8 s for 1,588
seats, 80 s for 16,000), and every other write in the province waited for it or timed out;
now other writes get their turn between chunks: on SQLite the apply pauses ``PAUSE`` seconds
after each commit, as a writer kept waiting retries only every 100 ms (SQLite's busy handler)
and would otherwise find the lock taken again at once. Each proposal is all-or-nothing, and so is
each chunk; should the process stop half-way, the chunks committed stay and applying again
proposes the rest (the idempotence above).
"""

import time
from collections import Counter

from sqlmodel import Session, col, select

from app.auth.actor import Actor
from app.errors import AppError, conflict
from app.matches.matcher import Matcher
from app.needs.models import Need
from app.placements import service as placements
from app.placements.schemas import PlacementCreate
from app.plans.models import Plan, PlanAssignment
from app.plans.schemas import ApplyResult, PlanStatus, SkippedProposal

CHUNK = 100  # proposals per transaction (about half a second of the write lock)
PAUSE = 0.1  # seconds between chunks on SQLite


def apply(
    session: Session, *, plan: Plan, actor: Actor, matcher: Matcher, window: int
) -> ApplyResult:
    assert plan.id is not None
    if plan.status != PlanStatus.done:
        raise conflict("plan_not_done", "规划尚未完成计算，不能应用", field="status")
    rows = session.exec(
        select(PlanAssignment, Need.created_at)
        .join(Need, col(Need.id) == PlanAssignment.need_id, isouter=True)
        .where(PlanAssignment.plan_id == plan.id)
        .order_by(col(Need.created_at), col(PlanAssignment.need_id), col(PlanAssignment.rank))
    ).all()
    created: list[int] = []
    skipped: list[SkippedProposal] = []
    for row, _posted in rows:
        data = PlacementCreate(need_id=row.need_id, profile_id=row.profile_id, plan_id=plan.id)
        try:
            placement = placements.propose(
                session, data=data, actor=actor, matcher=matcher, window=window
            )
        except AppError as exc:
            skipped.append(
                SkippedProposal(
                    need_id=row.need_id,
                    profile_id=row.profile_id,
                    code=exc.code,
                    message=exc.message,
                )
            )
            continue
        assert placement.id is not None
        created.append(placement.id)
        if len(created) % CHUNK == 0:
            session.commit()
            if session.get_bind().dialect.name == "sqlite":
                time.sleep(PAUSE)
    return ApplyResult(
        plan_id=plan.id,
        created=len(created),
        skipped=len(skipped),
        placement_ids=created,
        skipped_by_reason=dict(Counter(s.code for s in skipped)),
        skipped_items=skipped,
    )
