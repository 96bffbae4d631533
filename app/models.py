"""Imports every table class so that the metadata is complete (Alembic, tests)."""

from app.audit.models import AuditEvent, AuditHead
from app.auth.models import Account, RateCounter
from app.counties.models import County
from app.idempotency.models import IdempotencyRecord
from app.interests.models import Interest
from app.invitations.models import Invitation
from app.matches.models import (
    NeedEmbedding,
    NeedQualityVector,
    ProfileEmbedding,
    ProfileQualityVector,
)
from app.needs.models import Need
from app.notifications.models import Notification
from app.outbox.models import OutboxMessage
from app.placements.models import Placement, ServiceReport
from app.plans.models import Plan, PlanAssignment, PlanUnfilled
from app.profiles.models import Profile, ProfileTag

__all__ = [
    "Account",
    "AuditEvent",
    "AuditHead",
    "County",
    "IdempotencyRecord",
    "Interest",
    "Invitation",
    "Need",
    "NeedEmbedding",
    "NeedQualityVector",
    "Notification",
    "OutboxMessage",
    "Placement",
    "Plan",
    "PlanAssignment",
    "PlanUnfilled",
    "Profile",
    "ProfileEmbedding",
    "ProfileQualityVector",
    "ProfileTag",
    "RateCounter",
    "ServiceReport",
]
