from pydantic import BaseModel, Field


class AcceptedRow(BaseModel):
    row: int
    id: int | None = Field(default=None, description="导入后的记录编号；未导入时为空")


class RejectedRow(BaseModel):
    row: int
    field: str | None
    column: str | None = Field(default=None, description="文件中的列名")
    code: str
    message: str


class ImportReport(BaseModel):
    format: str
    total: int
    accepted_count: int
    rejected_count: int = Field(description="问题总数（一行可有多处问题，逐项列出）")
    rejected_rows: int = Field(description="有问题的行数")
    imported: bool = Field(description="是否已写入；有错误且未选择 partial 时为 false")
    partial: bool
    accepted: list[AcceptedRow]
    rejected: list[RejectedRow]
