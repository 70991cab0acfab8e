"""The organisation: locations (call centres / regions), stores and teams.

Hierarchy: admin > manager (``users.location_id``) > team lead (``users.team_id``)
> agent (a store executive with ``users.store_id`` or a call-centre agent with
``users.team_id``). Every user row also carries the ``location_id`` it belongs to,
so scoping a query by location never needs a join through teams or stores."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)      # e.g. "north"
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)      # the client's store code
    name: Mapped[str] = mapped_column(String(80))
    city: Mapped[str] = mapped_column(String(60), default="")
    region: Mapped[str] = mapped_column(String(40), default="")     # north / south / east / west
    language: Mapped[str] = mapped_column(String(8), default="en")  # ISO 639-1 of the store's customers
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
