"""The upload endpoint every importable kind offers under its own prefix (``POST …/import``),
and the templates of all kinds under ``/api/v1/imports``."""

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile

from app.auth.policy import AdminActor, GuardedRoute
from app.db import SessionDep
from app.imports import workbook
from app.imports.schemas import ImportReport
from app.imports.service import ImportKind, ImportRejected, run_upload
from app.needs import importing as need_import
from app.profiles import importing as profile_import

KINDS = {kind.name: kind for kind in (profile_import.KIND, need_import.KIND)}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KindPath = Annotated[str, Path(pattern=f"^({'|'.join(KINDS)})$", description=" 或 ".join(KINDS))]

router = APIRouter(prefix="/api/v1/imports", tags=["批量导入"], route_class=GuardedRoute)


@router.get("/templates/{kind}.xlsx")
def download_template(_actor: AdminActor, kind: KindPath) -> Response:
    """下载导入模板（Excel）：中文列名、一行示例和填写说明（管理员）。"""
    chosen = KINDS[kind]
    return Response(
        content=workbook.template_xlsx(chosen),
        media_type=XLSX,
        headers=workbook.template_disposition(chosen),
    )


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
