"""Province-wide assignment of people to open needs: the plan, the first-come baseline, why a
need stays unfilled, and the shortage table. Arrays in, arrays out; no database.

The input is one row per candidate pair (need, person) from the matching engine (say the top 50
of each open need's list) with its fused score, plus each person's remaining capacity and each
need's remaining headcount; see ``AllocationProblem`` for the shapes. Rows are indices: the
service maps its ids to rows and back (``matching/`` never sees a database id).

What the plan optimises
-----------------------
A pair is *usable* when it is ``eligible`` (the programme rules: 三乡工程 hometown,
availability, preferred regions -- the service computes them) and, when ``min_score`` is set,
its score is at least ``min_score``. The plan chooses usable pairs, each at most once, so that no
person takes more needs than their capacity and no need more people than its headcount, and
maximises the total fused score. Scores go to OR-Tools as integers: ``round(score * 10**6)``
(``SCORE_SCALE``), so totals are exact to about a millionth per placement. A pair whose scaled
score is not positive adds nothing and is never planned for its own sake (only the floor below
can make it worth taking); a need left open for that reason says ``no_gain``.

The poverty floor (former poverty counties, 脱贫县, ``need_poverty``)
---------------------------------------------------------------------
The issue asks that "every one of their open needs that has any eligible candidate is filled
before any other county receives a second person". A plan is simultaneous, so we read this as a
lexicographic objective:

1. maximise the number of poverty-county needs that receive *at least one* person;
2. then maximise the total score.

This is the stronger reading and it implies the literal one: in such a plan a poverty need left
without anybody has candidates, but each of them is at capacity and every place they hold is the
*first* person of another poverty need (were one of them serving a non-poverty need, or a second
seat anywhere, moving them would cover one more poverty need). So no county got a second person
-- nor even a first -- at the expense of a coverable poverty need, and the unfilled reason names
the poverty needs that took the candidates. "Filled" is read as *covered* (one person): the
province watches coverage of the poverty counties; later seats of a poverty need compete on
score like any other. ``poverty_floor=True`` is this hard floor; a float ``w`` instead adds ``w``
to the objective for each poverty need covered (a soft floor: a poverty need's first person is
worth ``score + w``); ``False`` or ``0.0`` is no floor. ``total_score`` always reports the plain
score sum, never the bonus.

How it is solved
----------------
Without an employer limit the problem is a flow, solved exactly by min-cost flow
(``SimpleMinCostFlow``)::

    source -> person p (capacity = remaining places)
           -> need n   (one arc per usable pair, capacity 1, cost -score)
           -> sink     via two arcs: the first seat (capacity 1, cost -bonus)
                       and the other seats (capacity headcount - 1, cost 0)
    source -> sink     (cost 0: nobody has to be placed)

The first-seat arc carries the floor: the hard floor's bonus is larger than any possible change
of the score part (the sum of all |scaled scores| plus one), which makes the weighted sum
lexicographic; the soft floor's bonus is ``round(w * 10**6)``.

``max_per_employer_per_county = k`` limits the *distinct people* of one employer serving needs in
one county (a person serving two needs of the county counts once; ``person_employer == -1``
means unknown, not limited). Such a cap spans several people's arcs while each arc also belongs
to its person and its need: three crossing partitions, which no flow network expresses exactly
(a shared ``(employer, county)`` node would forget which person a unit of flow is, and so its
pair's score). So the flow is solved first without the limit; if its plan already respects the
limit it is optimal for the limited problem too, else CP-SAT solves the exact model: a boolean
per pair, one per (person, county) of a group with more than ``k`` candidate people, and the hard
floor as two stages (coverage, then score with coverage fixed) instead of a big-M objective.
CP-SAT starts from a hint that is usually within a few hundredths of a percent of the optimum:
the flow solved again with the weakest people of each over-full group barred from that county,
until no group is over full. At province scale (2,000 needs x 50 candidates) with many crowded
groups one CP-SAT worker does not prove optimality in a minute; the plan then carries
``optimal=False`` and its ``gap`` to CP-SAT's bound. On small instances it is proven optimal.
Above ``max_exact_pairs`` usable pairs the exact model is not built at all and the hint is the
plan (method ``limited_flow``, ``optimal=False``, no gap): at 500,000 pairs (10,000 needs x 50)
CP-SAT spent its 53 s building and presolving, grew the process by 1.5 GB (peak 2.4 GB) and
returned the hint unchanged.

The baseline and the reasons
----------------------------
``greedy`` is the first-come baseline on the same data and rules (minimum score, employer limit;
no floor): needs in posting order each take their best free usable candidates, up to headcount.
Every need with open seats after a plan or the baseline gets an ``Unfilled`` with a reason code
(``UNFILLED_REASONS``, Chinese labels in ``REASON_LABELS``) and, where candidates were at
capacity, who they are and which needs took them. ``summarise``/``compare`` give the figures the
province reads; ``shortage_report`` counts open needs per (skill term, prefecture).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt

# OR-Tools is imported where a plan is solved, not with the module: it pulls in pandas and costs
# every worker process 0.4 s of start-up (python -X importtime), for an action taken rarely.

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Scores are sent to OR-Tools as integers in millionths.
SCORE_SCALE = 1_000_000

Method = Literal["min_cost_flow", "cp_sat", "limited_flow", "greedy"]
# Above this many usable pairs an employer limit is met by the limited flow alone (see above).
MAX_EXACT_PAIRS = 150_000
UnfilledReason = Literal[
    "no_candidate",
    "not_eligible",
    "below_min_score",
    "too_few_candidates",
    "capacity_taken",
    "employer_limit",
    "no_gain",
    "not_chosen",
]
UNFILLED_REASONS: tuple[UnfilledReason, ...] = (
    "no_candidate",  # the need has no candidate row at all
    "not_eligible",  # candidates, but none passes the programme rules
    "below_min_score",  # eligible candidates, all below the minimum score
    "too_few_candidates",  # every usable candidate already serves this need
    "capacity_taken",  # every other usable candidate is at capacity (see ``taken``)
    "employer_limit",  # a free candidate is barred by the per-county employer limit
    "no_gain",  # the free candidates' scores are not positive: placing them adds nothing
    "not_chosen",  # a free, positive candidate was left: CP-SAT at its time limit, or limited_flow
)
REASON_LABELS: Mapping[UnfilledReason, str] = MappingProxyType(
    {
        "no_candidate": "没有任何候选人",
        "not_eligible": "候选人均不符合项目条件",
        "below_min_score": "候选人匹配分均低于最低分",
        "too_few_candidates": "合格候选人已全部安排到本需求，人数仍不足",
        "capacity_taken": "合格候选人的服务名额已被其他需求占用",
        "employer_limit": "剩余候选人受同一单位每县人数上限限制",
        "no_gain": "剩余候选人匹配分不为正",
        "not_chosen": "求解未证明最优（规模过大或超出时限），仍有候选人未安排",
    }
)
# Unfilled needs that count as a shortage of adequate people (``not_chosen`` is the solver's).
SHORTAGE_REASONS: frozenset[str] = frozenset(UNFILLED_REASONS) - {"not_chosen"}


def _frozen(values: npt.ArrayLike, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    out = np.array(values, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class AllocationProblem:
    """One province-wide planning run: candidate pairs, capacities, headcounts and the rules.

    Candidate rows (``E`` of them, one per distinct (need, person) pair):
    ``cand_need`` int32[E] need row, ``cand_person`` int32[E] person row, ``cand_score``
    float64[E] fused score (higher is better; the engine's are about 0..2), ``eligible`` bool[E]
    the programme rules.
    People (``P``): ``person_capacity`` int32[P] remaining places; ``person_employer`` int64[P]
    employer label, -1 unknown.
    Needs (``N``): ``need_headcount`` int32[N] remaining seats; ``need_poverty`` bool[N] in a
    former poverty county; ``need_county`` int64[N] county label; ``need_order`` int64[N]
    posting order for the baseline (smaller first, ties by row).
    Rules: ``poverty_floor`` True (hard, lexicographic), a float weight >= 0 (soft) or False;
    ``min_score``: pairs below it are not used; ``max_per_employer_per_county``: at most this many
    distinct people of one known employer serve one county's needs.

    Arrays are copied read-only. ``AllocationProblem.build`` fills the optional arrays.
    """

    cand_need: Int32Array
    cand_person: Int32Array
    cand_score: FloatArray
    eligible: BoolArray
    person_capacity: Int32Array
    person_employer: IntArray
    need_headcount: Int32Array
    need_poverty: BoolArray
    need_county: IntArray
    need_order: IntArray
    poverty_floor: bool | float = False
    min_score: float | None = None
    max_per_employer_per_county: int | None = None

    def __post_init__(self) -> None:
        dtypes: dict[str, type[np.generic]] = {
            "cand_need": np.int32,
            "cand_person": np.int32,
            "cand_score": np.float64,
            "eligible": np.bool_,
            "person_capacity": np.int32,
            "person_employer": np.int64,
            "need_headcount": np.int32,
            "need_poverty": np.bool_,
            "need_county": np.int64,
            "need_order": np.int64,
        }
        for name, dtype in dtypes.items():
            arr = _frozen(getattr(self, name), dtype)
            if arr.ndim != 1:
                raise ValueError(f"{name} must be one-dimensional")
            object.__setattr__(self, name, arr)
        e, p, n = len(self.cand_need), len(self.person_capacity), len(self.need_headcount)
        for name, size in (
            ("cand_person", e),
            ("cand_score", e),
            ("eligible", e),
            ("person_employer", p),
            ("need_poverty", n),
            ("need_county", n),
            ("need_order", n),
        ):
            if len(getattr(self, name)) != size:
                raise ValueError(f"{name} has length {len(getattr(self, name))}, expected {size}")
        if e and not (0 <= self.cand_need.min() and self.cand_need.max() < n):
            raise ValueError("cand_need out of range")
        if e and not (0 <= self.cand_person.min() and self.cand_person.max() < p):
            raise ValueError("cand_person out of range")
        if not np.isfinite(self.cand_score).all():
            raise ValueError("cand_score must be finite")
        if (self.person_capacity < 0).any() or (self.need_headcount < 0).any():
            raise ValueError("capacities and headcounts must not be negative")
        pair = self.cand_need.astype(np.int64) * max(p, 1) + self.cand_person
        if len(np.unique(pair)) != e:
            raise ValueError("a (need, person) pair appears more than once")
        floor = self.poverty_floor
        if not isinstance(floor, bool) and not (math.isfinite(floor) and floor >= 0):
            raise ValueError("poverty_floor must be a bool or a finite weight >= 0")
        if self.min_score is not None and not math.isfinite(self.min_score):
            raise ValueError("min_score must be finite")
        k = self.max_per_employer_per_county
        if k is not None and k < 1:
            raise ValueError("max_per_employer_per_county must be at least 1")

    @classmethod
    def build(
        cls,
        *,
        cand_need: npt.ArrayLike,
        cand_person: npt.ArrayLike,
        cand_score: npt.ArrayLike,
        person_capacity: npt.ArrayLike,
        need_headcount: npt.ArrayLike,
        eligible: npt.ArrayLike | None = None,
        person_employer: npt.ArrayLike | None = None,
        need_poverty: npt.ArrayLike | None = None,
        need_county: npt.ArrayLike | None = None,
        need_order: npt.ArrayLike | None = None,
        poverty_floor: bool | float = False,
        min_score: float | None = None,
        max_per_employer_per_county: int | None = None,
    ) -> AllocationProblem:
        """A problem with defaults: all eligible, employers unknown, no poverty need, one
        county, posting order = row order."""
        e = len(np.asarray(cand_need))
        p = len(np.asarray(person_capacity))
        n = len(np.asarray(need_headcount))
        return cls(
            cand_need=np.asarray(cand_need, dtype=np.int32),
            cand_person=np.asarray(cand_person, dtype=np.int32),
            cand_score=np.asarray(cand_score, dtype=np.float64),
            eligible=np.ones(e, bool) if eligible is None else np.asarray(eligible, dtype=bool),
            person_capacity=np.asarray(person_capacity, dtype=np.int32),
            person_employer=np.full(p, -1, np.int64)
            if person_employer is None
            else np.asarray(person_employer, dtype=np.int64),
            need_headcount=np.asarray(need_headcount, dtype=np.int32),
            need_poverty=np.zeros(n, bool)
            if need_poverty is None
            else np.asarray(need_poverty, dtype=bool),
            need_county=np.zeros(n, np.int64)
            if need_county is None
            else np.asarray(need_county, dtype=np.int64),
            need_order=np.arange(n, dtype=np.int64)
            if need_order is None
            else np.asarray(need_order, dtype=np.int64),
            poverty_floor=poverty_floor,
            min_score=min_score,
            max_per_employer_per_county=max_per_employer_per_county,
        )

    @property
    def usable(self) -> BoolArray:
        """bool[E]: eligible and at least ``min_score``."""
        ok = self.eligible.copy()
        if self.min_score is not None:
            ok &= self.cand_score >= self.min_score
        return ok

    @property
    def gain(self) -> IntArray:
        """int64[E]: the scores as the solver sees them, ``round(score * SCORE_SCALE)``."""
        out: IntArray = np.rint(self.cand_score * SCORE_SCALE).astype(np.int64)
        return out


@dataclass(frozen=True, slots=True)
class TakenBy:
    """A candidate at capacity and the needs (rows) that hold their places."""

    person: int
    needs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Unfilled:
    """A need with ``missing`` seats left open, and why.

    ``taken``: its usable candidates (not serving it) who are at capacity, with the needs that
    took them; ``free``: its usable candidates with places left who were not given to it
    (barred by the employer limit, or not worth it: see ``reason``).
    """

    need: int
    missing: int
    reason: UnfilledReason
    taken: tuple[TakenBy, ...] = ()
    free: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class Allocation:
    """A plan (or the baseline): one row per placement, sorted by (need, person).

    ``assign_edge`` int64[K] candidate row of ``AllocationProblem``; ``assign_need`` int32[K],
    ``assign_person`` int32[K], ``assign_score`` float64[K] copied from it. ``need_filled``
    int32[N] seats filled per need; ``unfilled``: every need with seats left, by need row.
    ``optimal``: the solver proved the plan optimal (False for the baseline); ``gap``: how
    much the objective (score, plus the soft floor's bonus) could still improve, in score units,
    by the solver's bound (0.0 when optimal, None for the baseline).
    """

    assign_edge: IntArray
    assign_need: Int32Array
    assign_person: Int32Array
    assign_score: FloatArray
    need_filled: Int32Array
    total_score: float
    unfilled: tuple[Unfilled, ...]
    method: Method
    optimal: bool
    gap: float | None = None


# ---------------------------------------------------------------------------------------------
# The plan


def solve(
    problem: AllocationProblem,
    *,
    time_limit_s: float = 60.0,
    workers: int = 1,
    max_exact_pairs: int | None = None,
) -> Allocation:
    """The optimal plan for ``problem`` (see the module docstring for the objective).

    ``time_limit_s``/``workers`` apply to CP-SAT only, which runs when an employer limit is set
    and the flow's plan breaks it; if CP-SAT stops before proving optimality the best plan found
    is returned with ``optimal=False``. With more than ``max_exact_pairs`` usable pairs (None:
    ``MAX_EXACT_PAIRS``) CP-SAT is not run and the limited flow's plan is returned
    (``limited_flow``, ``optimal=False``).
    """
    gain = problem.gain
    bonus = _floor_bonus(problem, gain)
    edges = np.flatnonzero(problem.usable & ((gain > 0) | (bonus[problem.cand_need] > 0)))
    chosen = _solve_flow(problem, edges, gain, bonus)
    k = problem.max_per_employer_per_county
    if k is None:
        return _allocation(problem, chosen, "min_cost_flow", optimal=True, gap=0.0)
    groups = _crowded_groups(problem, edges, k)
    if not groups or not _breaks_limit(problem, chosen, k):
        return _allocation(problem, chosen, "min_cost_flow", optimal=True, gap=0.0)
    hint = _limited_flow(problem, edges, gain, bonus, chosen, k)
    if len(edges) > (MAX_EXACT_PAIRS if max_exact_pairs is None else max_exact_pairs):
        return _allocation(problem, hint, "limited_flow", optimal=False, gap=None)
    chosen, optimal, gap = _solve_cp_sat(
        problem, edges, gain, bonus, groups, hint, time_limit_s=time_limit_s, workers=workers
    )
    return _allocation(problem, chosen, "cp_sat", optimal=optimal, gap=gap)


def _floor_bonus(problem: AllocationProblem, gain: IntArray) -> IntArray:
    """int64[N]: what covering each need (its first seat) adds to the objective."""
    n = len(problem.need_headcount)
    floor = problem.poverty_floor
    if floor is True:
        # larger than any change of the score part, so coverage comes first
        usable = problem.usable
        value = int(np.abs(gain[usable]).sum()) + 1
    elif floor is False:
        value = 0
    else:
        value = round(float(floor) * SCORE_SCALE)
    out = np.zeros(n, np.int64)
    out[problem.need_poverty & (problem.need_headcount > 0)] = value
    return out


def _solve_flow(
    problem: AllocationProblem, edges: IntArray, gain: IntArray, bonus: IntArray
) -> IntArray:
    """Candidate rows chosen by min-cost flow on the pairs ``edges`` (no employer limit)."""
    p, n = len(problem.person_capacity), len(problem.need_headcount)
    if len(edges) == 0:
        return np.zeros(0, np.int64)
    source, sink = 0, 1
    person_node = 2 + np.arange(p, dtype=np.int64)
    need_node = 2 + p + np.arange(n, dtype=np.int64)
    head = problem.need_headcount.astype(np.int64)
    supply = int(min(int(problem.person_capacity.sum()), int(head.sum())))
    from ortools.graph.python import min_cost_flow

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(p, source),
        person_node,
        problem.person_capacity.astype(np.int64),
        np.zeros(p, np.int64),
    )
    pair_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        person_node[problem.cand_person[edges]],
        need_node[problem.cand_need[edges]],
        np.ones(len(edges), np.int64),
        -gain[edges],
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        need_node, np.full(n, sink), np.minimum(head, 1), -bonus
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        need_node, np.full(n, sink), np.maximum(head - 1, 0), np.zeros(n, np.int64)
    )
    flow.add_arc_with_capacity_and_unit_cost(source, sink, supply, 0)
    flow.set_node_supply(source, supply)
    flow.set_node_supply(sink, -supply)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status!r}")
    used: IntArray = edges[flow.flows(pair_arcs) > 0]
    return used


def _crowded_groups(
    problem: AllocationProblem, edges: IntArray, k: int
) -> dict[tuple[int, int], list[int]]:
    """(employer, county) -> its people, for the groups with more than ``k`` candidate people."""
    emp = problem.person_employer[problem.cand_person[edges]]
    known = emp >= 0
    if not known.any():
        return {}
    rows = np.stack(
        [
            emp[known],
            problem.need_county[problem.cand_need[edges[known]]],
            problem.cand_person[edges[known]].astype(np.int64),
        ],
        axis=1,
    )
    people: dict[tuple[int, int], list[int]] = defaultdict(list)
    for e, c, person in np.unique(rows, axis=0).tolist():
        people[(e, c)].append(person)
    return {key: ps for key, ps in people.items() if len(ps) > k}


def _served(problem: AllocationProblem, chosen: IntArray) -> set[tuple[int, int]]:
    """The (person, county) pairs of a plan."""
    counties = problem.need_county[problem.cand_need[chosen]]
    return set(zip(problem.cand_person[chosen].tolist(), counties.tolist(), strict=True))


def _group_counts(problem: AllocationProblem, chosen: IntArray) -> Counter[tuple[int, int]]:
    """(employer, county) -> distinct people of a plan (known employers only)."""
    counts: Counter[tuple[int, int]] = Counter()
    for person, county in _served(problem, chosen):
        emp = int(problem.person_employer[person])
        if emp >= 0:
            counts[(emp, county)] += 1
    return counts


def _breaks_limit(problem: AllocationProblem, chosen: IntArray, k: int) -> bool:
    return any(v > k for v in _group_counts(problem, chosen).values())


def _over_full(
    problem: AllocationProblem, chosen: IntArray, gain: IntArray, k: int
) -> set[tuple[int, int]]:
    """(person, county) pairs beyond the ``k`` best people (by their gain there) of each
    (employer, county) group of a plan."""
    by_group: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for e in chosen.tolist():
        person = int(problem.cand_person[e])
        emp = int(problem.person_employer[person])
        if emp >= 0:
            county = int(problem.need_county[problem.cand_need[e]])
            by_group[(emp, county)][person] += int(gain[e])
    out: set[tuple[int, int]] = set()
    for (_, county), totals in by_group.items():
        ranked = sorted(totals, key=lambda q: (-totals[q], q))
        out.update((q, county) for q in ranked[k:])
    return out


def _without(problem: AllocationProblem, rows: IntArray, pairs: set[tuple[int, int]]) -> IntArray:
    """``rows`` minus the candidate rows of the (person, county) ``pairs``."""
    if not pairs:
        return rows
    counties = problem.need_county[problem.cand_need[rows]].tolist()
    keep = [
        (p, c) not in pairs
        for p, c in zip(problem.cand_person[rows].tolist(), counties, strict=True)
    ]
    out: IntArray = rows[np.asarray(keep, dtype=bool)]
    return out


def _limited_flow(
    problem: AllocationProblem,
    edges: IntArray,
    gain: IntArray,
    bonus: IntArray,
    chosen: IntArray,
    k: int,
    rounds: int = 10,
) -> IntArray:
    """A good plan within the employer limit, the hint for CP-SAT: bar the weakest people of
    each over-full group from that county and solve the flow again, until none is over full
    (or, after ``rounds``, cut the over-full groups)."""
    barred: set[tuple[int, int]] = set()
    for _ in range(rounds):
        over = _over_full(problem, chosen, gain, k)
        if not over:
            return chosen
        barred |= over
        chosen = _solve_flow(problem, _without(problem, edges, barred), gain, bonus)
    return _without(problem, chosen, _over_full(problem, chosen, gain, k))


def _solve_cp_sat(
    problem: AllocationProblem,
    edges: IntArray,
    gain: IntArray,
    bonus: IntArray,
    groups: Mapping[tuple[int, int], Sequence[int]],
    hint: IntArray,
    *,
    time_limit_s: float,
    workers: int,
) -> tuple[IntArray, bool, float | None]:
    """Candidate rows chosen by CP-SAT with the employer limit, whether proven optimal, and the
    gap to its bound in score units (of the last stage)."""
    from ortools.sat.python import cp_model

    k = problem.max_per_employer_per_county
    assert k is not None
    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{i}") for i in range(len(edges))]
    persons = problem.cand_person[edges]
    needs = problem.cand_need[edges]
    by_person: dict[int, list[int]] = defaultdict(list)
    by_need: dict[int, list[int]] = defaultdict(list)
    by_person_county: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (person, need) in enumerate(zip(persons.tolist(), needs.tolist(), strict=True)):
        by_person[person].append(i)
        by_need[need].append(i)
        by_person_county[(person, int(problem.need_county[need]))].append(i)
    for person, idx in by_person.items():
        if len(idx) > problem.person_capacity[person]:
            m.add(sum(x[i] for i in idx) <= int(problem.person_capacity[person]))
    for need, idx in by_need.items():
        if len(idx) > problem.need_headcount[need]:
            m.add(sum(x[i] for i in idx) <= int(problem.need_headcount[need]))
    hinted = np.isin(edges, hint)
    hint_served = _served(problem, hint)
    ys: list[cp_model.IntVar] = []
    for (_, county), people in groups.items():
        serves = []
        for person in people:
            y = m.new_bool_var(f"y{person}_{county}")
            for i in by_person_county[(person, county)]:
                m.add_implication(x[i], y)
            m.add_hint(y, (person, county) in hint_served)
            serves.append(y)
        ys.extend(serves)
        m.add(sum(serves) <= k)
    covered: list[tuple[cp_model.IntVar, int]] = []
    hint_count = 0
    for need, idx in by_need.items():
        if bonus[need] > 0:
            z = m.new_bool_var(f"z{need}")
            m.add_bool_or([x[i] for i in idx]).only_enforce_if(z)
            m.add_hint(z, bool(hinted[idx].any()))
            hint_count += bool(hinted[idx].any())
            covered.append((z, int(bonus[need])))
    for i, v in enumerate(x):
        m.add_hint(v, bool(hinted[i]))
    score = cp_model.LinearExpr.weighted_sum(x, gain[edges].tolist())

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 0
    # at province scale probing and symmetry detection cost more presolve time than they save
    solver.parameters.cp_model_probing_level = 0
    solver.parameters.symmetry_level = 0
    optimal = True
    if problem.poverty_floor is True and covered:
        # stage 1 cares for coverage only, so its plan may be poor in score: stage 2 starts
        # from the hint when the hint already has the best coverage (the usual case)
        solver.parameters.max_time_in_seconds = time_limit_s / 2
        count = sum(z for z, _ in covered)
        m.maximize(count)
        status = solver.solve(m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return hint, False, None
        optimal = status == cp_model.OPTIMAL
        best = round(solver.objective_value)
        if best > hint_count:
            m.clear_hints()  # type: ignore[no-untyped-call]
            for v in [*x, *ys, *(z for z, _ in covered)]:
                m.add_hint(v, solver.boolean_value(v))
        m.add(count >= best)
        solver.parameters.max_time_in_seconds = max(1.0, time_limit_s - solver.wall_time)
        m.maximize(score)
    else:
        m.maximize(score + sum(w * z for z, w in covered))
    status = solver.solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return hint, False, None
    values = np.array([solver.boolean_value(v) for v in x], dtype=bool)
    gap = max(0.0, solver.best_objective_bound - solver.objective_value) / SCORE_SCALE
    return edges[values], optimal and status == cp_model.OPTIMAL, gap


# ---------------------------------------------------------------------------------------------
# The baseline


def greedy(problem: AllocationProblem) -> Allocation:
    """The first-come baseline: needs in posting order (``need_order``, ties by row) each take
    their best free usable candidates (score, then person row), up to their headcount, within
    capacity and the employer limit. No floor: posting order is all it knows."""
    usable = np.flatnonzero(problem.usable)
    # np.lexsort sorts by its last key first: posting order, then need row, score, person
    order = usable[
        np.lexsort(
            (
                problem.cand_person[usable],
                -problem.cand_score[usable],
                problem.cand_need[usable],
                problem.need_order[problem.cand_need[usable]],
            )
        )
    ]
    load = np.zeros(len(problem.person_capacity), np.int64)
    filled = np.zeros(len(problem.need_headcount), np.int64)
    k = problem.max_per_employer_per_county
    served: set[tuple[int, int]] = set()
    groups: Counter[tuple[int, int]] = Counter()
    chosen: list[int] = []
    for e in order.tolist():
        need, person = int(problem.cand_need[e]), int(problem.cand_person[e])
        if filled[need] >= problem.need_headcount[need]:
            continue
        if load[person] >= problem.person_capacity[person]:
            continue
        county = int(problem.need_county[need])
        emp = int(problem.person_employer[person])
        new_here = (person, county) not in served
        if k is not None and emp >= 0 and new_here and groups[(emp, county)] >= k:
            continue
        chosen.append(e)
        load[person] += 1
        filled[need] += 1
        if new_here:
            served.add((person, county))
            if emp >= 0:
                groups[(emp, county)] += 1
    return _allocation(problem, np.asarray(chosen, np.int64), "greedy", optimal=False)


# ---------------------------------------------------------------------------------------------
# Results and reasons


def _allocation(
    problem: AllocationProblem,
    chosen: IntArray,
    method: Method,
    *,
    optimal: bool,
    gap: float | None = None,
) -> Allocation:
    chosen = np.asarray(chosen, dtype=np.int64)
    chosen = chosen[np.lexsort((problem.cand_person[chosen], problem.cand_need[chosen]))]
    filled = np.bincount(problem.cand_need[chosen], minlength=len(problem.need_headcount))
    assign_score = problem.cand_score[chosen]
    return Allocation(
        assign_edge=chosen,
        assign_need=problem.cand_need[chosen],
        assign_person=problem.cand_person[chosen],
        assign_score=assign_score,
        need_filled=filled.astype(np.int32),
        total_score=float(assign_score.sum()),
        unfilled=explain_unfilled(problem, chosen),
        method=method,
        optimal=optimal,
        gap=gap,
    )


def explain_unfilled(problem: AllocationProblem, chosen: npt.ArrayLike) -> tuple[Unfilled, ...]:
    """Why each need with open seats after the placements ``chosen`` (candidate rows) is open.

    The first that applies: no candidate row; none eligible; none at the minimum score; every
    usable candidate already serves it; every other usable one is at capacity; a free one is
    barred by the employer limit; the free ones' scaled scores are not positive; else
    ``not_chosen``.
    """
    chosen = np.asarray(chosen, dtype=np.int64)
    p, n = len(problem.person_capacity), len(problem.need_headcount)
    filled = np.bincount(problem.cand_need[chosen], minlength=n)
    load = np.bincount(problem.cand_person[chosen], minlength=p)
    holds: dict[int, list[int]] = defaultdict(list)
    serving: dict[int, set[int]] = defaultdict(set)
    for need, person in zip(
        problem.cand_need[chosen].tolist(), problem.cand_person[chosen].tolist(), strict=True
    ):
        holds[person].append(need)
        serving[need].add(person)
    k = problem.max_per_employer_per_county
    served = _served(problem, chosen)
    groups = _group_counts(problem, chosen)
    usable = problem.usable
    gain = problem.gain
    by_need = np.argsort(problem.cand_need, kind="stable")
    starts = np.searchsorted(problem.cand_need[by_need], np.arange(n + 1))
    out: list[Unfilled] = []
    for need in np.flatnonzero(filled < problem.need_headcount).tolist():
        missing = int(problem.need_headcount[need] - filled[need])
        rows = by_need[starts[need] : starts[need + 1]]
        if len(rows) == 0:
            out.append(Unfilled(need, missing, "no_candidate"))
            continue
        if not problem.eligible[rows].any():
            out.append(Unfilled(need, missing, "not_eligible"))
            continue
        if not usable[rows].any():
            out.append(Unfilled(need, missing, "below_min_score"))
            continue
        others = [
            e for e in rows.tolist() if usable[e] and problem.cand_person[e] not in serving[need]
        ]
        if not others:
            out.append(Unfilled(need, missing, "too_few_candidates"))
            continue
        others.sort(key=lambda e: (-problem.cand_score[e], problem.cand_person[e]))
        taken = tuple(
            TakenBy(int(problem.cand_person[e]), tuple(sorted(holds[int(problem.cand_person[e])])))
            for e in others
            if load[problem.cand_person[e]] >= problem.person_capacity[problem.cand_person[e]]
        )
        free = [
            e
            for e in others
            if load[problem.cand_person[e]] < problem.person_capacity[problem.cand_person[e]]
        ]
        free_people = tuple(int(problem.cand_person[e]) for e in free)
        county = int(problem.need_county[need])
        barred = [
            k is not None
            and (emp := int(problem.person_employer[problem.cand_person[e]])) >= 0
            and (int(problem.cand_person[e]), county) not in served
            and groups[(emp, county)] >= k
            for e in free
        ]
        reason: UnfilledReason
        if not free:
            reason = "capacity_taken"
        elif any(not b and gain[e] > 0 for e, b in zip(free, barred, strict=True)):
            reason = "not_chosen"
        elif any(barred):
            reason = "employer_limit"
        else:
            reason = "no_gain"
        out.append(Unfilled(need, missing, reason, taken, free_people))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class AllocationSummary:
    """The figures of one plan the province compares (needs and seats with headcount > 0).

    ``poverty_counties_*``: distinct ``need_county`` labels of poverty needs with an open need /
    with a covered need. ``hometown_placements``: placements whose pair is a hometown pair, when
    the caller passed ``cand_hometown``.
    """

    method: Method
    needs_open: int
    needs_covered: int
    needs_filled: int
    seats_open: int
    seats_filled: int
    total_score: float
    mean_score: float
    poverty_needs_open: int
    poverty_needs_covered: int
    poverty_counties_open: int
    poverty_counties_covered: int
    counties_covered: int
    hometown_placements: int | None
    unfilled_by_reason: Mapping[str, int]


def summarise(
    problem: AllocationProblem, allocation: Allocation, cand_hometown: npt.ArrayLike | None = None
) -> AllocationSummary:
    """Counts of ``allocation`` on ``problem``; ``cand_hometown`` bool[E] marks hometown pairs."""
    open_ = problem.need_headcount > 0
    covered = open_ & (allocation.need_filled > 0)
    poverty = problem.need_poverty & open_
    home = None
    if cand_hometown is not None:
        flags = np.asarray(cand_hometown, dtype=bool)
        if len(flags) != len(problem.cand_need):
            raise ValueError("cand_hometown must have one flag per candidate row")
        home = int(flags[allocation.assign_edge].sum())
    k = len(allocation.assign_edge)
    return AllocationSummary(
        method=allocation.method,
        needs_open=int(open_.sum()),
        needs_covered=int(covered.sum()),
        needs_filled=int((open_ & (allocation.need_filled >= problem.need_headcount)).sum()),
        seats_open=int(problem.need_headcount.sum()),
        seats_filled=int(allocation.need_filled.sum()),
        total_score=allocation.total_score,
        mean_score=allocation.total_score / k if k else 0.0,
        poverty_needs_open=int(poverty.sum()),
        poverty_needs_covered=int((poverty & covered).sum()),
        poverty_counties_open=len(set(problem.need_county[poverty].tolist())),
        poverty_counties_covered=len(set(problem.need_county[poverty & covered].tolist())),
        counties_covered=len(set(problem.need_county[covered].tolist())),
        hometown_placements=home,
        unfilled_by_reason=MappingProxyType(dict(Counter(u.reason for u in allocation.unfilled))),
    )


@dataclass(frozen=True, slots=True)
class PlanComparison:
    """The plan beside the first-come baseline on the same data."""

    plan: AllocationSummary
    baseline: AllocationSummary

    @property
    def gain(self) -> Mapping[str, float]:
        """Plan minus baseline for every numeric figure (hometown only when both have it)."""
        out: dict[str, float] = {}
        for f in fields(AllocationSummary):
            a, b = getattr(self.plan, f.name), getattr(self.baseline, f.name)
            if isinstance(a, int | float) and isinstance(b, int | float):
                out[f.name] = a - b
        return MappingProxyType(out)


def compare(
    problem: AllocationProblem,
    plan: Allocation,
    baseline: Allocation | None = None,
    cand_hometown: npt.ArrayLike | None = None,
) -> PlanComparison:
    """``plan`` against ``baseline`` (default: ``greedy(problem)``)."""
    if baseline is None:
        baseline = greedy(problem)
    return PlanComparison(
        summarise(problem, plan, cand_hometown), summarise(problem, baseline, cand_hometown)
    )


# ---------------------------------------------------------------------------------------------
# Shortage


@dataclass(frozen=True, slots=True)
class ShortageCell:
    """Open needs (and their open seats) with one skill term in one prefecture."""

    term: str
    prefecture: str
    needs: int
    seats: int


def shortage_report(
    unfilled: Sequence[Unfilled],
    need_terms: Sequence[Sequence[str]],
    need_prefecture: Sequence[str],
    *,
    reasons: Collection[str] = SHORTAGE_REASONS,
) -> tuple[ShortageCell, ...]:
    """Skill term x prefecture cells of the needs left open for one of ``reasons``.

    ``need_terms``: per need row, its skill terms (industry / field words; a term repeated in
    one need counts once); ``need_prefecture``: per need row, its prefecture label. Sorted by
    needs, then seats (most first), then prefecture and term.
    """
    needs: Counter[tuple[str, str]] = Counter()
    seats: Counter[tuple[str, str]] = Counter()
    for u in unfilled:
        if u.reason not in reasons:
            continue
        pref = need_prefecture[u.need]
        for term in dict.fromkeys(need_terms[u.need]):
            needs[(term, pref)] += 1
            seats[(term, pref)] += u.missing
    cells = [ShortageCell(t, pref, c, seats[(t, pref)]) for (t, pref), c in needs.items()]
    cells.sort(key=lambda s: (-s.needs, -s.seats, s.prefecture, s.term))
    return tuple(cells)
