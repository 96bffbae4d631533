"""Hostile input against the served API: schemathesis generates requests from the OpenAPI
document (every operation, random and boundary values, stateful sequences) and checks that no
answer is a server error.

Usage: ``make fuzz`` (installs schemathesis into its own ``.venv-fuzz``: its pins are not the
service's), or ``.venv/bin/python bench/fuzz_api.py --st .venv-fuzz/bin/st [--examples 100]``.

The demo is set up in a temporary directory (SQLite, ``init`` + ``seed-demo``) and served as in
production (``python -m app serve``, two workers). Each role signs in once (admin, a county
officer, a talent) and schemathesis runs with that token; ``/auth/logout`` is left out (it
would revoke the token the rest of the run uses), and the address limit of failed sign-ins is
raised for the run (the generated sign-ins would otherwise lock the run's own address out).
The server's log is then searched for 500 answers and unhandled errors. Exit status 1 if any.
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
ROLES = {"admin": "admin", "county": "county220822", "talent": "talent002"}
PASSWORD = "Demo2026"  # the demo accounts' password (README)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--st", default=str(ROOT / ".venv-fuzz" / "bin" / "st"))
    ap.add_argument("--examples", type=int, default=100, help="examples per operation and role")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="xiangcai-fuzz-"))
    env = {
        **os.environ,
        "XIANGCAI_DATA_DIR": str(work),
        "XIANGCAI_DATABASE_URL": f"sqlite:///{work}/xiangcai.db",
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
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
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
                    "not_a_server_error",
                    "-n",
                    str(args.examples),
                    "--exclude-path-regex",
                    "logout",
                    "--no-color",
                ],
                capture_output=True,
                text=True,
            )
            found = re.search(r"(\d+) generated, .*", run.stdout)
            results.append((role, found.group(0) if found else run.stdout[-400:]))
            print(f"{role}: {results[-1][1]}", flush=True)
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
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
