"""The record of one uploaded spreadsheet (customers, DND numbers or a head
count): its validation report, then its commit (a customer upload commits
its valid rows, all of them or none, and skips the rest)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow


class Upload(Base):
    """One uploaded file: validated first (report), committed later in one transaction."""
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
