"""Dense vector index over profile ids: FAISS, exact below a size threshold, IVF above it.

IVF parameters and the measurements behind them are in ``matching.ivf``. A small exclusion
list (people with no capacity left) is handled by over-fetching and dropping.

Persistence: ``faiss.write_index`` plus a JSON sidecar (``<file>.meta.json``) holding the format,
the model version (name, dim, digest) and the file's length and sha256. ``load`` refuses
anything that does not match with ``CorruptIndexError`` / ``IncompatibleIndexError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from matching.encoders import ModelVersion, l2_normalise
from matching.ivf import (
    DEFAULT_EXACT_SUBSET_MAX,
    DEFAULT_EXACT_THRESHOLD,
    DEFAULT_NPROBE,
    faiss,
    filtered_nprobe,
    train_ivf,
)
from matching.persist import (
    CorruptIndexError,
    IncompatibleIndexError,
    verify_sidecar,
    write_sidecar,
)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


def vectors_to_bytes(vectors: npt.ArrayLike) -> list[bytes]:
    """One little-endian float32 blob per row, for a database column."""
    a = np.ascontiguousarray(vectors, dtype="<f4")
    if a.ndim == 1:
        a = a[None, :]
    return [row.tobytes() for row in a]


def vectors_from_bytes(blobs: Sequence[bytes], dim: int) -> FloatArray:
    """Inverse of ``vectors_to_bytes``: ``(len(blobs), dim)`` float32."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    buf = b"".join(blobs)
    if len(buf) != len(blobs) * dim * 4:
        raise ValueError(f"stored vectors do not have dimension {dim}")
    out: FloatArray = np.frombuffer(buf, dtype="<f4").reshape(len(blobs), dim).astype(np.float32)
    return out


def _as_ids(ids: Iterable[int] | IntArray) -> IntArray:
    arr = ids if isinstance(ids, np.ndarray) else np.fromiter((int(i) for i in ids), np.int64)
    out: IntArray = np.asarray(arr, dtype=np.int64).reshape(-1)
    return out


class _IdSet:
    """Which ids an index holds, answered for many ids at once.

    FAISS answers one id at a time (``reconstruct`` raising for an absent one), and the
    batched ``reconstruct_batch`` fails whole when one id is absent: a second channel that holds
    some of a page's candidates fell back to a Python loop with an exception per absent id (a
    tenth of a match list's CPU at 100k profiles). Ids below ``BITMAP_MAX`` (database ids are)
    live in a bitmap grown as needed (1 MB per million ids), larger ones in a set.
    """

    BITMAP_MAX = 1 << 26

    def __init__(self, ids: IntArray | None = None) -> None:
        self._bits = np.zeros(0, dtype=bool)
        self._large: set[int] = set()
        if ids is not None:
            self.add(ids)

    def add(self, ids: IntArray) -> None:
        small = (ids >= 0) & (ids < self.BITMAP_MAX)
        low = ids[small]
        if len(low):
            top = int(low.max())
            if top >= len(self._bits):
                grown = np.zeros(min(self.BITMAP_MAX, max(top + 1, 2 * len(self._bits))), bool)
                grown[: len(self._bits)] = self._bits
                self._bits = grown
            self._bits[low] = True
        self._large.update(int(i) for i in ids[~small])

    def remove(self, ids: IntArray) -> None:
        small = (ids >= 0) & (ids < len(self._bits))
        self._bits[ids[small]] = False
        if self._large:
            self._large.difference_update(int(i) for i in ids[~small])

    def holds(self, ids: IntArray) -> npt.NDArray[np.bool_]:
        out = np.zeros(len(ids), dtype=bool)
        small = (ids >= 0) & (ids < len(self._bits))
        out[small] = self._bits[ids[small]]
        if self._large:
            for i in np.flatnonzero(~small):
                out[i] = int(ids[i]) in self._large
        return out


