"""The upload endpoint every importable kind offers under its own prefix (``POST …/import``)."""

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile

from app.auth.policy import AdminActor
from app.db import SessionDep
from app.imports.schemas import ImportReport
from app.imports.service import ImportKind, ImportRejected, run_upload


def add_import_route(router: APIRouter, kind: ImportKind, *, noun: str) -> None:
    """``noun`` names the records in the OpenAPI text (批量导入{noun})."""

    def import_file(
        request: Request,
        session: SessionDep,
        actor: AdminActor,
        file: Annotated[UploadFile, File(description="CSV、JSONL 或 Excel（.xlsx）文件")],
        partial: Annotated[bool, Query(description="为 true 时只导入合格的行")] = False,
    ) -> ImportReport:
        report = run_upload(
            session,
            kind=kind,
            upload=file,
            partial=partial,
            actor=actor,
            settings=request.app.state.settings,
        )
        if not report.imported:
            raise ImportRejected(report)
        return report

    router.add_api_route(
        "/import",
        import_file,
        methods=["POST"],
        response_model=ImportReport,
        name=f"import_{kind.name}",
        description=(
            f"批量导入{noun}（管理员）：逐行校验；有错误时整批不导入，除非 partial=true。"
        ),
    )
