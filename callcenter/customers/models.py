"""Customers (one row per mobile number) and the DND list. (The uploaded files
they come from are recorded in callcenter/spreadsheets/models.py.)"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, last_four, utcnow


class Customer(Base):
    __tablename__ = "customers"
    # search by the last four digits of the mobile (agents type them)
    __table_args__ = (Index("ix_customer_mobile_last4", last_four(text("mobile"))),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mobile: Mapped[str] = mapped_column(String(20), unique=True)  # E.164, the identity of a customer
    name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str | None] = mapped_column(String(120))
    alternate_mobile: Mapped[str | None] = mapped_column(String(20))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(8))
    city: Mapped[str | None] = mapped_column(String(60))
    birthday: Mapped[dt.date | None] = mapped_column(Date)
    anniversary: Mapped[dt.date | None] = mapped_column(Date)
    # Everything else the upload carried (purchases, loyalty tier and points,
    # last visit...), column name -> text, shown on the 360 page.
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # Set when the customer's personal data was erased (callcenter/customers/erasure.py):
    # the row stays as a tombstone so calls and work keep their counts.
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # No promotional messages (service messages still go): since when, and how
    # ("stop": they replied STOP to an SMS; "staff": marked on the 360).
    messages_opt_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    messages_opt_out_source: Mapped[str | None] = mapped_column(String(10))


class OwedDeletion(Base):
    """A file an erasure promised to delete (a call recording, relative to the
    recordings folder) and that is not deleted yet: removed from this list only
    once the file is gone (callcenter/customers/erasure_files.py)."""
    __tablename__ = "owed_deletions"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(200))
    owed_since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class DndNumber(Base):
    __tablename__ = "dnd_numbers"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    source: Mapped[str] = mapped_column(String(40), default="manual")  # manual / import / registry / erasure
    added_by: Mapped[str] = mapped_column(String(60))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
