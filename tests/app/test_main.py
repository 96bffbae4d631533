"""The application factory's process-wide settings."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import Databases, migrated_engine

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter: numpy's OpenBLAS starts with one thread per core there, while in a test
# process that has served other apps it may already be (and stay) limited.
_CHILD = """
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from threadpoolctl import threadpool_info
from app.config import Settings
from app.main import create_app

def blas():
    # BLAS on its own threads (numpy's); one built on OpenMP (FAISS's) counts per calling
    # thread, and FAISS's searches set theirs in the request thread (Matcher.sync)
    return sorted({i["num_threads"] for i in threadpool_info()
                   if i["user_api"] == "blas" and i.get("threading_layer") == "pthreads"})

url, data_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = Settings(env="test", database_url=url, data_dir=Path(data_dir), blas_threads=n,
                    outbox_in_process=False, quality_fill_in_service=False,
                    quality_poll_seconds=0, quality_encoder="")
before = blas()
with TestClient(create_app(settings=settings)):
    during = blas()
print(json.dumps({"before": before, "during": during}))
"""


def test_a_worker_gives_numpys_blas_the_configured_threads(
    databases: Databases, tmp_path: Path
) -> None:
    """numpy's OpenBLAS spins a thread per core between calls: in two worker processes on two
    cores that took the other worker's core (100k profiles, 20 clients: 59 -> 80 req/s with one
    thread). Each worker sets the count when it starts."""
    engine = migrated_engine(databases, "sqlite")  # the count does not depend on the database
    seen = {}
    for n in (1, 2):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(engine.url.render_as_string(False)),
                str(tmp_path),
                str(n),
            ],
            cwd=ROOT,
            # as a served worker starts: no thread count inherited from this test process (a
            # library loaded by an earlier test may have set OMP_NUM_THREADS in it)
            env={k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        seen[n] = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen[1]["before"], "numpy's OpenBLAS is loaded"
    assert seen[1]["during"] == [1]
    assert seen[2]["during"] == [2]
    engine.dispose()
