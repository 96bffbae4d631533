"""Turning an uploaded CSV, JSONL or XLSX file into numbered rows of raw values.

Rows are numbered the way the user sees them: for CSV and XLSX the header is row 1 and the
first record row 2 (as in Excel); for JSONL, the line number. Whole-file problems (not a
spreadsheet, empty, unknown columns, over a limit) raise AppError with ``field="file"``.

Uploads may be hostile: an .xlsx is a zip that can inflate a thousandfold, and a few hundred
kilobytes can hold a million blank rows. Every limit (``Limits``) is checked before the work
or the memory it bounds is spent; rows are read one at a time, blank ones counted.
"""

import csv
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree

from app.config import Settings
from app.errors import AppError

# Far more columns than any import has; a row reaching column XFD would otherwise be padded to
# 16,384 cells, and a file of such rows takes minutes to walk.
MAX_COLUMNS = 50
# An .xlsx has a dozen parts; the zip directory is parsed whole when opened, so count first.
MAX_ZIP_MEMBERS = 1000
_CHUNK = 64 * 1024
# Row and cell elements, with or without a namespace prefix. The reader walks every sheet
# once on opening (to size it) before yielding a row, so a sheet of a million rows costs
# seconds before any row limit could stop it: count the elements in the bytes first.
_SHEET_ELEMENT = re.compile(rb"<(?:\w{1,16}:)?(row|c|si)[\s/>]")
_TAIL = 24
# Cells per row allowed on average across the workbook (an import has at most 15 columns);
# shared strings are bounded by the same number, as no more can be in use than there are cells.
CELLS_PER_ROW = 20
_CONTENT_TYPES = "[Content_Types].xml"
_SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)


@dataclass(frozen=True)
class Limits:
    rows: int
    line_chars: int
    unzipped_bytes: int
    shared_strings_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(
            rows=settings.import_max_rows,
            line_chars=settings.import_max_line_chars,
            unzipped_bytes=settings.import_max_unzipped_bytes,
            shared_strings_bytes=settings.import_max_shared_strings_bytes,
        )


@dataclass
class RawRow:
    row: int
    values: dict[str, Any]
    # Set when the row could not even be read (bad JSON on one JSONL line).
    error: dict[str, Any] | None = None
    columns: dict[str, str] = field(default_factory=dict)  # canonical key -> column as written
    # Problems found while reading a row that can still be checked ({"field", "code", "message"}).
    problems: list[dict[str, Any]] = field(default_factory=list)


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


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def too_many_rows(limits: Limits) -> AppError:
    return file_error(
        "too_many_rows", f"文件超过 {limits.rows} 行的上限（空行也计入），请拆分后分批导入", 413
    )


def _lines(text: str, limits: Limits) -> list[str]:
    lines = text.splitlines()
    if max(map(len, lines), default=0) > limits.line_chars:
        number = next(i for i, line in enumerate(lines, 1) if len(line) > limits.line_chars)
        raise file_error(
            "line_too_long",
            f"第 {number} 行超过 {limits.line_chars} 个字符的上限，请检查文件内容",
            413,
        )
    return lines


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
    rows: Iterator[tuple[int, list[Any]]],
    aliases: Mapping[str, str],
    required: set[str],
    limits: Limits,
) -> list[RawRow]:
    header: list[object] | None = None
    mapping: dict[int, str] = {}
    out: list[RawRow] = []
    for number, cells in rows:
        # The header row plus ``limits.rows`` records, blank rows counted: a million of them
        # cost minutes to walk even though each is skipped.
        if number > limits.rows + 1:
            raise too_many_rows(limits)
        # count(None) first: a blank row padded to MAX_COLUMNS is checked at C speed.
        if cells.count(None) == len(cells) or all(_cell(c) is None for c in cells):
            continue
        if header is None:
            header = list(cells)
            mapping = map_columns(header, aliases, required)
            continue
        values = {key: _cell(cells[i]) if i < len(cells) else None for i, key in mapping.items()}
        columns = {key: str(header[i]).strip() for i, key in mapping.items()}
        out.append(RawRow(number, values, columns=columns))
    if header is None:
        raise file_error("empty_file", "文件为空，没有表头和数据")
    return out


def parse_csv(
    data: bytes, aliases: Mapping[str, str], required: set[str], limits: Limits
) -> list[RawRow]:
    text = _decode_text(data)
    if not text.strip():
        raise file_error("empty_file", "文件为空，没有表头和数据")
    first_line = _lines(text, limits)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = ((i, r) for i, r in enumerate(reader, start=1))
        return _tabular(rows, aliases, required, limits)
    except csv.Error as exc:
        raise file_error("bad_csv", f"CSV 格式错误：{exc}") from exc


def _xlsx_too_large(message: str) -> AppError:
    return file_error("xlsx_too_large", message, 413)


