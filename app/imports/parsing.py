"""Turning an uploaded CSV, JSONL or XLSX file into numbered rows of raw values.

Rows are numbered the way the user sees them: for CSV and XLSX the header is row 1 and the
first record row 2 (as in Excel); for JSONL, the line number. Whole-file problems (not a
spreadsheet, empty, unknown columns) raise AppError with ``field="file"``.
"""

import csv
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.errors import AppError

MAX_ROWS = 50_000


@dataclass
class RawRow:
    row: int
    values: dict[str, Any]
    # Set when the row could not even be read (bad JSON on one JSONL line).
    error: dict[str, Any] | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical key -> column as written


def file_error(code: str, message: str, status_code: int = 400) -> AppError:
    return AppError(status_code, code, message, field="file")


def detect_format(filename: str | None, data: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.endswith(".xls"):
        raise file_error(
            "unsupported_format", "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后上传"
        )
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".txt", ".tsv")):
        return "csv"
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "jsonl"
    return "csv"


def _decode_text(data: bytes) -> str:
    if b"\x00" in data:
        raise file_error("not_text", "文件不是文本格式（CSV/JSONL），请检查文件类型")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise file_error("bad_encoding", "无法识别文件编码，请保存为 UTF-8 编码的 CSV")


def normalise_header(name: object) -> str:
    return str(name or "").strip().lower().replace(" ", "").replace("\ufeff", "")


def map_columns(
    headers: list[object], aliases: Mapping[str, str], required: set[str]
) -> dict[int, str]:
    """Column index -> canonical key; refuses unknown, duplicated or missing columns."""
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(headers):
        header = normalise_header(raw)
        if not header:
            continue
        key = aliases.get(header)
        if key is None:
            unknown.append(str(raw).strip())
            continue
        if key in seen:
            raise file_error("duplicate_column", f"列「{raw}」与列「{seen[key]}」重复")
        seen[key] = str(raw).strip()
        mapping[i] = key
    if unknown:
        raise AppError(
            422,
            "unknown_column",
            f"无法识别的列：{'、'.join(unknown)}",
            field="file",
            extra={"columns": unknown},
        )
    missing = sorted(required - set(mapping.values()))
    if missing:
        raise AppError(
            422,
            "missing_column",
            f"缺少必填列：{'、'.join(missing)}",
            field="file",
            extra={"columns": missing},
        )
    return mapping


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _tabular(
    rows: Iterator[tuple[int, list[Any]]], aliases: Mapping[str, str], required: set[str]
) -> list[RawRow]:
    header: list[object] | None = None
    mapping: dict[int, str] = {}
    out: list[RawRow] = []
    for number, cells in rows:
        if all(_cell(c) is None for c in cells):
            continue
        if header is None:
            header = list(cells)
            mapping = map_columns(header, aliases, required)
            continue
        values = {key: _cell(cells[i]) if i < len(cells) else None for i, key in mapping.items()}
        columns = {key: str(header[i]).strip() for i, key in mapping.items()}
        out.append(RawRow(number, values, columns=columns))
        if len(out) > MAX_ROWS:
            raise file_error("too_many_rows", f"文件超过 {MAX_ROWS} 行，请拆分后分批导入", 413)
    if header is None:
        raise file_error("empty_file", "文件为空，没有表头和数据")
    return out


def parse_csv(data: bytes, aliases: Mapping[str, str], required: set[str]) -> list[RawRow]:
    text = _decode_text(data)
    if not text.strip():
        raise file_error("empty_file", "文件为空，没有表头和数据")
    first_line = text.splitlines()[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return _tabular(((i, r) for i, r in enumerate(reader, start=1)), aliases, required)
    except csv.Error as exc:
        raise file_error("bad_csv", f"CSV 格式错误：{exc}") from exc


def parse_xlsx(data: bytes, aliases: Mapping[str, str], required: set[str]) -> list[RawRow]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise file_error("not_a_spreadsheet", "文件不是有效的 Excel（.xlsx）表格") from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise file_error("empty_file", "Excel 文件中没有工作表")
        rows = ((i, list(r)) for i, r in enumerate(sheet.iter_rows(values_only=True), start=1))
        return _tabular(rows, aliases, required)
    finally:
        workbook.close()


def parse_jsonl(data: bytes, aliases: Mapping[str, str], required: set[str]) -> list[RawRow]:
    text = _decode_text(data)
    out: list[RawRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            out.append(
                RawRow(
                    number,
                    {},
                    error={"field": None, "code": "json_invalid", "message": "该行不是合法的 JSON"},
                )
            )
            continue
        if not isinstance(obj, dict):
            out.append(
                RawRow(
                    number,
                    {},
                    error={
                        "field": None,
                        "code": "json_type",
                        "message": "该行必须是一个 JSON 对象",
                    },
                )
            )
            continue
        values: dict[str, Any] = {}
        unknown: list[str] = []
        for key, value in obj.items():
            canonical = aliases.get(normalise_header(key))
            if canonical is None:
                unknown.append(str(key))
            else:
                values[canonical] = _cell(value)
        if unknown:
            out.append(
                RawRow(
                    number,
                    {},
                    error={
                        "field": unknown[0],
                        "code": "extra_forbidden",
                        "message": f"无法识别的字段：{'、'.join(unknown)}",
                    },
                )
            )
            continue
        out.append(RawRow(number, values, columns={k: k for k in values}))
        if len(out) > MAX_ROWS:
            raise file_error("too_many_rows", f"文件超过 {MAX_ROWS} 行，请拆分后分批导入", 413)
    if not out:
        raise file_error("empty_file", "文件为空，没有数据")
    return out


def parse(
    filename: str | None, data: bytes, aliases: Mapping[str, str], required: set[str]
) -> tuple[str, list[RawRow]]:
    if not data or not data.strip():
        raise file_error("empty_file", "文件为空")
    fmt = detect_format(filename, data)
    if fmt == "xlsx":
        return fmt, parse_xlsx(data, aliases, required)
    if fmt == "jsonl":
        return fmt, parse_jsonl(data, aliases, required)
    return fmt, parse_csv(data, aliases, required)
