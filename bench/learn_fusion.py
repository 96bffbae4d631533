"""A learned fusion of the channels, trained on the development set with cross-validation.

Usage: ``python bench/eval_matching.py --no-write --features /tmp/pools.jsonl`` (ranks both
sets through the service, fills the second channel, and writes each need's whole scored pool:
every candidate with its channels' normalised and raw scores, its signals and the default
fused score), then ``python bench/learn_fusion.py /tmp/pools.jsonl``.

The model is linear in features of one candidate (the channels min-max normalised over the
pool as the service does, their ranks in the pool, the raw cosines and BM25, the programme's
signals, and the programme-specific copies of hometown and availability), trained as a
pairwise ranker (logistic loss on every pair of one need's candidates with different grades,
L2-regularised, plain gradient descent). It re-ranks the pool the default fusion scores.

Reported: nDCG@10 of the default fusion and of the learned one on each of five folds of the
development set (needs split at random, trained on the other four), then trained on the whole
development set and applied to the second set (never tuned on).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching.evaluate import load_dev_set, ndcg_at_k  # noqa: E402

DATA = ROOT / "bench" / "data"
K = 10


def _rank_feature(values: np.ndarray) -> np.ndarray:
    """1 / (1 + rank) within the pool (rank 0 = best), a scale-free view of a channel."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    out: np.ndarray = 1.0 / (1.0 + ranks)
    return out


def features(pool: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    n = len(pool["ids"])
    dense = np.asarray(pool["dense"])
    dense2 = np.asarray(pool.get("dense2", dense))
    lexical = np.asarray(pool["lexical"])
    rh = 1.0 if pool["program"] == "return_home" else 0.0
    cols = {
        "dense": dense,
        "dense2": dense2,
        "lexical": lexical,
        "rank_dense": _rank_feature(dense),
        "rank_dense2": _rank_feature(dense2),
        "rank_lexical": _rank_feature(np.asarray(pool["bm25"])),
        "cos": np.asarray(pool["dense_cosine"]),
        "cos2": np.asarray(pool.get("dense2_cosine", np.zeros(n))),
        "log_bm25": np.log1p(np.asarray(pool["bm25"])),
        "no_words": (np.asarray(pool["bm25"]) <= 0).astype(float),
        "both_dense": dense * dense2,
        "hometown_rh": np.asarray(pool["hometown"]) * rh,
        "hometown_sc": np.asarray(pool["hometown"]) * (1 - rh),
        "region": np.asarray(pool["region"]),
        "availability_rh": np.asarray(pool["availability"]) * rh,
        "availability_sc": np.asarray(pool["availability"]) * (1 - rh),
    }
    return np.stack(list(cols.values()), axis=1), list(cols)


def train(
    groups: list[tuple[np.ndarray, np.ndarray]], l2: float, steps: int = 400, lr: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise logistic ranker; returns (weights, mean, scale) of standardised features."""
    x_all = np.concatenate([x for x, _ in groups])
    mean, scale = x_all.mean(axis=0), x_all.std(axis=0) + 1e-9
    diffs = []
    for x, grades in groups:
        z = (x - mean) / scale
        hi, lo = np.nonzero(grades[:, None] > grades[None, :])
        if len(hi):
            # weight a pair by its grade gap, as nDCG cares more about a 3 above a 0
            gap = (grades[hi] - grades[lo]).astype(float)
            diffs.append((z[hi] - z[lo], gap))
    d = np.concatenate([a for a, _ in diffs])
    g = np.concatenate([b for _, b in diffs])
    g = g / g.mean()
    w = np.zeros(d.shape[1])
    for _ in range(steps):
        m = d @ w
        p = 1.0 / (1.0 + np.exp(np.clip(m, -30, 30)))  # sigmoid(-margin)
        grad = -(d * (g * p)[:, None]).mean(axis=0) + l2 * w
        w -= lr * grad
    return w, mean, scale


def ndcg(pools: list[dict[str, Any]], qrels: dict[int, dict[int, int]], scorer: Any) -> float:
    out = []
    for pool in pools:
        ids = np.asarray(pool["ids"])
        s = scorer(pool)
        order = np.lexsort((ids, -s))
        out.append(ndcg_at_k([int(i) for i in ids[order][:K]], qrels.get(pool["need"], {}), K))
    return float(np.mean(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pools", help="the file eval_matching.py --features wrote")
    ap.add_argument("--l2", type=float, default=0.01)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    pools: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in Path(args.pools).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        pools[row["set"]].append(row)
    qrels = {"dev": load_dev_set(DATA).qrels, "dev2": load_dev_set(DATA, "dev2").qrels}

    def groups(ps: list[dict[str, Any]], which: str) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for p in ps:
            x, _ = features(p)
            rel = qrels[which].get(p["need"], {})
            out.append((x, np.array([rel.get(int(i), 0) for i in p["ids"]])))
        return out

    def learned(w: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> Any:
        return lambda p: ((features(p)[0] - mean) / scale) @ w

    def default(p: dict[str, Any]) -> np.ndarray:
        return np.asarray(p["score"])

    dev = pools["dev"]
    rng = np.random.default_rng(2026)
    fold_of = rng.permutation(len(dev)) % args.folds
    print(f"dev: {len(dev)} needs, {args.folds} folds; l2 {args.l2}")
    print("| fold | needs | default | learned |")
    print("|---|---|---|---|")
    sums = np.zeros(2)
    for f in range(args.folds):
        test = [p for p, k in zip(dev, fold_of, strict=True) if k == f]
        train_ = [p for p, k in zip(dev, fold_of, strict=True) if k != f]
        w, mean, scale = train(groups(train_, "dev"), args.l2)
        a = ndcg(test, qrels["dev"], default)
        b = ndcg(test, qrels["dev"], learned(w, mean, scale))
        sums += np.array([a, b]) * len(test)
        print(f"| {f + 1} | {len(test)} | {a:.3f} | {b:.3f} |")
    print(f"| all (pooled) | {len(dev)} | {sums[0] / len(dev):.3f} | {sums[1] / len(dev):.3f} |")
    w, mean, scale = train(groups(dev, "dev"), args.l2)
    names = features(dev[0])[1]
    print("\nweights trained on the whole dev set (standardised features):")
    for name, v in sorted(zip(names, w, strict=True), key=lambda t: -abs(t[1])):
        print(f"  {name:16s} {v:+.3f}")
    if pools.get("dev2"):
        a = ndcg(pools["dev2"], qrels["dev2"], default)
        b = ndcg(pools["dev2"], qrels["dev2"], learned(w, mean, scale))
        print(
            f"\ndev2 (never tuned on), {len(pools['dev2'])} needs: default {a:.3f}, learned {b:.3f}"
        )


if __name__ == "__main__":
    main()
