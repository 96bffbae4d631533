"""Command line: ``python -m app init | seed-demo | serve | users | audit | index | import``."""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from sqlmodel import Session, col, select

import app.models  # noqa: F401  (every table on the metadata, so that foreign keys resolve)
from app import migrate
from app.audit import service as audit
from app.auth import service as accounts
from app.auth.actor import Actor
from app.auth.models import Account
from app.auth.schemas import AccountCreate
from app.config import PROJECT_ROOT, get_settings
from app.counties import service as counties
from app.db import begin_read_only, make_engine
from app.errors import AppError, translate_errors
from app.imports.parsing import Limits
from app.imports.schemas import ImportReport
from app.imports.service import import_file
from app.needs import importing as need_import
from app.profiles import importing as profile_import
from app.profiles.models import Profile

SEED_DIR = PROJECT_ROOT / "seed"
DEMO_PASSWORD = "Demo2026"


def _session() -> Session:
    return Session(make_engine(get_settings().database_url), expire_on_commit=False)


def cmd_init(_args: argparse.Namespace) -> int:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    with _session() as session:
        n = counties.load(session)
        session.commit()
    print(f"数据库已就绪（{settings.database_url.split('://')[0]}），县级行政区 {n} 个")
    return 0


def _print_report(result: ImportReport) -> None:
    print(
        f"格式 {result.format}：共 {result.total} 行，合格 {result.accepted_count} 行，"
        f"有误 {result.rejected_count} 处，{'已导入' if result.imported else '未导入'}"
    )
    for r in result.rejected[:50]:
        print(f"  第 {r.row} 行 [{r.field or '-'}] {r.message}")
    if result.rejected_count > 50:
        print(f"  …… 另有 {result.rejected_count - 50} 处错误")


IMPORTS = {kind.name: kind for kind in (profile_import.KIND, need_import.KIND)}


def _import_file(
    session: Session, what: str, path: Path, partial: bool, actor: Actor
) -> ImportReport:
    return import_file(
        session,
        kind=IMPORTS[what],
        filename=path.name,
        data=path.read_bytes(),
        partial=partial,
        actor=actor,
        limits=Limits.of(get_settings()),
    )


def cmd_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"找不到文件：{path}", file=sys.stderr)
        return 2
    with _session() as session:
        try:
            result = _import_file(session, args.what, path, args.partial, Actor.system("cli"))
        except AppError as exc:
            print(f"导入失败：{exc.message}", file=sys.stderr)
            return 1
        _print_report(result)
        if not result.imported:
            session.rollback()
            return 1
        session.commit()
    if args.what == "profiles" and not args.skip_index:
        _refresh_index_snapshot(result.accepted_count)
    return 0


def _refresh_index_snapshot(imported: int) -> None:
    """Bring the matching index's snapshot up to date after a large import, so that the
    service's next start loads it instead of catching up (measured at 134k profiles: replaying
    6,000 profiles at start-up took 3 s on top of 6 s; rebuilding took 11 s). Small imports are
    left to the running service, which applies them on its next request."""
    from app.matches.matcher import SAVE_AFTER_REPLAY, Matcher

    if imported < SAVE_AFTER_REPLAY:
        return
    print("正在更新匹配索引快照……", flush=True)
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        matcher = Matcher.start(settings, engine)
        matcher.save()
    finally:
        engine.dispose()
    print(f"匹配索引快照已更新：{len(matcher.corpus)} 份档案")


def cmd_users_create(args: argparse.Namespace) -> int:
    try:
        data = AccountCreate(
            username=args.username,
            password=args.password,
            role=args.role,
            county_code=args.county,
            display_name=args.display_name,
        )
    except ValidationError as exc:
        for err in translate_errors(exc.errors()):  # type: ignore[arg-type]
            print(f"参数有误：{err['message']}", file=sys.stderr)
        return 2
    with _session() as session:
        try:
            account = accounts.create_account(session, data=data, actor=Actor.system("cli"))
        except AppError as exc:
            print(f"创建失败：{exc.message}", file=sys.stderr)
            return 1
        session.commit()
        print(f"已创建账号 {account.username}（{account.role}，编号 {account.id}）")
    return 0


