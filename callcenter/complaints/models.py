"""Complaints (tickets) with an SLA per category and escalation up the hierarchy."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow

PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("open", "in_progress", "resolved", "closed")
# Escalation goes one level up the hierarchy each time the SLA passes.
LEVELS = ("agent", "teamlead", "manager", "admin")


class ComplaintCategory(Base):
    __tablename__ = "complaint_categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    sla_hours: Mapped[float] = mapped_column(default=24.0)  # per level: time to resolve before escalating
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaint_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(24), unique=True)  # told to the customer
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(32), index=True)
    inbound_call_id: Mapped[str | None] = mapped_column(String(40))
    category_id: Mapped[int] = mapped_column(ForeignKey("complaint_categories.id"))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    description: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), default="open")
    level: Mapped[str] = mapped_column(String(16), default="agent")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # who must act now
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    resolution: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ComplaintEvent(Base):
    """The complaint's history: created, assigned, escalated, commented, resolved..."""
    __tablename__ = "complaint_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(30))
    from_level: Mapped[str | None] = mapped_column(String(16))
    to_level: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(2000), default="")
