"""Ranking metrics (pure functions) and a loader for the labelled development set.

Metrics take a ranked list of ids and graded relevance ``{id: grade}`` (grades 1-3; a missing id
is grade 0):

* ``ndcg_at_k``: gain ``2**grade - 1``, discount ``log2(rank + 1)``, divided by the ideal DCG of the
  same labels; 0 when the query has no relevant item.
* ``recall_at_k``: relevant items (grade >= ``min_grade``) in the top k over all relevant items.
* ``reciprocal_rank``: 1 / rank of the first relevant item (grade >= ``min_grade``), else 0.

Dev set format (bench/data/): ``dev_profiles.jsonl`` and ``dev_needs.jsonl``, one JSON object a
line with the fields of ``ProfileDoc`` / ``NeedDoc`` and string ids ``p001`` / ``n001``;
``dev_qrels.tsv`` with ``need_id <TAB> profile_id <TAB> grade`` (an optional header line).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matching.types import CountyInfo, NeedDoc, ProfileDoc

Qrels = Mapping[int, Mapping[int, int]]


def dcg(grades: Sequence[int]) -> float:
    return sum((2.0**g - 1.0) / math.log2(i + 2) for i, g in enumerate(grades))


def ndcg_at_k(ranked: Sequence[int], relevance: Mapping[int, int], k: int = 10) -> float:
    ideal = dcg(sorted((g for g in relevance.values() if g > 0), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    return dcg([relevance.get(i, 0) for i in ranked[:k]]) / ideal


def recall_at_k(
    ranked: Sequence[int], relevance: Mapping[int, int], k: int = 10, min_grade: int = 1
) -> float:
    rel = {i for i, g in relevance.items() if g >= min_grade}
    if not rel:
        return 0.0
    return len(rel.intersection(ranked[:k])) / len(rel)


def reciprocal_rank(
    ranked: Sequence[int], relevance: Mapping[int, int], min_grade: int = 1
) -> float:
    for r, i in enumerate(ranked, start=1):
        if relevance.get(i, 0) >= min_grade:
            return 1.0 / r
    return 0.0


@dataclass(frozen=True, slots=True)
class Scores:
    ndcg10: float
    recall10: float
    mrr: float
    n_queries: int


def evaluate_runs(runs: Mapping[int, Sequence[int]], qrels: Qrels, k: int = 10) -> Scores:
    """Mean metrics over the queries that have at least one relevant item."""
    qs = [q for q, rel in qrels.items() if any(g > 0 for g in rel.values())]
    if not qs:
        return Scores(0.0, 0.0, 0.0, 0)
    n = len(qs)
    return Scores(
        ndcg10=sum(ndcg_at_k(runs.get(q, []), qrels[q], k) for q in qs) / n,
        recall10=sum(recall_at_k(runs.get(q, []), qrels[q], k) for q in qs) / n,
        mrr=sum(reciprocal_rank(runs.get(q, []), qrels[q]) for q in qs) / n,
        n_queries=n,
    )


# ---------------------------------------------------------------- dev set loading
_DIGITS = re.compile(r"(\d+)")


# The later dev sets' own profiles (``q001``…, ``r001``…, ``s001``…) share one corpus with the
# first set's (``p001``…): they are numbered from these so that the sets never meet.
SECOND_SET_OFFSET = 1000
THIRD_SET_OFFSET = 2000
FOURTH_SET_OFFSET = 3000
_OFFSETS = {"q": SECOND_SET_OFFSET, "r": THIRD_SET_OFFSET, "s": FOURTH_SET_OFFSET}


def parse_id(raw: Any) -> int:
    """``"p001"`` / ``"n017"`` / ``17`` -> 17; ``"q001"`` -> 1001; ``"r001"`` -> 2001;
    ``"s001"`` -> 3001."""
    if isinstance(raw, int):
        return raw
    m = _DIGITS.search(str(raw))
    if not m:
        raise ValueError(f"id without digits: {raw!r}")
    offset = _OFFSETS.get(str(raw)[:1], 0)
    return offset + int(m.group(1))


def _tuple(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return tuple(x for x in re.split(r"[、,，;；\s]+", v) if x)
    return tuple(str(x) for x in v)


def profile_from_json(d: Mapping[str, Any]) -> ProfileDoc:
    return ProfileDoc(
        id=parse_id(d["id"]),
        kind=d.get("kind", "expert"),
        name=str(d.get("name", "")),
        affiliation=str(d.get("affiliation") or ""),
        title=str(d.get("title") or ""),
        fields=_tuple(d.get("fields")),
        expertise=str(d.get("expertise") or ""),
        achievements=d.get("achievements") or None,
        hometown_county_code=(
            str(d["hometown_county_code"]) if d.get("hometown_county_code") else None
        ),
        availability=d.get("availability", "part_time"),
        capacity=int(d.get("capacity", 1)),
        preferred_regions=_tuple(d.get("preferred_regions")),  # type: ignore[arg-type]
        active=bool(d.get("active", True)),
    )


def need_from_json(d: Mapping[str, Any]) -> NeedDoc:
    return NeedDoc(
        id=parse_id(d["id"]),
        county_code=str(d.get("county_code", "")),
        program=d.get("program", "science_commissioner"),
        title=str(d.get("title") or ""),
        description=str(d.get("description") or ""),
        industry=str(d.get("industry") or ""),
        headcount=int(d.get("headcount", 1)),
    )


def _jsonl(path: Path) -> Iterable[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load_qrels(path: str | Path) -> dict[int, dict[int, int]]:
    out: dict[int, dict[int, int]] = {}
    with Path(path).open(encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                continue  # header or blank line
            out.setdefault(parse_id(row[0]), {})[parse_id(row[1])] = int(row[2])
    return out


@dataclass(frozen=True, slots=True)
class DevSet:
    profiles: tuple[ProfileDoc, ...]
    needs: tuple[NeedDoc, ...]
    qrels: dict[int, dict[int, int]]


def load_dev_set(directory: str | Path, prefix: str = "dev") -> DevSet:
    d = Path(directory)
    profiles = tuple(profile_from_json(x) for x in _jsonl(d / f"{prefix}_profiles.jsonl"))
    needs = tuple(need_from_json(x) for x in _jsonl(d / f"{prefix}_needs.jsonl"))
    return DevSet(profiles, needs, load_qrels(d / f"{prefix}_qrels.tsv"))


def load_counties_csv(path: str | Path) -> dict[str, CountyInfo]:
    """``code,name,prefecture,kind,region,...`` (seed/jilin_counties.csv) -> code -> CountyInfo."""
    out: dict[str, CountyInfo] = {}
    with Path(path).open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out[row["code"]] = CountyInfo(
                code=row["code"],
                name=row["name"],
                prefecture=row["prefecture"],
                region=row["region"],  # type: ignore[arg-type]
            )
    return out
