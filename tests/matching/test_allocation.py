"""The province-wide solver against brute force on small random instances, and hand-made cases
for the baseline, the unfilled reasons, the summary and the shortage table."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from matching.allocation import (
    REASON_LABELS,
    SCORE_SCALE,
    UNFILLED_REASONS,
    Allocation,
    AllocationProblem,
    TakenBy,
    Unfilled,
    compare,
    explain_unfilled,
    greedy,
    shortage_report,
    solve,
    summarise,
)

# rounding each placement's score to millionths: a plan may lose at most this per placement
TOL = 12 / SCORE_SCALE


def random_problem(rng: np.random.Generator, **rules: object) -> AllocationProblem:
    """At most 6 needs, 6 people and 12 candidate pairs, with every kind of row."""
    n, p = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    pairs = [(i, j) for i in range(n) for j in range(p) if rng.random() < 0.5]
    rng.shuffle(pairs)
    pairs = pairs[:12]
    e = len(pairs)
    return AllocationProblem.build(
        cand_need=[i for i, _ in pairs],
        cand_person=[j for _, j in pairs],
        cand_score=np.round(rng.uniform(-0.3, 2.0, e), 3),
        eligible=rng.random(e) < 0.85,
        person_capacity=rng.integers(0, 3, p),
        person_employer=rng.integers(-1, 2, p),
        need_headcount=rng.integers(0, 3, n),
        need_poverty=rng.random(n) < 0.4,
        need_county=rng.integers(0, 2, n),
        need_order=rng.permutation(n),
        **rules,  # type: ignore[arg-type]
    )


def brute_force(problem: AllocationProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every feasible set of usable pairs: masks (S, E), their score and poverty coverage."""
    usable = np.flatnonzero(problem.usable)
    e, n, p = len(problem.cand_need), len(problem.need_headcount), len(problem.person_capacity)
    bits = np.arange(2 ** len(usable))[:, None] >> np.arange(len(usable)) & 1
    masks = np.zeros((len(bits), e), dtype=bool)
    masks[:, usable] = bits.astype(bool)
    x = masks.astype(np.int64)
    person_load = x @ np.eye(p, dtype=np.int64)[problem.cand_person]
    need_load = x @ np.eye(n, dtype=np.int64)[problem.cand_need]
    ok = (person_load <= problem.person_capacity).all(1) & (
        need_load <= problem.need_headcount
    ).all(1)
    k = problem.max_per_employer_per_county
    if k is not None:
        county = problem.need_county[problem.cand_need]
        for emp in set(problem.person_employer.tolist()) - {-1}:
            for c in set(county.tolist()):
                people = [
                    (masks[:, (problem.cand_person == q) & (county == c)]).any(1)
                    for q in np.flatnonzero(problem.person_employer == emp)
                ]
                if people:
                    ok &= np.sum(people, axis=0) <= k
    score = masks @ problem.cand_score
    covered = ((need_load > 0) & problem.need_poverty).sum(1)
    return masks[ok], score[ok], covered[ok]


def check_feasible(problem: AllocationProblem, a: Allocation) -> None:
    """Every constraint and every derived field of an allocation."""
    e = a.assign_edge
    assert len(set(e.tolist())) == len(e)
    assert problem.usable[e].all()
    np.testing.assert_array_equal(a.assign_need, problem.cand_need[e])
    np.testing.assert_array_equal(a.assign_person, problem.cand_person[e])
    np.testing.assert_array_equal(a.assign_score, problem.cand_score[e])
    load = np.bincount(a.assign_person, minlength=len(problem.person_capacity))
    assert (load <= problem.person_capacity).all()
    filled = np.bincount(a.assign_need, minlength=len(problem.need_headcount))
    assert (filled <= problem.need_headcount).all()
    np.testing.assert_array_equal(a.need_filled, filled)
    assert a.total_score == pytest.approx(float(problem.cand_score[e].sum()))
    if problem.min_score is not None:
        assert (a.assign_score >= problem.min_score).all()
    k = problem.max_per_employer_per_county
    if k is not None:
        distinct = Counter(
            (int(problem.person_employer[q]), c)
            for q, c in {
                (int(q), int(problem.need_county[n]))
                for q, n in zip(a.assign_person, a.assign_need, strict=True)
            }
            if problem.person_employer[q] >= 0
        )
        assert all(v <= k for v in distinct.values())
    open_needs = np.flatnonzero(filled < problem.need_headcount).tolist()
    assert [u.need for u in a.unfilled] == open_needs
    assert all(u.missing == problem.need_headcount[u.need] - filled[u.need] for u in a.unfilled)


