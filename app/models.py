"""Imports every table class so that the metadata is complete (Alembic, tests)."""

from app.audit.models import AuditEvent, AuditHead
from app.auth.models import Account, LoginAttempt
from app.counties.models import County
from app.needs.models import Need
from app.profiles.models import Profile, ProfileTag

__all__ = [
    "Account",
    "AuditEvent",
    "AuditHead",
    "County",
    "LoginAttempt",
    "Need",
    "Profile",
    "ProfileTag",
]
