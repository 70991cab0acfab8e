"""Per-login SIP credentials of the web phones.

A browser-mode agent's phone may register only while the panel login that
asked for it lasts: ``issue`` writes the agent's one ``browser_phones`` row
for that login (a second login, tab or device takes the phone over: the row
is replaced, the old password stops working), ``revoke`` deletes it (logout),
and ``sweep`` deletes the rows whose login ended some other way (expiry, the
user disabled, re-roled or moved off the browser mode). Asterisk's config
holds a browser endpoint only while its row exists (``phone_confs``).

The password is never stored: it is an HMAC of the row's nonce under the
server's ``[security] session_secret``, so the server can hand it again to the
same login (a page reload) and Asterisk gets only md5(user:realm:password)."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import delete, select

from callcenter.models import User
from callcenter.orm import utcnow
from callcenter.pbx.render import PhoneConf
from callcenter.users.service import browser_endpoint_for, sip_md5_cred
from callcenter.webphone.exceptions import NotBrowserPhone
from callcenter.webphone.models import BrowserPhone

log = logging.getLogger(__name__)


def session_digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class PhoneLogin:
    """What a page needs to register its phone (the password in clear)."""
    user_id: int
    agent: str
    display_name: str
    endpoint: str
    password: str
    expires_at: dt.datetime
    taken_over: bool  # the phone was registered for another login until now


class Credentials:
    def __init__(self, settings, sessions) -> None:
        self.settings = settings
        self.sessions = sessions

    def password(self, nonce: str) -> str:
        secret = self.settings.security.session_secret.encode()
        mac = hmac.new(secret, b"webphone:" + nonce.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode()

    async def issue(self, user_id: int, session_id: str, expires_at: dt.datetime) -> PhoneLogin:
        """The phone credentials of this login: the same ones again for the
        same login, fresh ones (the old revoked) for any other."""
        digest = session_digest(session_id)
        async with self.sessions() as db:
            user = await db.get(User, user_id)
            if user is None or not user.active or user.phone_mode != "browser":
                raise NotBrowserPhone("Your phone is not the web phone: an admin can set your phone "
                                      "to 'Web phone in the panel' on your user page")
            row = await db.get(BrowserPhone, user_id)
            taken_over = row is not None and row.session_digest != digest
            if row is None or taken_over:
                nonce = secrets.token_urlsafe(24)
                endpoint = browser_endpoint_for(user.name)
                md5 = sip_md5_cred(endpoint, self.settings.pbx.sip_realm, self.password(nonce))
                if row is None:
                    row = BrowserPhone(user_id=user_id)
                    db.add(row)
                row.endpoint, row.md5_cred, row.nonce = endpoint, md5, nonce
                row.session_digest, row.issued_at, row.expires_at = digest, utcnow(), expires_at
                await db.commit()
                log.info("web phone credentials issued to %s%s", user.name,
                         " (taken over from another login)" if taken_over else "")
            return PhoneLogin(user_id, user.name, user.display_name or user.name, row.endpoint,
                              self.password(row.nonce), row.expires_at, taken_over)

    async def revoke(self, user_id: int, session_id: str) -> str | None:
        """Delete the agent's phone credentials if issued to ``session_id``;
        the endpoint revoked, None when there were none."""
        query = delete(BrowserPhone).where(BrowserPhone.user_id == user_id,
                                           BrowserPhone.session_digest == session_digest(session_id))
        async with self.sessions() as db:
            endpoint = await db.scalar(select(BrowserPhone.endpoint).where(BrowserPhone.user_id == user_id))
            gone = (await db.execute(query)).rowcount
            await db.commit()
        return endpoint if gone else None

    async def sweep(self, login_roles: Callable[[list[str]], Awaitable[list[str | None]]],
                    before_revoke: Callable[[int], Awaitable[None]] | None = None) -> list[str]:
        """Delete rows whose login ended (expired, gone, or made with another
        role than the user's now: ``login_roles`` of the rows' session
        digests) or whose user is no longer an active browser-mode user;
        returns the endpoints revoked."""
        now = utcnow()
        async with self.sessions() as db:
            rows = (await db.execute(select(BrowserPhone, User.active, User.phone_mode, User.role)
                                     .join(User, User.id == BrowserPhone.user_id))).all()
        login_role = await login_roles([row.session_digest for row, *_ in rows])
        ended = []
        for (row, active, mode, role), made_as in zip(rows, login_role):
            expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.timezone.utc)
            if not active or mode != "browser" or expires <= now or made_as != role:
                ended.append(row)
        if not ended:
            return []
        if before_revoke is not None:
            for row in ended:
                await before_revoke(row.user_id)
        async with self.sessions() as db:
            for row in ended:
                await db.execute(delete(BrowserPhone).where(
                    BrowserPhone.user_id == row.user_id, BrowserPhone.nonce == row.nonce))
            await db.commit()
        log.info("web phone credentials revoked (login ended): %s", ", ".join(r.endpoint for r in ended))
        return [r.endpoint for r in ended]

    async def endpoints(self) -> list[str]:
        """The endpoints with credentials now."""
        async with self.sessions() as db:
            return list((await db.scalars(select(BrowserPhone.endpoint))).all())

    async def phone_confs(self) -> list[PhoneConf]:
        """The browser endpoints Asterisk's config holds now (pbx_sync.phone_sources)."""
        async with self.sessions() as db:
            rows = (await db.execute(select(BrowserPhone.endpoint, BrowserPhone.md5_cred)
                                     .join(User, User.id == BrowserPhone.user_id)
                                     .where(User.active.is_(True), User.phone_mode == "browser")
                                     .order_by(BrowserPhone.endpoint))).all()
        return [PhoneConf(endpoint, md5, None, browser=True) for endpoint, md5 in rows]
