"""The HR source's settings (one row, admin-edited; its secrets sealed, see
callcenter/hrsource/sealing.py) and the record of every fetch."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow

AUTH_KINDS = ("none", "token", "client_credentials")   # no auth, a static bearer token, OAuth2
TOKEN_BODIES = ("form", "json")
PAGING_KINDS = ("none", "next", "page")
FETCH_STATUSES = ("running", "failed", "rejected", "held", "validated", "committed")


class HrSource(Base):
    """The one HR source (id 1)."""
    __tablename__ = "hr_sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    list_url: Mapped[str] = mapped_column(String(500), default="")
    auth: Mapped[str] = mapped_column(String(20), default="none")
    token_url: Mapped[str] = mapped_column(String(500), default="")
    token_body: Mapped[str] = mapped_column(String(8), default="form")
    client_id: Mapped[str] = mapped_column(String(200), default="")
    scope: Mapped[str] = mapped_column(String(200), default="")             # OAuth2 scope, optional
    client_secret_sealed: Mapped[str] = mapped_column(Text, default="")    # never shown back
    static_token_sealed: Mapped[str] = mapped_column(Text, default="")     # never shown back
    list_path: Mapped[str] = mapped_column(String(200), default="")        # "" = the answer is the list
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)              # head-count field -> source field
    active_statuses: Mapped[str] = mapped_column(String(300), default="")
    paging: Mapped[str] = mapped_column(String(8), default="none")
    next_field: Mapped[str] = mapped_column(String(200), default="next")
    page_param: Mapped[str] = mapped_column(String(60), default="page")
    max_pages: Mapped[int] = mapped_column(Integer, default=20)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=20)
    daily_at: Mapped[str] = mapped_column(String(5), default="")           # HH:MM local, "" = no daily pull
    auto_commit: Mapped[bool] = mapped_column(Boolean, default=True)
    max_leavers_percent: Mapped[int] = mapped_column(Integer, default=10)
    updated_by: Mapped[str] = mapped_column(String(60), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class HrFetch(Base):
    """One pull of the employee list: its head-count upload, or why it failed."""
    __tablename__ = "hr_fetches"
    id: Mapped[int] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(10))                       # scheduled / manual
    requested_by: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10), default="running")     # see FETCH_STATUSES
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    employees: Mapped[int] = mapped_column(Integer, default=0)            # records received
    pages: Mapped[int] = mapped_column(Integer, default=0)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"), index=True)
    error: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)               # counts, why it was held
