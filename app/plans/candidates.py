"""Candidate pairs for a plan: each open need's best people from the live matcher, as arrays.

This is the seam between the database and ``matching.allocation`` (an id <-> row encoder): it
reads the open needs in scope and the people who appear on their lists, ranks each need with
the same pipeline as its match list (``score_profile_pool``: pool -> filter -> fuse, people
whose capacity is used up excluded), and hands the solver rows, never database ids.

- Only the ranking is reused, not the page: no matched terms and no reason sentences, which at
  10,000 needs would cost more than the ranking itself.
- A pair's score is the need's fused match score and its ``rank`` the person's place on that
  need's list as a county officer sees it now (the list excludes the same full people).
- Places: a person's remaining capacity is capacity minus accepted and active placements
  (``Matcher.places``); a need's remaining headcount is headcount minus its accepted and active
  placements. A proposal still awaiting an answer holds no place, as everywhere else.
- Eligibility: DOMAIN.md lists hometown (三乡工程), region and availability among "what matters
  in a match", not as rules, and the ranking already weighs them (``matching.fusion``), so every
  pair is eligible and they act through the score.
- Employer: the profile's affiliation, normalised (NFKC, no spaces); blank means unknown, which
  ``max_per_employer`` does not limit.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.counties.models import County
from app.matches.loader import chunks
from app.matches.matcher import Matcher
from app.needs.models import Need
from app.placements.counts import OPEN_STATUSES
from app.placements.models import Placement
from app.profiles.models import Profile
from matching.allocation import AllocationProblem
from matching.scoring import score_profile_pool
from matching.types import MatchFilters, NeedDoc, Query

TOP_K = 50
_TERM_SPLIT = re.compile(r"[/／、,，;；|\s]+")


@dataclass(frozen=True)
class Scope:
    program: str | None = None
    region: str | None = None
    prefecture: str | None = None


@dataclass(frozen=True, eq=False)
class Candidates:
    """Rows of the allocation problem and the ids they stand for.

    Needs (``N``, in posting order): ``need_ids``, ``need_county`` (codes), ``need_prefecture``,
    ``need_terms`` (skill terms for the shortage table), ``need_headcount`` (seats left),
    ``need_poverty``. People (``P``): ``profile_ids``, ``person_capacity`` (places left),
    ``person_employer`` (label, -1 unknown). Pairs (``E``): ``cand_need``, ``cand_person``,
    ``cand_score``, ``cand_rank`` (1 = top of the need's list), ``cand_hometown``.
    """

    need_ids: npt.NDArray[np.int64]
    need_county: list[str]
    need_prefecture: list[str]
    need_terms: list[tuple[str, ...]]
    need_headcount: npt.NDArray[np.int32]
    need_poverty: npt.NDArray[np.bool_]
    profile_ids: npt.NDArray[np.int64]
    person_capacity: npt.NDArray[np.int32]
    person_employer: npt.NDArray[np.int64]
    cand_need: npt.NDArray[np.int32]
    cand_person: npt.NDArray[np.int32]
    cand_score: npt.NDArray[np.float64]
    cand_rank: npt.NDArray[np.int32]
    cand_hometown: npt.NDArray[np.bool_]
    model_version: str
    top_k: int
    seconds: float

    def problem(
        self,
        *,
        poverty_floor: bool | float,
        min_score: float | None,
        max_per_employer: int | None,
    ) -> AllocationProblem:
        n = len(self.need_ids)
        return AllocationProblem.build(
            cand_need=self.cand_need,
            cand_person=self.cand_person,
            cand_score=self.cand_score,
            person_capacity=self.person_capacity,
            person_employer=self.person_employer,
            need_headcount=self.need_headcount,
            need_poverty=self.need_poverty,
            need_county=np.array([int(c) for c in self.need_county], np.int64),
            need_order=np.arange(n, dtype=np.int64),  # rows are in posting order
            poverty_floor=poverty_floor,
            min_score=min_score,
            max_per_employer_per_county=max_per_employer,
        )


def skill_terms(industry: str) -> tuple[str, ...]:
    """A need's skill terms: its industry field split at / 、 , and spaces (现代农业/玉米种植)."""
    return tuple(dict.fromkeys(t for t in _TERM_SPLIT.split(industry.strip()) if t))


def employer_key(affiliation: str | None) -> str:
    """The same employer written twice the same way: full-width folded, no spaces."""
    if not affiliation:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", affiliation)).lower()


def _open_needs(session: Session, scope: Scope) -> list[tuple[Need, County]]:
    query = (
        select(Need, County)
        .join(County, col(County.code) == Need.county_code)
        .where(Need.status == "open")
        .order_by(col(Need.created_at), col(Need.id))
    )
    if scope.program:
        query = query.where(Need.program == scope.program)
    if scope.region:
        query = query.where(County.region == scope.region)
    if scope.prefecture:
        query = query.where(County.prefecture == scope.prefecture)
    return list(session.exec(query).all())


def _open_per_need(session: Session) -> dict[int, int]:
    """Need id -> accepted and active placements (the places that count against headcount)."""
    rows = session.exec(
        select(Placement.need_id, func.count())
        .where(col(Placement.status).in_(OPEN_STATUSES))
        .group_by(col(Placement.need_id))
    ).all()
    return {int(need_id): int(n) for need_id, n in rows}


def _people(session: Session, ids: Sequence[int]) -> dict[int, tuple[int, str, str | None]]:
    """Profile id -> (capacity, affiliation, hometown county), read a chunk at a time."""
    out: dict[int, tuple[int, str, str | None]] = {}
    for chunk in chunks(ids):
        for pid, capacity, affiliation, home in session.exec(
            select(
                Profile.id, Profile.capacity, Profile.affiliation, Profile.hometown_county_code
            ).where(col(Profile.id).in_(chunk))
        ).all():
            assert pid is not None
            out[int(pid)] = (int(capacity), affiliation, home)
    return out


def generate(session: Session, matcher: Matcher, scope: Scope, top_k: int = TOP_K) -> Candidates:
    """Every open need in ``scope`` with seats left, and its ``top_k`` people."""
    started = time.perf_counter()
    places = matcher.places(session, matcher.sync(session))
    filters = MatchFilters(exclude_ids=places.full)
    held = _open_per_need(session)
    corpus = matcher.corpus
    need_ids: list[int] = []
    need_county: list[str] = []
    need_prefecture: list[str] = []
    need_terms: list[tuple[str, ...]] = []
    headcount: list[int] = []
    poverty: list[bool] = []
    pair_need: list[npt.NDArray[np.int64]] = []
    pair_profile: list[npt.NDArray[np.int64]] = []
    pair_score: list[npt.NDArray[np.float64]] = []
    pair_rank: list[npt.NDArray[np.int64]] = []
    for need, county in _open_needs(session, scope):
        assert need.id is not None
        left = need.headcount - held.get(need.id, 0)
        if left <= 0:
            continue
        row = len(need_ids)
        need_ids.append(need.id)
        need_county.append(need.county_code)
        need_prefecture.append(county.prefecture)
        need_terms.append(skill_terms(need.industry))
        headcount.append(left)
        poverty.append(bool(county.poverty_county_2018))
        doc = NeedDoc(
            id=need.id,
            county_code=need.county_code,
            program=need.program,  # type: ignore[arg-type]
            title=need.title,
            description=need.description,
            industry=need.industry,
            headcount=need.headcount,
        )
        vector, tokens = matcher.query_for_need(session, doc)
        query = Query.for_need(doc, vector, tokens)
        with corpus.lock:  # what ProfileCorpus.search holds, without writing the page
            pool = score_profile_pool(
                query,
                lexical_index=corpus.lexical,
                dense_index=corpus.dense,
                table=corpus.table,
                counties=matcher.counties,
                filters=filters,
            )
        k = min(top_k, len(pool.ids))
        if k:
            pair_need.append(np.full(k, row, np.int64))
            pair_profile.append(pool.ids[:k].astype(np.int64))
            # rounded as a match list shows it, so that a proposal records the same score
            scores: npt.NDArray[np.float64] = np.asarray(pool.scores[:k], dtype=np.float64)
            pair_score.append(np.round(scores, 6))
            pair_rank.append(np.arange(1, k + 1, dtype=np.int64))
    cand_profile = np.concatenate(pair_profile) if pair_profile else np.zeros(0, np.int64)
    profile_ids, cand_person = np.unique(cand_profile, return_inverse=True)
    people = _people(session, profile_ids.tolist())
    capacity = np.zeros(len(profile_ids), np.int32)
    employer = np.full(len(profile_ids), -1, np.int64)
    home: list[str | None] = []
    labels: dict[str, int] = {}
    for row, pid in enumerate(profile_ids.tolist()):
        cap, affiliation, hometown = people.get(pid, (0, "", None))  # deleted meanwhile: no room
        capacity[row] = max(0, cap - places.open.get(pid, 0))
        key = employer_key(affiliation)
        if key:
            employer[row] = labels.setdefault(key, len(labels))
        home.append(hometown)
    cand_need = np.concatenate(pair_need) if pair_need else np.zeros(0, np.int64)
    home_arr = np.array([h or "" for h in home], dtype=object)
    county_arr = np.array(need_county, dtype=object)
    cand_hometown = (
        (home_arr[cand_person] == county_arr[cand_need]).astype(bool)
        if len(cand_need)
        else np.zeros(0, bool)
    )
    return Candidates(
        need_ids=np.array(need_ids, np.int64),
        need_county=need_county,
        need_prefecture=need_prefecture,
        need_terms=need_terms,
        need_headcount=np.array(headcount, np.int32),
        need_poverty=np.array(poverty, bool),
        profile_ids=profile_ids.astype(np.int64),
        person_capacity=capacity,
        person_employer=employer,
        cand_need=cand_need.astype(np.int32),
        cand_person=cand_person.astype(np.int32),
        cand_score=np.concatenate(pair_score) if pair_score else np.zeros(0),
        cand_rank=(np.concatenate(pair_rank) if pair_rank else np.zeros(0, np.int64)).astype(
            np.int32
        ),
        cand_hometown=cand_hometown,
        model_version=matcher.model_version,
        top_k=top_k,
        seconds=time.perf_counter() - started,
    )
