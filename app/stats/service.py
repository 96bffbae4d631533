"""The province's monitoring (吉政办发〔2018〕51号 三(三)): counts, outcomes and findings."""

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Any

from sqlalchemy import and_, case, distinct, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.common import PROGRAM_LABELS, REGION_LABELS, Program, Region
from app.counties.models import County
from app.db import BEIJING, beijing_today, utcnow
from app.interests.models import Interest
from app.invitations import service as invitations
from app.needs.models import Need
from app.placements import counts
from app.placements.models import Placement, ServiceReport
from app.placements.schemas import DECLINE_REASONS
from app.profiles.models import Profile
from app.stats.schemas import (
    NEED_FIGURES,
    AnswerStats,
    ConversationStats,
    CountyFigures,
    CountyRef,
    DeclineReasonCount,
    Findings,
    GroupBy,
    GroupStats,
    InterestStats,
    InvitationStats,
    NeedGroupStats,
    NeedStats,
    OffListPlacement,
    Outcomes,
    OverCapacity,
    PlacementStats,
    StaleNeed,
)

STATUSES = ("proposed", "accepted", "declined", "active", "completed", "cancelled")
OUTCOME_FIELDS = (
    "service_days",
    "trainings",
    "problems_solved",
    "techniques_promoted",
    "jobs_created",
)


Period = tuple[datetime | None, datetime | None]


def _period(date_from: date | None, date_to: date | None) -> Period:
    """Beijing calendar days, inclusive on both ends, as [start, end) in UTC."""
    start = end = None
    if date_from:
        start = datetime.combine(date_from, time.min, tzinfo=BEIJING).astimezone(UTC)
    if date_to:
        end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=BEIJING).astimezone(
            UTC
        )
    return start, end


def _bounds(date_from: date | None, date_to: date | None, column: Any = None) -> list[Any]:
    """WHERE clauses keeping ``column`` (a placement's proposal time) within the period."""
    column = col(Placement.created_at) if column is None else column
    start, end = _period(date_from, date_to)
    conditions: list[Any] = []
    if start:
        conditions.append(column >= start)
    if end:
        conditions.append(column < end)
    return conditions


def _all_groups(session: Session, group_by: GroupBy) -> dict[str, str]:
    """Every group that exists, so that a county with no placement shows as zero."""
    counties = session.exec(select(County).order_by(col(County.code))).all()
    if group_by == GroupBy.county:
        return {c.code: c.name for c in counties}
    if group_by == GroupBy.prefecture:
        return {c.prefecture: c.prefecture for c in counties}
    if group_by == GroupBy.region:
        return {r.value: REGION_LABELS[r] for r in Region}
    if group_by == GroupBy.program:
        return {p.value: PROGRAM_LABELS[p] for p in Program}
    return {}


def placement_stats(
    session: Session, *, group_by: GroupBy, date_from: date | None, date_to: date | None
) -> PlacementStats:
    county_of = {c.code: c for c in session.exec(select(County)).all()}

    def key_of(p: Placement) -> str:
        county = county_of[p.county_code]
        match group_by:
            case GroupBy.county:
                return p.county_code
            case GroupBy.prefecture:
                return county.prefecture
            case GroupBy.region:
                return county.region
            case GroupBy.program:
                return p.program
            case GroupBy.month:
                return p.created_at.astimezone(BEIJING).strftime("%Y-%m")

    conditions = _bounds(date_from, date_to)
    placements = session.exec(select(Placement).where(*conditions)).all()
    sums: dict[int, Outcomes] = {}
    report_rows = session.execute(
        sa_select(
            col(ServiceReport.placement_id),
            func.count(),
            *[func.sum(col(getattr(ServiceReport, f))) for f in OUTCOME_FIELDS],
        )
        .join(Placement, col(Placement.id) == ServiceReport.placement_id)
        .where(*conditions)
        .group_by(col(ServiceReport.placement_id))
    ).all()
    for row in report_rows:
        pid, n, values = row[0], row[1], row[2:]
        sums[pid] = Outcomes(
            reports=n, **{f: int(v or 0) for f, v in zip(OUTCOME_FIELDS, values, strict=True)}
        )

    labels = _all_groups(session, group_by)
    groups: dict[str, GroupStats] = {k: GroupStats(key=k, label=v) for k, v in labels.items()}
    totals = GroupStats(key="total", label="合计")
    for p in placements:
        key = key_of(p)
        group = groups.setdefault(key, GroupStats(key=key, label=key))
        for g in (group, totals):
            g.total += 1
            setattr(g, p.status, getattr(g, p.status) + 1)
            g.off_list += int(p.off_list)
            if p.id in sums:
                o = sums[p.id]
                g.outcomes = Outcomes(
                    **{
                        f: getattr(g.outcomes, f) + getattr(o, f)
                        for f in ("reports", *OUTCOME_FIELDS)
                    }
                )
    ordered = (
        sorted(groups.values(), key=lambda g: g.key)
        if group_by == GroupBy.month
        else list(groups.values())
    )
    return PlacementStats(
        group_by=group_by, date_from=date_from, date_to=date_to, groups=ordered, totals=totals
    )