def _shared_strings_parts(archive: zipfile.ZipFile) -> set[str]:
    """The parts the reader loads whole as shared strings: found, as it finds them, through
    the content types (any name will do), plus the usual name in case those are broken."""
    names = {
        i.filename for i in archive.infolist() if i.filename.lower().endswith("sharedstrings.xml")
    }
    if _CONTENT_TYPES not in archive.namelist():
        return names
    with archive.open(_CONTENT_TYPES) as src:
        manifest = src.read(1024 * 1024 + 1)
    if len(manifest) > 1024 * 1024:
        raise _xlsx_too_large(f"Excel 文件的内容类型清单超过 {_megabytes(1024 * 1024)} 上限")
    for node in ElementTree.fromstring(manifest).iter():
        if node.get("ContentType") == _SHARED_STRINGS_TYPE:
            names.add(node.get("PartName", "").lstrip("/"))
    return names


def check_zip(data: bytes, limits: Limits) -> None:
    """Refuse a zip bomb before anything inflates it: first by the sizes the zip declares, then
    (declared sizes can lie) by counting what really comes out, one chunk at a time."""
    if data.count(b"PK\x01\x02") > MAX_ZIP_MEMBERS:
        raise _xlsx_too_large(f"Excel 文件包含超过 {MAX_ZIP_MEMBERS} 个部件，不是正常的表格文件")
    total_message = (
        f"Excel 文件解压后超过 {_megabytes(limits.unzipped_bytes)} 上限，请拆分后分批导入"
    )
    strings_message = (
        f"Excel 文件中的文字（共享字符串）解压后超过 {_megabytes(limits.shared_strings_bytes)} "
        "上限，请拆分后分批导入"
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > limits.unzipped_bytes:
            raise _xlsx_too_large(total_message)
        shared = _shared_strings_parts(archive)
        if sum(m.file_size for m in members if m.filename in shared) > limits.shared_strings_bytes:
            raise _xlsx_too_large(strings_message)
        total = strings = rows = cells = 0
        cells_limit = (limits.rows + 1) * CELLS_PER_ROW
        for member in members:
            with archive.open(member) as src:
                tail = b""
                while chunk := src.read(_CHUNK):
                    total += len(chunk)
                    if total > limits.unzipped_bytes:
                        raise _xlsx_too_large(total_message)
                    if member.filename in shared:
                        strings += len(chunk)
                        if strings > limits.shared_strings_bytes:
                            raise _xlsx_too_large(strings_message)
                    # A tag cut by the chunk boundary is found in the next window, once.
                    window = tail + chunk
                    for found in _SHEET_ELEMENT.finditer(window):
                        if found.end() > len(tail):
                            if found[1] == b"row":
                                rows += 1
                            else:
                                cells += 1  # a cell, or a shared string (one per cell at most)
                    tail = window[-_TAIL:]
                    if rows > limits.rows + 1:
                        raise too_many_rows(limits)
                    if cells > cells_limit:
                        raise _xlsx_too_large(
                            f"Excel 文件的单元格或文字条目超过 {cells_limit} 个的上限，"
                            "请删去无关的内容或拆分后分批导入"
                        )


def parse_xlsx(
    data: bytes, aliases: Mapping[str, str], required: set[str], limits: Limits
) -> list[RawRow]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    broken = (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        ElementTree.ParseError,
        InvalidFileException,
        KeyError,
        ValueError,
        OSError,
    )
    try:
        check_zip(data, limits)
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except broken as exc:
        raise file_error("not_a_spreadsheet", "文件不是有效的 Excel（.xlsx）表格") from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise file_error("empty_file", "Excel 文件中没有工作表")
        # The stored dimension is the writer's claim and would pad every row to it; read the
        # cells that are there, no wider than any import needs.
        sheet.reset_dimensions()
        cells = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        rows = ((i, list(r)) for i, r in enumerate(cells, start=1))
        return _tabular(rows, aliases, required, limits)
    finally:
        workbook.close()


def parse_jsonl(
    data: bytes, aliases: Mapping[str, str], required: set[str], limits: Limits
) -> list[RawRow]:
    text = _decode_text(data)
    out: list[RawRow] = []
    for number, line in enumerate(_lines(text, limits), start=1):
        if number > limits.rows:
            raise too_many_rows(limits)
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
        # Unknown keys are reported with whatever else is wrong with the line.
        problems = [
            {"field": key, "code": "extra_forbidden", "message": f"无法识别的字段：{key}"}
            for key in unknown
        ]
        out.append(RawRow(number, values, columns={k: k for k in values}, problems=problems))
    if not out:
        raise file_error("empty_file", "文件为空，没有数据")
    return out


def parse(
    filename: str | None,
    data: bytes,
    aliases: Mapping[str, str],
    required: set[str],
    limits: Limits,
) -> tuple[str, list[RawRow]]:
    if not data or not data.strip():
        raise file_error("empty_file", "文件为空")
    fmt = detect_format(filename, data)
    if fmt == "xlsx":
        return fmt, parse_xlsx(data, aliases, required, limits)
    if fmt == "jsonl":
        return fmt, parse_jsonl(data, aliases, required, limits)
    return fmt, parse_csv(data, aliases, required, limits)