RULES = [
    pytest.param({}, id="plain"),
    pytest.param({"min_score": 0.8}, id="min_score"),
    pytest.param({"max_per_employer_per_county": 1}, id="employer_limit"),
    pytest.param({"poverty_floor": 0.7}, id="soft_floor"),
    pytest.param({"poverty_floor": True}, id="hard_floor"),
    pytest.param(
        {"poverty_floor": True, "max_per_employer_per_county": 1, "min_score": 0.2},
        id="hard_floor_employer_min",
    ),
    pytest.param(
        {"poverty_floor": 0.7, "max_per_employer_per_county": 1}, id="soft_floor_employer"
    ),
]


@pytest.mark.parametrize("rules", RULES)
def test_solver_matches_brute_force(rules: dict[str, object]) -> None:
    rng = np.random.default_rng(11)
    methods: Counter[str] = Counter()
    for _ in range(150):
        problem = random_problem(rng, **rules)
        plan = solve(problem)
        check_feasible(problem, plan)
        assert plan.optimal
        methods[plan.method] += 1
        masks, score, covered = brute_force(problem)
        got_covered = int(((plan.need_filled > 0) & problem.need_poverty).sum())
        floor = problem.poverty_floor
        if floor is True:
            assert got_covered == covered.max()
            assert plan.total_score == pytest.approx(score[covered == covered.max()].max(), abs=TOL)
        else:
            w = float(floor)
            best = (score + w * covered).max()
            assert plan.total_score + w * got_covered == pytest.approx(best, abs=TOL)
    if "max_per_employer_per_county" in rules:
        # the limit must bind often enough that CP-SAT is tested, not only the flow
        assert methods["cp_sat"] >= 10


@pytest.mark.parametrize("rules", RULES)
def test_greedy_is_feasible_and_never_beats_the_plan_without_a_floor(
    rules: dict[str, object],
) -> None:
    rng = np.random.default_rng(5)
    gains = []
    for _ in range(150):
        problem = random_problem(rng, **rules)
        base = greedy(problem)
        check_feasible(problem, base)
        assert base.method == "greedy"
        assert not base.optimal
        assert base.gap is None
        plan = solve(replace(problem, poverty_floor=False))
        assert base.total_score <= plan.total_score + TOL
        gains.append(plan.total_score - base.total_score)
    assert max(gains) > 0.1  # the instances do tell a plan from the baseline


def test_greedy_takes_needs_in_posting_order() -> None:
    # need 1 was posted first and takes person 0, its best; need 0 then has only person 0, who
    # is gone; the plan gives need 1 its second best and need 0 person 0
    problem = AllocationProblem.build(
        cand_need=[0, 1, 1],
        cand_person=[0, 0, 1],
        cand_score=[0.9, 1.5, 1.4],
        person_capacity=[1, 1],
        need_headcount=[1, 1],
        need_order=[7, 3],
    )
    base = greedy(problem)
    assert base.assign_need.tolist() == [1]
    assert base.assign_person.tolist() == [0]
    assert base.unfilled == (Unfilled(0, 1, "capacity_taken", (TakenBy(0, (1,)),)),)
    plan = solve(problem)
    assert plan.assign_person.tolist() == [0, 1]
    assert plan.total_score == pytest.approx(2.3)
    assert plan.unfilled == ()
    gain = compare(problem, plan, base).gain
    assert gain["total_score"] == pytest.approx(0.8)
    assert gain["seats_filled"] == 1
    # with the other posting order the baseline is the plan
    assert greedy(replace(problem, need_order=[3, 7])).total_score == pytest.approx(2.3)


