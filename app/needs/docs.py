"""A need as the matching library sees it."""

from app.needs.models import Need
from matching.types import NeedDoc


def need_doc(n: Need) -> NeedDoc:
    """The library's view of a need (id 0 for one not saved yet)."""
    return NeedDoc(
        id=n.id or 0,
        county_code=n.county_code,
        program=n.program,  # type: ignore[arg-type]
        title=n.title,
        description=n.description,
        industry=n.industry,
        headcount=n.headcount,
    )
