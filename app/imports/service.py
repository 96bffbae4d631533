"""What the profile and need imports share: row-by-row validation, the write, the report."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import UploadFile
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from app.audit import service as audit
from app.auth.actor import Actor
from app.config import Settings
from app.errors import AppError, translate_errors
from app.imports.parsing import Limits, RawRow, file_error, parse
from app.imports.schemas import AcceptedRow, ImportReport, RejectedRow

M = TypeVar("M")
S = TypeVar("S", bound=BaseModel)


class RowError(Exception):
    """A problem with one row that is not a schema error (unknown county, duplicate…)."""

    def __init__(self, field: str | None, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


class RowProblems(Exception):
    """Every problem of one row: those found before the schema ran, then the schema's own."""

    def __init__(self, found: Sequence[RowError], schema: ValidationError | None) -> None:
        super().__init__(f"{len(found)} problems before the schema")
        self.found = list(found)
        self.schema = schema


def validate_row(model: type[S], record: dict[str, Any], found: Sequence[RowError]) -> S:
    """``model`` from ``record``, or RowProblems with ``found`` and the schema's errors together,
    so that a row with several problems is fixed in one go. The fields of ``found`` should be
    left out of ``record``: each problem is then reported once."""
    try:
        data = model.model_validate(record)
    except ValidationError as exc:
        raise RowProblems(found, exc) from exc
    if found:
        raise RowProblems(found, None)
    return data


@dataclass
class Checked(Generic[M]):
    good: list[tuple[int, M]]
    rejected: list[RejectedRow]


def _rejected(raw: RawRow, error: RowError) -> RejectedRow:
    return RejectedRow(
        row=raw.row,
        field=error.field,
        column=raw.columns.get(error.field or ""),
        code=error.code,
        message=error.message,
    )


def _schema_rejected(raw: RawRow, exc: ValidationError, skip: set[str]) -> list[RejectedRow]:
    out: list[RejectedRow] = []
    for err in translate_errors(exc.errors()):  # type: ignore[arg-type]
        parts = (err["field"] or "").split(".")
        if parts[0] in skip:
            continue
        # "contact.phone" was read from the column keyed "phone"; "fields.0" from "fields".
        column = next(
            (raw.columns[k] for k in (".".join(parts), parts[-1], parts[0]) if k in raw.columns),
            None,
        )
        out.append(RejectedRow(row=raw.row, column=column, **err))
    return out


def _in_column_order(raw: RawRow, problems: list[RejectedRow]) -> list[RejectedRow]:
    """A row's problems left to right as its columns stand in the file (others after)."""
    position = {column: i for i, column in enumerate(raw.columns.values())}
    return sorted(problems, key=lambda p: position.get(p.column or "", len(position)))


def check_rows(rows: list[RawRow], convert: Callable[[dict[str, Any]], M]) -> Checked[M]:
    """Convert every readable row; a row that fails reports all its problems."""
    good: list[tuple[int, M]] = []
    rejected: list[RejectedRow] = []
    for raw in rows:
        if raw.error is not None:
            rejected.append(RejectedRow(row=raw.row, column=raw.error.get("field"), **raw.error))
            continue
        found = [RowError(**p) for p in raw.problems]
        schema: ValidationError | None = None
        try:
            data = convert(raw.values)
        except RowProblems as exc:
            found += exc.found
            schema = exc.schema
        except ValidationError as exc:
            schema = exc
        except RowError as exc:
            found.append(exc)
        else:
            if not found:
                good.append((raw.row, data))
                continue
        problems = [_rejected(raw, e) for e in found]
        if schema is not None:
            problems += _schema_rejected(raw, schema, {e.field for e in found if e.field})
        rejected += _in_column_order(raw, problems)
    return Checked(good, rejected)


@dataclass(frozen=True)
class Batch:
    """One parsed file on its way in, and how to take it."""

    fmt: str
    rows: list[RawRow]
    partial: bool  # import the good rows even when others are rejected
    actor: Actor
    source: str  # the file's name (or its format), kept in each row's audit event


