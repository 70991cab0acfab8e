"""Campaigns: who is called, why, until when, through which trunk, and the
disposition form (with survey questions) agents fill in after each call."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow

CAMPAIGN_TYPES = ("birthday", "anniversary", "general_enquiry", "gold_coin", "loyalty_rewards",
                  "inactive_customers", "festival", "new_walkin_survey",
                  "existing_customer_survey", "custom", "inbound_callback")
SURVEY_TYPES = ("new_walkin_survey", "existing_customer_survey")
CALLING_MODES = ("agent", "desktop", "mobile")  # "agent": each agent's own phone mode
STATUSES = ("active", "paused", "closed")


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    custom_type: Mapped[str | None] = mapped_column(String(60))  # the name when type == "custom"
    starts_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)             # last day calls may be made
    trunk_id: Mapped[int | None] = mapped_column(ForeignKey("trunks.id"))
    calling_mode: Mapped[str] = mapped_column(String(16), default="agent")
    # None: the whole organisation (admin's); else the manager's location.
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    # The disposition form as data (callcenter.campaigns.forms validates it); survey
    # questions are part of it.
    form: Mapped[dict] = mapped_column(JSON)
    retry_delay_minutes: Mapped[int] = mapped_column(Integer, default=120)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active / paused / closed
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
