"""Short Simplified-Chinese reasons a county official can check against the profile.

Everything here is cheap string work on one page of results (no model, no jieba): the matched
terms come from the lexical index's columns for the query's terms, and the 「最相关经历」
sentence is the profile sentence holding the most specific matched terms (by idf), falling back
to the one sharing the most character bigrams with the need when no term matched (a purely
semantic match).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from matching.problems import Problem, normalise
from matching.table import county_int
from matching.text import profile_sentences
from matching.types import CountyInfo, ProfileDoc, Program

REGION_NAMES = {"east": "东部", "central": "中部", "west": "西部"}
AVAILABILITY_NOTES = {
    "full_time": "可全职服务",
    "part_time": "可兼职服务",
    "remote": "仅可远程服务",
}
MAX_TERMS = 5
# a matched term is shown only if it is specific relative to the best one: idf >= REL_IDF * best
# idf (and >= MIN_IDF); in a small corpus every term is rare, so the floor is relative
MIN_IDF = 0.0
REL_IDF = 0.4
MAX_SENTENCE_CHARS = 60
# A matched term held by more than this share of all profiles does not tell people apart: it
# still counts in the ranking (BM25 weighs it little) but is not offered as a reason. Applied
# from MIN_PROFILES_FOR_SHARE profiles up (in a handful of profiles every share is large).
MAX_REASON_SHARE = 0.05
MIN_PROFILES_FOR_SHARE = 100
_RESOURCES = Path(__file__).resolve().parent / "resources"


@lru_cache(maxsize=1)
def generic_terms() -> frozenset[str]:
    """Words too general to be a reason whatever their frequency (万亩、品种、培训班、乡镇 …):
    ``resources/reason_generic.txt``, one a line, ``#`` comments."""
    raw = (_RESOURCES / "reason_generic.txt").read_text(encoding="utf-8")
    return frozenset(
        w.strip() for w in raw.splitlines() if w.strip() and not w.lstrip().startswith("#")
    )


def telling_terms(terms: Sequence[str], shares: Sequence[float], corpus_size: int) -> list[str]:
    """The matched terms that can serve as a reason: not generic, and (in a corpus of
    ``MIN_PROFILES_FOR_SHARE`` or more) held by at most ``MAX_REASON_SHARE`` of the profiles.
    ``shares``: each term's share of profiles holding it, aligned with ``terms``."""
    generic = generic_terms()
    check_share = corpus_size >= MIN_PROFILES_FOR_SHARE
    return [
        t
        for t, share in zip(terms, shares, strict=True)
        if t not in generic and not (check_share and share > MAX_REASON_SHARE)
    ]


def display_terms(terms: Sequence[str], limit: int = MAX_TERMS) -> list[str]:
    """Matched terms for display: drop a term contained in a longer matched one (盐碱 in 盐碱地)."""
    out: list[str] = []
    for t in sorted(dict.fromkeys(terms), key=len, reverse=True):
        if not any(t in longer for longer in out):
            out.append(t)
    order = {t: i for i, t in enumerate(terms)}
    out.sort(key=lambda t: order[t])
    return out[:limit]


def informative_terms(terms: Sequence[str], weights: Sequence[float]) -> list[str]:
    """The matched terms worth showing, in the given order (see ``MIN_IDF``/``REL_IDF``)."""
    if not terms:
        return []
    floor = max(MIN_IDF, REL_IDF * max(weights, default=0.0))
    return [t for t, w in zip(terms, weights, strict=True) if w >= floor]


@lru_cache(maxsize=2048)
def _bigrams(text: str) -> frozenset[str]:
    """The character bigrams of ``text`` (spaces dropped). Cached (a few KB an entry): a page
    asks for the need's bigrams once per profile, and popular profiles come back page after
    page."""
    chars = [c for c in text if not c.isspace()]
    return frozenset(a + b for a, b in zip(chars, chars[1:], strict=False))


