"""A profile as the matching library sees it."""

from app.profiles.models import Profile
from matching.types import ProfileDoc


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