def finish_import(
    session: Session,
    batch: Batch,
    good: Sequence[tuple[int, M]],
    rejected: list[RejectedRow],
    *,
    entity: str,
    build: Callable[[M], Any],
    snapshot: Callable[[Any], dict[str, Any]],
    store_embeddings: Callable[[Session, list[Any]], None],
) -> ImportReport:
    """Insert the good rows (one audit event each, and their embeddings) unless a rejected row
    stops the whole file; report either way."""
    imported = batch.partial or not rejected
    rows = [row for row, _ in good]
    if imported:
        records = [build(data) for _, data in good]
        session.add_all(records)
        session.flush()
        audit.record_many(
            session,
            actor=batch.actor,
            events=[
                audit.PendingEvent(
                    action=f"{entity}.create",
                    entity=entity,
                    entity_id=record.id,
                    after=snapshot(record),
                    context={"import": batch.source, "row": row},
                )
                for row, record in zip(rows, records, strict=True)
            ],
        )
        store_embeddings(session, records)
        accepted = [AcceptedRow(row=row, id=r.id) for row, r in zip(rows, records, strict=True)]
    else:
        accepted = [AcceptedRow(row=row) for row in rows]
    return ImportReport(
        format=batch.fmt,
        total=len(batch.rows),
        accepted_count=len(accepted),
        rejected_count=len(rejected),
        rejected_rows=len({r.row for r in rejected}),
        imported=imported,
        partial=batch.partial,
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


@dataclass(frozen=True)
class TemplateColumn:
    """A column of the downloadable template: a heading the importer reads, and an example."""

    heading: str
    example: Any
    note: str = ""  # allowed values and how to write them, for the 填写说明 sheet
    choices: Sequence[str] = ()  # offered as a drop-down in Excel (other labels still allowed)
    text: bool = False  # typed as text in Excel (phone numbers would lose nothing, but show 1E+10)


@dataclass(frozen=True)
class ImportKind:
    """What one kind of import reads (its columns) and who writes it."""

    name: str  # in URLs, forms and the command line: "profiles", "needs"
    label: str
    aliases: Mapping[str, str]
    required: set[str]
    import_rows: Callable[[Session, Batch], ImportReport]
    template: Sequence[TemplateColumn] = ()


def import_file(
    session: Session,
    *,
    kind: ImportKind,
    filename: str | None,
    data: bytes,
    partial: bool,
    actor: Actor,
    limits: Limits,
) -> ImportReport:
    """Parse, validate and (when allowed) write one file, in the caller's transaction."""
    fmt, rows = parse(filename, data, kind.aliases, kind.required, limits)
    return kind.import_rows(session, Batch(fmt, rows, partial, actor, source=filename or fmt))


def run_upload(
    session: Session,
    *,
    kind: ImportKind,
    upload: UploadFile,
    partial: bool,
    actor: Actor,
    settings: Settings,
) -> ImportReport:
    """Import an uploaded file; commits a result that imported, rolls back any other."""
    data = read_upload(upload, settings.import_max_bytes)
    result = import_file(
        session,
        kind=kind,
        filename=upload.filename,
        data=data,
        partial=partial,
        actor=actor,
        limits=Limits.of(settings),
    )
    if result.imported:
        session.commit()
    else:
        session.rollback()
    return result


class ImportRejected(AppError):
    """The API's answer to a file with bad rows: the usual error body plus the whole report."""

    def __init__(self, report: ImportReport) -> None:
        first = report.rejected[0]
        where = f"第 {first.row} 行：{first.message}"
        super().__init__(
            422,
            "import_rejected",
            f"{report.rejected_rows} 行共 {report.rejected_count} 处错误，未导入任何记录"
            f"（{where}）",
            field=first.field,
            errors=[r.model_dump() for r in report.rejected],
        )
        self.report = report

    def body(self) -> dict[str, Any]:
        return {**super().body(), "report": self.report.model_dump()}