def best_sentence(
    sentences: Sequence[str],
    terms: Sequence[str],
    term_weights: Sequence[float],
    need_text: str,
) -> str | None:
    """The sentence with the largest weight of matched terms, else the most shared bigrams."""
    if not sentences:
        return None
    best, best_score = None, 0.0
    for s in sentences:
        score = sum(w for t, w in zip(terms, term_weights, strict=True) if t in s)
        if score > best_score:
            best, best_score = s, score
    if best is None:
        need_bi = _bigrams(need_text)
        overlaps = [len(_bigrams(s) & need_bi) for s in sentences]
        top = max(range(len(sentences)), key=lambda i: overlaps[i])
        best = sentences[top] if overlaps[top] > 0 else sentences[0]
    best = best.strip().rstrip("。；;")
    return best if len(best) <= MAX_SENTENCE_CHARS else best[: MAX_SENTENCE_CHARS - 1] + "…"


def hometown_note(
    hometown_code: str | None, county_code: str | None, counties: Mapping[str, CountyInfo]
) -> str | None:
    """「籍贯为本县」 or 「籍贯同属白城市」, else None."""
    if not hometown_code or not county_code:
        return None
    here = counties.get(county_code)
    home = counties.get(hometown_code)
    if county_int(hometown_code) == county_int(county_code):
        return "籍贯为本县"
    if here is not None and home is not None and home.prefecture == here.prefecture:
        return f"籍贯同属{here.prefecture}"
    return None


def region_note(profile: ProfileDoc, county: CountyInfo | None) -> str | None:
    if county is None or county.region not in profile.preferred_regions:
        return None
    return f"意向服务{REGION_NAMES.get(county.region, county.region)}地区"


def problem_note(profile: ProfileDoc, problems: Sequence[tuple[Problem, str]]) -> str | None:
    """Why a profile answers the need's problem in the problem map's words: the first problem
    recognised in the need (``ProblemMap.find``: the problem and the need's phrase that showed
    it) whose techniques or disciplines the profile names, e.g. 问题对应：需求所述「叶子发黄」属
    「玉米·营养失调」，其专长涉及：测土配方施肥、缺锌."""
    if not problems:
        return None
    text = normalise(
        "".join(
            (profile.title or "", *profile.fields, profile.expertise, profile.achievements or "")
        )
    )
    for problem, phrase in problems:
        named = [
            t
            for t, norm in zip(problem.terms, problem.normalised_terms, strict=True)
            if norm in text
        ]
        if named:
            label = f"{problem.industry}·{problem.name}"
            # a problem read as the nearest to the need has no phrase of the need to quote
            said = f"需求所述「{phrase}」属「{label}」" if phrase else f"需求所述近于「{label}」"
            return f"问题对应：{said}，其专长涉及：" + "、".join(named[:3])
    return None


def build_reasons(
    profile: ProfileDoc,
    *,
    county_code: str | None,
    program: Program | None,
    counties: Mapping[str, CountyInfo],
    matched_terms: Sequence[str],
    term_weights: Sequence[float],
    need_text: str,
    dense_strength: float,
    remaining_capacity: int | None = None,
    problems: Sequence[tuple[Problem, str]] = (),
) -> tuple[str, ...]:
    """The reasons of one match, most telling first.

    ``matched_terms``/``term_weights``: the query terms found in the profile and their idf, most
    specific first. ``dense_strength``: the normalised dense component in [0, 1].
    ``problems``: the problems recognised in the need (``problem_note``).
    """
    reasons: list[str] = []
    home = hometown_note(profile.hometown_county_code, county_code, counties)
    if home and program == "return_home":
        reasons.append(home)
    weights = list(term_weights)[: len(matched_terms)]
    shown = display_terms(informative_terms(list(matched_terms), weights))
    if shown:
        reasons.append("匹配关键词：" + "、".join(shown))
    elif dense_strength >= 0.7:
        reasons.append("语义相近（无共同关键词）")
    solves = problem_note(profile, problems)
    if solves:
        reasons.append(solves)
    sentence = best_sentence(profile_sentences(profile), list(matched_terms), weights, need_text)
    if sentence:
        reasons.append(f"最相关经历：{sentence}")
    if home and program != "return_home":
        reasons.append(home)
    county = counties.get(county_code) if county_code else None
    note = region_note(profile, county)
    if note:
        reasons.append(note)
    avail = AVAILABILITY_NOTES.get(profile.availability)
    if avail:
        reasons.append(avail)
    if remaining_capacity is not None:
        reasons.append(
            f"尚可承接{remaining_capacity}项服务" if remaining_capacity > 0 else "服务名额已满"
        )
    return tuple(reasons)
