"""An audit event as a person reads it (app/web/history.py)."""

import re
from pathlib import Path

from app.web.history import HIDDEN_CONTEXT, field_label

APP = Path(__file__).resolve().parents[3] / "app"


def _audit_context_keys() -> set[str]:
    """The keys of every context the services write into audit events (the web pages' own
    template contexts excepted)."""
    keys: set[str] = set()
    for path in APP.rglob("*.py"):
        if "web" in path.relative_to(APP).parts:
            continue
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"context\s*=\s*(\{[^{}]*\})", text):
            keys |= set(re.findall(r'"(\w+)"\s*:', block))
    return keys


def test_every_context_key_of_the_audit_trail_reads_in_chinese() -> None:
    """The audit page shows each event's context (who was refused how often, which import row,
    which plan figures): no key may reach the page as its English name."""
    keys = _audit_context_keys()
    assert {"limit", "refused", "row", "password_changed", "assignments"} <= keys
    assert sorted(k for k in keys - HIDDEN_CONTEXT if field_label(k) == k) == []
