"""FAISS timings where it runs: exact flat IP vs IVF-Flat, single-query latency and recall.

Usage: .venv/bin/python bench/bench_matching_lib_faiss.py [dim] [sizes...]
       XC_NOISE=1.0 ... for a harder, less clustered set (noise as large as the centres)
Synthetic clustered unit vectors (a mixture of 2000 Gaussians), so that IVF recall is not
flattered or ruined by structureless random data. Prints a markdown table.
"""

from __future__ import annotations

import os
import sys
import time

import faiss
import numpy as np

NOISE = 0.35


def clustered(n: int, d: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    lab = rng.integers(0, len(centres), n)
    x = centres[lab] + NOISE * rng.standard_normal((n, d), dtype=np.float32) / np.sqrt(d)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def timed(fn, reps):  # type: ignore[no-untyped-def]
    lat = []
    for i in range(reps):
        t = time.perf_counter()
        fn(i)
        lat.append(time.perf_counter() - t)
    return np.percentile(lat, 50) * 1e3, np.percentile(lat, 95) * 1e3


def main() -> None:
    global NOISE
    NOISE = float(os.environ.get("XC_NOISE", NOISE))
    d = int(sys.argv[1]) if len(sys.argv) > 1 else 384
    sizes = [int(s) for s in sys.argv[2:]] or [10_000, 100_000, 300_000, 1_000_000]
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2000, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    print(
        "| n | d | flat p50/p95 ms | ivf nlist | nprobe | ivf p50/p95 ms | recall@10 | "
        "ivf train+add s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        xb = clustered(n, d, rng, centres)
        xq = clustered(200, d, rng, centres)
        flat = faiss.IndexIDMap2(faiss.IndexFlatIP(d))
        flat.add_with_ids(xb, np.arange(n, dtype=np.int64))
        gt = flat.search(xq, 10)[1]
        fp50, fp95 = timed(lambda i, f=flat, x=xq: f.search(x[i % 200 : i % 200 + 1], 10), 100)
        nlist = int(4 * np.sqrt(n))
        t = time.perf_counter()
        q = faiss.IndexFlatIP(d)
        ivf = faiss.IndexIVFFlat(q, d, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        train = xb[rng.choice(n, min(n, 64 * nlist), replace=False)]
        faiss.omp_set_num_threads(2)
        ivf.train(train)
        ivf.add_with_ids(xb, np.arange(n, dtype=np.int64))
        faiss.omp_set_num_threads(1)
        build = time.perf_counter() - t
        for nprobe in (16, 32, 64, 128):
            ivf.nprobe = nprobe
            got = ivf.search(xq, 10)[1]
            rec = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, gt, strict=True)])
            ip50, ip95 = timed(lambda i, ix=ivf, x=xq: ix.search(x[i % 200 : i % 200 + 1], 10), 100)
            print(
                f"| {n} | {d} | {fp50:.1f}/{fp95:.1f} | {nlist} | {nprobe} | "
                f"{ip50:.2f}/{ip95:.2f} | {rec:.3f} | {build:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
