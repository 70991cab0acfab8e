"""Tables. Schema changes go through Alembic (callcenter/migrations)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow  # noqa: F401 - re-exported: the tables' base


ROLES = ("agent", "teamlead", "manager", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
PHONE_MODES = ("desktop", "mobile", "browser")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    phone_mode: Mapped[str | None] = mapped_column(String(16))
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))  # for the mailed reports (report_schedules)
    # PJSIP endpoint of a desktop phone: digest md5(endpoint:realm:password), or a static contact.
    sip_endpoint: Mapped[str | None] = mapped_column(String(40), unique=True)
    sip_md5_cred: Mapped[str | None] = mapped_column(String(32))
    sip_contact: Mapped[str | None] = mapped_column(String(80))
    # The PBX node the phone lives on: rendered there, rung from there.
    pbx_node: Mapped[str] = mapped_column(String(40), default="main", server_default="main")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Place in the organisation (callcenter/org): see org/models.py for the hierarchy.
    display_name: Mapped[str] = mapped_column(String(120), default="")
    employee_id: Mapped[str | None] = mapped_column(String(40), unique=True)  # from the head count
    agent_kind: Mapped[str | None] = mapped_column(String(16))  # store (executive) / center (call-centre agent)
    languages: Mapped[str] = mapped_column(String(80), default="")  # comma-separated ISO 639-1 codes
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Trunk(Base):
    __tablename__ = "trunks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    host: Mapped[str] = mapped_column(String(64))
    port: Mapped[int] = mapped_column(Integer)
    max_channels: Mapped[int] = mapped_column(Integer)
    inbound_headroom: Mapped[int] = mapped_column(Integer, default=0)
    did_start: Mapped[str] = mapped_column(String(20))
    did_end: Mapped[str] = mapped_column(String(20))
    pilot: Mapped[str] = mapped_column(String(20))
    # The PBX node hosting the trunk (its calls go out there; [pbx] node, peers).
    pbx_node: Mapped[str] = mapped_column(String(40), default="main", server_default="main")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # Set by `trunk remove` when call records still refer to the trunk (the row
    # is kept for them); a removed trunk is never used, rendered or listed.
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Call(Base):
    """The call detail record of one click-to-call."""
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_agent_requested", "agent_id", "requested_at"),
        # the calls owing a disposition (probes, boards): a few among every call ever made
        Index("ix_calls_owed", "ended_at", sqlite_where=text("disposed_at IS NULL AND work_item_id IS NOT NULL"),
              postgresql_where=text("disposed_at IS NULL AND work_item_id IS NOT NULL")),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(60))
    mode: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(20), index=True)
    trunk_id: Mapped[int] = mapped_column(ForeignKey("trunks.id"))
    caller_id: Mapped[str] = mapped_column(String(20))
    channels: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), index=True)
    agent_channel: Mapped[str | None] = mapped_column(String(80))
    customer_channel: Mapped[str | None] = mapped_column(String(80))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    originated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    agent_answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    customer_answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ring_seconds: Mapped[float | None] = mapped_column()
    talk_seconds: Mapped[float | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(32))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_txt: Mapped[str | None] = mapped_column(String(80))
    hangup_by: Mapped[str | None] = mapped_column(String(16))
    # The recording of this call (recordings.id); set when the recording is stored.
    recording_id: Mapped[int | None] = mapped_column(Integer)
    # Set when the call was placed from a bucket (callcenter/work): the agent
    # must submit a disposition (``disposed_at``) before their next such call.
    work_item_id: Mapped[int | None] = mapped_column(ForeignKey("work_items.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    disposed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # outbound (click-to-call) or inbound (a queue call answered by the agent;
    # ``inbound_call_id`` links its IVR and queue record).
    direction: Mapped[str] = mapped_column(String(10), default="outbound")
    inbound_call_id: Mapped[str | None] = mapped_column(String(40), index=True)
    # Call quality as the agent's web phone measured it (callcenter/webphone):
    # averages over the call's reports and the E-model MOS estimate (1-4.5).
    mos: Mapped[float | None] = mapped_column()
    jitter_ms: Mapped[float | None] = mapped_column()
    loss_pct: Mapped[float | None] = mapped_column()
    rtt_ms: Mapped[float | None] = mapped_column()
    quality_samples: Mapped[int | None] = mapped_column(Integer)


class Recording(Base):
    __tablename__ = "recordings"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), unique=True)
    path: Mapped[str] = mapped_column(String(200))  # relative to the recordings folder, server-made
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """One row of the audit trail, written through callcenter/audit.py and
    chained by callcenter/audit_chain.py: ``id`` is the order (contiguous,
    ``at`` never goes back along it), ``hash`` covers the row and the hash of
    the row before it (docs/audit.md)."""
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)   # given by the chain, never by the database
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(60), index=True)      # the filters by who and what (0016)
    action: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)  # the API request or CLI run
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChain(Base):
    """The audit trail's head, one row (id 1): the newest row's id, hash and
    time, and the anchor the oldest kept row chains from (the last row
    retention removed, and its hash). Rows up to ``legacy_through_id`` were
    written before the chain existed: hashed when it was made, their order in
    time is not checked."""
    __tablename__ = "audit_chain"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    last_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    pruned_through_id: Mapped[int] = mapped_column(Integer)
    pruned_hash: Mapped[str] = mapped_column(String(64))
    legacy_through_id: Mapped[int] = mapped_column(Integer)


class ScheduledRun(Base):
    """A daily job's run for one local day (callcenter/schedule.py)."""
    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("job", "day", name="uq_scheduled_run_job_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(80))
    day: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))  # running / done / failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    error: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Event(Base):
    """A business event for the client's systems (callcenter/event_log.py)."""
    __tablename__ = "events"
    __table_args__ = (Index("ix_event_pending", "handed_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    handed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PbxOwner(Base):
    """The newest owner of each Asterisk's call work (callcenter/ownership/fencing.py):
    its lease's fencing token, so a stale owner's call-row writes are refused."""
    __tablename__ = "pbx_owners"
    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[int] = mapped_column(BigInteger)
    holder: Mapped[str | None] = mapped_column(String(200))
    since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
