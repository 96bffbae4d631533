"""Chinese lexical channel: BM25 over token lists on sparse matrices.

``LexicalIndex`` indexes the token lists that ``matching.tokenizer.ChineseTokenizer`` produced
(and the service stored), so building or updating it never runs jieba.

Scoring is Okapi BM25 with Lucene's non-negative idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``,
computed from live statistics (N, df, average length) at query time. The term counts are kept by
``matching.postings.TermCounts`` (a base CSC matrix, a delta of recent rows, dead rows marked):
a query slices the columns of its terms out of both matrices and sums the BM25 weights of their
non-zeros with ``np.bincount``, no Python loop over documents. Because the statistics are live,
an index built incrementally scores exactly like one built from scratch.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped, unused-ignore]

from matching.persist import read_checked, write_checked
from matching.postings import TermCounts

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


def isin_ids(values: IntArray, allowed: IntArray) -> npt.NDArray[np.bool_]:
    """``np.isin`` for profile ids: a lookup table when ids are dense (database keys), which is
    linear instead of sorting, e.g. 400k candidates against 20k allowed ids in ~2 ms."""
    if len(values) == 0 or len(allowed) == 0:
        return np.zeros(len(values), dtype=bool)
    lo = min(int(values.min()), int(allowed.min()))
    hi = max(int(values.max()), int(allowed.max()))
    if lo >= 0 and hi - lo < 64 * (len(values) + len(allowed)) + 1_000_000:
        out: npt.NDArray[np.bool_] = np.isin(values, allowed, kind="table")
        return out
    out = np.isin(values, allowed)
    return out


@dataclass(frozen=True, slots=True)
class BM25Params:
    """BM25 constants: ``k1`` term-frequency saturation, ``b`` length normalisation."""

    k1: float = 1.2
    b: float = 0.75


class LexicalIndex(TermCounts):
    """BM25 over token lists, keyed by int64 document (profile) ids, updatable in place
    (``add``/``remove`` come from ``TermCounts``).

    Not thread-safe for concurrent writes: the service serialises updates (one lock) and may search
    from many threads between updates.
    """

    FORMAT = "xiangcai-bm25-v1"

    def __init__(
        self,
        params: BM25Params | None = None,
        tokenizer_version: str = "",
        merge_fraction: float = 0.01,
        min_merge_rows: int = 256,
    ) -> None:
        super().__init__(merge_fraction, min_merge_rows)
        self.params = params or BM25Params()
        self.tokenizer_version = tokenizer_version

    @classmethod
    def build(
        cls,
        ids: Sequence[int] | IntArray,
        token_lists: Sequence[Sequence[str]],
        params: BM25Params | None = None,
        tokenizer_version: str = "",
    ) -> LexicalIndex:
        """Index many documents at once (start-up from stored tokens). Later ids win."""
        idx = cls(params=params, tokenizer_version=tokenizer_version)
        idx._fill(ids, token_lists)
        return idx

    # ------------------------------------------------------------------ reading
    def matched_terms(
        self, query_tokens: Sequence[str], doc_ids: Sequence[int] | IntArray
    ) -> list[list[str]]:
        """For each document, the query's terms it contains, most specific (highest idf) first.

        Reads only the columns of the query's terms, so it is cheap for a page of results.
        """
        cols, idf = self._query_columns(query_tokens)
        order = np.argsort(-idf, kind="stable")
        cols, idf = cols[order], idf[order]
        rows: list[int] = self._id_to_row.rows(np.asarray(doc_ids, dtype=np.int64)).tolist()
        found: list[list[str]] = [[] for _ in rows]
        if len(cols) == 0:
            return found
        want = {r: i for i, r in enumerate(rows) if r >= 0}
        page_rows = np.fromiter(want, dtype=np.int64, count=len(want))
        n_base = self._base.shape[0]
        hits: dict[int, set[int]] = {}
        mat = self._base
        for j in cols.tolist():
            if j >= mat.shape[1]:
                continue
            # column indices are sorted: a binary search per shown row, not a posting scan
            posting = mat.indices[mat.indptr[j] : mat.indptr[j + 1]]
            if len(posting) == 0:
                continue
            pos = np.minimum(np.searchsorted(posting, page_rows), len(posting) - 1)
            found_rows = page_rows[posting[pos] == page_rows]
            for r in found_rows.tolist():
                hits.setdefault(int(r), set()).add(j)
        wanted = set(cols.tolist())
        for r in page_rows[page_rows >= n_base].tolist():  # rows added since the last merge
            got = wanted.intersection(self._delta.row(r - n_base)[0].tolist())
            if got:
                hits.setdefault(r, set()).update(got)
        for r, i in want.items():
            got = hits.get(r, set())
            found[i] = [self._terms[j] for j in cols.tolist() if j in got]
        return found

    def idf(self, terms: Sequence[str]) -> FloatArray:
        """BM25 idf of each term under the current statistics (0 for unknown terms)."""
        n = float(len(self._id_to_row))
        out = np.zeros(len(terms), dtype=np.float32)
        at, cols = self._known(terms)
        if len(cols):
            df = self._df[cols].astype(np.float64)
            out[at] = np.log1p((n - df + 0.5) / (df + 0.5))
        return out

    def _known(self, terms: Sequence[str]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Positions in ``terms`` of the indexed ones, and their columns."""
        found = [(i, j) for i, t in enumerate(terms) if (j := self._vocab.get(t)) is not None]
        at = np.fromiter((i for i, _ in found), dtype=np.int64, count=len(found))
        cols = np.fromiter((j for _, j in found), dtype=np.int64, count=len(found))
        return at, cols

    def __len__(self) -> int:
        """Profiles indexed."""
        return len(self._id_to_row)

    def doc_share(self, terms: Sequence[str]) -> npt.NDArray[np.float64]:
        """The share of indexed profiles holding each term (0 for unknown terms)."""
        n = len(self._id_to_row)
        out = np.zeros(len(terms), dtype=np.float64)
        if n == 0:
            return out
        at, cols = self._known(terms)
        out[at] = self._df[cols].astype(np.float64) / n
        return out

    def _query_columns(
        self, query_tokens: Sequence[str]
    ) -> tuple[npt.NDArray[np.int64], FloatArray]:
        counts = Counter(t for t in query_tokens if t in self._vocab)
        cols = np.fromiter((self._vocab[t] for t in counts), dtype=np.int64, count=len(counts))
        n = float(len(self._id_to_row))
        df = self._df[cols].astype(np.float64)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        # a term repeated in the query counts once: needs repeat their key word for emphasis
        # far less reliably than profiles repeat their speciality
        return cols, idf.astype(np.float32)

    def _avgdl(self) -> float:
        n = len(self._id_to_row)
        return self._total_len / n if n else 1.0

    def row_scores(self, query_tokens: Sequence[str]) -> FloatArray:
        """BM25 score of every row (dead rows score 0): ``(n_rows,)`` float32."""
        cols, idf = self._query_columns(query_tokens)
        if len(cols) == 0 or not self._id_to_row:
            return np.zeros(self._n_rows, dtype=np.float32)
        k1, b = self.params.k1, self.params.b
        avgdl = self._avgdl()
        # The entries of the query's columns, base then delta, each column's rows in order: the
        # base's read straight from its CSC arrays (scipy's column slicing cost more than the
        # arithmetic), the delta's from its row arrays; a row lives in one of the two, so one
        # bincount sums each row's terms in column order.
        rows_parts, tf_parts, idf_parts = [], [], []
        mat = self._base
        in_range = cols < mat.shape[1]
        c = cols[in_range]
        if mat.shape[0] and len(c):
            starts = mat.indptr[c].astype(np.int64)
            lens = mat.indptr[c + 1].astype(np.int64) - starts
            total = int(lens.sum())
            pos = np.arange(total, dtype=np.int64) + np.repeat(
                starts - (np.cumsum(lens) - lens), lens
            )
            rows_parts.append(mat.indices[pos].astype(np.int64))
            tf_parts.append(mat.data[pos].astype(np.float64))
            idf_parts.append(np.repeat(idf[in_range].astype(np.float64), lens))
        # the rows added since the last merge, read in place in the same order
        at, which = self._delta_entries(cols)
        if len(at):
            rows_parts.append(self._delta.row_of[at].astype(np.int64) + mat.shape[0])
            tf_parts.append(self._delta.data[at].astype(np.float64))
            idf_parts.append(idf[which].astype(np.float64))
        if not rows_parts:
            return np.zeros(self._n_rows, dtype=np.float32)
        rows = np.concatenate(rows_parts)
        tf = np.concatenate(tf_parts)
        w_idf = np.concatenate(idf_parts)
        dl = self._row_len[rows].astype(np.float64)
        w = w_idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl))
        scores = np.bincount(rows, weights=w, minlength=self._n_rows)
        if len(self._id_to_row) != self._n_rows:  # dead rows score 0
            scores *= self._alive[: self._n_rows]
        return scores.astype(np.float32)

    def scores_for(
        self, query_tokens: Sequence[str], doc_ids: Sequence[int] | IntArray
    ) -> FloatArray:
        """BM25 score of the given documents (0 for unknown ids), ``(len(doc_ids),)``."""
        return self.score_query(query_tokens).of(doc_ids)

    def score_query(self, query_tokens: Sequence[str]) -> LexicalScores:
        """Score every document once; then take the top hits and look up any candidate's score."""
        return LexicalScores(self, self.row_scores(query_tokens))

    def search(
        self,
        query_tokens: Sequence[str],
        k: int,
        allowed_ids: IntArray | None = None,
        exclude_ids: Iterable[int] = (),
    ) -> tuple[IntArray, FloatArray]:
        """Top-``k`` documents with a positive score: ``(ids, scores)``, best first."""
        scores = self.row_scores(query_tokens)
        return self._top_k(scores, k, allowed_ids, exclude_ids)

    def _top_k(
        self,
        scores: FloatArray,
        k: int,
        allowed_ids: IntArray | None,
        exclude_ids: Iterable[int],
    ) -> tuple[IntArray, FloatArray]:
        cand = np.flatnonzero(scores > 0)
        if allowed_ids is not None:
            cand = cand[isin_ids(self._row_ids[cand], np.asarray(allowed_ids, dtype=np.int64))]
        excl = (
            exclude_ids
            if isinstance(exclude_ids, np.ndarray)
            else np.fromiter((int(x) for x in exclude_ids), dtype=np.int64)
        )
        if len(excl):
            cand = cand[~isin_ids(self._row_ids[cand], excl.astype(np.int64))]
        if len(cand) > k:
            part = np.argpartition(-scores[cand], k - 1)[:k]
            cand = cand[part]
        order = np.lexsort((self._row_ids[cand], -scores[cand]))
        cand = cand[order]
        return self._row_ids[cand].copy(), scores[cand].copy()

    def doc_term_weights(self, doc_tokens: Sequence[str]) -> dict[str, float]:
        """BM25 weight of each term of one document under this index's statistics.

        Summing these over a query's distinct terms gives that query's BM25 score of the
        document, which scores many short queries (open needs) against one profile cheaply.
        """
        counts = Counter(doc_tokens)
        dl = float(sum(counts.values()))
        n = float(len(self._id_to_row))
        k1, b = self.params.k1, self.params.b
        norm = k1 * (1.0 - b + b * dl / self._avgdl())
        out: dict[str, float] = {}
        for term, tf in counts.items():
            j = self._vocab.get(term)
            df = float(self._df[j]) if j is not None and j < len(self._df) else 0.0
            idf = float(np.log1p((n - df + 0.5) / (df + 0.5)))
            out[term] = idf * tf * (k1 + 1.0) / (tf + norm)
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index (compacted) with its tokenizer version and a checksum."""
        self.compact()
        base = self._base
        buf = io.BytesIO()
        np.savez(
            buf,
            indptr=base.indptr,
            indices=base.indices,
            data=base.data,
            row_ids=self._row_ids[: self._n_rows],
            row_len=self._row_len[: self._n_rows],
            terms=np.asarray(self._terms, dtype=np.str_),
        )
        header = {
            "format": self.FORMAT,
            "tokenizer_version": self.tokenizer_version,
            "k1": self.params.k1,
            "b": self.params.b,
            "n_docs": len(self),
            "n_terms": len(self._terms),
        }
        write_checked(path, header, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike[str], tokenizer_version: str) -> LexicalIndex:
        """Read a saved index; raises ``IndexFileError`` if corrupt or from another tokenizer."""
        header, payload = read_checked(
            path, {"format": cls.FORMAT, "tokenizer_version": tokenizer_version}
        )
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            terms = [str(t) for t in z["terms"].tolist()]
            n = len(z["row_ids"])
            base = sp.csc_matrix(
                (z["data"], z["indices"], z["indptr"]), shape=(n, len(terms)), dtype=np.float32
            )
            row_ids = z["row_ids"].astype(np.int64)
            row_len = z["row_len"].astype(np.float32)
        idx = cls(BM25Params(float(header["k1"]), float(header["b"])), tokenizer_version)
        idx._restore(terms, base, row_ids, row_len)
        return idx


class LexicalScores:
    """BM25 scores of one query against every document of an index (a snapshot)."""

    def __init__(self, index: LexicalIndex, row_scores: FloatArray) -> None:
        self._index = index
        self._scores = row_scores

    def top(
        self, k: int, allowed_ids: IntArray | None = None, exclude_ids: Iterable[int] = ()
    ) -> tuple[IntArray, FloatArray]:
        """Top-``k`` documents with a positive score: ``(ids, scores)``, best first."""
        return self._index._top_k(self._scores, k, allowed_ids, exclude_ids)

    def of(self, doc_ids: Sequence[int] | IntArray) -> FloatArray:
        """Scores of the given documents (0 for unknown ids), ``(len(doc_ids),)``."""
        rows = self._index._rows_of(doc_ids)
        out = np.zeros(len(rows), dtype=np.float32)
        ok = rows >= 0
        out[ok] = self._scores[rows[ok]]
        return out
