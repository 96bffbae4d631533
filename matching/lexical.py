"""Chinese lexical channel: jieba words, a domain dictionary, stopwords, BM25 on sparse matrices.

Tokenising (jieba) is the slow part, so it is separate from indexing: ``ChineseTokenizer``
turns text into a token list that the service stores beside the profile (``join_tokens`` /
``split_tokens``), and ``LexicalIndex`` indexes token lists. A start-up rebuild from stored tokens
never runs jieba. ``ChineseTokenizer.version`` changes whenever the dictionary, stopword list or
tokenising recipe changes: stored tokens with another version must be re-tokenised.

Scoring is Okapi BM25 with Lucene's non-negative idf, ``log(1 + (N - df + 0.5) / (df + 0.5))``,
computed from live statistics (N, df, average length) at query time. The index keeps raw term
frequencies in a large immutable CSC "base" matrix plus a small "delta" matrix of rows added since
the last merge; removed or replaced rows are only marked dead. A query slices the columns of its
terms out of both matrices and sums the BM25 weights of their non-zeros with ``np.bincount``:
no Python loop over documents. When the delta or the dead rows grow past a fraction of the base,
they are merged into a new base (an O(nnz) sparse rebuild, about a second at 1M profiles; with the
default 1% that is once per 10k edits at 1M, and the delta a query re-reads stays small). Because
the statistics are live, an index built incrementally scores exactly like one built from scratch.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped, unused-ignore]

from matching.persist import read_checked, write_checked

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]

_RESOURCES = resources.files("matching") / "resources"
# Single characters that carry meaning in Jilin's agriculture; other single characters are noise.
_KEEP_SINGLE = frozenset("鹿参稻菌牛羊猪鸡鹅鸭鱼蛙蜂茶药果菜瓜豆麦麻棉草肥碱盐虫蛋奶乳酒醋")
_WORDISH = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_DIGITS = re.compile(r"^[\d.%]+$")


def _resource_text(name: str) -> str:
    return (_RESOURCES / name).read_text(encoding="utf-8")


def load_stopwords(text: str | None = None) -> frozenset[str]:
    """The stopword list (one word a line, ``#`` comments), by default the bundled one."""
    raw = _resource_text("stopwords.txt") if text is None else text
    return frozenset(
        w.strip() for w in raw.splitlines() if w.strip() and not w.lstrip().startswith("#")
    )


def load_synonyms(text: str | None = None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``(phrase, terms)`` pairs from the synonyms resource (``phrase<TAB>term term ...``)."""
    raw = _resource_text("synonyms.txt") if text is None else text
    out: list[tuple[str, tuple[str, ...]]] = []
    for line in raw.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        phrase, _, terms = line.partition("\t")
        if phrase.strip() and terms.split():
            out.append((phrase.strip(), tuple(terms.split())))
    return tuple(out)


def join_tokens(tokens: Sequence[str]) -> str:
    """Token list -> one string for a database column (tokens never contain whitespace)."""
    return " ".join(tokens)


def split_tokens(stored: str) -> list[str]:
    """Inverse of ``join_tokens``."""
    return stored.split()


class ChineseTokenizer:
    """jieba with Xiangcai's user dictionary and stopwords; thread-safe, initialised lazily.

    Queries (needs, free text) go through ``tokenize_query``, which adds the expert terms of
    everyday phrases listed in resources/synonyms.txt.

    ``mode="search"`` uses ``cut_for_search``, which also emits the 2- and 3-character words inside
    a long word (苏打盐渍土 -> 苏打, 盐渍, 盐渍土, 苏打盐渍土), so a need that writes a shorter
    form still meets the expert's longer term. Single characters are dropped except a short list
    of meaningful ones (鹿, 参, 稻, 菌 ...); digits-only tokens and stopwords are dropped.
    """

    def __init__(
        self,
        mode: str = "search",
        userdict: str | None = None,
        stopwords: frozenset[str] | None = None,
        synonyms: tuple[tuple[str, tuple[str, ...]], ...] | None = None,
    ) -> None:
        if mode not in ("search", "words"):
            raise ValueError(f"unknown tokenizer mode {mode!r}")
        self.mode = mode
        self._userdict = _resource_text("userdict.txt") if userdict is None else userdict
        self.stopwords = load_stopwords() if stopwords is None else stopwords
        self.synonyms = load_synonyms() if synonyms is None else synonyms
        self._jieba: Any = None
        self._lock = threading.Lock()
        h = hashlib.sha256()
        for part in (
            mode,
            self._userdict,
            "\n".join(sorted(self.stopwords)),
            "".join(sorted(_KEEP_SINGLE)),
            repr(self.synonyms),
            "v1",
        ):
            h.update(part.encode())
            h.update(b"\0")
        self.version = f"jieba-{mode}-{h.hexdigest()[:12]}"

    def _tokenizer(self) -> Any:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import logging

                    import jieba  # type: ignore[import-untyped, unused-ignore]

                    jieba.setLogLevel(logging.WARNING)
                    tk = jieba.Tokenizer()
                    tk.initialize()
                    tk.load_userdict(io.StringIO(self._userdict))
                    self._jieba = tk
        return self._jieba

    def tokenize(self, text: str) -> list[str]:
        """Text -> the list of index terms, in order, with repeats (term frequency matters)."""
        norm = unicodedata.normalize("NFKC", text).lower()
        tk = self._tokenizer()
        raw: Iterable[str] = (
            tk.cut_for_search(norm, HMM=True) if self.mode == "search" else tk.cut(norm, HMM=True)
        )
        out: list[str] = []
        for tok in raw:
            t = tok.strip()
            if not t or t in self.stopwords or not _WORDISH.search(t) or _DIGITS.match(t):
                continue
            if len(t) == 1 and t not in _KEEP_SINGLE:
                continue
            out.append(t)
        return out

    def tokenize_query(self, text: str) -> list[str]:
        """Tokens of a need or search query, plus the expert terms of any everyday phrase in it
        (碱巴拉地 -> 盐碱地 盐渍土 ...). Profiles are tokenised without expansion."""
        norm = unicodedata.normalize("NFKC", text).lower()
        extra = [t for phrase, terms in self.synonyms if phrase in norm for t in terms]
        return self.tokenize(text) + extra

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(t) for t in texts]


def _sorted_csc(m: sp.spmatrix) -> sp.csc_matrix:
    out = sp.csc_matrix(m, dtype=np.float32)
    out.sort_indices()
    return out


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


def _pad_columns(m: sp.csc_matrix, v: int) -> sp.csc_matrix:
    """The same CSC matrix with ``v`` columns (new, empty columns at the end)."""
    extra = v - m.shape[1]
    if extra <= 0:
        return m
    indptr = np.concatenate([m.indptr, np.full(extra, m.indptr[-1], dtype=m.indptr.dtype)])
    return sp.csc_matrix((m.data, m.indices, indptr), shape=(m.shape[0], v))


@dataclass(frozen=True, slots=True)
class BM25Params:
    """BM25 constants: ``k1`` term-frequency saturation, ``b`` length normalisation."""

    k1: float = 1.2
    b: float = 0.75


class LexicalIndex:
    """BM25 over token lists, keyed by int64 document (profile) ids, updatable in place.

    Not thread-safe for concurrent writes: the service serialises updates (one lock) and may search
    from many threads between updates.
    """

    FORMAT = "xiangcai-bm25-v1"

    def __init__(
        self,
        params: BM25Params | None = None,
        tokenizer_version: str = "",
        merge_fraction: float = 0.01,
        min_merge_rows: int = 2000,
    ) -> None:
        self.params = params or BM25Params()
        self.tokenizer_version = tokenizer_version
        self.merge_fraction = merge_fraction
        self.min_merge_rows = min_merge_rows
        self._vocab: dict[str, int] = {}
        self._terms: list[str] = []
        self._df = np.zeros(0, dtype=np.int64)
        self._base = sp.csc_matrix((0, 0), dtype=np.float32)
        self._delta_rows: list[tuple[npt.NDArray[np.int32], FloatArray]] = []
        self._delta: sp.csc_matrix | None = None
        self._row_ids = np.zeros(0, dtype=np.int64)
        self._row_len = np.zeros(0, dtype=np.float32)
        self._alive = np.zeros(0, dtype=bool)
        self._n_rows = 0
        self._id_to_row: dict[int, int] = {}
        self._total_len = 0.0

    # ------------------------------------------------------------------ building
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
        ids_arr = np.asarray(ids, dtype=np.int64)
        if len(ids_arr) != len(token_lists):
            raise ValueError("ids and token_lists differ in length")
        last: dict[int, int] = {}
        for i, doc_id in enumerate(ids_arr.tolist()):
            last[doc_id] = i
        keep = sorted(last.values())
        # Compact C arrays rather than a few small numpy arrays per document: at 1M documents
        # the per-object overhead alone was gigabytes.
        cols, vals, counts, lens = array("i"), array("f"), array("q"), array("f")
        for i in keep:
            t_ids, tfs = idx._encode_tokens(token_lists[i], grow=True)
            cols.frombytes(t_ids.tobytes())
            vals.frombytes(tfs.tobytes())
            counts.append(len(t_ids))
            lens.append(float(tfs.sum()))
        n = len(keep)
        v = len(idx._terms)
        if n:
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.frombuffer(counts, dtype=np.int64), out=indptr[1:])
            mat = sp.csr_matrix(
                (
                    np.frombuffer(vals, dtype=np.float32),
                    np.frombuffer(cols, dtype=np.int32),
                    indptr,
                ),
                shape=(n, v),
                dtype=np.float32,
            )
        else:
            mat = sp.csr_matrix((0, v), dtype=np.float32)
        idx._base = _sorted_csc(mat)
        idx._row_ids = ids_arr[keep].copy()
        idx._row_len = np.asarray(lens, dtype=np.float32)
        idx._alive = np.ones(n, dtype=bool)
        idx._n_rows = n
        idx._id_to_row = {int(d): r for r, d in enumerate(idx._row_ids.tolist())}
        idx._df = np.diff(idx._base.indptr).astype(np.int64)
        idx._total_len = float(idx._row_len.sum())
        return idx

    def _encode_tokens(
        self, tokens: Sequence[str], grow: bool
    ) -> tuple[npt.NDArray[np.int32], FloatArray]:
        counts = Counter(tokens)
        t_ids = np.empty(len(counts), dtype=np.int32)
        tfs = np.empty(len(counts), dtype=np.float32)
        n = 0
        for term, c in counts.items():
            j = self._vocab.get(term)
            if j is None:
                if not grow:
                    continue
                j = len(self._terms)
                self._vocab[term] = j
                self._terms.append(term)
            t_ids[n] = j
            tfs[n] = c
            n += 1
        order = np.argsort(t_ids[:n])
        return t_ids[:n][order], tfs[:n][order]

    def _grow_rows(self, need: int) -> None:
        cap = len(self._row_ids)
        if need <= cap:
            return
        new_cap = max(need, int(cap * 1.5) + 64)
        self._row_ids = np.resize(self._row_ids, new_cap)
        self._row_len = np.resize(self._row_len, new_cap)
        alive = np.zeros(new_cap, dtype=bool)
        alive[:cap] = self._alive[:cap]
        self._alive = alive

    # ------------------------------------------------------------------ updates
    def add(self, doc_id: int, tokens: Sequence[str]) -> None:
        """Add a document, or replace it if the id is already indexed."""
        doc_id = int(doc_id)
        self._kill(doc_id)
        t_ids, tfs = self._encode_tokens(tokens, grow=True)
        if len(self._df) < len(self._terms):  # grow geometrically: new terms arrive one by one
            grown = np.zeros(max(len(self._terms), 2 * len(self._df) + 64), dtype=np.int64)
            grown[: len(self._df)] = self._df
            self._df = grown
        row = self._n_rows
        self._grow_rows(row + 1)
        self._row_ids[row] = doc_id
        self._row_len[row] = float(tfs.sum())
        self._alive[row] = True
        self._n_rows += 1
        self._id_to_row[doc_id] = row
        self._delta_rows.append((t_ids, tfs))
        self._delta = None
        np.add.at(self._df, t_ids, 1)
        self._total_len += float(tfs.sum())
        self._maybe_merge()

    def remove(self, doc_id: int) -> bool:
        """Remove a document; returns False if it was not indexed."""
        removed = self._kill(int(doc_id))
        if removed:
            self._maybe_merge()
        return removed

    def _kill(self, doc_id: int) -> bool:
        row = self._id_to_row.pop(doc_id, None)
        if row is None:
            return False
        t_ids, tfs = self._row_terms(row)
        np.subtract.at(self._df, t_ids, 1)
        self._total_len -= float(tfs.sum())
        self._alive[row] = False
        return True

    def _row_terms(self, row: int) -> tuple[npt.NDArray[np.int32], FloatArray]:
        n_base = self._base.shape[0]
        if row >= n_base:
            t_ids, tfs = self._delta_rows[row - n_base]
            return t_ids, tfs
        # A column-major matrix has no row access; one vectorised scan of its row indices (a few
        # ms at 100k profiles, ~50 ms at 1M) is cheaper than keeping a second, row-major copy.
        pos = np.flatnonzero(self._base.indices == row)
        cols = np.searchsorted(self._base.indptr, pos, side="right") - 1
        return cols.astype(np.int32), self._base.data[pos].astype(np.float32)

    def _maybe_merge(self) -> None:
        n_base = self._base.shape[0]
        limit = max(self.min_merge_rows, int(self.merge_fraction * n_base))
        dead = self._n_rows - len(self._id_to_row)
        if len(self._delta_rows) > limit or dead > max(limit, self._n_rows // 4):
            self.compact()

    def compact(self) -> None:
        """Merge the delta and drop dead rows now (also done automatically past a threshold)."""
        alive_rows = np.flatnonzero(self._alive[: self._n_rows])
        v = len(self._terms)
        full = self._full_csr(v)
        mat = full[alive_rows]
        self._base = _sorted_csc(mat)
        self._delta_rows = []
        self._delta = None
        self._row_ids = self._row_ids[alive_rows].copy()
        self._row_len = self._row_len[alive_rows].copy()
        self._n_rows = len(alive_rows)
        self._alive = np.ones(self._n_rows, dtype=bool)
        self._id_to_row = {int(d): r for r, d in enumerate(self._row_ids.tolist())}

    def _full_csr(self, v: int) -> sp.csr_matrix:
        base = _pad_columns(self._base, v).tocsr()
        delta = self._delta_csr(v)
        if delta.shape[0] == 0:
            return base
        out: sp.csr_matrix = sp.vstack([base, delta], format="csr")
        return out

    def _delta_csr(self, v: int) -> sp.csr_matrix:
        if not self._delta_rows:
            return sp.csr_matrix((0, v), dtype=np.float32)
        indptr = np.zeros(len(self._delta_rows) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(t) for t, _ in self._delta_rows])
        indices = np.concatenate([t for t, _ in self._delta_rows])
        data = np.concatenate([f for _, f in self._delta_rows])
        return sp.csr_matrix((data, indices, indptr), shape=(len(self._delta_rows), v))

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return len(self._id_to_row)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._id_to_row

    @property
    def ids(self) -> IntArray:
        """Ids of the live documents."""
        live: IntArray = self._row_ids[: self._n_rows][self._alive[: self._n_rows]]
        return live

    def matched_terms(
        self, query_tokens: Sequence[str], doc_ids: Sequence[int] | IntArray
    ) -> list[list[str]]:
        """For each document, the query's terms it contains, most specific (highest idf) first.

        Reads only the columns of the query's terms, so it is cheap for a page of results.
        """
        cols, idf = self._query_columns(query_tokens)
        order = np.argsort(-idf, kind="stable")
        cols, idf = cols[order], idf[order]
        rows = [self._id_to_row.get(int(d), -1) for d in doc_ids]
        found: list[list[str]] = [[] for _ in rows]
        if len(cols) == 0:
            return found
        want = {r: i for i, r in enumerate(rows) if r >= 0}
        page_rows = np.fromiter(want, dtype=np.int64, count=len(want))
        n_base = self._base.shape[0]
        hits: dict[int, set[int]] = {}
        for mat, offset in ((self._base, 0), (self._delta_csc(), n_base)):
            local = page_rows - offset
            for j in cols.tolist():
                if j >= mat.shape[1]:
                    continue
                # column indices are sorted: a binary search per shown row, not a posting scan
                posting = mat.indices[mat.indptr[j] : mat.indptr[j + 1]]
                if len(posting) == 0:
                    continue
                pos = np.minimum(np.searchsorted(posting, local), len(posting) - 1)
                found_rows = page_rows[posting[pos] == local]
                for r in found_rows.tolist():
                    hits.setdefault(int(r), set()).add(j)
        for r, i in want.items():
            got = hits.get(r, set())
            found[i] = [self._terms[j] for j in cols.tolist() if j in got]
        return found

    def idf(self, terms: Sequence[str]) -> FloatArray:
        """BM25 idf of each term under the current statistics (0 for unknown terms)."""
        n = len(self._id_to_row)
        out = np.zeros(len(terms), dtype=np.float32)
        for i, t in enumerate(terms):
            j = self._vocab.get(t)
            if j is not None:
                df = float(self._df[j])
                out[i] = np.log1p((n - df + 0.5) / (df + 0.5))
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

    def _delta_csc(self) -> sp.csc_matrix:
        if self._delta is None:
            self._delta = _sorted_csc(self._delta_csr(len(self._terms)))
        return self._delta

    def row_scores(self, query_tokens: Sequence[str]) -> FloatArray:
        """BM25 score of every row (dead rows score 0): ``(n_rows,)`` float32."""
        cols, idf = self._query_columns(query_tokens)
        scores = np.zeros(self._n_rows, dtype=np.float64)
        if len(cols) == 0 or not self._id_to_row:
            return scores.astype(np.float32)
        k1, b = self.params.k1, self.params.b
        avgdl = self._avgdl()
        n_base = self._base.shape[0]
        for mat, offset in ((self._base, 0), (self._delta_csc(), n_base)):
            if mat.shape[0] == 0:
                continue
            in_range = cols < mat.shape[1]
            c = cols[in_range]
            if len(c) == 0:
                continue
            sub = mat[:, c]
            nnz_per_col = np.diff(sub.indptr)
            rows = sub.indices.astype(np.int64) + offset
            tf = sub.data.astype(np.float64)
            w_idf = np.repeat(idf[in_range].astype(np.float64), nnz_per_col)
            dl = self._row_len[rows].astype(np.float64)
            w = w_idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl))
            scores += np.bincount(rows, weights=w, minlength=self._n_rows)
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

    def _rows_of(self, doc_ids: Sequence[int] | IntArray) -> IntArray:
        return np.fromiter(
            (self._id_to_row.get(int(d), -1) for d in doc_ids), dtype=np.int64, count=len(doc_ids)
        )

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

    def query_upper_bound(self, query_tokens: Sequence[str]) -> float:
        """The largest BM25 score any document could reach: ``sum(idf) * (k1 + 1)``."""
        _, idf = self._query_columns(query_tokens)
        return float(idf.sum()) * (self.params.k1 + 1.0)

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
        idx._terms = terms
        idx._vocab = {t: j for j, t in enumerate(terms)}
        base.sort_indices()
        idx._base = base
        idx._row_ids = row_ids
        idx._row_len = row_len
        idx._n_rows = n
        idx._alive = np.ones(n, dtype=bool)
        idx._id_to_row = {int(d): r for r, d in enumerate(row_ids.tolist())}
        idx._df = np.diff(base.indptr).astype(np.int64)
        idx._total_len = float(row_len.sum())
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