def seed_demo(session: Session) -> str:
    """Load the demo profiles and needs and create demo accounts; does nothing if done before."""
    if session.exec(select(Account).where(Account.username == "admin")).first() is not None:
        return "演示数据已存在，跳过"
    return _seed_lists(session)


def _seed_lists(session: Session) -> str:
    actor = Actor.system("seed")
    for what, name in (("profiles", "demo_profiles.jsonl"), ("needs", "demo_needs.jsonl")):
        result = _import_file(session, what, SEED_DIR / name, False, actor)
        if not result.imported:
            _print_report(result)
            raise SystemExit(f"演示数据 {name} 有误，未导入")

    def account(
        username: str, role: str, county: str | None = None, display: str | None = None
    ) -> Account:
        data = AccountCreate(
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            county_code=county,
            display_name=display,
        )
        return accounts.create_account(session, data=data, actor=actor)

    account("admin", "admin", display="系统管理员")
    account("province", "province", display="省委组织部人才处")
    from app.needs.models import Need

    codes = sorted(set(session.exec(select(Need.county_code)).all()))
    for code in codes:
        county = counties.get(session, code)
        account(f"county{code}", "county", code, f"{county.name}人社局")
    # The first twenty active individual profiles get a talent account each.
    people = session.exec(
        select(Profile)
        .where(Profile.active == True, Profile.owner_id == None)  # noqa: E711,E712
        .order_by(col(Profile.id))
        .limit(20)
    ).all()
    for i, profile in enumerate(people, start=1):
        owner = account(f"talent{i:03d}", "talent", display=profile.name)
        profile.owner_id = owner.id
        session.add(profile)
    session.flush()
    return (
        f"演示数据已导入：账号 admin、province、county<县代码>（{len(codes)} 个县）、"
        f"talent001–talent{len(people):03d}，密码均为 {DEMO_PASSWORD}"
    )


def cmd_seed_demo(_args: argparse.Namespace) -> int:
    with _session() as session:
        message = seed_demo(session)
        session.commit()
    print(message)
    # A year of placements through the real match lists (needs the matcher: a few seconds).
    from app.demo import seed_year
    from app.matches.matcher import Matcher

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        matcher = Matcher.start(settings, engine)
        with Session(engine, expire_on_commit=False) as session:
            print(seed_year(session, matcher, window=settings.match_window))
            session.commit()
        matcher.save()
    finally:
        engine.dispose()
    return 0


def cmd_audit_verify(_args: argparse.Namespace) -> int:
    with _session() as session:
        result = audit.verify(session)
    print(
        json.dumps(
            {"ok": result.ok, "checked": result.checked, "first_bad_seq": result.first_bad_seq},
            ensure_ascii=False,
        )
    )
    print(
        audit.VERIFY_MESSAGES[result.problem]
        + ("" if result.ok else f"（第一处问题：序号 {result.first_bad_seq}）"),
        file=sys.stderr,
    )
    return 0 if result.ok else 1


def cmd_index_reencode(_args: argparse.Namespace) -> int:
    """Encode every profile and need not yet encoded by the configured model, in batches."""
    from app.matches import embeddings
    from app.matches.reencode import ensure_embeddings

    settings = get_settings()
    embeddings.use_encoder(settings.encoder)
    encoder = embeddings.current_encoder()
    with _session() as session:

        def report(done: int, total: int) -> None:
            print(f"  {done}/{total}", file=sys.stderr)

        encoded = ensure_embeddings(session, encoder, progress=report)
    print(f"已用模型 {encoder.version.tag} 编码 {encoded} 条记录")
    return 0


