"""A placement's audit trail: its own events and those of its service reports."""

from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.placements.models import ServiceReport


def placement_history(session: Session, placement_id: int) -> list[AuditEvent]:
    """Events of the placement and of its service reports, oldest first."""
    report_ids = [
        str(r)
        for r in session.exec(
            select(ServiceReport.id).where(ServiceReport.placement_id == placement_id)
        ).all()
    ]
    clause = (col(AuditEvent.entity) == "placement") & (
        col(AuditEvent.entity_id) == str(placement_id)
    )
    if report_ids:
        clause = clause | (
            (col(AuditEvent.entity) == "service_report") & col(AuditEvent.entity_id).in_(report_ids)
        )
    return list(session.exec(select(AuditEvent).where(clause).order_by(col(AuditEvent.seq))).all())
