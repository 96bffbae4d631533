"""我有意向: a talent stepping forward for an open need, withdrawing, and the county's list.

One row per person and need (``uq_interest_need_profile``): expressing interest again after a
withdrawal re-activates that row. Every change records its audit event; the first time a row
becomes active, the county's officers are told in the same transaction (only the first time, so
that withdrawing and re-expressing cannot send them message after message).
"""

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.actor import Actor
from app.common import NeedStatus, public_of
from app.db import utcnow
from app.errors import AppError, conflict
from app.interests.models import Interest
from app.interests.schemas import InterestIn, InterestItem, InterestPublic, InterestStatus
from app.needs import service as needs
from app.needs.models import Need
from app.notifications import service as notifications
from app.profiles import service as profiles
from app.profiles.models import Profile

AUDITED = "need_id profile_id note status withdrawn_at".split()


class Standing(Protocol):
    """A person's place on the need's match list: ``app.matches.service.Provenance`` (not
    imported here, since the match lists ask this module who is interested)."""

    @property
    def rank(self) -> int | None: ...

    @property
    def score(self) -> float | None: ...


def snapshot(interest: Interest) -> dict[str, Any]:
    return audit.fields_of(interest, AUDITED)


def to_public(interest: Interest) -> InterestPublic:
    return public_of(InterestPublic, interest)


# --- reading -----------------------------------------------------------------------------------


def find(session: Session, need_id: int, profile_id: int) -> Interest | None:
    return session.exec(
        select(Interest).where(Interest.need_id == need_id, Interest.profile_id == profile_id)
    ).first()


def active_profile_ids(session: Session, need_id: int, among: Iterable[int]) -> set[int]:
    """Which of these people have an active interest in the need (one query)."""
    wanted = list(dict.fromkeys(among))
    if not wanted:
        return set()
    return set(
        session.exec(
            select(Interest.profile_id).where(
                Interest.need_id == need_id,
                Interest.status == InterestStatus.active,
                col(Interest.profile_id).in_(wanted),
            )
        ).all()
    )


def needs_of_profile(session: Session, profile_id: int, among: Iterable[int]) -> set[int]:
    """Which of these needs the person has an active interest in (one query)."""
    wanted = list(dict.fromkeys(among))
    if not wanted:
        return set()
    return set(
        session.exec(
            select(Interest.need_id).where(
                Interest.profile_id == profile_id,
                Interest.status == InterestStatus.active,
                col(Interest.need_id).in_(wanted),
            )
        ).all()
    )


def of_need(session: Session, need_id: int) -> list[tuple[Interest, str]]:
    """A need's interests with each person's name, active ones first, oldest first."""
    rows = session.exec(
        select(Interest, Profile.name)
        .join(Profile, col(Profile.id) == Interest.profile_id)
        .where(Interest.need_id == need_id)
        .order_by(col(Interest.status), col(Interest.created_at), col(Interest.id))
    ).all()
    return [(interest, name) for interest, name in rows]


def items(
    rows: list[tuple[Interest, str]], standings: Mapping[int, Standing]
) -> list[InterestItem]:
    """The county's list: each interest with the person's rank and score on the need's match
    list (``standings``: from ``matches.standings``)."""
    out = []
    for interest, name in rows:
        found = standings.get(interest.profile_id)
        out.append(
            public_of(
                InterestItem,
                interest,
                profile_name=name,
                rank=found.rank if found else None,
                score=found.score if found else None,
            )
        )
    return out


def for_proposal(session: Session, *, interest_id: int, need_id: int, profile_id: int) -> Interest:
    """The interest a proposal says it comes from: it must be active and be this person's
    interest in this need."""
    interest = session.get(Interest, interest_id)
    if interest is None:
        raise AppError(422, "interest_invalid", "所附的人才意向不存在", field="interest_id")
    if interest.need_id != need_id or interest.profile_id != profile_id:
        raise AppError(
            422, "interest_invalid", "所附的人才意向不是该人选对此需求的意向", field="interest_id"
        )
    if interest.status != InterestStatus.active:
        raise AppError(422, "interest_invalid", "该人才已撤回此意向", field="interest_id")
    return interest


# --- writes ------------------------------------------------------------------------------------


def _own_profile(session: Session, actor: Actor) -> Profile:
    assert actor.id is not None
    profile = profiles.owned_by(session, actor.id)
    if profile is None:
        raise conflict("profile_required", "请先填写人才档案，再表达意向", field="profile_id")
    return profile


def express(
    session: Session, *, need_id: int, data: InterestIn, actor: Actor
) -> tuple[Interest, bool]:
    """我有意向; the interest, and whether the row is new (a withdrawn one is re-activated)."""
    profile = _own_profile(session, actor)
    if not profile.active:
        raise conflict(
            "profile_inactive",
            "您的档案为“暂不接受推荐”状态，请先在档案中改为接受推荐，再表达意向",
            field="profile_id",
        )
    need = needs.get(session, need_id)
    if need.status != NeedStatus.open:
        raise conflict(
            "need_not_open",
            "该需求已满员或已关闭，不能再表达意向",
            field="need_id",
            need_status=need.status,
        )
    assert profile.id is not None
    interest = find(session, need_id, profile.id)
    if interest is not None and interest.status == InterestStatus.active:
        raise conflict(
            "already_interested",
            "您已对该需求表达过意向；如需修改留言，请先撤回再重新表达",
            field="need_id",
            interest_id=interest.id,
        )
    if interest is None:
        interest = Interest(need_id=need_id, profile_id=profile.id, note=data.note)
        audit.record_saved(
            session,
            actor=actor,
            action="interest.create",
            entity="interest",
            row=interest,
            after=snapshot(interest),
        )
        created = True
    else:
        before = snapshot(interest)
        interest.status = InterestStatus.active
        interest.note = data.note
        interest.withdrawn_at = None
        interest.updated_at = utcnow()
        audit.record_saved(
            session,
            actor=actor,
            action="interest.reactivate",
            entity="interest",
            row=interest,
            before=before,
            after=snapshot(interest),
        )
        created = False
    _tell_county(session, need, profile, interest)
    return interest, created


def _tell_county(session: Session, need: Need, profile: Profile, interest: Interest) -> None:
    body = f"{profile.name}对需求「{need.title}」表达了意向。"
    if interest.note:
        note = interest.note if len(interest.note) <= 200 else interest.note[:200] + "…"
        body += f"\n留言：{note}"
    notifications.notify(
        session,
        accounts=notifications.county_officers(session, need.county_code),
        message=notifications.Message(
            kind="interest.created",
            title=f"人才有意向：{need.title}",
            body=body,
            link=f"/needs/{need.id}/interests",
        ),
        dedupe_key=f"interest.created:{interest.id}",
    )


def withdraw(session: Session, *, need_id: int, actor: Actor) -> Interest:
    """撤回意向; withdrawing a withdrawn interest changes nothing."""
    profile = _own_profile(session, actor)
    needs.get(session, need_id)
    assert profile.id is not None
    interest = find(session, need_id, profile.id)
    if interest is None:
        raise AppError(404, "not_found", "您尚未对该需求表达意向", field="need_id")
    if interest.status == InterestStatus.withdrawn:
        return interest
    before = snapshot(interest)
    interest.status = InterestStatus.withdrawn
    interest.withdrawn_at = interest.updated_at = utcnow()
    audit.record_saved(
        session,
        actor=actor,
        action="interest.withdraw",
        entity="interest",
        row=interest,
        before=before,
        after=snapshot(interest),
    )
    return interest
