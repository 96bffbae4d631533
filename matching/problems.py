"""Problem-to-technique understanding for needs written as a symptom or a business problem.

A county writes "玉米苗发黄长不起来"; the right expert's profile says "测土配方施肥、缺锌诊断".
``resources/problems.tsv`` is a maintained, reviewable map of Jilin's industries to their
everyday problems and the techniques and disciplines that answer them::

    industry  industry_words  problem  phrases  techniques  disciplines

A problem is recognised in a need when one of its phrases occurs in the need's text and, unless
its industry words are ``*``, one of those words does too (so that 发黄 of a maize field does not
call a ginseng expert). Its techniques and disciplines then join the need's query terms (the
lexical channel) and name the link in the reasons. Nothing is stored: the terms are read from
the resource when a need is ranked, so an edit of the file applies at the next start without
re-encoding anything.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from matching.text import need_dense_text, need_lexical_text
from matching.types import NeedDoc

RESOURCE = "problems.tsv"
_RESOURCES = Path(__file__).resolve().parent / "resources"


@dataclass(frozen=True, slots=True)
class Problem:
    industry: str
    industry_words: tuple[str, ...]  # empty: any industry
    name: str
    phrases: tuple[str, ...]
    techniques: tuple[str, ...]
    disciplines: tuple[str, ...]
    # ``terms`` as the map compares them (``normalise``), paired with ``terms`` by position; made
    # once here rather than for every profile of every page (out of repr: the digest is the same)
    normalised_terms: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "normalised_terms", tuple(normalise(t) for t in self.terms))

    @property
    def terms(self) -> tuple[str, ...]:
        return self.techniques + self.disciplines


def normalise(text: str) -> str:
    """How the map compares text: NFKC, lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def load_problems(text: str | None = None) -> tuple[Problem, ...]:
    """The rows of the resource (``text``: the file's content, for tests)."""
    if text is None:
        text = (_RESOURCES / RESOURCE).read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t")]
        if len(cols) != 6:
            raise ValueError(f"{RESOURCE}: six tab-separated columns expected: {line!r}")
        industry, words, name, phrases, techniques, disciplines = cols
        out.append(
            Problem(
                industry,
                () if words == "*" else tuple(normalise(w) for w in words.split()),
                name,
                tuple(normalise(p) for p in phrases.split()),
                tuple(techniques.split()),
                tuple(disciplines.split()),
            )
        )
    return tuple(out)


class ProblemMap:
    """Finds the problems a text describes."""

    def __init__(self, problems: tuple[Problem, ...] | None = None) -> None:
        self.problems = load_problems() if problems is None else problems
        # what a vector made with this map's terms records (an edited map makes it stale)
        self.digest = hashlib.sha256(repr(self.problems).encode("utf-8")).hexdigest()[:12]

    def find(self, text: str) -> list[tuple[Problem, str]]:
        """The problems ``text`` describes, each with the phrase that showed it, in the file's
        order."""
        norm = normalise(text)
        hits = []
        for p in self.problems:
            phrase = next((ph for ph in p.phrases if ph in norm), None)
            if phrase is None:
                continue
            if p.industry_words and not any(w in norm for w in p.industry_words):
                continue
            hits.append((p, phrase))
        return hits

    def terms(self, text: str) -> list[str]:
        """The techniques and disciplines of every problem found, once each, in order."""
        return list(dict.fromkeys(t for p, _ in self.find(text) for t in p.terms))


def expanded_query_text(doc: NeedDoc, problems: ProblemMap | None) -> str:
    """``need_dense_text`` followed by the techniques and disciplines of the problems the need
    describes (``；涉及：测土配方施肥、缺锌、…``): what the quality encoder reads of a need when the
    map is on. (E5 alone on the sets of bench/data: dev 0.747 -> 0.799, dev2 0.711 -> 0.776.)"""
    text = need_dense_text(doc)
    terms = problems.terms(need_lexical_text(doc)) if problems is not None else []
    return text + "；涉及：" + "、".join(terms) if terms else text


@lru_cache(maxsize=1)
def default_map() -> ProblemMap:
    return ProblemMap()
