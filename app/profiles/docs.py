"""A profile as the matching library sees it."""

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select
from sqlmodel import Session, col

from app.profiles.models import Profile, ProfileTag
from matching.types import ProfileDoc

_DOC_COLUMNS = (
    col(Profile.id),
    col(Profile.kind),
    col(Profile.name),
    col(Profile.affiliation),
    col(Profile.title),
    col(Profile.expertise),
    col(Profile.achievements),
    col(Profile.hometown_county_code),
    col(Profile.availability),
    col(Profile.capacity),
    col(Profile.preferred_regions),
    col(Profile.active),
)


def profile_doc(p: Profile) -> ProfileDoc:
    """The library's view of a profile (id 0 for one not saved yet)."""
    return ProfileDoc(
        id=p.id or 0,
        kind=p.kind,  # type: ignore[arg-type]
        name=p.name,
        affiliation=p.affiliation,
        title=p.title,
        fields=tuple(p.fields),
        expertise=p.expertise,
        achievements=p.achievements,
        hometown_county_code=p.hometown_county_code,
        availability=p.availability,  # type: ignore[arg-type]
        capacity=p.capacity,
        preferred_regions=tuple(p.preferred_regions),  # type: ignore[arg-type]
        active=p.active,
    )


def profile_docs(session: Session, ids: Collection[int]) -> dict[int, ProfileDoc]:
    """The library's view of these profiles, read as plain columns (two queries, no ORM
    objects: a match list's page is read on every request)."""
    if not ids:
        return {}
    wanted = list(ids)
    tags: dict[int, list[str]] = defaultdict(list)
    for pid, tag in session.execute(
        select(col(ProfileTag.profile_id), col(ProfileTag.tag))
        .where(col(ProfileTag.profile_id).in_(wanted))
        .order_by(col(ProfileTag.profile_id), col(ProfileTag.position))
    ):
        tags[pid].append(tag)
    docs = {}
    for row in session.execute(select(*_DOC_COLUMNS).where(col(Profile.id).in_(wanted))):
        pid, kind, name, affiliation, title, expertise, achievements = row[:7]
        home, availability, capacity, regions, active = row[7:]
        docs[pid] = ProfileDoc(
            id=pid,
            kind=kind,
            name=name,
            affiliation=affiliation,
            title=title,
            fields=tuple(tags.get(pid, ())),
            expertise=expertise,
            achievements=achievements,
            hometown_county_code=home,
            availability=availability,
            capacity=capacity,
            preferred_regions=tuple(regions or ()),
            active=active,
        )
    return docs
