"""Keep Asterisk's PJSIP and queue config in step with the database: trunks,
agents' desktop phones and queues are rows; when they change the config is
rendered again and ``res_pjsip`` (trunks, phones) or ``app_queue`` (queues:
dynamic members stay logged in) reloaded through the admin AMI user (the
call-work user has no config rights)."""
from __future__ import annotations

import asyncio
import logging
import time

from collections.abc import Awaitable, Callable

from sqlalchemy import or_, select

from callcenter.ami import AmiError, AmiLink
from callcenter.models import Trunk, User
from callcenter.pbx.render import PhoneConf, TrunkConf, write_config
from callcenter.queues.conf import QueueConf, queue_conf
from callcenter.queues.models import Queue

log = logging.getLogger(__name__)

# Every AMI action sent as the admin user (manager.conf grants it
# ``write = system``, the least of the two classes Reload accepts;
# PJSIPShowContacts lists the web phones' registrations after a reconnect).
ADMIN_ACTIONS = ("Reload", "PJSIPShowContacts")


async def load_pbx_objects(sessions) -> tuple[list[TrunkConf], list[PhoneConf]]:
    async with sessions() as session:
        trunks = (await session.scalars(select(Trunk).order_by(Trunk.name))).all()
        phones = (await session.scalars(select(User).where(  # desk phones; web phones: phone_sources
            User.active.is_(True), User.sip_endpoint.is_not(None),
            or_(User.sip_md5_cred.is_not(None), User.sip_contact.is_not(None))).order_by(User.sip_endpoint))).all()
    return ([TrunkConf(t.name, t.host, t.port, t.max_channels, t.pbx_node) for t in trunks
             if t.removed_at is None],
            [PhoneConf(u.sip_endpoint, u.sip_md5_cred, u.sip_contact, node=u.pbx_node) for u in phones])


def homed_here(pbx, node: str) -> bool:
    """Whether a trunk or desk phone homed on ``node`` is rendered into this
    server's Asterisk: with peers only its own node's; alone, every one."""
    return not pbx.peers or node == pbx.node


async def load_queues(sessions) -> list[QueueConf]:
    async with sessions() as session:
        rows = (await session.scalars(select(Queue).where(Queue.active.is_(True)).order_by(Queue.name))).all()
    return [queue_conf(q) for q in rows]


async def reload_modules(settings, modules=("res_pjsip.so",), timeout: float = 10.0) -> None:
    """One short admin login: Reload each module."""
    link = AmiLink(settings.ami, username=settings.ami.admin_username, secret=settings.ami.admin_secret)
    await link.start()
    try:
        await link.wait_connected(timeout)
        for module in modules:
            await link.action("Reload", {"Module": module}, timeout=timeout)
    finally:
        await link.close()


async def admin_list(settings, name: str, timeout: float = 10.0) -> list[dict]:
    """One short admin login: a list action of ADMIN_ACTIONS (its list events)."""
    if name not in ADMIN_ACTIONS:
        raise ValueError(f"{name} is not an admin action")
    link = AmiLink(settings.ami, username=settings.ami.admin_username, secret=settings.ami.admin_secret)
    await link.start()
    try:
        await link.wait_connected(timeout)
        return await link.action_list(name, timeout=timeout)
    finally:
        await link.close()


async def reload_pjsip(settings, timeout: float = 10.0) -> None:
    """One short admin login: Reload res_pjsip.so."""
    await reload_modules(settings, ("res_pjsip.so",), timeout)


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
        self.queues_loaded = asyncio.Event()  # set after each app_queue reload
        self.queue_names: set[str] = set()     # the queues Asterisk has been told about
        self._reload: set[str] = set()
        self._rendered_queues: set[str] = set()
        self._poke = asyncio.Event()
        # Features that add phones of their own (the web phones' per-login
        # endpoints, callcenter/webphone): each returns its PhoneConf list.
        self.phone_sources: list[Callable[[], Awaitable[list[PhoneConf]]]] = []
        # monotonic time of the database read that Asterisk now runs on
        self.applied_read_at = 0.0
        self._read_at = 0.0
        self._applied = asyncio.Event()

    def poke(self) -> None:
        """Look at the database now rather than at the next interval."""
        self._poke.set()

    async def wait_applied(self, since: float, timeout: float) -> bool:
        """Wait until Asterisk runs on a database read made after ``since``
        (``time.monotonic()``); False when ``timeout`` passed first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.applied_read_at < since:
            self._applied.clear()
            self.poke()
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._applied.wait(), left)
            except asyncio.TimeoutError:
                pass
        return True

    def _mark_applied(self, read_at: float) -> None:
        self.applied_read_at = max(self.applied_read_at, read_at)
        self._applied.set()

    async def write(self) -> bool:
        """Render if anything changed; True when it did."""
        self._read_at = time.monotonic()
        trunks, phones = await load_pbx_objects(self.sessions)
        for source in self.phone_sources:
            phones = phones + list(await source())
        queues = await load_queues(self.sessions)
        state = (tuple(map(repr, trunks)), tuple(map(repr, phones)), tuple(map(repr, queues)))
        if state == self.current:
            return False
        # every trunk counts (on_trunks: accounting, the tracker), this node's alone are rendered
        write_config(self.settings, [t for t in trunks if homed_here(self.settings.pbx, t.node)],
                     [p for p in phones if p.browser or homed_here(self.settings.pbx, p.node)], queues)
        first = self.current is None
        if first or state[:2] != self.current[:2]:
            self._reload.add("res_pjsip.so")
        if first or state[2] != self.current[2]:
            self._reload.add("app_queue.so")
            self._rendered_queues = {q.name for q in queues}
        self.current = state
        if self.on_trunks is not None:
            await self.on_trunks(trunks)
        log.info("PBX config rendered: %d trunks, %d phones%s", len(trunks), len(phones),
                 "" if first else " (reloading)")
        return not first

    async def run(self, reload_first: bool = False) -> None:
        reload_due = reload_first
        if not reload_first:  # Asterisk started on the config just written
            self._reload.clear()
            self.queue_names = set(self._rendered_queues)
        while True:
            if not reload_due:
                try:
                    await asyncio.wait_for(self._poke.wait(), self.interval)
                except asyncio.TimeoutError:
                    pass
                self._poke.clear()
            try:
                reload_due = await self.write() or reload_due
                if not reload_due:
                    self._mark_applied(self._read_at)
                if reload_due:
                    modules = sorted(self._reload) or ["res_pjsip.so"]
                    await reload_modules(self.settings, modules)
                    self._reload.clear()
                    reload_due = False
                    if "app_queue.so" in modules:
                        self.queue_names = set(self._rendered_queues)
                        self.queues_loaded.set()
                    self.changed.set()
                    self._mark_applied(self._read_at)
            except (AmiError, OSError, ValueError) as error:
                log.warning("PBX config sync failed (retrying): %s", error)
                await asyncio.sleep(self.interval)