def test_hard_floor_covers_the_poverty_need_first_and_soft_floor_weighs_it() -> None:
    # person 0 is the only candidate of poverty need 1, but scores better on need 0
    problem = AllocationProblem.build(
        cand_need=[0, 1],
        cand_person=[0, 0],
        cand_score=[1.9, 0.2],
        person_capacity=[1],
        need_headcount=[1, 1],
        need_poverty=[False, True],
        need_county=[10, 20],
    )
    plain = solve(problem)
    assert plain.assign_need.tolist() == [0]
    assert plain.unfilled == (Unfilled(1, 1, "capacity_taken", (TakenBy(0, (0,)),)),)
    hard = solve(replace(problem, poverty_floor=True))
    assert hard.assign_need.tolist() == [1]
    assert hard.total_score == pytest.approx(0.2)
    assert hard.unfilled == (Unfilled(0, 1, "capacity_taken", (TakenBy(0, (1,)),)),)
    assert solve(replace(problem, poverty_floor=1.0)).assign_need.tolist() == [0]
    assert solve(replace(problem, poverty_floor=2.0)).assign_need.tolist() == [1]


def test_hard_floor_takes_a_poor_candidate_for_coverage_only() -> None:
    # a negative score adds nothing: only the floor makes person 0 worth placing
    problem = AllocationProblem.build(
        cand_need=[0, 1],
        cand_person=[0, 0],
        cand_score=[-0.1, -0.1],
        person_capacity=[2],
        need_headcount=[1, 1],
        need_poverty=[True, False],
    )
    assert solve(problem).unfilled == (
        Unfilled(0, 1, "no_gain", (), (0,)),
        Unfilled(1, 1, "no_gain", (), (0,)),
    )
    hard = solve(replace(problem, poverty_floor=True))
    assert hard.assign_need.tolist() == [0]
    assert [u.reason for u in hard.unfilled] == ["no_gain"]


def test_unfilled_reasons_on_a_hand_made_case() -> None:
    # need 0: no row; 1: rows not eligible; 2: eligible rows below 0.5; 3: headcount 3, one
    # candidate; 4: its candidates (people 1, 2) are taken by needs 5 and 6; 7: its free
    # candidate (person 4, employer 9) would be a second person of employer 9 in county 1
    problem = AllocationProblem.build(
        cand_need=[1, 2, 3, 4, 4, 5, 6, 7, 7, 8],
        cand_person=[0, 0, 0, 1, 2, 1, 2, 3, 4, 4],
        cand_score=[1.0, 0.3, 1.0, 0.9, 0.9, 1.5, 1.5, 1.9, 0.8, 1.0],
        eligible=[False, True, True, True, True, True, True, True, True, True],
        person_capacity=[3, 1, 1, 1, 2],
        person_employer=[-1, -1, -1, 9, 9],
        need_headcount=[1, 1, 1, 3, 1, 1, 1, 2, 1],
        need_county=[0, 0, 0, 0, 0, 0, 0, 1, 2],
        need_order=[0, 1, 2, 3, 9, 4, 5, 6, 7],  # the baseline serves needs 5 and 6 before 4
        min_score=0.5,
        max_per_employer_per_county=1,
    )
    for a in (solve(problem), greedy(problem)):
        by_need = {u.need: u for u in a.unfilled}
        assert {n: u.reason for n, u in by_need.items()} == {
            0: "no_candidate",
            1: "not_eligible",
            2: "below_min_score",
            3: "too_few_candidates",
            4: "capacity_taken",
            7: "employer_limit",
        }
        assert by_need[3].missing == 2
        assert by_need[4].taken == (TakenBy(1, (5,)), TakenBy(2, (6,)))
        assert by_need[7].free == (4,)
        assert by_need[7].missing == 1
        assert explain_unfilled(problem, a.assign_edge) == a.unfilled
    assert set(REASON_LABELS) == set(UNFILLED_REASONS)


def test_summary_counts_coverage_and_hometown_placements() -> None:
    problem = AllocationProblem.build(
        cand_need=[0, 1, 2, 3],
        cand_person=[0, 1, 2, 2],
        cand_score=[1.0, 0.5, 0.8, 0.4],
        person_capacity=[1, 1, 1],
        need_headcount=[2, 1, 1, 1],
        need_poverty=[True, True, False, True],
        need_county=[5, 6, 7, 8],
    )
    plan = solve(problem)
    s = summarise(problem, plan, cand_hometown=[True, False, True, False])
    assert (s.needs_open, s.needs_covered, s.needs_filled) == (4, 3, 2)
    assert (s.seats_open, s.seats_filled) == (5, 3)
    assert s.total_score == pytest.approx(2.3)
    assert s.mean_score == pytest.approx(2.3 / 3)
    assert (s.poverty_needs_open, s.poverty_needs_covered) == (3, 2)
    assert (s.poverty_counties_open, s.poverty_counties_covered) == (3, 2)
    assert s.counties_covered == 3
    assert s.hometown_placements == 2
    assert dict(s.unfilled_by_reason) == {"too_few_candidates": 1, "capacity_taken": 1}
    with pytest.raises(ValueError, match="cand_hometown"):
        summarise(problem, plan, cand_hometown=[True])


