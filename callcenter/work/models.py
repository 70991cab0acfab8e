"""The work: one item per (campaign, customer), sitting in one bucket of one
agent; the dispositions agents submit; appointments; survey answers."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow

# The five buckets agents see, plus "closed" (done: not shown as work).
BUCKETS = ("fresh", "non_contact", "future_followup", "pending_followup", "appointment")
ALL_BUCKETS = BUCKETS + ("closed",)


class WorkItem(Base):
    __tablename__ = "work_items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        # with id: a list's page picked by an index-only scan (buckets.list_items)
        Index("ix_work_agent_bucket", "agent_id", "bucket", "campaign_id", "id"),
        Index("ix_work_bucket_due", "bucket", "followup_at"),
        Index("ix_work_campaign_store", "campaign_id", "store_id", "agent_id"),
        Index("ix_work_bucket_retry", "bucket", "next_attempt_at"),
        # an agent's follow-up and non-contact lists in due order
        Index("ix_work_agent_bucket_followup", "agent_id", "bucket", "followup_at"),
        Index("ix_work_agent_bucket_retry", "agent_id", "bucket", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: not allocated yet
    bucket: Mapped[str] = mapped_column(String(20), default="fresh")
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))  # the customer's, copied
    language: Mapped[str | None] = mapped_column(String(8))                # the customer's, copied
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # non-contact retry
    followup_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    appointment_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(40))  # the last disposition's outcome
    last_call_id: Mapped[str | None] = mapped_column(String(32))
    allocated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Disposition(Base):
    __tablename__ = "dispositions"
    __table_args__ = (Index("ix_disposition_agent_created", "agent_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(40))   # e.g. not_talked / call_later / appointment / closed
    reason: Mapped[str | None] = mapped_column(String(40))  # e.g. busy / switched_off
    bucket_after: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # question key -> answer, as submitted
    remarks: Mapped[str] = mapped_column(String(1000), default="")
    followup_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    appointment_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointment_store_at", "store_id", "at"),
                      # the reminders' sweep: booked visits in the next day and a half, every minute
                      Index("ix_appointment_status_at", "status", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    work_item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="booked")  # booked / visited / cancelled
    remarks: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SurveyAnswer(Base):
    """One answer to one survey question (ratings, NPS...), kept as rows so
    reports can aggregate them; the IVR's post-call survey writes here too."""
    __tablename__ = "survey_answers"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), default="agent")  # agent (disposition) / ivr
    disposition_id: Mapped[int | None] = mapped_column(ForeignKey("dispositions.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(32), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    question: Mapped[str] = mapped_column(String(40))
    score: Mapped[int | None] = mapped_column(Integer)   # numeric answers (1-5, 0-10)
    text: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
