"""The row-by-row validation shared by the profile and need imports."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import UploadFile
from pydantic import ValidationError
from sqlmodel import Session

from app.audit import service as audit
from app.auth.actor import Actor
from app.config import Settings
from app.errors import AppError, translate_errors
from app.imports.parsing import Limits, RawRow, file_error, parse
from app.imports.schemas import AcceptedRow, ImportReport, RejectedRow

M = TypeVar("M")


class RowError(Exception):
    """A problem with one row that is not a schema error (unknown county, duplicate…)."""

    def __init__(self, field: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


@dataclass
class Checked(Generic[M]):
    good: list[tuple[int, M]]
    rejected: list[RejectedRow]


def check_rows(rows: list[RawRow], convert: Callable[[dict[str, Any]], M]) -> Checked[M]:
    good: list[tuple[int, M]] = []
    rejected: list[RejectedRow] = []
    for raw in rows:
        if raw.error is not None:
            rejected.append(RejectedRow(row=raw.row, column=raw.error.get("field"), **raw.error))
            continue
        try:
            good.append((raw.row, convert(raw.values)))
        except ValidationError as exc:
            for err in translate_errors(exc.errors()):  # type: ignore[arg-type]
                parts = (err["field"] or "").split(".")
                # "contact.phone" was read from the column keyed "phone"; "fields.0" from "fields".
                column = next(
                    (
                        raw.columns[k]
                        for k in (".".join(parts), parts[-1], parts[0])
                        if k in raw.columns
                    ),
                    None,
                )
                rejected.append(RejectedRow(row=raw.row, column=column, **err))
        except RowError as exc:
            rejected.append(
                RejectedRow(
                    row=raw.row,
                    field=exc.field,
                    column=raw.columns.get(exc.field or ""),
                    code=exc.code,
                    message=exc.message,
                )
            )
    return Checked(good, rejected)


def save_rows(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    rows: Sequence[int],
    records: Sequence[Any],
    snapshot: Callable[[Any], dict[str, Any]],
    store_embeddings: Callable[[Session, list[Any]], None],
    source: str,
) -> list[AcceptedRow]:
    """Insert the new records of one import, with an audit event per row and their embeddings."""
    session.add_all(records)
    session.flush()
    audit.record_many(
        session,
        actor=actor,
        events=[
            audit.PendingEvent(
                action=f"{entity}.create",
                entity=entity,
                entity_id=record.id,
                after=snapshot(record),
                context={"import": source, "row": row},
            )
            for row, record in zip(rows, records, strict=True)
        ],
    )
    store_embeddings(session, list(records))
    return [AcceptedRow(row=row, id=r.id) for row, r in zip(rows, records, strict=True)]


def report(
    *,
    fmt: str,
    total: int,
    accepted: list[AcceptedRow],
    rejected: list[RejectedRow],
    imported: bool,
    partial: bool,
) -> ImportReport:
    return ImportReport(
        format=fmt,
        total=total,
        accepted_count=len(accepted),
        rejected_count=len(rejected),
        imported=imported,
        partial=partial,
        accepted=accepted,
        rejected=sorted(rejected, key=lambda r: r.row),
    )


def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """Read at most ``max_bytes`` (sync: import endpoints run in the thread pool)."""
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise file_error(
            "file_too_large",
            f"文件超过 {max_bytes // (1024 * 1024)} MB 上限，请拆分后分批导入",
            413,
        )
    return data


class Importer(Protocol):
    def __call__(
        self,
        session: Session,
        *,
        fmt: str,
        rows: list[RawRow],
        partial: bool,
        actor: Actor,
        source: str | None,
    ) -> ImportReport: ...


def run_upload(
    session: Session,
    *,
    upload: UploadFile,
    partial: bool,
    actor: Actor,
    settings: Settings,
    aliases: Mapping[str, str],
    required: set[str],
    importer: Importer,
) -> ImportReport:
    """Parse, validate and (when allowed) write an uploaded file; commits only a clean result."""
    data = read_upload(upload, settings.import_max_bytes)
    fmt, rows = parse(upload.filename, data, aliases, required, Limits.of(settings))
    result = importer(
        session, fmt=fmt, rows=rows, partial=partial, actor=actor, source=upload.filename
    )
    if not result.imported:
        session.rollback()
        raise rejected_error(result)
    session.commit()
    return result


def rejected_error(result: ImportReport) -> AppError:
    first = result.rejected[0]
    return AppError(
        422,
        "import_rejected",
        f"共 {result.rejected_count} 处错误，未导入任何记录（第 {first.row} 行：{first.message}）",
        field=first.field,
        errors=[r.model_dump() for r in result.rejected],
        extra={"report": result.model_dump()},
    )
