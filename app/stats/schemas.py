from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel


class GroupBy(StrEnum):
    county = "county"
    prefecture = "prefecture"
    region = "region"
    program = "program"
    month = "month"


GROUP_LABELS = {
    GroupBy.county: "县（市、区）",
    GroupBy.prefecture: "市（州）",
    GroupBy.region: "区域",
    GroupBy.program: "项目类别",
    GroupBy.month: "月份",
}


class Outcomes(BaseModel):
    reports: int = 0
    service_days: int = 0
    trainings: int = 0
    problems_solved: int = 0
    techniques_promoted: int = 0
    jobs_created: int = 0


class GroupStats(BaseModel):
    key: str
    label: str
    total: int = 0
    proposed: int = 0
    accepted: int = 0
    declined: int = 0
    active: int = 0
    completed: int = 0
    cancelled: int = 0
    off_list: int = 0
    outcomes: Outcomes = Outcomes()


class PlacementStats(BaseModel):
    group_by: GroupBy
    date_from: date | None
    date_to: date | None
    groups: list[GroupStats]
    totals: GroupStats


class NeedGroupStats(BaseModel):
    """Needs posted in the period, by their status now."""

    key: str
    label: str
    posted: int = 0
    open: int = 0
    filled: int = 0
    closed: int = 0
    open_unproposed: int = 0  # open, and nobody was ever proposed for it
    overdue: int = 0  # open past its deadline (a Beijing date before today)
    headcount_open: int = 0  # people the open needs ask for
    places_held: int = 0  # accepted and active placements on the open needs


# The figures of a need group in the order tables show them, with their Chinese headings.
NEED_FIGURES = {
    "posted": "发布需求",
    "open": "征集中",
    "filled": "已满员",
    "closed": "已关闭",
    "open_unproposed": "征集中·从未推荐",
    "overdue": "征集中·已过截止日期",
    "headcount_open": "征集中需求人数",
    "places_held": "已占名额",
}


class NeedStats(BaseModel):
    group_by: GroupBy
    date_from: date | None
    date_to: date | None
    today: date  # the Beijing date overdue is judged against
    groups: list[NeedGroupStats]
    totals: NeedGroupStats


class CountyRef(BaseModel):
    code: str
    name: str
    prefecture: str
    placements: int
    completed: int


class MapFigure(StrEnum):
    """What the county map is coloured by."""

    needs_open = "needs_open"
    placements_active = "placements_active"
    coverage = "coverage"


class CountyFigures(BaseModel):
    code: str
    name: str
    prefecture: str
    region: str
    poverty_county_2018: bool
    needs_total: int
    needs_open: int
    needs_served: int  # needs with a placement in service or completed
    placements_active: int
    coverage: float | None  # needs_served / needs_total; None for a county with no needs


class OverCapacity(BaseModel):
    profile_id: int
    name: str
    capacity: int
    open_placements: int


class OffListPlacement(BaseModel):
    placement_id: int
    county_code: str
    county_name: str
    need_id: int
    need_title: str
    profile_id: int
    profile_name: str
    status: str
    reason: str
    created_at: datetime


class StaleNeed(BaseModel):
    need_id: int
    county_code: str
    county_name: str
    title: str
    program: str
    created_at: datetime
    days_open: int


class Findings(BaseModel):
    generated_at: datetime
    poverty_counties_total: int
    poverty_counties_without_active: list[CountyRef]
    profiles_checked: int
    over_capacity: list[OverCapacity]
    off_list: list[OffListPlacement]
    stale_days: int
    stale_open_needs: list[StaleNeed]


# --- the conversation: proposals answered, reasons, interests, invitations ----------------------


class DeclineReasonCount(BaseModel):
    code: str  # one of the decline codes, or "unspecified" (declined without a code)
    label: str
    count: int


class AnswerStats(BaseModel):
    """Proposals made in the period and how the people answered them."""

    proposals: int = 0
    answered: int = 0
    accepted: int = 0
    declined: int = 0
    unanswered: int = 0  # still waiting (status proposed)
    # Hours from the proposal to the answer, over the answered proposals (None: none answered).
    median_hours_to_answer: float | None = None
    median_hours_to_accept: float | None = None
    median_hours_to_decline: float | None = None


class InterestStats(BaseModel):
    """我有意向 received in the period."""

    received: int = 0
    withdrawn: int = 0
    proposed: int = 0  # a county proposed the person from the interest


class InvitationStats(BaseModel):
    """Invitations sent in the period, by where they stand now."""

    sent: int = 0
    claimed: int = 0
    open: int = 0
    expired: int = 0
    revoked: int = 0


class ConversationStats(BaseModel):
    date_from: date | None
    date_to: date | None
    answers: AnswerStats
    decline_reasons: list[DeclineReasonCount]
    interests: InterestStats
    invitations: InvitationStats
