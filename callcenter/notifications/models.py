"""The notification outbox: every message to send, each delivery attempt kept."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from callcenter.orm import Base, utcnow

CHANNELS = ("log", "email", "sms")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notification_status_next", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(200))  # address, E.164 number, or user:<name>
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(String(4000))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    entity: Mapped[str] = mapped_column(String(40), default="")   # e.g. complaint
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # What made it (callcenter/notifications/events.py), for whom, in which language:
    # a customer's messages are their 360's history (ix_notification_customer).
    event: Mapped[str] = mapped_column(String(40), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="")
    resent_from_id: Mapped[int | None] = mapped_column(Integer)   # a re-send names the message it repeats


class NotificationAttempt(Base):
    __tablename__ = "notification_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    provider: Mapped[str] = mapped_column(String(40))
    ok: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str] = mapped_column(String(500), default="")


class NotificationAttachment(Base):
    """A file sent with an e-mail (a mailed report's CSV or XLSX): one row per
    file, the bytes in their own row so the message row stays small."""
    __tablename__ = "notification_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    filename: Mapped[str] = mapped_column(String(100))      # made by the server
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    notification: Mapped[Notification] = relationship(lazy="raise")


class NotificationTemplate(Base):
    """An event's text for one channel and language (``{placeholder}``s of
    the event's catalogue entry) as an admin saved it; where there is no
    row, the shipped text is used (callcenter/notifications/shipped/), so a
    shipped fix reaches every installation that never edited that text."""
    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("event", "channel", "language", name="uq_notification_template"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))     # sms / email / log (in-app)
    language: Mapped[str] = mapped_column(String(8))     # ISO 639-1: en, hi...
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(String(4000))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(60), default="system")


class NotificationEventSetting(Base):
    """An event switched on or off and the channels it uses (rows only for
    events an admin changed; the catalogue's defaults otherwise)."""
    __tablename__ = "notification_event_settings"
    event: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    channels: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(60), default="system")


class NoticeMark(Base):
    """A timed notice that was made (or deliberately skipped) once: a reminder
    of an appointment for its time ``for_at``, a follow-up due or missed. The
    unique key makes the timed sweep idempotent on any number of servers; a
    moved appointment has a new ``for_at``, so its reminders are made again."""
    __tablename__ = "notice_marks"
    __table_args__ = (UniqueConstraint("event", "entity", "entity_id", "for_at", name="uq_notice_mark"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    for_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(20), default="sent")   # sent / skipped:<why>
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