def test_shortage_report_counts_needs_per_term_and_prefecture() -> None:
    unfilled = (
        Unfilled(0, 2, "no_candidate"),
        Unfilled(1, 1, "capacity_taken"),
        Unfilled(2, 1, "below_min_score"),
        Unfilled(3, 1, "not_chosen"),
    )
    terms = [["水稻", "盐碱地", "水稻"], ["水稻"], ["人参"], ["水稻"]]
    prefectures = ["白城市", "白城市", "通化市", "白城市"]
    cells = shortage_report(unfilled, terms, prefectures)
    assert [(c.term, c.prefecture, c.needs, c.seats) for c in cells] == [
        ("水稻", "白城市", 2, 3),
        ("盐碱地", "白城市", 1, 2),
        ("人参", "通化市", 1, 1),
    ]
    only = shortage_report(unfilled, terms, prefectures, reasons={"no_candidate"})
    assert [(c.term, c.needs) for c in only] == [("水稻", 1), ("盐碱地", 1)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cand_person": [0, 0]}, "more than once"),
        ({"cand_person": [0, 5]}, "cand_person out of range"),
        ({"cand_score": [1.0, float("nan")]}, "finite"),
        ({"person_capacity": [-1, 1]}, "negative"),
        ({"need_poverty": [True, False]}, "need_poverty has length"),
        ({"poverty_floor": -0.5}, "poverty_floor"),
        ({"max_per_employer_per_county": 0}, "at least 1"),
    ],
)
def test_problem_rejects_bad_input(change: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "cand_need": [0, 0],
        "cand_person": [0, 1],
        "cand_score": [1.0, 0.5],
        "person_capacity": [1, 1],
        "need_headcount": [1],
    }
    with pytest.raises(ValueError, match=message):
        AllocationProblem.build(**{**base, **change})  # type: ignore[arg-type]


def test_problem_copies_its_arrays_read_only() -> None:
    scores = np.array([1.0, 0.5])
    problem = AllocationProblem.build(
        cand_need=[0, 0],
        cand_person=[0, 1],
        cand_score=scores,
        person_capacity=[1, 1],
        need_headcount=[1],
    )
    scores[0] = -5.0
    assert problem.cand_score[0] == 1.0
    with pytest.raises(ValueError, match="read-only"):
        problem.cand_score[0] = 2.0


def test_employer_limit_at_medium_size_is_feasible_and_bounded_by_the_flow() -> None:
    rng = np.random.default_rng(3)
    n, p, k = 60, 40, 12
    need = np.repeat(np.arange(n), k)
    person = np.concatenate([rng.choice(p, k, replace=False) for _ in range(n)])
    problem = AllocationProblem.build(
        cand_need=need,
        cand_person=person,
        cand_score=rng.uniform(0.0, 2.0, n * k),
        person_capacity=rng.integers(1, 4, p),
        person_employer=rng.integers(-1, 4, p),
        need_headcount=rng.integers(1, 3, n),
        need_county=rng.integers(0, 5, n),
        max_per_employer_per_county=1,
    )
    limited = solve(problem, time_limit_s=20)
    check_feasible(problem, limited)
    assert limited.method == "cp_sat"
    # too many pairs for the exact model: the limited flow's plan, feasible, not called optimal
    large = solve(problem, time_limit_s=20, max_exact_pairs=n * k - 1)
    check_feasible(problem, large)
    assert (large.method, large.optimal, large.gap) == ("limited_flow", False, None)
    assert large.total_score <= limited.total_score + TOL
    assert large.total_score > 0.9 * limited.total_score
    free = solve(replace(problem, max_per_employer_per_county=None))
    assert free.method == "min_cost_flow"
    assert limited.total_score < free.total_score
    assert limited.total_score >= greedy(problem).total_score - TOL
