"""The downloadable template of an import: an .xlsx with the headings the importer reads, one
example row that imports as it is, and a sheet explaining each column."""

import io
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from app.imports.parsing import normalise_header
from app.imports.service import ImportKind, TemplateColumn

# Rows offered the drop-downs (a data validation covers a range, not a whole column cheaply).
_VALIDATED_ROWS = 5000
_BOLD = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC")


def _width(*texts: object) -> float:
    # A CJK character is about two Excel width units; keep columns between readable bounds.
    widest = max(sum(2 if ord(c) > 0x2E80 else 1 for c in str(t)) for t in texts)
    return float(min(max(widest + 2, 10), 48))


def required(kind: ImportKind, column: TemplateColumn) -> bool:
    return kind.aliases.get(normalise_header(column.heading)) in kind.required


def template_xlsx(kind: ImportKind) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = kind.label  # the importer reads the first sheet, whatever its name
    sheet.append([c.heading for c in kind.template])
    sheet.append([c.example for c in kind.template])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(kind.template, start=1):
        letter = get_column_letter(index)
        header = sheet.cell(row=1, column=index)
        header.font = _BOLD
        if required(kind, column):
            header.fill = _REQUIRED_FILL
        sheet.column_dimensions[letter].width = _width(column.heading, column.example)
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
        if column.choices:
            # A suggestion, not a lock: the importer also takes other labels (返乡, 线上 …).
            offer = DataValidation(
                type="list",
                formula1='"' + ",".join(column.choices) + '"',
                allow_blank=True,
                showErrorMessage=False,
            )
            offer.add(f"{letter}2:{letter}{_VALIDATED_ROWS}")
            sheet.add_data_validation(offer)

    notes = workbook.create_sheet("填写说明")
    notes.append([f"{kind.label}导入模板：第一张表的第 1 行是列名，请勿修改；第 2 行是示例。"])
    notes.append(["底色为黄色的列必填。每一行都会校验，有问题的行会逐项列出行号、列和原因。"])
    notes.append([])
    notes.append(["列名", "是否必填", "说明与可填的值", "示例"])
    for cell in notes[4]:
        cell.font = _BOLD
    for column in kind.template:
        note = column.note + "、".join(column.choices)
        example = "" if column.example is None else str(column.example)
        notes.append([column.heading, "必填" if required(kind, column) else "选填", note, example])
    for letter, width in zip("ABCD", (16, 10, 60, 30), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=5):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_disposition(kind: ImportKind) -> dict[str, str]:
    name = quote(f"{kind.label}导入模板.xlsx")
    return {
        "Content-Disposition": (
            f"attachment; filename={kind.name}-template.xlsx; filename*=UTF-8''{name}"
        )
    }
