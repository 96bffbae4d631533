"""The command line on both databases: init, users, import, index, audit."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.auth.models import Account
from app.cli import main
from app.config import get_settings
from app.counties.models import County
from app.db import make_engine
from app.matches.models import ProfileEmbedding
from app.profiles.models import Profile
from tests.conftest import BACKENDS, Databases

HEADER = "姓名,类型,单位,职称,专长,服务方式,手机号\n"


@pytest.fixture(params=BACKENDS)
def env(
    request: pytest.FixtureRequest,
    databases: Databases,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    url = databases.new(request.param)
    monkeypatch.setenv("XIANGCAI_DATABASE_URL", url)
    monkeypatch.setenv("XIANGCAI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def count(url: str, model: type) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            return int(s.exec(select(func.count()).select_from(model)).one())
    finally:
        engine.dispose()


def test_init_is_idempotent(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    assert main(["init"]) == 0
    assert count(env, County) == 60
    assert "县级行政区 60 个" in capsys.readouterr().out


def test_users_create(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    assert (
        main(
            [
                "users",
                "create",
                "--username",
                "tongyu",
                "--password",
                "Nenjiang9",
                "--role",
                "county",
                "--county",
                "220822",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "users",
                "create",
                "--username",
                "tongyu",
                "--password",
                "Nenjiang9",
                "--role",
                "county",
                "--county",
                "220822",
            ]
        )
        == 1
    )  # taken
    assert (
        main(["users", "create", "--username", "x", "--password", "Nenjiang9", "--role", "admin"])
        == 2
    )  # too short a username
    assert (
        main(
            [
                "users",
                "create",
                "--username",
                "nocounty",
                "--password",
                "Nenjiang9",
                "--role",
                "county",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "该用户名已被使用" in err
    assert "县局账号必须指定所属县" in err
    assert count(env, Account) == 1


def test_import_and_index(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["init"])
    good = tmp_path / "good.csv"
    good.write_text(
        HEADER + "李春明,专家,吉林农业大学,教授,人参连作障碍,兼职,13900000001\n"
        "王海燕,科研人员,吉林省农业科学院,研究员,苏打盐渍土改良,全职,13900000002\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "赵一,巫师,吉林大学,教授,玉米,兼职,13900000003\n", encoding="utf-8")
    assert main(["import", "profiles", str(bad)]) == 1
    assert "第 2 行 [kind]" in capsys.readouterr().out
    assert count(env, Profile) == 0
    assert main(["import", "profiles", str(good)]) == 0
    assert count(env, Profile) == 2
    assert main(["import", "profiles", str(tmp_path / "missing.csv")]) == 2
    assert main(["index", "rebuild"]) == 0
    assert "索引已重建：2 份档案" in capsys.readouterr().out
    assert main(["index", "reencode"]) == 0  # everything is current: nothing to encode
    assert "编码 0 条记录" in capsys.readouterr().out
    # Rows made by another model are re-encoded with the configured one, and only those.
    engine = make_engine(env)
    try:
        with Session(engine) as s:
            row = s.exec(select(ProfileEmbedding)).first()
            assert row is not None
            current_tag, row.model_tag = row.model_tag, "other/384/0000000000000000"
            s.add(row)
            s.commit()
        assert main(["index", "reencode"]) == 0
        out = capsys.readouterr()
        assert "编码 1 条记录" in out.out
        assert "1/1" in out.err
        with Session(engine) as s:
            assert set(s.exec(select(ProfileEmbedding.model_tag)).all()) == {current_tag}
    finally:
        engine.dispose()
    assert main(["audit", "verify"]) == 0


def test_a_large_cli_import_brings_the_index_snapshot_up_to_date(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that the service's next start loads the snapshot instead of catching up (issue 9:
    a restart after a bulk import must stay within the start-up target)."""
    from app.matches import matcher as matcher_module
    from app.matches.matcher import Matcher

    assert main(["init"]) == 0
    good = tmp_path / "good.csv"
    good.write_text(
        HEADER
        + "赵一,researcher,吉林大学,教授,玉米,part_time,13900000001\n"
        + "钱二,expert,吉林农业大学,研究员,大豆,remote,13900000002\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(matcher_module, "SAVE_AFTER_REPLAY", 1)  # "large" for the test
    assert main(["import", "profiles", str(good)]) == 0
    assert "匹配索引快照已更新：2 份档案" in capsys.readouterr().out

    def no_catching_up(*_a: object) -> None:
        raise AssertionError("the snapshot should have been current")

    monkeypatch.setattr(matcher_module, "build_corpus", no_catching_up)
    replayed: list[list[int]] = []
    original = Matcher._refresh_profiles
    monkeypatch.setattr(
        Matcher,
        "_refresh_profiles",
        lambda self, session, ids: replayed.append(list(ids)) or original(self, session, ids),
    )
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        started = Matcher.start(settings, engine)
    finally:
        engine.dispose()
    assert len(started.corpus) == 2
    assert all(ids == [] for ids in replayed)
    # --skip-index leaves the snapshot behind: the service will catch up itself
    more = tmp_path / "more.csv"
    more.write_text(
        HEADER + "孙三,expert,延边大学,教授,人参,remote,13900000003\n", encoding="utf-8"
    )
    assert main(["import", "profiles", str(more), "--skip-index"]) == 0
    assert "匹配索引快照已更新" not in capsys.readouterr().out


@pytest.mark.slow
def test_seed_demo_loads_a_year_of_placements_once(env: str) -> None:
    from app.audit.models import AuditEvent
    from app.placements.models import Placement, ServiceReport

    assert main(["init"]) == 0
    assert main(["seed-demo"]) == 0
    engine = make_engine(env)
    try:
        with Session(engine) as s:
            statuses = set(s.exec(select(Placement.status)).all())
            placements = s.exec(select(func.count()).select_from(Placement)).one()
            reports = s.exec(select(func.count()).select_from(ServiceReport)).one()
            events = s.exec(select(func.count()).select_from(AuditEvent)).one()
    finally:
        engine.dispose()
    # Every state of a placement's life, with service reports, so the province's pages show a year.
    assert statuses == {"proposed", "declined", "accepted", "active", "completed", "cancelled"}
    assert reports > 0
    assert main(["audit", "verify"]) == 0
    # Idempotent: a second run adds nothing.
    assert main(["seed-demo"]) == 0
    assert count(env, Placement) == placements
    assert count(env, AuditEvent) == events