def cmd_index_fill(args: argparse.Namespace) -> int:
    """Add the quality encoder's vectors (second dense channel) to every open need and active
    profile that lacks a current one; resumable (each batch is committed). ``--follow``: keep
    filling new and edited rows until stopped (what the service runs as its child)."""
    import logging
    import os
    import signal
    import time

    from app.matches import embeddings, quality

    settings = get_settings()
    spec = quality.quality_spec(settings)
    if spec is None:
        print("未配置第二编码器（XIANGCAI_QUALITY_ENCODER），无需补充向量", file=sys.stderr)
        return 0
    if args.nice:
        os.nice(args.nice)
    if args.idle and hasattr(os, "SCHED_IDLE"):  # Linux: run only on a core nothing else wants
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError as exc:  # a sandbox that forbids it: the niceness above still holds
            logging.getLogger("xiangcai.matching").warning(
                "quality fill: SCHED_IDLE refused (%s); running at niceness alone", exc
            )
    encoder = embeddings.encoder_for(spec)
    engine = make_engine(settings.database_url)
    from matching.problems import map_for

    # the service's map, which reads a need no phrase matches with the first channel's encoder
    first = embeddings.encoder_for(settings.encoder)
    problems = map_for(first) if settings.problem_expansion else None
    filler = quality.Filler(
        engine,
        encoder,
        settings.data_dir,
        batch=settings.quality_fill_batch,
        share=args.share,
        problems=problems,
    )
    signal.signal(signal.SIGTERM, lambda *_: filler.request_stop())
    if args.follow:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s:     [%(name)s] %(message)s")
        filler.run()
        return 0
    if not filler.lock.acquire():
        print("另一个进程正在补充向量，等待其结束……", file=sys.stderr)
        filler.lock.acquire(blocking=True)
    tag = encoder.version.tag
    with _session() as session:
        begin_read_only(session)
        left = quality.pending(session, encoder, problems)
    total = sum(left.values())
    print(f"模型 {tag}：待补充需求 {left['need']} 条、档案 {left['profile']} 份", file=sys.stderr)
    started = shown = time.perf_counter()
    try:
        while filler.step():
            if time.perf_counter() - shown >= 10:
                shown = time.perf_counter()
                rate = filler.filled / (shown - started)
                print(f"  {filler.filled}/{total}（{rate:.1f} 条/秒）", file=sys.stderr)
            if args.limit and filler.filled >= args.limit:
                break
    finally:
        filler.lock.release()
    print(f"已补充 {filler.filled} 条向量，用时 {time.perf_counter() - started:.1f} 秒")
    return 0


def cmd_index_rebuild(_args: argparse.Namespace) -> int:
    """Rebuild the matching index snapshot from the stored vectors (no encoding)."""
    import shutil

    from app.matches.matcher import Matcher
    from app.matches.snapshot import index_root

    settings = get_settings()
    shutil.rmtree(index_root(settings), ignore_errors=True)
    matcher = Matcher.start(settings, make_engine(settings.database_url))
    print(f"索引已重建：{len(matcher.corpus)} 份档案，模型 {matcher.model_version}")
    return 0


