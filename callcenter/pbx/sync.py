"""Keep Asterisk's PJSIP config in step with the database: trunks and agents'
desktop phones are rows; when they change the config is rendered again and
``res_pjsip`` reloaded through the admin AMI user (the call-work user has no
config rights)."""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from callcenter.ami import AmiError, AmiLink
from callcenter.models import Trunk, User
from callcenter.pbx.render import PhoneConf, TrunkConf, write_config

log = logging.getLogger(__name__)


async def load_pbx_objects(sessions) -> tuple[list[TrunkConf], list[PhoneConf]]:
    async with sessions() as session:
        trunks = (await session.scalars(select(Trunk).order_by(Trunk.name))).all()
        phones = (await session.scalars(select(User).where(
            User.active.is_(True), User.sip_endpoint.is_not(None)).order_by(User.sip_endpoint))).all()
    return ([TrunkConf(t.name, t.host, t.port, t.max_channels) for t in trunks
             if t.removed_at is None],
            [PhoneConf(u.sip_endpoint, u.sip_md5_cred, u.sip_contact) for u in phones])


async def reload_pjsip(settings, timeout: float = 10.0) -> None:
    """One short admin login: Reload res_pjsip.so."""
    link = AmiLink(settings.ami, username=settings.ami.admin_username, secret=settings.ami.admin_secret)
    await link.start()
    try:
        await link.wait_connected(timeout)
        await link.action("Reload", {"Module": "res_pjsip.so"}, timeout=timeout)
    finally:
        await link.close()


class PbxConfigSync:
    """Polls the database; renders and reloads when trunks or phones change.
    ``on_trunks`` is told the trunk list each time it changes."""

    def __init__(self, settings, sessions, on_trunks=None, interval: float = 2.0) -> None:
        self.settings = settings
        self.sessions = sessions
        self.on_trunks = on_trunks
        self.interval = interval
        self.current: tuple | None = None
        self.changed = asyncio.Event()

    async def write(self) -> bool:
        """Render if anything changed; True when it did."""
        trunks, phones = await load_pbx_objects(self.sessions)
        state = (tuple(map(repr, trunks)), tuple(map(repr, phones)))
        if state == self.current:
            return False
        write_config(self.settings, trunks, phones)
        first = self.current is None
        self.current = state
        if self.on_trunks is not None:
            await self.on_trunks(trunks)
        log.info("PBX config rendered: %d trunks, %d phones%s", len(trunks), len(phones),
                 "" if first else " (reloading)")
        return not first

    async def run(self, reload_first: bool = False) -> None:
        reload_due = reload_first
        while True:
            if not reload_due:
                await asyncio.sleep(self.interval)
            try:
                reload_due = await self.write() or reload_due
                if reload_due:
                    await reload_pjsip(self.settings)
                    reload_due = False
                    self.changed.set()
            except (AmiError, OSError, ValueError) as error:
                log.warning("PBX config sync failed (retrying): %s", error)
                await asyncio.sleep(self.interval)
