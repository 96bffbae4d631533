"""Shared plumbing of bench/eval_matching.py and bench/bench_matching.py.

Throwaway databases built by the real migrations, an admin account and its bearer token, the
service as a real HTTP server in a child process, machine facts and load averages for the
result tables, and writing a table between two markers of docs/matching.md.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "matching.md"
PG_ADMIN_URL = os.environ.get(
    "XIANGCAI_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ADMIN_PASSWORD = "Bench2026pass"


# ---------------------------------------------------------------------- machine and load


def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def load_1min() -> float:
    return os.getloadavg()[0]


def machine() -> dict[str, str]:
    import faiss
    import numpy as np

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{mem_gb:.0f} GiB",
        "python": platform.python_version(),
        "faiss": str(faiss.__version__),
        "numpy": str(np.__version__),
    }


def pct(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


# ---------------------------------------------------------------------- databases


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def pg_create(prefix: str = "xiangcai_bench") -> str:
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def pg_drop(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_database(url: str) -> Any:
    """Run the migrations and load the 60 counties; returns an engine (app.db.make_engine)."""
    from sqlmodel import Session

    from app import migrate
    from app.counties import service as counties
    from app.db import make_engine

    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        counties.load(session)
        session.commit()
    return engine


def create_admin(engine: Any, secret_key: str, username: str = "bench-admin") -> str:
    """An admin account (through the accounts service) and a bearer token for it."""
    from sqlmodel import Session

    from app.auth import service as accounts
    from app.auth.actor import Actor
    from app.auth.schemas import AccountCreate
    from app.auth.security import create_access_token
    from app.config import Settings

    with Session(engine, expire_on_commit=False) as session:
        account = accounts.create_account(
            session,
            data=AccountCreate(
                username=username, password=ADMIN_PASSWORD, role="admin", display_name="基准测试"
            ),
            actor=Actor.system("bench"),
        )
        session.commit()
        assert account.id is not None
        settings = Settings(env="test", secret_key=secret_key, database_url="sqlite://")
        return create_access_token(account_id=account.id, role="admin", settings=settings)


def use_settings_env(*, database_url: str, data_dir: Path, encoder: str) -> None:
    """Point the process-wide settings (``app.config.get_settings``) at this run.

    The write paths (profile import, need create) pick their encoder from the process-wide
    settings, not from the settings given to ``create_app``; both must agree.
    """
    from app.config import get_settings

    os.environ["XIANGCAI_DATABASE_URL"] = database_url
    os.environ["XIANGCAI_DATA_DIR"] = str(data_dir)
    os.environ["XIANGCAI_ENCODER"] = encoder
    get_settings.cache_clear()


# ---------------------------------------------------------------------- a real HTTP server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """``bench/serve.py`` (create_app + uvicorn) in a child process."""

    proc: subprocess.Popen[bytes]
    port: int
    started_s: float
    timings: dict[str, Any]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def memory(self) -> dict[str, float]:
        """Resident set now and its peak (VmHWM), GiB, read from /proc."""
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 2**20
        return out

    def stop(self, timeout: float = 600.0) -> float:
        """Graceful stop (SIGINT: uvicorn runs the lifespan shutdown, which saves a snapshot);
        returns the seconds it took."""
        t = time.perf_counter()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return time.perf_counter() - t


def start_server(
    *,
    database_url: str,
    data_dir: Path,
    encoder: str,
    log_dir: Path,
    timeout: float = 1800.0,
) -> Server:
    """Start the service and wait until it answers; ``started_s`` is Popen to first 200 of
    /api/v1/health (interpreter start, imports, model load, index load or rebuild)."""
    import httpx

    port = free_port()
    env = dict(os.environ)
    env.update(
        XIANGCAI_DATABASE_URL=database_url,
        XIANGCAI_DATA_DIR=str(data_dir),
        XIANGCAI_ENCODER=encoder,
        XIANGCAI_BENCH_TIMINGS=str(log_dir / f"timings-{port}.json"),
        PYTHONUNBUFFERED="1",
    )
    log_path = log_dir / f"server-{port}.log"
    log = log_path.open("wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "serve.py"), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(ROOT),
    )
    deadline = t0 + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
        # a bare connect first: polling with HTTP clients would steal CPU from the start-up
        with socket.socket() as probe:
            listening = probe.connect_ex(("127.0.0.1", port)) == 0
        if listening:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5.0)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
        if time.perf_counter() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start in {timeout} s; see {log_path}")
        time.sleep(0.1)
    started = time.perf_counter() - t0
    timings_file = log_dir / f"timings-{port}.json"
    timings: dict[str, Any] = {}
    for _ in range(100):
        if timings_file.exists():
            timings = json.loads(timings_file.read_text())
            break
        time.sleep(0.05)
    return Server(proc, port, started, timings, log_path)


# ---------------------------------------------------------------------- the document


def read_pools(description: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The pools a script reads (its one argument: the file ``bench/eval_matching.py
    --features`` wrote) and the sets they come from, sorted."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("pools", help="the file written by bench/eval_matching.py --features")
    args = ap.parse_args()
    text = Path(args.pools).read_text("utf-8")
    pools = [json.loads(line) for line in text.splitlines() if line]
    return pools, sorted({str(p["set"]) for p in pools})


def write_between_markers(name: str, body: str, path: Path = DOC) -> None:
    """Replace what lies between ``<!-- NAME:BEGIN -->`` and ``<!-- NAME:END -->``."""
    begin, end = f"<!-- {name}:BEGIN -->", f"<!-- {name}:END -->"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------- who else uses the CPU


def _busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds of this process, its live descendants and its reaped children."""
    import psutil

    me = psutil.Process()
    t = me.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in me.children(recursive=True):
        try:
            c = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += c.user + c.system
    return float(total)


class OthersCpu:
    """Average CPU (in cores) used by processes other than ours over a measured phase.

    The load average cannot tell our own two busy processes (client and server) from another
    engineer's test suite; the difference of whole-machine busy time and the CPU time of this
    process tree can.
    """

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.busy = _busy_seconds()
        self.own = _own_seconds()

    def cores(self) -> float:
        wall = time.perf_counter() - self.t
        busy = _busy_seconds() - self.busy
        own = _own_seconds() - self.own
        return max(0.0, (busy - own) / wall) if wall > 0 else 0.0


def others_now(seconds: float = 3.0) -> float:
    probe = OthersCpu()
    time.sleep(seconds)
    return probe.cores()


def wait_for_others(limit: float = 0.5, max_wait: float = 600.0) -> float:
    """Wait until other processes use less than ``limit`` cores (sampled over 3 s)."""
    start = time.monotonic()
    while True:
        used = others_now()
        if used < limit or time.monotonic() - start > max_wait:
            if used >= limit:
                print(f"  [others still use {used:.2f} cores after {max_wait:.0f} s; going on]")
            return used
        print(f"  [others use {used:.2f} cores, load {load_avg()}: waiting]", flush=True)
        time.sleep(20)
