from __future__ import annotations

import math
from pathlib import Path

import pytest

from matching.evaluate import (
    evaluate_runs,
    load_dev_set,
    load_qrels,
    ndcg_at_k,
    parse_id,
    recall_at_k,
    reciprocal_rank,
)


def test_ndcg_hand_computed() -> None:
    rel = {1: 3, 2: 1, 3: 2}
    # ranked 2, 1, 4: gains 1, 7, 0 -> dcg = 1/log2(2) + 7/log2(3)
    dcg = 1.0 + 7.0 / math.log2(3)
    ideal = 7.0 + 3.0 / math.log2(3) + 1.0 / 2.0
    assert ndcg_at_k([2, 1, 4], rel, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at_k([1, 3, 2], rel, 10) == pytest.approx(1.0)
    assert ndcg_at_k([4, 5], rel, 10) == 0.0
    assert ndcg_at_k([1], {}, 10) == 0.0


def test_ndcg_cuts_at_k() -> None:
    rel = {9: 3}
    assert ndcg_at_k([1, 2, 9], rel, 2) == 0.0
    assert ndcg_at_k([1, 2, 9], rel, 3) == pytest.approx(1.0 / 2.0)


def test_recall_and_mrr() -> None:
    rel = {1: 1, 2: 2, 3: 0, 4: 3}
    assert recall_at_k([5, 2, 3, 1], rel, 2) == pytest.approx(1 / 3)
    assert recall_at_k([5, 2, 3, 1], rel, 4) == pytest.approx(2 / 3)
    assert recall_at_k([4, 2], rel, 10, min_grade=2) == pytest.approx(1.0)
    assert reciprocal_rank([3, 5, 2], rel) == pytest.approx(1 / 3)
    assert reciprocal_rank([3, 5], rel) == 0.0


def test_evaluate_runs_skips_queries_without_relevant_items() -> None:
    qrels = {1: {10: 3}, 2: {20: 0}}
    s = evaluate_runs({1: [10], 2: [20]}, qrels)
    assert s.n_queries == 1
    assert s.ndcg10 == pytest.approx(1.0)
    assert s.mrr == pytest.approx(1.0)


def test_dev_set_loader(tmp_path: Path) -> None:
    (tmp_path / "dev_profiles.jsonl").write_text(
        '{"id": "p001", "kind": "expert", "name": "张", "affiliation": "吉林农大", "title": "教授",'
        ' "fields": ["盐碱地改良"], "expertise": "苏打盐渍土改良", "hometown_county_code": "220822",'
        ' "availability": "part_time", "capacity": 2, "preferred_regions": ["west"]}\n',
        encoding="utf-8",
    )
    (tmp_path / "dev_needs.jsonl").write_text(
        '{"id": "n007", "county_code": "220822", "program": "return_home", "title": "返碱",'
        ' "description": "碱巴拉地", "industry": "种植业", "headcount": 1}\n',
        encoding="utf-8",
    )
    (tmp_path / "dev_qrels.tsv").write_text(
        "need_id\tprofile_id\tgrade\nn007\tp001\t3\n", encoding="utf-8"
    )
    dev = load_dev_set(tmp_path)
    assert dev.profiles[0].id == 1
    assert dev.profiles[0].fields == ("盐碱地改良",)
    assert dev.profiles[0].preferred_regions == ("west",)
    assert dev.needs[0].id == 7
    assert dev.qrels == {7: {1: 3}}
    assert load_qrels(tmp_path / "dev_qrels.tsv") == {7: {1: 3}}
    assert parse_id("p042") == 42
    # the later sets' own profiles share one corpus with the first set's and never meet it
    assert [parse_id(x) for x in ("q001", "r001", "s001", "s080")] == [1001, 2001, 3001, 3080]
