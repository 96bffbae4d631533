"""Hostile input against the served API: schemathesis generates requests from the OpenAPI
document (every operation, random and boundary values, stateful sequences) and checks that no
answer is a server error, and that every answer is one the document declares: its status code,
content type, headers and body schema (schemathesis's conformance checks; since 2026-12-06).

Usage: ``make fuzz`` (installs schemathesis into its own ``.venv-fuzz``: its pins are not the
service's; SQLite, then PostgreSQL), or ``.venv/bin/python bench/fuzz_api.py --st
.venv-fuzz/bin/st [--examples 100] [--db sqlite|postgresql]``.

The demo is set up in a temporary directory (``init`` + ``seed-demo``; on PostgreSQL in a
throwaway database on the local server) and served as in
production (``python -m app serve``, two workers). Each role signs in once (admin, a county
officer, a talent) and schemathesis runs with that token; ``/auth/logout`` is left out (it
would revoke the token the rest of the run uses), and the address limit of failed sign-ins is
raised for the run (the generated sign-ins would otherwise lock the run's own address out).
Before that, the pages (not in the OpenAPI document): each role signs in through the sign-in
form and opens every page with each query parameter the pages read set to each of a list of
hostile values (empty, huge, negative, out-of-range dates, NUL, a right-to-left override, 5,000
characters, markup, paths, full-width digits …).
The server's log is then searched for 500 answers and unhandled errors. Exit status 1 if any,
or if schemathesis reports an answer the document does not declare.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from harness import pg_create, pg_drop, pg_url  # noqa: E402

ROLES = {"admin": "admin", "county": "county220822", "talent": "talent002"}
PASSWORD = "Demo2026"  # the demo accounts' password (README)
PAGE_ROLES = [*ROLES.values(), "province"]
# Every query parameter the pages read.
PARAMS = [
    "text", "region", "program", "prefecture", "to", "from", "date_to", "date_from", "status",
    "kind", "group_by", "entity_id", "entity", "actor", "action", "stale_days", "limit", "role",
    "figure", "availability", "all", "code", "format", "next", "run", "sign_ins", "unread",
    "page", "page_size", "county_code", "need_id", "profile_id",
]  # fmt: skip
# What every API answer is checked for: no server error, and a status code, content type,
# headers and body the OpenAPI document declares for the operation.
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
HOSTILE = [
    "", "0", "-1", "99999999999999999999", "0001-01-01", "9999-12-31", "2026-02-30", "\x00",
    "%00", "\u202eabc", "a\u200bb", "a" * 5000, "<script>alert(1)</script>", "../../etc/passwd",
    "１２", "nan", "1e309", "true", "[]", "//evil.example", "javascript:alert(1)",
]  # fmt: skip


def page_paths() -> list[str]:
    """Every page a browser can open (each GET route of the web pages), with the demo's ids:
    1 for a row, 220822 (通榆县) for a county, ``profiles`` for an import template."""
    from app.web.router import PAGE_MODULES

    paths = sorted({r.path for m in PAGE_MODULES for r in m.router.routes if "GET" in r.methods})
    fill = {"code": "220822", "kind": "profiles"}
    return [re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), "1"), p) for p in paths]


def sweep_pages(base: str, username: str) -> int:
    """Every page with every parameter at every hostile value, signed in as ``username``;
    returns how many requests were sent (the server's log says how they were answered)."""
    with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as c:
        found = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert found, "the sign-in page has no form token"
        c.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": found.group(1)},
        ).raise_for_status()
        sent = 0
        for page in page_paths():
            for name in PARAMS:
                for value in HOSTILE:
                    c.get(page, params={name: value})
                    sent += 1
        return sent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--st", default=str(ROOT / ".venv-fuzz" / "bin" / "st"))
    ap.add_argument("--examples", type=int, default=100, help="examples per operation and role")
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--no-pages", action="store_true", help="the API only (skip the page sweep)")
    args = ap.parse_args()
    pg_name = pg_create("xiangcai_fuzz") if args.db == "postgresql" else None
    try:
        return fuzz(args, pg_name)
    finally:
        if pg_name:
            pg_drop(pg_name)


def fuzz(args: argparse.Namespace, pg_name: str | None) -> int:
    work = Path(tempfile.mkdtemp(prefix="xiangcai-fuzz-"))
    env = {
        **os.environ,
        "XIANGCAI_DATA_DIR": str(work),
        "XIANGCAI_DATABASE_URL": pg_url(pg_name) if pg_name else f"sqlite:///{work}/xiangcai.db",
        "XIANGCAI_LOGIN_ADDRESS_MAX_FAILURES": "1000000",
        "XIANGCAI_LOGIN_MAX_FAILURES": "1000000",
        "XIANGCAI_LOGIN_ACCOUNT_MAX_FAILURES": "1000000",
    }
    py = sys.executable
    for step in (["init"], ["seed-demo"]):
        subprocess.run([py, "-m", "app", *step], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    log_path = work / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [py, "-m", "app", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    results: list[tuple[str, str]] = []
    undeclared: list[str] = []  # roles whose run found an answer the document does not declare
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        # The pages first: the API's run may deactivate accounts or change their passwords.
        for username in [] if args.no_pages else PAGE_ROLES:
            print(f"pages as {username}: {sweep_pages(base, username)} requests", flush=True)
        for role, username in ROLES.items():
            r = httpx.post(
                f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            r.raise_for_status()
            token = r.json()["access_token"]
            run = subprocess.run(
                [
                    args.st,
                    "run",
                    f"{base}/openapi.json",
                    "-H",
                    f"Authorization: Bearer {token}",
                    "-c",
                    CHECKS,
                    "-n",
                    str(args.examples),
                    "--exclude-path-regex",
                    "logout",
                    "--no-color",
                ],
                capture_output=True,
                text=True,
                cwd=work,  # schemathesis keeps a cache in its working directory
            )
            found = re.search(r"(\d+) generated, .*", run.stdout)
            results.append((role, found.group(0) if found else run.stdout[-400:]))
            print(f"API as {role}: {results[-1][1]}", flush=True)
            if not found or "unique failure" in found.group(0):
                undeclared.append(role)
                (work / f"schemathesis-{role}.txt").write_text(run.stdout)
    finally:
        server.terminate()
        server.wait(60)
    text = log_path.read_text(errors="replace")
    errors = len(re.findall(r'" 500 Internal Server Error', text))
    unhandled = text.count("unhandled error")
    print(f"server log: {errors} answers of 500, {unhandled} unhandled errors")
    if errors or unhandled:
        print(f"  the log: {log_path}")
        for m in re.finditer(r"\n(\S*Error: .*)", text):
            print("  ", m.group(1))
        return 1
    if undeclared:
        print(f"answers the OpenAPI document does not declare, as {', '.join(undeclared)}: {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
