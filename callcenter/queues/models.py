"""Inbound queues, agents' queue sessions and pauses."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow

# Asterisk strategies: ring the longest-idle agent, round-robin with memory, linear.
QUEUE_STRATEGIES = ("leastrecent", "rrmemory", "linear")
PAUSE_REASONS = ("break", "lunch", "training", "meeting", "coaching", "system")


class Queue(Base):
    __tablename__ = "queues"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)  # [a-z0-9-]: the Asterisk queue name
    language: Mapped[str] = mapped_column(String(8), default="en")  # skill: agents speaking it
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    region: Mapped[str] = mapped_column(String(40), default="")
    strategy: Mapped[str] = mapped_column(String(16), default="leastrecent")
    wrapup_seconds: Mapped[int] = mapped_column(Integer, default=10)
    max_wait_seconds: Mapped[int] = mapped_column(Integer, default=120)  # then the call-back offer
    service_level_seconds: Mapped[int] = mapped_column(Integer, default=20)
    announce_position: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QueueSession(Base):
    """An agent logged in to a queue, from login to logout."""
    __tablename__ = "queue_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), index=True)
    logged_in_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    logged_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AgentPause(Base):
    __tablename__ = "agent_pauses"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
