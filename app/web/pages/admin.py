"""The administrator's pages: accounts (create, edit, deactivate, reset password), bulk import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, UploadFile
from sqlmodel import Session
from starlette.datastructures import FormData

from app.auth import service as accounts
from app.auth.models import Account
from app.auth.schemas import AccountCreate, AccountUpdate
from app.common import IdPath, Role
from app.db import SessionDep
from app.errors import AppError
from app.imports import workbook
from app.imports.router import XLSX, KindPath
from app.imports.schemas import ImportReport
from app.imports.service import run_upload
from app.needs import importing as need_import
from app.profiles import importing as profile_import
from app.web import choices
from app.web.deps import AdminViewer, PageRoute, Viewer
from app.web.forms import Form, Pager, QueryArgs, non_empty, read_form, save, upload_of
from app.web.history import field_label
from app.web.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 20
IMPORTS = {kind.name: kind for kind in (profile_import.KIND, need_import.KIND)}
SHOWN_ACCEPTED = 200


@router.get("/admin/accounts")
def list_accounts(request: Request, session: SessionDep, viewer: AdminViewer) -> Response:
    """账号列表。"""
    args = QueryArgs(request)
    role = args.choice("role", Role)
    county_code = args.county()
    page = args.page()
    rows, total = accounts.list_accounts(
        session, role=role, county_code=county_code, page=page, page_size=PAGE_SIZE
    )
    return render(
        request,
        "admin/accounts.html",
        {
            "title": "账号管理",
            "accounts": [accounts.to_public(session, a) for a in rows],
            "pager": Pager(page, PAGE_SIZE, total),
            "form": Form(values=dict(request.query_params)),
            "filter_errors": args.errors,
            "county_options": choices.county_options(session),
            "county_names": dict(choices.county_options(session)),
        },
    )


def _new_form(request: Request, session: Session, form: Form, status_code: int = 200) -> Response:
    return render(
        request,
        "admin/account_new.html",
        {
            "title": "新建账号",
            "form": form,
            "county_options": choices.county_options(session),
        },
        status_code=status_code,
    )


@router.get("/admin/accounts/new")
def new_account(request: Request, session: SessionDep, viewer: AdminViewer) -> Response:
    """新建账号表单。"""
    return _new_form(request, session, Form())


@router.post("/admin/accounts/new")
def create_account(
    request: Request, session: SessionDep, viewer: AdminViewer, data: FormDep
) -> Response:
    """新建账号。"""
    form = Form.read(data)
    fields = ("username", "password", "role", "county_code", "display_name")
    account_in = form.validate(AccountCreate, non_empty(form.values, fields))
    if account_in is None:
        return _new_form(request, session, form, 422)
    account = save(
        session, form, lambda: accounts.create_account(session, data=account_in, actor=viewer.actor)
    )
    if account is None:
        return _new_form(request, session, form, form.status_code)
    return redirect(request, f"/admin/accounts/{account.id}", f"已创建账号 {account.username}")


def _account_page(
    request: Request,
    session: Session,
    account: Account,
    forms: dict[str, Form] | None = None,
    status_code: int = 200,
) -> Response:
    forms = forms or {}
    edit = forms.get("edit") or Form(
        values={
            "display_name": account.display_name,
            "role": account.role,
            "county_code": account.county_code or "",
        }
    )
    return render(
        request,
        "admin/account_detail.html",
        {
            "title": f"账号 {account.username}",
            "account": accounts.to_public(session, account),
            "edit_form": edit,
            "password_form": forms.get("password", Form()),
            "active_form": forms.get("active", Form()),
            "county_options": choices.county_options(session),
        },
        status_code=status_code,
    )


@router.get("/admin/accounts/{account_id}")
def show_account(
    request: Request, session: SessionDep, viewer: AdminViewer, account_id: IdPath
) -> Response:
    """账号详情与管理。"""
    return _account_page(request, session, accounts.get_account(session, account_id))


def _save(
    request: Request,
    session: Session,
    viewer: Viewer,
    account: Account,
    form_key: str,
    form: Form,
    changes: AccountUpdate | None,
    message: str,
) -> Response:
    """Apply ``changes`` (None when the form did not validate), or show the form again."""
    if changes is None or not form.ok:
        return _account_page(request, session, account, {form_key: form}, 422)
    saved = save(
        session,
        form,
        lambda: accounts.update_account(session, account=account, data=changes, actor=viewer.actor),
    )
    if saved is None:
        session.refresh(account)
        return _account_page(request, session, account, {form_key: form}, form.status_code)
    return redirect(request, f"/admin/accounts/{account.id}", message)


@router.post("/admin/accounts/{account_id}")
def update_account(
    request: Request, session: SessionDep, viewer: AdminViewer, account_id: IdPath, data: FormDep
) -> Response:
    """修改显示名称、角色与所属县。"""
    account = accounts.get_account(session, account_id)
    form = Form.read(data)
    values = non_empty(form.values, ("display_name", "role", "county_code"))
    values.setdefault("county_code", None)
    if "display_name" not in values:
        form.add("display_name", "显示名称不能为空")
    changes = form.validate(AccountUpdate, values)
    return _save(request, session, viewer, account, "edit", form, changes, "账号信息已保存")


@router.post("/admin/accounts/{account_id}/password")
def reset_password(
    request: Request, session: SessionDep, viewer: AdminViewer, account_id: IdPath, data: FormDep
) -> Response:
    """重置密码。"""
    account = accounts.get_account(session, account_id)
    form = Form.read(data)
    if not form.get("password"):
        form.add("password", "请输入新密码")
    changes = form.validate(AccountUpdate, non_empty(form.values, ("password",)))
    form.values.pop("password", None)  # never echo a password back into the page
    message = "密码已重置，请告知本人"
    return _save(request, session, viewer, account, "password", form, changes, message)


@router.post("/admin/accounts/{account_id}/active")
def set_active(
    request: Request, session: SessionDep, viewer: AdminViewer, account_id: IdPath, data: FormDep
) -> Response:
    """停用或启用账号。"""
    account = accounts.get_account(session, account_id)
    form = Form.read(data)
    active = form.get("active") == "1"
    message = "账号已启用" if active else "账号已停用，该账号将无法登录"
    changes = AccountUpdate(active=active)
    return _save(request, session, viewer, account, "active", form, changes, message)


# --- bulk import --------------------------------------------------------------------------------


def _import_page(
    request: Request,
    form: Form,
    report: ImportReport | None = None,
    what: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/import.html",
        {
            "title": "批量导入",
            "form": form,
            "report": report,
            "what": what,
            "what_label": IMPORTS[what].label if what else None,
            "shown_accepted": SHOWN_ACCEPTED,
            "kinds": [(kind.name, kind.label) for kind in IMPORTS.values()],
            "templates": [
                (
                    kind.name,
                    kind.label,
                    [
                        (
                            c.heading,
                            workbook.required(kind, c),
                            c.note + "、".join(c.choices),
                            "" if c.example is None else str(c.example),
                        )
                        for c in kind.template
                    ],
                )
                for kind in IMPORTS.values()
            ],
            "field_label": field_label,
        },
        status_code=status_code,
    )


@router.get("/admin/import")
def import_form(request: Request, viewer: AdminViewer) -> Response:
    """批量导入表单。"""
    return _import_page(request, Form(values={"what": "profiles"}))


@router.get("/admin/import/templates/{kind}.xlsx")
def import_template(viewer: AdminViewer, kind: KindPath) -> Response:
    """下载导入模板（Excel）。"""
    chosen = IMPORTS[kind]
    return Response(
        workbook.template_xlsx(chosen),
        media_type=XLSX,
        headers=workbook.template_disposition(chosen),
    )


@router.post("/admin/import")
def import_file(
    request: Request, session: SessionDep, viewer: AdminViewer, data: FormDep
) -> Response:
    """上传 CSV、JSONL 或 Excel，逐行校验，显示合格行与问题行。"""
    form = Form.read(data)
    what = form.get("what")
    if what not in IMPORTS:
        form.add("what", "请选择导入的内容")
    upload = upload_of(data, "file")
    if upload is None:
        form.add("file", "请选择要上传的文件")
    if upload is None or not form.ok:
        return _import_page(request, form, status_code=422)
    file = UploadFile(
        upload.file, size=upload.size, filename=upload.filename, headers=upload.headers
    )
    try:
        report = run_upload(
            session,
            kind=IMPORTS[what],
            upload=file,
            partial=bool(form.get("partial")),
            actor=viewer.actor,
            settings=request.app.state.settings,
        )
    except AppError as exc:
        session.rollback()
        form.add("file", exc.message)
        return _import_page(request, form, status_code=exc.status_code)
    return _import_page(request, form, report, what, 200 if report.imported else 422)
