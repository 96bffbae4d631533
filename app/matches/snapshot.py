"""Snapshots of the profile corpus in the data directory, and the audit position they are at.

A snapshot is a directory ``snap-<seq>-<random>`` holding the corpus files and a state file; the
symlink ``current`` is switched to a new snapshot atomically, so a crash leaves the old one. A
snapshot is used only when it is sound, made with the running process's stamp (model, text
recipe, tokenizer) and taken from this database: the audit event it was current to must still
exist with the same hash, which a restore from an older backup breaks.
"""

import json
import logging
import os
import shutil
import uuid
from hashlib import sha1
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.config import Settings
from app.matches.embeddings import Stamp
from matching.corpus import ProfileCorpus
from matching.encoders import Encoder
from matching.persist import IndexFileError

log = logging.getLogger("xiangcai.matching")

STATE_FILE = "state.json"


def index_root(settings: Settings) -> Path:
    # One directory per database, so that several databases can share a data directory.
    url = settings.database_url.split("@")[-1]
    return settings.data_dir / "index" / sha1(url.encode()).hexdigest()[:12]


def latest_seq(session: Session) -> int:
    """The number of the last committed audit event (0 for none)."""
    return int(session.exec(select(func.coalesce(func.max(AuditEvent.seq), 0))).one())


def hash_at(session: Session, seq: int) -> str | None:
    if seq <= 0:
        return None
    return session.exec(select(AuditEvent.hash).where(AuditEvent.seq == seq)).first()


def save_snapshot(
    root: Path, corpus: ProfileCorpus, *, seq: int, seq_hash: str | None, stamp: Stamp
) -> None:
    """Write the corpus as current to audit event ``seq`` and point ``current`` at it."""
    root.mkdir(parents=True, exist_ok=True)
    snap = root / f"snap-{seq}-{uuid.uuid4().hex[:8]}"
    corpus.save(snap)
    state = {"applied_seq": seq, "seq_hash": seq_hash, **stamp.as_dict()}
    (snap / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    link = root / "current"
    tmp_link = root / f".current-{uuid.uuid4().hex[:8]}"
    os.symlink(snap.name, tmp_link)
    os.replace(tmp_link, link)
    for old in root.glob("snap-*"):
        if old.name != snap.name:
            shutil.rmtree(old, ignore_errors=True)


def load_snapshot(
    session: Session, root: Path, encoder: Encoder, stamp: Stamp
) -> tuple[ProfileCorpus | None, int]:
    """The current snapshot's corpus and the audit event it is current to, or ``(None, 0)``
    when there is none or it must not be trusted."""
    current = root / "current"
    try:
        state = json.loads((current / STATE_FILE).read_text(encoding="utf-8"))
        seq = int(state["applied_seq"])
        if {k: state.get(k) for k in stamp.as_dict()} != stamp.as_dict():
            log.info("index snapshot made by another model or recipe: rebuilding")
            return None, 0
        if seq > latest_seq(session) or state.get("seq_hash") != hash_at(session, seq):
            log.warning("index snapshot does not belong to this database state: rebuilding")
            return None, 0
        corpus = ProfileCorpus.load(current, encoder.version, stamp.tokenizer_version)
    except FileNotFoundError:
        return None, 0
    except (IndexFileError, ValueError, KeyError, TypeError, OSError) as exc:
        log.warning("index snapshot unusable (%s): rebuilding from the database", exc)
        return None, 0
    return corpus, seq
