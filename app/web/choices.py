"""Options of the select boxes, in the order people expect them, with their Chinese labels."""

from sqlmodel import Session

from app.common import (
    AVAILABILITY_LABELS,
    KIND_LABELS,
    NEED_STATUS_LABELS,
    PROGRAM_LABELS,
    REGION_LABELS,
    ROLE_LABELS,
)
from app.counties import service as counties
from app.placements.schemas import STATUS_LABELS

Options = list[tuple[str, str]]

PROGRAMS: Options = [(k.value, v) for k, v in PROGRAM_LABELS.items()]
KINDS: Options = [(k.value, v) for k, v in KIND_LABELS.items()]
AVAILABILITIES: Options = [(k.value, v) for k, v in AVAILABILITY_LABELS.items()]
REGIONS: Options = [(k.value, v) for k, v in REGION_LABELS.items()]
NEED_STATUSES: Options = [(k.value, v) for k, v in NEED_STATUS_LABELS.items()]
PLACEMENT_STATUSES: Options = [(k.value, v) for k, v in STATUS_LABELS.items()]
ROLES: Options = [(k.value, v) for k, v in ROLE_LABELS.items()]
MATCH_LIMITS: Options = [("10", "前 10 名"), ("20", "前 20 名"), ("50", "前 50 名")]


def county_options(session: Session) -> Options:
    """Every county as 「梨树县（四平市）」, grouped by prefecture as the code list is."""
    rows = counties.list_counties(session, prefecture=None, region=None)
    return [(c.code, f"{c.name}（{c.prefecture}）") for c in rows]


def county_names(session: Session) -> dict[str, str]:
    rows = counties.list_counties(session, prefecture=None, region=None)
    return {c.code: c.name for c in rows}


def prefecture_options(session: Session) -> Options:
    rows = counties.list_counties(session, prefecture=None, region=None)
    return [(p, p) for p in dict.fromkeys(c.prefecture for c in rows)]
