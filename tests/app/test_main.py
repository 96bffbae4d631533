"""The application factory's process-wide settings."""

from typing import Any

from fastapi.testclient import TestClient
from threadpoolctl import threadpool_info, threadpool_limits  # type: ignore[import-untyped, unused-ignore]

from app.config import Settings
from app.main import create_app


def _blas_threads() -> set[int]:
    # BLAS built on its own threads (numpy's); one built on OpenMP (FAISS's) counts per calling
    # thread, and FAISS's searches set theirs in the request thread (Matcher.sync)
    return {
        i["num_threads"]
        for i in threadpool_info()
        if i["user_api"] == "blas" and i.get("threading_layer") == "pthreads"
    }


def test_a_worker_gives_every_blas_library_the_configured_threads(
    engine: Any, matcher: Any, settings: Settings
) -> None:
    """numpy's OpenBLAS spins a thread per core between calls: in two worker processes on two
    cores that took the other worker's core (100k profiles, 20 clients: 59 -> 83 req/s with one
    thread). Each worker sets the count when it starts."""
    assert _blas_threads()  # numpy's OpenBLAS is loaded
    saved = max(_blas_threads())
    try:
        for n in (2, 1):
            mine = settings.model_copy(update={"blas_threads": n})
            with TestClient(create_app(settings=mine, engine=engine, matcher=matcher)):
                assert _blas_threads() == {n}
    finally:
        threadpool_limits(limits=saved, user_api="blas")