class DenseIndex:
    """Inner-product index of unit vectors keyed by int64 profile ids.

    Not thread-safe for concurrent writes: the service serialises updates (one lock); FAISS
    searches may run concurrently between updates.
    """

    FORMAT = "xiangcai-dense-v1"

    def __init__(
        self,
        version: ModelVersion,
        *,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        nprobe: int = DEFAULT_NPROBE,
        exact_subset_max: int = DEFAULT_EXACT_SUBSET_MAX,
        index: Any = None,
    ) -> None:
        self.version = version
        self.dim = version.dim
        self.exact_threshold = exact_threshold
        self.nprobe = nprobe
        self.exact_subset_max = exact_subset_max
        self._index: Any = None
        self._ivf: Any = None
        self._set_index(index if index is not None else self._new_flat())

    def _set_index(self, index: Any) -> None:
        self._index = index
        try:
            self._ivf = faiss.extract_index_ivf(index)
        except RuntimeError:
            self._ivf = None
        self._held = _IdSet(self.ids if index.ntotal else None)

    # ------------------------------------------------------------------ construction
    def _new_flat(self) -> Any:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @classmethod
    def build(
        cls,
        ids: Sequence[int] | IntArray,
        vectors: npt.ArrayLike,
        version: ModelVersion,
        *,
        exact_threshold: int = DEFAULT_EXACT_THRESHOLD,
        nprobe: int = DEFAULT_NPROBE,
        exact_subset_max: int = DEFAULT_EXACT_SUBSET_MAX,
        nlist: int | None = None,
    ) -> DenseIndex:
        """Index ``vectors`` (``(n, dim)``) under ``ids``: exact if ``n < exact_threshold``.

        Building IVF trains k-means on a sample (about 20 s at 300k, 75 s at 1M on 2 cores).
        """
        ids_arr = _as_ids(ids)
        x = _unit_rows(vectors) if len(ids_arr) else np.zeros((0, version.dim), np.float32)
        if x.shape != (len(ids_arr), version.dim):
            raise ValueError(f"vectors must have shape ({len(ids_arr)}, {version.dim})")
        if len(np.unique(ids_arr)) != len(ids_arr):
            raise ValueError("duplicate ids")
        idx = cls(
            version,
            exact_threshold=exact_threshold,
            nprobe=nprobe,
            exact_subset_max=exact_subset_max,
        )
        if len(ids_arr) >= exact_threshold:
            idx._set_index(train_ivf(x, version.dim, nlist, nprobe))
        if len(ids_arr):
            idx._index.add_with_ids(x, ids_arr)
            idx._held.add(ids_arr)
        return idx

    def rebuilt(self) -> DenseIndex:
        """A new index of the same vectors, exact or IVF by the current size (retrains IVF)."""
        ids = self.ids
        return self.built_like(ids, self.vectors_for(ids))

    def built_like(self, ids: Sequence[int] | IntArray, vectors: npt.ArrayLike) -> DenseIndex:
        """A new index of these vectors with this one's model and settings, exact or IVF by
        their number."""
        return DenseIndex.build(
            ids,
            vectors,
            self.version,
            exact_threshold=self.exact_threshold,
            nprobe=self.nprobe,
            exact_subset_max=self.exact_subset_max,
        )

    # ------------------------------------------------------------------ properties
    @property
    def kind(self) -> str:
        """``"exact"`` or ``"ivf"``."""
        return "ivf" if self._ivf is not None else "exact"

    def __len__(self) -> int:
        return int(self._index.ntotal)

    @property
    def needs_rebuild(self) -> bool:
        """True when the size has drifted far from what the structure was chosen for.

        Exact and grown past 1.5x the threshold, or IVF and shrunk below half of it or grown 4x
        past its training size. The service rebuilds (``rebuilt()``) off the request path.
        """
        n = len(self)
        ivf = self._ivf
        if ivf is None:
            return n >= 1.5 * self.exact_threshold
        return n < self.exact_threshold / 2 or n > 4 * (ivf.nlist / 4) ** 2

    @property
    def ids(self) -> IntArray:
        """All indexed ids (unordered)."""
        ivf = self._ivf
        if ivf is None:
            out: IntArray = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            return out
        parts = [
            faiss.rev_swig_ptr(ivf.invlists.get_ids(i), ivf.invlists.list_size(i)).copy()
            for i in range(ivf.nlist)
            if ivf.invlists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, int | np.integer) or not -(2**63) <= int(doc_id) < 2**63:
            return False
        return bool(self._held.holds(np.array([int(doc_id)], dtype=np.int64))[0])

    def holds(self, ids: Sequence[int] | IntArray) -> npt.NDArray[np.bool_]:
        """Which of ``ids`` the index holds."""
        return self._held.holds(_as_ids(ids))

    # ------------------------------------------------------------------ updates
    def add(self, ids: Sequence[int] | IntArray, vectors: npt.ArrayLike) -> None:
        """Add or replace vectors (``(len(ids), dim)``): an id already present is replaced."""
        ids_arr = _as_ids(ids)
        if len(ids_arr) == 0:
            return
        if len(np.unique(ids_arr)) != len(ids_arr):
            raise ValueError("duplicate ids")
        x = l2_normalise(vectors)
        if x.shape != (len(ids_arr), self.dim):
            raise ValueError(f"vectors must have shape ({len(ids_arr)}, {self.dim})")
        if self._ivf is None:
            replaced = self._overwrite(ids_arr, x)
            if replaced.any():
                ids_arr, x = ids_arr[~replaced], x[~replaced]
            if len(ids_arr):
                self._index.add_with_ids(x, ids_arr)
                self._held.add(ids_arr)
            return
        # removing from an IVF index touches only the lists the ids are in
        self.remove(ids_arr[self._held.holds(ids_arr)])
        self._index.add_with_ids(x, ids_arr)
        self._held.add(ids_arr)

    def _overwrite(self, ids_arr: IntArray, x: FloatArray) -> npt.NDArray[np.bool_]:
        """Write the new vectors of ids already in the exact index over their old ones; returns
        which ids were there. Removing and re-adding instead moves every vector stored after
        the removed one: 35 ms for one edited profile at 100k, paid by every process."""
        n = int(self._index.ntotal)
        if n == 0:
            return np.zeros(len(ids_arr), dtype=bool)
        id_map = faiss.vector_to_array(self._index.id_map)
        if len(ids_arr) <= 64:
            hits = [np.flatnonzero(id_map == i) for i in ids_arr]
            found = np.array([len(h) > 0 for h in hits], dtype=bool)
            rows = np.array([h[0] for h in hits if len(h)], dtype=np.int64)
        else:
            order = np.argsort(id_map, kind="stable")
            at = np.minimum(np.searchsorted(id_map, ids_arr, sorter=order), n - 1)
            found = id_map[order[at]] == ids_arr
            rows = order[at[found]]
        if found.any():
            flat = faiss.downcast_index(self._index.index)
            stored = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim)
            stored[rows] = x[found]
        return found

    def remove(self, ids: Sequence[int] | IntArray) -> int:
        """Remove ids (absent ones are ignored); returns how many were removed."""
        ids_arr = _as_ids(ids)
        if len(ids_arr) == 0 or len(self) == 0:
            return 0
        # IVF's hash-table id map only accepts an explicit array of ids
        sel = (
            faiss.IDSelectorArray(ids_arr)
            if self._ivf is not None
            else faiss.IDSelectorBatch(ids_arr)
        )
        removed = int(self._index.remove_ids(sel))
        self._held.remove(ids_arr)
        return removed

    # ------------------------------------------------------------------ reading
    def vectors_for(self, ids: Sequence[int] | IntArray) -> FloatArray:
        """Stored vectors of ``ids``: ``(len(ids), dim)``; rows of unknown ids are zero."""
        vecs, _ = self._gather(_as_ids(ids))
        return vecs

    def _gather(self, ids_arr: IntArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """``(vectors, present)``: one batched reconstruct of the ids held."""
        present = self._held.holds(ids_arr)
        if present.all():
            if len(ids_arr) == 0:
                return np.zeros((0, self.dim), dtype=np.float32), present
            got: FloatArray = self._index.reconstruct_batch(ids_arr)
            return got, present
        out = np.zeros((len(ids_arr), self.dim), dtype=np.float32)
        if present.any():
            out[present] = self._index.reconstruct_batch(ids_arr[present])
        return out, present

    def scores_for(self, query: npt.ArrayLike, ids: Sequence[int] | IntArray) -> FloatArray:
        """Inner products of one query ``(dim,)`` with the vectors of ``ids`` (0 if unknown)."""
        q = l2_normalise(query)[0]
        scores: FloatArray = (self.vectors_for(ids) @ q).astype(np.float32)
        return scores

    def scores_present(
        self, query: npt.ArrayLike, ids: Sequence[int] | IntArray
    ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """``scores_for`` and which of ``ids`` the index holds (a second channel filled in the
        background holds only some)."""
        q = l2_normalise(query)[0]
        vecs, present = self._gather(_as_ids(ids))
        scores: FloatArray = (vecs @ q).astype(np.float32)
        return scores, present

    def search(
        self,
        queries: npt.ArrayLike,
        k: int,
        allowed_ids: IntArray | None = None,
        exclude_ids: Iterable[int] = (),
    ) -> tuple[FloatArray, IntArray]:
        """Top-``k`` by inner product for each query row.

        ``queries``: ``(nq, dim)`` or ``(dim,)``. Returns ``(scores, ids)``, both ``(nq, k)``,
        best first, padded with ``-inf`` / ``-1``. ``allowed_ids``: search only these ids;
        ``exclude_ids``: never return these.
        """
        q = l2_normalise(queries)
        if q.shape[1] != self.dim:
            raise ValueError(f"queries must have dimension {self.dim}")
        nq = len(q)
        excl = _as_ids(exclude_ids)
        if allowed_ids is not None:
            allowed = _as_ids(allowed_ids)
            if len(excl):
                allowed = np.setdiff1d(allowed, excl)
            return self._search_allowed(q, k, allowed)
        empty_s = np.full((nq, k), -np.inf, dtype=np.float32)
        empty_i = np.full((nq, k), -1, dtype=np.int64)
        if len(self) == 0 or k <= 0:
            return empty_s, empty_i
        if len(excl) > 1000:
            sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(excl))
            return self._faiss_search(q, k, sel, 1.0)
        fetch = min(len(self), k + len(excl))
        scores, ids = self._faiss_search(q, fetch, None, 1.0)
        if len(excl):
            return _drop_excluded(scores, ids, excl, k)
        return _pad(scores, ids, k)

    def _search_params(self, sel: Any, fraction: float) -> Any:
        ivf = self._ivf
        if ivf is None:
            return faiss.SearchParameters(sel=sel) if sel is not None else None
        nprobe = filtered_nprobe(self.nprobe, int(ivf.nlist), fraction)
        return faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)

    def _faiss_search(
        self, q: FloatArray, k: int, sel: Any, fraction: float
    ) -> tuple[FloatArray, IntArray]:
        params = self._search_params(sel, fraction)
        if params is None:
            scores, ids = self._index.search(q, k)
        else:
            scores, ids = self._index.search(q, k, params=params)
        return scores, ids

    def _search_allowed(
        self, q: FloatArray, k: int, allowed: IntArray
    ) -> tuple[FloatArray, IntArray]:
        nq = len(q)
        if len(allowed) == 0 or len(self) == 0 or k <= 0:
            return np.full((nq, k), -np.inf, np.float32), np.full((nq, k), -1, np.int64)
        # Scoring the allowed vectors directly beats a selector scan of the whole index when
        # they are few: on a flat index up to a quarter of it (a selector still streams every
        # vector: 11 ms at 100k x 512, vs ~5 ms to gather and score 20k), on IVF up to
        # ``exact_subset_max`` (its hash-table gather is slower: 23 ms for 20k at 1M).
        limit = (
            self.exact_subset_max
            if self._ivf is not None
            else max(self.exact_subset_max, len(self) // 4)
        )
        if len(allowed) <= limit:
            return self._exact_subset(q, k, allowed)
        sel = faiss.IDSelectorBatch(allowed)
        fraction = len(allowed) / max(1, len(self))
        scores, ids = self._faiss_search(q, min(k, len(self)), sel, fraction)
        return _pad(scores, ids, k)

    def _exact_subset(
        self, q: FloatArray, k: int, allowed: IntArray
    ) -> tuple[FloatArray, IntArray]:
        vecs, known = self._gather(allowed)
        if not known.all():
            allowed, vecs = allowed[known], vecs[known]
        present = allowed
        sims = q @ vecs.T
        kk = min(k, len(present))
        out_s = np.full((len(q), k), -np.inf, dtype=np.float32)
        out_i = np.full((len(q), k), -1, dtype=np.int64)
        if kk == 0:
            return out_s, out_i
        for r in range(len(q)):
            top = np.argpartition(-sims[r], kk - 1)[:kk]
            top = top[np.lexsort((present[top], -sims[r, top]))]
            out_s[r, :kk] = sims[r, top]
            out_i[r, :kk] = present[top]
        return out_s, out_i

    # ------------------------------------------------------------------ persistence
    def _header(self) -> dict[str, Any]:
        return {
            "format": self.FORMAT,
            "model_name": self.version.name,
            "model_dim": self.version.dim,
            "model_digest": self.version.digest,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the FAISS index and its sidecar ``<path>.meta.json`` (atomically each)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, target)
        header = self._header()
        header.update(
            {
                "kind": self.kind,
                "ntotal": len(self),
                "exact_threshold": self.exact_threshold,
                "nprobe": self.nprobe,
                "exact_subset_max": self.exact_subset_max,
            }
        )
        write_sidecar(target, header)

    @classmethod
    def load(cls, path: str | os.PathLike[str], expected_version: ModelVersion) -> DenseIndex:
        """Read a saved index, refusing one that is corrupt or built by another model.

        Raises ``CorruptIndexError`` (truncated, damaged, missing sidecar) or
        ``IncompatibleIndexError`` (another model, dimension or format).
        """
        expected = {
            "format": cls.FORMAT,
            "model_name": expected_version.name,
            "model_dim": expected_version.dim,
            "model_digest": expected_version.digest,
        }
        header = verify_sidecar(path, expected)
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise CorruptIndexError(f"{path}: FAISS cannot read it: {e}") from e
        if index.d != expected_version.dim or index.ntotal != header.get("ntotal"):
            raise IncompatibleIndexError(f"{path}: dimension or size differs from its metadata")
        if index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise IncompatibleIndexError(f"{path}: not an inner-product index")
        out = cls(
            expected_version,
            exact_threshold=int(header.get("exact_threshold", DEFAULT_EXACT_THRESHOLD)),
            nprobe=int(header.get("nprobe", DEFAULT_NPROBE)),
            exact_subset_max=int(header.get("exact_subset_max", DEFAULT_EXACT_SUBSET_MAX)),
            index=index,
        )
        if out._ivf is not None:
            out._ivf.nprobe = out.nprobe
        return out


def _unit_rows(vectors: npt.ArrayLike) -> FloatArray:
    """``vectors`` as unit-length float32 rows, without a copy when they already are.

    Stored vectors are unit length; at 1M x 512 each copy (and the temporary of a norm over
    the whole array) costs 2 GB, so the norms are taken row by row and the input is passed on
    as it is when none is off.
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim == 2 and len(x):
        norms = np.sqrt(np.einsum("ij,ij->i", x, x))
        if np.all(np.abs(norms - 1.0) <= 1e-4):
            return x
    return l2_normalise(x)


def _pad(scores: FloatArray, ids: IntArray, k: int) -> tuple[FloatArray, IntArray]:
    nq, got = ids.shape
    out_s = np.full((nq, k), -np.inf, dtype=np.float32)
    out_i = np.full((nq, k), -1, dtype=np.int64)
    m = min(k, got)
    out_s[:, :m] = scores[:, :m]
    out_i[:, :m] = ids[:, :m]
    out_s[out_i < 0] = -np.inf
    return out_s, out_i


def _drop_excluded(
    scores: FloatArray, ids: IntArray, excl: IntArray, k: int
) -> tuple[FloatArray, IntArray]:
    keep = ~np.isin(ids, excl) & (ids >= 0)
    nq = len(ids)
    out_s = np.full((nq, k), -np.inf, dtype=np.float32)
    out_i = np.full((nq, k), -1, dtype=np.int64)
    for r in range(nq):
        s, i = scores[r][keep[r]][:k], ids[r][keep[r]][:k]
        out_s[r, : len(s)] = s
        out_i[r, : len(i)] = i
    return out_s, out_i
