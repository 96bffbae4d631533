"""The hash chain: canonical encoding of an event and the SHA-256 link to its predecessor."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64
# Every column of an event except its own hash takes part in the hash.
HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_username",
    "actor_role",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "context",
    "prev_hash",
)


def canonical_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def event_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields (``created_at`` to microseconds)."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["created_at"] = fields["created_at"].isoformat(timespec="microseconds")
    encoded = canonical_json(payload)
    assert encoded is not None
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
