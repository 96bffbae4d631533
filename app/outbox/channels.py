"""The ways a message leaves the service: e-mail over SMTP and SMS through a gateway webhook.

Each ``send`` either returns (the other side accepted the message) or raises ``DeliveryError``;
the worker decides about retries. The delivery key travels with the message (Message-ID, the
gateway's ``key`` and ``Idempotency-Key``) so that a repeat after a crash can be recognised.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx

TIMEOUT_SECONDS = 15.0


class DeliveryError(Exception):
    """The message was not accepted; ``permanent`` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    delivery_key: str
    address: str
    subject: str
    body: str


class Channel(Protocol):
    name: str

    def describe(self) -> str: ...

    def send(self, message: Outgoing) -> None: ...


def message_id(delivery_key: str) -> str:
    return f"<{delivery_key}@xiangcai>"


class EmailChannel:
    name = "email"

    def __init__(self, smtp_url: str, mail_from: str) -> None:
        parts = urlsplit(smtp_url)
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.ssl else 587)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.mail_from = mail_from

    def describe(self) -> str:
        return f"smtp{'s' if self.ssl else ''}://{self.host}:{self.port}"

    def _compose(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        name, address = parseaddr(self.mail_from)
        mail["From"] = formataddr((name, address)) if name else address
        mail["To"] = message.address
        mail["Subject"] = message.subject
        mail["Message-ID"] = message_id(message.delivery_key)
        mail["X-Xiangcai-Delivery-Key"] = message.delivery_key
        mail.set_content(message.body)
        return mail

    def send(self, message: Outgoing) -> None:
        mail = self._compose(message)
        context = ssl.create_default_context()
        try:
            if self.ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=TIMEOUT_SECONDS, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
            with client:
                client.ehlo()
                if not self.ssl and client.has_extn("starttls"):
                    client.starttls(context=context)
                    client.ehlo()
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"收件地址被拒绝：{exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx: the server will not take it whatever we do; 4xx: try again later.
            raise DeliveryError(
                f"邮件服务器拒绝：{exc.smtp_code} {exc.smtp_error!r}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"邮件服务器不可用：{exc}") from exc


class SmsChannel:
    name = "sms"

    def __init__(self, webhook_url: str) -> None:
        self.url = webhook_url

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"

    def send(self, message: Outgoing) -> None:
        payload = {"to": message.address, "text": message.body, "key": message.delivery_key}
        try:
            response = httpx.post(
                self.url,
                json=payload,
                headers={"Idempotency-Key": message.delivery_key},
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"短信网关不可用：{exc}") from exc
        if response.status_code >= 300:
            permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
            raise DeliveryError(
                f"短信网关返回 {response.status_code}：{response.text[:200]}", permanent=permanent
            )
