"""The library's view of profiles: read as plain columns, it equals the one built from rows."""

from sqlmodel import Session

from app.auth.actor import Actor
from app.profiles import service as profiles
from app.profiles.docs import profile_doc, profile_docs
from app.profiles.models import Profile
from app.profiles.schemas import ProfileCreate
from tests.app.factories import profile_payload


def test_profile_docs_read_in_bulk_equal_the_docs_of_the_rows(db: Session) -> None:
    made = [
        profiles.create(
            db,
            data=ProfileCreate(
                **profile_payload(
                    name=f"专家{i}",
                    fields=["盐碱地改良", "水稻", "农机"][i:] or ["梅花鹿"],
                    preferred_regions=["west", "central"][: i + 1],
                    active=i != 1,
                )
            ),
            actor=Actor.system("test"),
        )
        for i in range(3)
    ]
    db.flush()
    ids = [p.id for p in made if p.id is not None]
    bulk = profile_docs(db, [*ids, 999_999])  # an unknown id is simply absent
    assert set(bulk) == set(ids)
    for pid in ids:
        row = db.get(Profile, pid)
        assert row is not None
        assert bulk[pid] == profile_doc(row)
    assert profile_docs(db, []) == {}
