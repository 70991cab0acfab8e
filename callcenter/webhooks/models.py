"""Webhooks: the endpoints an admin registered, one delivery row per event
and endpoint (an outbox, callcenter/leases.py), every attempt kept."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow

DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed")


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    kinds: Mapped[list] = mapped_column(JSON, default=list)    # event kinds it wants
    # signs every delivery (HMAC-SHA256); shown once at creation and at rotation, never listed
    secret: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: paused
    paused_reason: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_delivery_status_next", "status", "next_attempt_at"),
                      Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))  # None: a test ping
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)       # the exact JSON sent, the same at every attempt
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)   # None: no answer (timeout, refused)
    response: Mapped[str] = mapped_column(String(500), default="")  # the answer's first 500 characters
    error: Mapped[str] = mapped_column(String(300), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
