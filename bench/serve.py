"""The service as ``uvicorn --factory app.main:create_app`` runs it, plus start-up timings.

Usage (by bench/harness.py): XIANGCAI_* settings in the environment,
``python bench/serve.py --port 8123``. Settings come from the environment exactly as in
production. The only addition: the start-up steps of ``Matcher.start`` are timed by wrapping
them (no behaviour changes) and written as JSON to ``$XIANGCAI_BENCH_TIMINGS``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

T0 = time.perf_counter()
TIMINGS: dict[str, Any] = {}


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMINGS[name] = TIMINGS.get(name, 0.0) + time.perf_counter() - t

    return wrapper


def _instrument() -> None:
    from app.matches import matcher as module
    from app.matches.open_needs import OpenNeeds
    from matching.corpus import ProfileCorpus
    from matching.index import DenseIndex
    from matching.lexical import LexicalIndex
    from matching.table import ProfileTable

    # The labels are unchanged, so that results written before stay comparable.
    for name, label in (
        ("load_snapshot", "_load_snapshot"),
        ("build_corpus", "_build_corpus"),
        ("ensure_embeddings", "ensure_embeddings"),
    ):
        setattr(module, name, _timed(label, getattr(module, name)))
    for cls, name, label in (
        (OpenNeeds, "load", "_load_open_needs"),
        (ProfileCorpus, "build", "corpus_build"),
        (ProfileCorpus, "load", "corpus_load"),
        (DenseIndex, "build", "dense_build"),
        (LexicalIndex, "build", "lexical_build"),
        (ProfileTable, "build", "table_build"),
    ):
        setattr(cls, name, classmethod(_timed(label, getattr(cls, name).__func__)))
    module.Matcher.save = _timed("snapshot_save", module.Matcher.save)  # type: ignore[method-assign]
    original_start = module.Matcher.start.__func__  # type: ignore[attr-defined]

    def start(cls: Any, settings: Any, eng: Any) -> Any:
        t = time.perf_counter()
        matcher = original_start(cls, settings, eng)
        TIMINGS["matcher_start"] = time.perf_counter() - t
        TIMINGS["imports_to_ready"] = time.perf_counter() - T0
        TIMINGS["profiles"] = len(matcher.corpus)
        TIMINGS["indexed"] = len(matcher.corpus.dense)
        TIMINGS["index_kind"] = matcher.corpus.dense.kind
        TIMINGS["open_needs"] = len(matcher.open_needs.docs)
        TIMINGS["model"] = matcher.model_version
        import faiss

        TIMINGS["faiss_threads"] = faiss.omp_get_max_threads()
        out = os.environ.get("XIANGCAI_BENCH_TIMINGS")
        if out:
            Path(out).write_text(json.dumps(TIMINGS), encoding="utf-8")
        return matcher

    module.Matcher.start = classmethod(start)  # type: ignore[method-assign, assignment]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    _instrument()
    import uvicorn

    from app.main import create_app

    uvicorn.run(
        create_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