# --- needs ---------------------------------------------------------------------------------------


def _month_groups(session: Session, conditions: list[Any]) -> dict[str, datetime]:
    """Every Beijing month from the first need of the period to the last, each with the UTC
    start of the month after it (empty when no need was posted)."""
    first, last = session.execute(
        sa_select(func.min(col(Need.created_at)), func.max(col(Need.created_at))).where(*conditions)
    ).one()
    if first is None:
        return {}
    month = first.astimezone(BEIJING).date().replace(day=1)
    end = last.astimezone(BEIJING).date().replace(day=1)
    months: dict[str, datetime] = {}
    while month <= end:
        following = (month + timedelta(days=32)).replace(day=1)
        months[month.strftime("%Y-%m")] = datetime.combine(following, time.min, tzinfo=BEIJING)
        month = following
    return months


def _need_key(group_by: GroupBy, months: dict[str, datetime]) -> Any:
    """The SQL expression a need is grouped by. A month is a CASE over the month boundaries:
    the same SQL on SQLite and PostgreSQL, which share no time-zone-aware date function."""
    match group_by:
        case GroupBy.county:
            return col(Need.county_code)
        case GroupBy.prefecture:
            return col(County.prefecture)
        case GroupBy.region:
            return col(County.region)
        case GroupBy.program:
            return col(Need.program)
        case GroupBy.month:
            labels = list(months)
            whens = [(col(Need.created_at) < before, label) for label, before in months.items()]
            if not whens:  # no need in the period: nothing to group
                return col(Need.county_code)
            return case(*whens, else_=labels[-1])


def need_stats(
    session: Session, *, group_by: GroupBy, date_from: date | None, date_to: date | None
) -> NeedStats:
    """Needs posted in the period (Beijing days), by their status now, in the groups and order
    of the placement statistics, every group present. One query does the counting: each need
    with its group key and its placements summed per need, then summed per group."""
    today = beijing_today()
    conditions = _bounds(date_from, date_to, col(Need.created_at))
    months = _month_groups(session, conditions) if group_by == GroupBy.month else {}
    labels = {m: m for m in months} if group_by == GroupBy.month else _all_groups(session, group_by)
    groups = {k: NeedGroupStats(key=k, label=v) for k, v in labels.items()}
    totals = NeedGroupStats(key="total", label="合计")
    placed = (
        sa_select(
            col(Placement.need_id).label("need_id"),
            func.sum(case((col(Placement.status).in_(counts.OPEN_STATUSES), 1), else_=0)).label(
                "held"
            ),
        )
        .group_by(col(Placement.need_id))
        .subquery()
    )
    # Grouping the outer query by a column of this subquery (not by the CASE itself) keeps
    # PostgreSQL from seeing the month CASE's bound parameters twice as different expressions.
    per_need = (
        sa_select(
            _need_key(group_by, months).label("key"),
            col(Need.status).label("status"),
            col(Need.deadline).label("deadline"),
            col(Need.headcount).label("headcount"),
            placed.c.need_id.label("proposed"),
            func.coalesce(placed.c.held, 0).label("held"),
        )
        .select_from(Need)
        .join(County, col(County.code) == col(Need.county_code))
        .outerjoin(placed, placed.c.need_id == col(Need.id))
        .where(*conditions)
        .subquery()
    )
    n = per_need.c
    is_open = n.status == "open"

    def how_many(*conditions: Any) -> Any:
        return func.sum(case((and_(*conditions), 1), else_=0))

    rows = session.execute(
        sa_select(
            n.key,
            func.count(),
            how_many(is_open),
            how_many(n.status == "filled"),
            how_many(n.status == "closed"),
            how_many(is_open, n.proposed.is_(None)),
            how_many(is_open, n.deadline < today),
            func.sum(case((is_open, n.headcount), else_=0)),
            func.sum(case((is_open, n.held), else_=0)),
        ).group_by(n.key)
    ).all()
    for key, *values in rows:
        group = groups.setdefault(key, NeedGroupStats(key=key, label=key))
        for name, value in zip(NEED_FIGURES, values, strict=True):
            setattr(group, name, int(value or 0))
            setattr(totals, name, getattr(totals, name) + int(value or 0))
    return NeedStats(
        group_by=group_by,
        date_from=date_from,
        date_to=date_to,
        today=today,
        groups=list(groups.values()),
        totals=totals,
    )


