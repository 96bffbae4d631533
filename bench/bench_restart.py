"""Restart after a bulk import by the command line while the service was down (issue 9, item 4).

Usage: ``python bench/bench_restart.py [--steps 2000,6000,20000,6000:skip-index] [--no-doc]``

Takes the 100k SQLite database that ``bench/bench_load.py --size 100k`` seeds (built first if it
is not cached), serves it once so that a snapshot of the index is saved on shutdown, then for
each step: stops the service, imports that many new profiles with ``python -m app import
profiles`` (JSONL, the synthetic generator of bench/synth.py), starts ``python -m app serve``
with one worker and times it until ``/api/v1/health`` answers — the time a county would wait.
The CLI brings the index snapshot up to date after an import of 1,000 profiles or more; with
``--skip-index`` it does not, and the service replays the changes since the snapshot at start,
or rebuilds from the stored vectors when that is cheaper (``app/matches/matcher.py``); which one
it did is read from its log. Target: within the 10 s start-up target at 100k.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_load  # noqa: E402
from harness import load_avg, machine, sqlite_url, write_between_markers  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "load.md"
PY = sys.executable


def timed_start(env: dict[str, str], workdir: Path) -> tuple[float, str]:
    """Seconds from launching the service to its first answer, and what its log says of the
    index (replayed or rebuilt)."""
    t = time.perf_counter()
    service = bench_load.start_service(env, workdir)
    # start_service waits two more seconds for other workers; there is one worker here
    seconds = time.perf_counter() - t - 2.0
    service.stop()
    log = service.log.read_text(errors="replace")
    how = "from the snapshot"
    if "rebuilding" in log:
        how = "rebuilt from the stored vectors"
    elif "replaying" in log:
        how = "replayed the changes"
    return seconds, how


def write_jsonl(path: Path, gen: object, first: int, n: int) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i in range(first, first + n):
            row, _parts = gen.record(i)  # type: ignore[attr-defined]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--steps",
        default="2000,6000,20000,6000:skip-index",
        help="profiles per import; ':skip-index' imports without refreshing the snapshot",
    )
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    workdir = Path(args.workdir) / "xiangcai-load"
    template = workdir / "seeded-100k.db"
    if not template.exists():
        subprocess.run(
            [
                PY,
                str(Path(__file__).parent / "bench_load.py"),
                "--db",
                "sqlite",
                "--size",
                "100k",
                "--prepare-only",
                "--workdir",
                args.workdir,
            ],
            check=True,
        )
    data = workdir / "data-restart"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    shutil.copy(template, data / "xiangcai.db")
    env = dict(os.environ)
    env.update(
        XIANGCAI_DATABASE_URL=sqlite_url(data / "xiangcai.db"),
        XIANGCAI_DATA_DIR=str(data),
        XIANGCAI_WORKERS="1",
        PYTHONUNBUFFERED="1",
    )
    bench_load.run_cli(env, "init")
    import bench_matching as bm

    gen = bm.Context(argparse.Namespace(workdir=str(workdir))).gen
    rows = []
    first_start, _how = timed_start(env, data)  # builds the index and saves its snapshot
    rows.append(
        ("first start (no snapshot yet)", "—", first_start, "built from the stored vectors")
    )
    seconds, how = timed_start(env, data)
    rows.append(("restart, nothing changed", "—", seconds, how))
    offset = 10**7  # synthetic ids far from bench_load's
    for step in (s for s in args.steps.split(",") if s):
        n = int(step.split(":")[0])
        skip = step.endswith(":skip-index")
        path = data / f"import-{n}.jsonl"
        write_jsonl(path, gen, offset, n)
        offset += n
        t = time.perf_counter()
        subprocess.run(
            [PY, "-m", "app", "import", "profiles", str(path)] + (["--skip-index"] if skip else []),
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        imported = time.perf_counter() - t
        seconds, how = timed_start(env, data)
        label = f"restart after {n:,} profiles imported by the CLI"
        if skip:
            label += " with `--skip-index`"
        rows.append((label, f"{n / imported:.0f}", seconds, how))
        print(rows[-1], flush=True)
    m = machine()
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {m['cpu']}, "
        f"`python bench/bench_restart.py --steps {args.steps}`; "
        f"100k synthetic profiles plus the demo data, SQLite, one worker; load average at "
        f"the end {load_avg()}.",
        "",
        "| | CLI import incl. snapshot refresh, profiles/s "
        "| start-up to first answer, s (target ≤ 10) | index |",
        "|---|---|---|---|",
    ]
    lines += [f"| {label} | {rate} | {s:.1f} | {how} |" for label, rate, s, how in rows]
    body = "\n".join(lines)
    print(body)
    if not args.no_doc:
        write_between_markers("RESTART-100K", body, DOC)


if __name__ == "__main__":
    main()
