"""Customers (one row per mobile number), the DND list, and uploads."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow


class Customer(Base):
    __tablename__ = "customers"
    # search by the last four digits of the mobile (agents type them)
    __table_args__ = (Index("ix_customer_mobile_last4", func.substr(text("mobile"), -4)),)
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


class DndNumber(Base):
    __tablename__ = "dnd_numbers"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    source: Mapped[str] = mapped_column(String(40), default="manual")  # manual / import / registry
    added_by: Mapped[str] = mapped_column(String(60))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Upload(Base):
    """One uploaded file: validated first (report), committed later, all or nothing."""
    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # customers / headcount / dnd
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    original_name: Mapped[str] = mapped_column(String(200))  # shown only; the file on disk has a server-made name
    stored_name: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default="validated")  # validated / rejected / committed
    total: Mapped[int] = mapped_column(Integer, default=0)
    valid: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_in_file: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_existing: Mapped[int] = mapped_column(Integer, default=0)
    dnd: Mapped[int] = mapped_column(Integer, default=0)
    # Summary and the first rows of the report; the whole report is a CSV beside the file.
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    committed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