def cmd_outbox_run(args: argparse.Namespace) -> int:
    """Deliver e-mail and SMS from the outbox (and write due reminders) outside the service."""
    import signal

    from app.notifications import reminders
    from app.outbox.worker import OutboxWorker

    settings = get_settings()
    engine = make_engine(settings.database_url)
    worker = OutboxWorker(settings, engine)
    print(f"消息投递：{worker.describe_channels()}", file=sys.stderr)
    if args.once:
        written = reminders.run(engine, settings)
        done = worker.drain()
        print(
            f"提醒 {written} 条；发送 {done.sent}，稍后重试 {done.retried}，"
            f"失败 {done.failed}，未发送 {done.skipped}"
        )
        return 0

    def stop(_signum: int, _frame: object) -> None:
        worker._stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sweeper = reminders.Sweeper(engine, settings)
    sweeper.tick()
    worker.loop(tick=sweeper.tick)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the API and pages with ``XIANGCAI_WORKERS`` processes (each loads model and index).

    uvicorn's own X-Forwarded-For handling is off: it trusts any loopback peer, while the
    service decides itself which proxies it believes (``XIANGCAI_TRUSTED_PROXIES``).
    """
    import uvicorn

    from app.serving import ServedServer, Supervisor

    settings = get_settings()
    workers = args.workers or settings.workers
    config = uvicorn.Config(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        proxy_headers=False,
        timeout_keep_alive=settings.keep_alive_seconds,
        log_level="info",
    )
    if workers == 1:
        ServedServer(config).run()
        return 0
    # one process accepts and deals connections out in turn (see app/serving.py)
    Supervisor(config, config.bind_socket(), workers).run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="乡才通 管理命令")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="执行数据库迁移并载入 60 个县级行政区（可重复执行）").set_defaults(
        func=cmd_init
    )
    sub.add_parser("seed-demo", help="载入演示数据与演示账号（可重复执行）").set_defaults(
        func=cmd_seed_demo
    )

    serve = sub.add_parser("serve", help="启动服务（XIANGCAI_WORKERS 个工作进程）")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=0, help="工作进程数，默认取 XIANGCAI_WORKERS")
    serve.set_defaults(func=cmd_serve)

    users = sub.add_parser("users", help="账号管理").add_subparsers(
        dest="users_command", required=True
    )
    create = users.add_parser("create", help="创建账号")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True, choices=["admin", "province", "county", "talent"])
    create.add_argument("--county", help="县局账号所属县代码，如 220322")
    create.add_argument("--display-name", dest="display_name")
    create.set_defaults(func=cmd_users_create)

    aud = sub.add_parser("audit", help="审计").add_subparsers(dest="audit_command", required=True)
    aud.add_parser(
        "verify", help="重新计算审计哈希链，输出 {ok, checked, first_bad_seq}"
    ).set_defaults(func=cmd_audit_verify)

    idx = sub.add_parser("index", help="匹配索引").add_subparsers(
        dest="index_command", required=True
    )
    idx.add_parser(
        "reencode", help="用当前配置的模型（XIANGCAI_ENCODER）编码尚未编码的档案和需求，分批提交"
    ).set_defaults(func=cmd_index_reencode)
    fill = idx.add_parser(
        "fill",
        help="用第二编码器（XIANGCAI_QUALITY_ENCODER）为缺少向量的需求和档案补充向量，可中断续做",
    )
    fill.add_argument(
        "--share", type=float, default=1.0, help="最多占用一个核心的比例（默认 1，即不休息）"
    )
    fill.add_argument("--limit", type=int, default=0, help="补充这么多条后退出（0：全部）")
    fill.add_argument(
        "--follow", action="store_true", help="补完后继续等待新增和修改的记录，直到被停止"
    )
    fill.add_argument("--nice", type=int, default=0, help="降低本进程的 CPU 优先级（0–19）")
    fill.add_argument(
        "--idle",
        action="store_true",
        help="以 Linux 的 SCHED_IDLE 调度类运行：只用其他进程不用的 CPU，请求一来即让出",
    )
    fill.set_defaults(func=cmd_index_fill)
    idx.add_parser(
        "rebuild", help="丢弃索引快照，从数据库中已存的向量重建（不重新编码）"
    ).set_defaults(func=cmd_index_rebuild)

    box = sub.add_parser("outbox", help="邮件与短信投递").add_subparsers(
        dest="outbox_command", required=True
    )
    run = box.add_parser("run", help="持续投递待发送的邮件和短信，并按时写入提醒（独立进程）")
    run.add_argument("--once", action="store_true", help="投递当前到期的消息后退出")
    run.set_defaults(func=cmd_outbox_run)

    imp = sub.add_parser("import", help="批量导入 CSV / JSONL / XLSX")
    imp.add_argument("what", choices=list(IMPORTS))
    imp.add_argument("file")
    imp.add_argument(
        "--skip-index",
        action="store_true",
        help="导入后不更新匹配索引快照（服务下次启动时补上）",
    )
    imp.add_argument("--partial", action="store_true", help="只导入合格的行")
    imp.set_defaults(func=cmd_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
