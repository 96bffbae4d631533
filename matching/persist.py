"""One checked file format for the indexes the service keeps under its data directory.

Layout: ``MAGIC`` (8 bytes) | header length (8 bytes, little endian) | header (UTF-8 JSON) |
payload. The header names the kind of index, its format version, the model or tokenizer version
that produced it, the payload length and the payload's sha256. ``read_checked`` refuses anything
that does not match, so a truncated, corrupt or foreign file is rebuilt by the service, never
trusted. Writes go to a temporary file that is renamed into place, so a crash mid-write leaves the
old file intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

MAGIC = b"XCMATCH1"
_LEN = struct.Struct("<Q")
_MAX_HEADER = 1 << 20


class IndexFileError(Exception):
    """An index file that cannot be used; the caller should rebuild from the database."""


class CorruptIndexError(IndexFileError):
    """Missing, truncated or damaged file (bad magic, bad header, checksum mismatch)."""


class IncompatibleIndexError(IndexFileError):
    """A sound file built for something else: another index kind, model, dimension or format."""


def write_checked(path: str | os.PathLike[str], header: dict[str, Any], payload: bytes) -> None:
    """Atomically write ``header`` + ``payload`` with a checksum."""
    full = dict(header)
    full["payload_len"] = len(payload)
    full["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    head = json.dumps(full, ensure_ascii=False, sort_keys=True).encode()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(_LEN.pack(len(head)))
            f.write(head)
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_checked(
    path: str | os.PathLike[str], expected: dict[str, Any]
) -> tuple[dict[str, Any], memoryview]:
    """Read a file written by ``write_checked``; every key of ``expected`` must match the header.

    Raises ``CorruptIndexError`` or ``IncompatibleIndexError`` (both ``IndexFileError``).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise CorruptIndexError(f"cannot read index file {p}: {e}") from e
    if len(data) < len(MAGIC) + _LEN.size or data[: len(MAGIC)] != MAGIC:
        raise CorruptIndexError(f"{p} is not a Xiangcai index file (bad magic)")
    (hlen,) = _LEN.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LEN.size
    if hlen > _MAX_HEADER or start + hlen > len(data):
        raise CorruptIndexError(f"{p}: truncated or damaged header")
    try:
        header = json.loads(data[start : start + hlen].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptIndexError(f"{p}: unreadable header") from e
    if not isinstance(header, dict):
        raise CorruptIndexError(f"{p}: unreadable header")
    _check_expected(p, header, expected)
    payload = memoryview(data)[start + hlen :]
    if len(payload) != header.get("payload_len"):
        raise CorruptIndexError(f"{p}: truncated payload")
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise CorruptIndexError(f"{p}: checksum mismatch")
    return header, payload


def _check_expected(p: Path, header: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, want in expected.items():
        if header.get(key) != want:
            raise IncompatibleIndexError(f"{p}: {key} is {header.get(key)!r}, expected {want!r}")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Streaming sha256 of a file (no second copy of a large index in memory)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".meta.json")


def write_sidecar(path: str | os.PathLike[str], header: dict[str, Any]) -> None:
    """Write ``<path>.meta.json`` describing the already written file at ``path``."""
    p = Path(path)
    full = dict(header)
    full["magic"] = MAGIC.decode()
    full["file_len"] = p.stat().st_size
    full["file_sha256"] = file_sha256(p)
    side = sidecar_path(p)
    fd, tmp = tempfile.mkstemp(prefix=side.name + ".", suffix=".tmp", dir=side.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(full, f, ensure_ascii=False, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, side)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verify_sidecar(path: str | os.PathLike[str], expected: dict[str, Any]) -> dict[str, Any]:
    """Check ``path`` against its sidecar: expected header keys, then length and sha256."""
    p = Path(path)
    side = sidecar_path(p)
    try:
        header = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptIndexError(f"{side}: missing or unreadable metadata") from e
    if not isinstance(header, dict) or header.get("magic") != MAGIC.decode():
        raise CorruptIndexError(f"{side}: not a Xiangcai index metadata file")
    _check_expected(p, header, expected)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise CorruptIndexError(f"cannot read index file {p}: {e}") from e
    if size != header.get("file_len"):
        raise CorruptIndexError(f"{p}: truncated (size {size}, expected {header.get('file_len')})")
    if file_sha256(p) != header.get("file_sha256"):
        raise CorruptIndexError(f"{p}: checksum mismatch")
    return header
