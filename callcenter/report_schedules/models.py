"""A report schedule: which report, for which day, in which files, to whom,
at what local time; its runs are ``scheduled_runs`` rows of the job
``report-schedule:<id>`` and its mails ``notifications`` rows of the entity
``report_schedule``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow

REPORTS = ("agents", "stores", "campaign", "nps")
PERIODS = ("yesterday", "today")
FORMATS = ("csv", "xlsx", "both")
RECIPIENT_ROLES = ("teamlead", "manager", "admin")


class ReportSchedule(Base):
    __tablename__ = "report_schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    report: Mapped[str] = mapped_column(String(16))                  # one of REPORTS
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))  # the campaign report's
    period: Mapped[str] = mapped_column(String(10), default="yesterday")
    formats: Mapped[str] = mapped_column(String(10), default="csv")
    roles: Mapped[str] = mapped_column(String(40), default="")        # comma-separated RECIPIENT_ROLES
    emails: Mapped[str] = mapped_column(String(1000), default="")     # comma-separated addresses
    send_at: Mapped[str] = mapped_column(String(5))                   # HH:MM in [web] timezone
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @property
    def role_list(self) -> list[str]:
        return [r for r in (self.roles or "").split(",") if r]

    @property
    def email_list(self) -> list[str]:
        return [e for e in (self.emails or "").split(",") if e]
