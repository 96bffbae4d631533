from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.common import Email, Phone


class NotificationPublic(BaseModel):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationPublic]
    total: int
    unread: int
    page: int
    page_size: int


class ReadAll(BaseModel):
    marked: int


class ChannelSettings(BaseModel):
    """Where a person wants to hear of notifications besides the app."""

    model_config = ConfigDict(extra="forbid")

    email: Email | None = None
    phone: Phone | None = None
    notify_email: bool = True
    notify_sms: bool = False


class ChannelSettingsPublic(ChannelSettings):
    # A talent without an address of their own is reached at their profile's contact details.
    email_used: str | None
    phone_used: str | None
    delivery: list[str]  # the channels this service instance can send through at all