def _placements_by_county(session: Session) -> dict[str, dict[str, int]]:
    """County code -> placement status -> how many (absent keys are zero)."""
    per_county: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, status, n in session.exec(
        select(Placement.county_code, Placement.status, func.count()).group_by(
            col(Placement.county_code), col(Placement.status)
        )
    ).all():
        per_county[code][status] = n
    return per_county


def _without_active(session: Session, poverty: Sequence[County]) -> list[CountyRef]:
    """Former poverty counties where nobody is serving right now."""
    per_county = _placements_by_county(session)
    return [
        CountyRef(
            code=c.code,
            name=c.name,
            prefecture=c.prefecture,
            placements=sum(per_county[c.code].values()),
            completed=per_county[c.code]["completed"],
        )
        for c in poverty
        if per_county[c.code]["active"] == 0
    ]


def _over_capacity(session: Session) -> list[OverCapacity]:
    """People holding more places than their capacity (the locks should keep this empty)."""
    return [
        OverCapacity(profile_id=i, name=n, capacity=c, open_placements=o)
        for i, n, c, o in counts.over_capacity(session)
    ]


def _off_list(session: Session, county_name: dict[str, str]) -> list[OffListPlacement]:
    """Placements proposed outside the need's match list, newest first."""
    rows = session.exec(
        select(Placement, Need.title, Profile.name)
        .join(Need, col(Need.id) == Placement.need_id)
        .join(Profile, col(Profile.id) == Placement.profile_id)
        .where(col(Placement.off_list).is_(True))
        .order_by(col(Placement.id).desc())
    ).all()
    return [
        OffListPlacement(
            placement_id=p.id,
            county_code=p.county_code,
            county_name=county_name[p.county_code],
            need_id=p.need_id,
            need_title=title,
            profile_id=p.profile_id,
            profile_name=name,
            status=p.status,
            reason=p.reason or "",
            created_at=p.created_at,
        )
        for p, title, name in rows
        if p.id is not None
    ]


def _stale_open_needs(
    session: Session, county_name: dict[str, str], now: datetime, stale_days: int
) -> list[StaleNeed]:
    """Needs open for more than ``stale_days`` without anyone proposed, oldest first."""
    cutoff = now - timedelta(days=stale_days)
    proposed = select(Placement.id).where(Placement.need_id == Need.id)
    stale = session.exec(
        select(Need)
        .where(Need.status == "open", col(Need.created_at) < cutoff, ~proposed.exists())
        .order_by(col(Need.created_at))
    ).all()
    return [
        StaleNeed(
            need_id=n.id,
            county_code=n.county_code,
            county_name=county_name[n.county_code],
            title=n.title,
            program=n.program,
            created_at=n.created_at,
            days_open=(now - n.created_at).days,
        )
        for n in stale
        if n.id is not None
    ]


def findings(session: Session, *, stale_days: int = 30) -> Findings:
    now = utcnow()
    counties = session.exec(select(County).order_by(col(County.code))).all()
    county_name = {c.code: c.name for c in counties}
    poverty = [c for c in counties if c.poverty_county_2018]
    return Findings(
        generated_at=now,
        poverty_counties_total=len(poverty),
        poverty_counties_without_active=_without_active(session, poverty),
        profiles_checked=int(session.exec(select(func.count()).select_from(Profile)).one()),
        over_capacity=_over_capacity(session),
        off_list=_off_list(session, county_name),
        stale_days=stale_days,
        stale_open_needs=_stale_open_needs(session, county_name, now, stale_days),
    )


# --- the conversation ---------------------------------------------------------------------------

# Decline codes no reason was given for (placements before the decline form asked for one).
UNSPECIFIED = ("unspecified", "未说明理由")


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _median(values: list[float]) -> float | None:
    return round(median(values), 1) if values else None


