import csv
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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


# --- county names as people write them -----------------------------------------------------
#
# Import files say 洮南市, 洮南, 白城洮南 or 220881. Every form is accepted only when it names one
# county-level division: 通化 is both 通化县 and the prefecture 通化市, so it is refused with the
# candidates. A full official name wins over a short form that happens to be spelled the same.

_ETHNIC = "朝鲜族|满族|蒙古族|回族|锡伯族|达斡尔族"
_SUFFIX = re.compile(rf"(?:(?:{_ETHNIC})*自治[县州旗]|县|市|区|旗|盟|地区)$")
# Short forms that no suffix rule produces (the official name is too long to be written out).
_ABBREVIATIONS = {"前郭尔罗斯蒙古族自治县": ("前郭", "前郭县")}
# What may stand between or around the parts of a written name (白城市 洮南市, 白城/洮南).
_SEPARATORS = re.compile(r"[\s/\\\-—·・,，、|]+")
_PROVINCE = ("吉林省",)


def short_forms(name: str) -> set[str]:
    """The official ``name`` and the shorter ways people write it (洮南市 → 洮南; 长白朝鲜族自治县 →
    长白, 长白县). A one-character stem is not a form of its own (义县 stays 义县)."""
    forms = {name, *_ABBREVIATIONS.get(name, ())}
    suffix = _SUFFIX.search(name)
    if suffix and suffix.start() >= 2:
        stem = name[: suffix.start()]
        forms.add(stem)
        if "自治" in suffix.group():
            forms.add(stem + suffix.group()[-1])  # 长白县, 延边州
    return forms


@dataclass(frozen=True)
class Place:
    """What a written name may mean: a county-level division, or a prefecture (no code)."""

    code: str | None
    name: str
    prefecture: str | None = None

    @property
    def label(self) -> str:
        if self.code is None:
            return f"{self.name}（{'自治州' if self.name.endswith('州') else '地级市'}）"
        return f"{self.name}（{self.prefecture}，{self.code}）"


class CountyNameError(ValueError):
    """A written county that names no division, or more than one; the message is for people."""

    def __init__(self, code: str, message: str, candidates: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.candidates = list(candidates)


@dataclass(frozen=True)
class CountyNames:
    """Every accepted written form of a list of counties, and what each may mean."""

    codes: frozenset[str]
    official: Mapping[str, frozenset[Place]]  # full names of counties and prefectures
    loose: Mapping[str, frozenset[Place]]  # short and prefecture+county forms
    by_prefecture: Mapping[str, tuple[str, ...]]  # prefecture -> its counties' names

    @classmethod
    def of(cls, counties: Iterable[County]) -> "CountyNames":
        official: dict[str, set[Place]] = defaultdict(set)
        loose: dict[str, set[Place]] = defaultdict(set)
        by_prefecture: dict[str, list[str]] = defaultdict(list)
        codes: set[str] = set()
        for c in counties:
            codes.add(c.code)
            by_prefecture[c.prefecture].append(c.name)
            place = Place(c.code, c.name, c.prefecture)
            official[c.name].add(place)
            for form in short_forms(c.name):
                loose[form].add(place)
                for prefix in short_forms(c.prefecture):
                    loose[prefix + form].add(place)
        for prefecture in by_prefecture:
            place = Place(None, prefecture)
            official[prefecture].add(place)
            for form in short_forms(prefecture):
                loose[form].add(place)
        return cls(
            codes=frozenset(codes),
            official={k: frozenset(v) for k, v in official.items()},
            loose={k: frozenset(v) for k, v in loose.items()},
            by_prefecture={k: tuple(v) for k, v in by_prefecture.items()},
        )


def normalise_written(text: str) -> str:
    """Full-width digits and letters to ASCII, separators and the province's name dropped."""
    written = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    for province in _PROVINCE:
        if written.startswith(province) and len(written) > len(province):
            written = written[len(province) :]
    return written


def resolve(written: str | int, names: CountyNames) -> str:
    """The code of the one county ``written`` names (full name, short form, prefecture+county,
    or 6-digit code); raises CountyNameError for none, several, or a prefecture."""
    text = normalise_written(str(written))
    if not text:
        raise CountyNameError("missing", "县（市、区）不能为空")
    if text.isascii() and text.isdigit():
        if text in names.codes:
            return text
        raise CountyNameError("unknown_county", f"未知的县（市、区）代码：{text}")
    places = names.official.get(text) or names.loose.get(text) or frozenset()
    counties = sorted((p for p in places if p.code is not None), key=lambda p: p.code or "")
    if len(places) == 1 and counties:
        return str(counties[0].code)
    if not places:
        raise CountyNameError(
            "unknown_county",
            f"未知的县（市、区）：{written}。请填写吉林省县级行政区的名称（如“洮南市”或“洮南”）"
            "或 6 位代码",
        )
    if not counties:
        within = names.by_prefecture.get(next(iter(places)).name, ())
        raise CountyNameError(
            "not_a_county",
            f"「{written}」是地级市（州），请填写其下的县（市、区）：{'、'.join(within)}",
            within,
        )
    labels = sorted(p.label for p in places)
    raise CountyNameError(
        "ambiguous_county",
        f"「{written}」不明确，可能是：{'、'.join(labels)}。请写全称或 6 位代码",
        labels,
    )


@lru_cache(maxsize=1)
def reference_names(path: Path = COUNTIES_CSV) -> CountyNames:
    """The written forms of the counties in the reference file that ``init`` loads (they never
    change at run time; reading them from the file lets bulk imports validate before touching
    the database)."""
    return CountyNames.of(read_csv(path))


def code_for_written(written: str | int) -> str:
    """Resolve a county as an import file writes it (梨树县, 梨树, 四平梨树, 220322)."""
    return resolve(written, reference_names())
