"""The web phones' logins: one row per agent whose browser phone may register
now. The row lives as long as the panel login it was issued to; Asterisk's
config holds a browser endpoint only while its row exists."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.orm import Base, utcnow


class BrowserPhone(Base):
    """The SIP credentials of one agent's browser phone, for one panel login.
    The password itself is never stored: it is derived from the server's
    session secret and ``nonce`` (HMAC), and Asterisk gets only its digest."""
    __tablename__ = "browser_phones"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(40), unique=True)
    md5_cred: Mapped[str] = mapped_column(String(32))
    nonce: Mapped[str] = mapped_column(String(43))
    session_digest: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the panel session id
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