def _answers(session: Session, conditions: list[Any]) -> tuple[AnswerStats, list[Any]]:
    """Proposals of the period and the times to their answers, with the decline codes.

    The median is taken in Python over the answered proposals' two timestamps: one row per
    proposal of the period (a province's year is some thousands, a few milliseconds), and the
    same code on SQLite and PostgreSQL, which share no median function.
    """
    rows = session.execute(
        sa_select(
            col(Placement.status),
            col(Placement.created_at),
            col(Placement.accepted_at),
            col(Placement.declined_at),
            col(Placement.decline_code),
        ).where(*conditions)
    ).all()
    stats = AnswerStats(proposals=len(rows))
    to_accept: list[float] = []
    to_decline: list[float] = []
    codes = []
    for status, created_at, accepted_at, declined_at, decline_code in rows:
        if accepted_at is not None:
            to_accept.append(_hours(created_at, accepted_at))
        elif declined_at is not None:
            to_decline.append(_hours(created_at, declined_at))
            codes.append(decline_code)
        elif status == "proposed":
            stats.unanswered += 1
    stats.accepted, stats.declined = len(to_accept), len(to_decline)
    stats.answered = stats.accepted + stats.declined
    stats.median_hours_to_answer = _median(to_accept + to_decline)
    stats.median_hours_to_accept = _median(to_accept)
    stats.median_hours_to_decline = _median(to_decline)
    return stats, codes


def _decline_reasons(codes: list[Any]) -> list[DeclineReasonCount]:
    """Every reason, most frequent first (zeros too, so the list reads the same every time)."""
    found = Counter(code if code in DECLINE_REASONS else None for code in codes)
    reasons = [
        DeclineReasonCount(code=code, label=label, count=found.get(code, 0))
        for code, label in DECLINE_REASONS.items()
    ]
    reasons.sort(key=lambda r: -r.count)  # stable: ties keep the form's order
    if found.get(None):
        reasons.append(
            DeclineReasonCount(code=UNSPECIFIED[0], label=UNSPECIFIED[1], count=found[None])
        )
    return reasons


def _interests(session: Session, date_from: date | None, date_to: date | None) -> InterestStats:
    conditions = _bounds(date_from, date_to, col(Interest.created_at))
    rows = session.execute(
        sa_select(col(Interest.status), func.count())
        .where(*conditions)
        .group_by(col(Interest.status))
    ).all()
    by_status = {status: int(n) for status, n in rows}
    proposed = session.execute(
        sa_select(func.count(func.distinct(col(Placement.interest_id))))
        .join(Interest, col(Interest.id) == col(Placement.interest_id))
        .where(*conditions)
    ).scalar_one()
    return InterestStats(
        received=sum(by_status.values()),
        withdrawn=by_status.get("withdrawn", 0),
        proposed=int(proposed or 0),
    )


def conversation_stats(
    session: Session, *, date_from: date | None, date_to: date | None
) -> ConversationStats:
    """How the conversation between counties and people goes: proposals (by the day they were
    made) and their answers, decline reasons, interests and invitations (by the day received
    or sent) in the period."""
    answers, codes = _answers(session, _bounds(date_from, date_to))
    start, end = _period(date_from, date_to)
    by_state = invitations.state_counts(session, created_from=start, created_before=end)
    return ConversationStats(
        date_from=date_from,
        date_to=date_to,
        answers=answers,
        decline_reasons=_decline_reasons(codes),
        interests=_interests(session, date_from, date_to),
        invitations=InvitationStats(sent=sum(by_state.values()), **by_state),
    )


# A need is served once somebody has started work on it: a placement in service or completed.
SERVED_STATUSES = ("active", "completed")


def county_figures(session: Session) -> list[CountyFigures]:
    """Per county, in code order: open needs, placements in service, and need coverage
    (the share of the county's needs, whatever their status, that somebody has served)."""
    needs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, status, n in session.exec(
        select(Need.county_code, Need.status, func.count()).group_by(
            col(Need.county_code), col(Need.status)
        )
    ).all():
        needs[code][status] = n
    served = dict(
        session.exec(
            select(Placement.county_code, func.count(distinct(col(Placement.need_id))))
            .where(col(Placement.status).in_(SERVED_STATUSES))
            .group_by(col(Placement.county_code))
        ).all()
    )
    placements = _placements_by_county(session)
    result = []
    for county in session.exec(select(County).order_by(col(County.code))).all():
        total = sum(needs[county.code].values())
        n_served = int(served.get(county.code, 0))
        result.append(
            CountyFigures(
                code=county.code,
                name=county.name,
                prefecture=county.prefecture,
                region=county.region,
                poverty_county_2018=county.poverty_county_2018,
                needs_total=total,
                needs_open=needs[county.code]["open"],
                needs_served=n_served,
                placements_active=placements[county.code]["active"],
                coverage=n_served / total if total else None,
            )
        )
    return result
