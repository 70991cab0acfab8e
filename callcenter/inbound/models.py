"""The record of an inbound call: from the DID to its end, its IVR path,
queue wait and outcome (one row per call, keyed by Asterisk's linkedid)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow


class InboundCall(Base):
    """One inbound call from the DID to its end: IVR path, queue wait, outcome."""
    __tablename__ = "inbound_calls"
    __table_args__ = (Index("ix_inbound_queue_entered", "queue_id", "entered_queue_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # Asterisk linkedid
    did: Mapped[str] = mapped_column(String(20))
    caller: Mapped[str | None] = mapped_column(String(20))  # E.164, or None when withheld/invalid
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    trunk_id: Mapped[int | None] = mapped_column(ForeignKey("trunks.id"))
    flow: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(32))  # the Call row (recording, disposition) once answered
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    entered_queue_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    wait_seconds: Mapped[float | None] = mapped_column()
    talk_seconds: Mapped[float | None] = mapped_column()
    # ivr_only / answered / abandoned / callback / closed (out of hours) / failed
    outcome: Mapped[str | None] = mapped_column(String(20))
