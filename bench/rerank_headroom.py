"""How far a re-ranker of the fused list's head could take nDCG@10: the oracle bound.

Usage: ``python bench/eval_matching.py --no-write --features /tmp/pools.jsonl`` (each need's
whole scored pool, as for bench/learn_fusion.py), then
``python bench/rerank_headroom.py /tmp/pools.jsonl``.

For each set and each depth d, every need's top d by the default fused score is put in the
best order its labels allow (grade, highest first) and nDCG@10 is taken of that. No re-ranker
of the top d can do better; "whole pool" re-orders every candidate the service scores. The
gap between a depth's bound and the fusion is what a re-ranker of that depth could at most
add; a target above the bound of a depth cannot be reached by re-ranking that deep.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import read_pools  # noqa: E402

from matching.evaluate import load_qrels, ndcg_at_k  # noqa: E402

DATA = ROOT / "bench" / "data"
DEPTHS = (10, 20, 30, 50)


def headroom(pools: list[dict[str, object]], which: str) -> dict[str, float]:
    qrels = load_qrels(DATA / f"{which}_qrels.tsv")
    got: dict[str, list[float]] = defaultdict(list)
    for pool in pools:
        if pool["set"] != which:
            continue
        ids: list[int] = pool["ids"]  # type: ignore[assignment]
        score: list[float] = pool["score"]  # type: ignore[assignment]
        relevance = qrels.get(int(pool["need"]), {})  # type: ignore[call-overload]
        ranked = [ids[i] for i in sorted(range(len(ids)), key=lambda i: -score[i])]
        got["fusion (default)"].append(ndcg_at_k(ranked, relevance, 10))
        for depth in (*DEPTHS, len(ranked)):
            head = sorted(ranked[:depth], key=lambda p: -relevance.get(p, 0))
            label = "whole pool" if depth == len(ranked) else f"top {depth}"
            got[f"best order of the {label}"].append(ndcg_at_k(head, relevance, 10))
    return {k: sum(v) / len(v) for k, v in got.items()} | {"needs": len(got["fusion (default)"])}


def main() -> None:
    pools, sets = read_pools(__doc__.splitlines()[0])
    table = {which: headroom(pools, which) for which in sets}
    rows = [k for k in table[sets[0]] if k != "needs"]
    print("| nDCG@10 | " + " | ".join(f"{w} ({int(table[w]['needs'])} needs)" for w in sets) + " |")
    print("|---|" + "---|" * len(sets))
    for row in rows:
        print(f"| {row} | " + " | ".join(f"{table[w][row]:.3f}" for w in sets) + " |")


if __name__ == "__main__":
    main()
