"""The programme signal's weight for 科技特派员 needs: nDCG@10 per weight, from the pools.

Usage: ``python bench/eval_matching.py --no-write --features /tmp/pools.jsonl`` (each need's
whole scored pool with its components), then ``python bench/sweep_programme.py /tmp/pools.jsonl``.

A pool's fused score holds ``FusionWeights().programme`` x the ``programme`` component (-1 for
a returnee or an entrepreneur, else 0) on a 科技特派员 need; each row of the table re-ranks every
pool with another weight in its place, everything else as the service scored it. Choose the
weight on ``dev``; read ``dev2`` (never tuned on) as the honest figure.
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
from matching.fusion import FusionWeights  # noqa: E402

DATA = ROOT / "bench" / "data"
GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)


def sweep(pools: list[dict[str, object]], which: str) -> dict[float, dict[str, float]]:
    """weight -> {"all": nDCG@10, "science_commissioner": nDCG@10 of those needs}."""
    qrels = load_qrels(DATA / f"{which}_qrels.tsv")
    used = FusionWeights().programme
    out: dict[float, dict[str, float]] = {}
    for w in GRID:
        got: dict[str, list[float]] = defaultdict(list)
        for pool in pools:
            if pool["set"] != which:
                continue
            ids: list[int] = pool["ids"]  # type: ignore[assignment]
            score: list[float] = list(pool["score"])  # type: ignore[call-overload]
            if pool["program"] == "science_commissioner":
                programme: list[float] = pool["programme"]  # type: ignore[assignment]
                score = [s + (w - used) * p for s, p in zip(score, programme, strict=True)]
            order = sorted(range(len(ids)), key=lambda i: (-score[i], ids[i]))
            value = ndcg_at_k([ids[i] for i in order], qrels.get(int(pool["need"]), {}), 10)  # type: ignore[call-overload]
            got["all"].append(value)
            got[str(pool["program"])].append(value)
        out[w] = {k: sum(v) / len(v) for k, v in got.items()}
    return out


def main() -> None:
    pools, sets = read_pools(__doc__.splitlines()[0])
    table = {which: sweep(pools, which) for which in sets}
    print("| weight | " + " | ".join(f"{w}: all | {w}: 科技特派员" for w in sets) + " |")
    print("|---|" + "---|---|" * len(sets))
    for w in GRID:
        cells = []
        for s in sets:
            sc = table[s][w].get("science_commissioner", float("nan"))
            cells.append(f"{table[s][w]['all']:.3f} | {sc:.3f}")
        mark = " (default)" if w == FusionWeights().programme else ""
        print(f"| {w:.2f}{mark} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
