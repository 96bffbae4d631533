import csv
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, col, select

from app.common import REGION_LABELS, Region, public_of
from app.config import PROJECT_ROOT
from app.counties.models import County
from app.counties.schemas import CountyPublic
from app.db import get_or_404
from app.errors import AppError

COUNTIES_CSV = PROJECT_ROOT / "seed" / "jilin_counties.csv"


def read_csv(path: Path = COUNTIES_CSV) -> list[County]:
    with path.open(encoding="utf-8") as fh:
        return [
            County(
                code=row["code"],
                name=row["name"],
                prefecture=row["prefecture"],
                kind=row["kind"],
                region=row["region"],
                poverty_county_2018=row["poverty_county_2018"].strip().lower() == "true",
            )
            for row in csv.DictReader(fh)
        ]


def load(session: Session, path: Path = COUNTIES_CSV) -> int:
    """Insert or refresh the reference list; returns how many rows were written."""
    counties = read_csv(path)
    for county in counties:
        session.merge(county)
    session.flush()
    return len(counties)


def to_public(county: County) -> CountyPublic:
    return public_of(CountyPublic, county, region_name=REGION_LABELS[Region(county.region)])


def list_counties(session: Session, *, prefecture: str | None, region: str | None) -> list[County]:
    query = select(County)
    if prefecture:
        query = query.where(County.prefecture == prefecture)
    if region:
        query = query.where(County.region == region)
    return list(session.exec(query.order_by(col(County.code))).all())


def get(session: Session, code: str) -> County:
    return get_or_404(session, County, code, "县（市、区）", field="code")


def require_known(session: Session, code: str | None, field: str) -> None:
    if code is not None and session.get(County, code) is None:
        raise AppError(422, "unknown_county", f"未知的县（市、区）代码：{code}", field=field)


@lru_cache(maxsize=1)
def reference_codes(path: Path = COUNTIES_CSV) -> frozenset[str]:
    """The county codes of the reference file that ``init`` loads (they never change at run time;
    reading them from the file lets bulk imports validate before touching the database)."""
    return frozenset(c.code for c in read_csv(path))


@lru_cache(maxsize=1)
def _by_name_cache(path: Path = COUNTIES_CSV) -> dict[str, str]:
    names: dict[str, str] = {}
    for county in read_csv(path):
        names[county.name] = county.code
    return names


def code_for_name(name: str) -> str | None:
    """Resolve a county by its name (import files often say 梨树县, not 220322)."""
    return _by_name_cache().get(name.strip())
