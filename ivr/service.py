"""The IVR as part of ``callcenter serve``: loads and checks the flows, makes
sure the prompts are rendered and published into the Asterisk instance, and
runs the FastAGI server whose sessions walk the flows.

A port already taken does not stop the rest of the server: the IVR logs an
error and tries to listen again every few seconds (calls meanwhile hear the
dialplan's busy prompt)."""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from pathlib import Path

from callcenter.config import Settings
from callcenter.loops import stop_tasks
from ivr import prompts as prompt_files
from ivr.dids import load_dids
from ivr.fastagi import AgiConnection, FastAgiServer
from ivr.flow_files import load_flows
from ivr.metrics import IvrMetrics
from ivr.session import IvrHooks, IvrSession

log = logging.getLogger(__name__)

RECENT_SESSIONS = 500
LISTEN_RETRY_SECONDS = 5.0


class IvrService:
    def __init__(self, settings: Settings, metrics: IvrMetrics, hooks: IvrHooks | None = None) -> None:
        self.settings = settings
        self.metrics = metrics
        self.hooks = hooks or IvrHooks()
        self.flows_dir = Path(settings.ivr.flows_dir) if settings.ivr.flows_dir else prompt_files.SHIPPED_FLOWS
        self.recent: deque = deque(maxlen=RECENT_SESSIONS)
        self.server = FastAgiServer(settings.ivr, self._session, metrics)
        self.flows = {}
        self.dids = None
        self.prompts = prompt_files.PromptBook()
        self._listener: asyncio.Task | None = None
        self.clock = None  # None: the real time (tests pin it for hours checks)

    async def start(self) -> None:
        """Load flows and prompts (errors here stop the start), then listen."""
        await asyncio.to_thread(self._load)
        try:
            await self.server.start()
        except OSError as error:
            log.error("IVR cannot listen on %s:%d (%s); retrying every %.0f s", self.settings.ivr.host,
                      self.settings.ivr.port, error, LISTEN_RETRY_SECONDS)
            self._listener = asyncio.create_task(self._listen_later())

    def _load(self) -> None:
        settings = self.settings
        catalogue = prompt_files.load_catalogue(self.flows_dir)
        cache = Path(settings.ivr.prompts_dir)
        root = Path(settings.pbx.root)
        has_root = (root / "usr/sbin/asterisk").exists()
        if prompt_files.tools_present():
            new = prompt_files.render_catalogue(catalogue, cache, root if has_root else None)
            if new:
                log.info("rendered %d new IVR prompts into %s", new, cache)
        else:
            log.warning("espeak-ng or sox missing: IVR prompts not rendered yet are left out")
        known = set(catalogue)
        if has_root:
            self.prompts = prompt_files.publish(catalogue, cache, root, settings.pbx.instance_dir)
            known |= self.prompts.core
        else:
            log.warning("no Asterisk root at %s: IVR prompts not published", root)
        self.flows = load_flows(self.flows_dir, known if has_root else None)
        self.dids = load_dids(self.flows_dir, set(self.flows))
        log.info("IVR flows %s loaded from %s; %d prompt recordings", ", ".join(sorted(self.flows)),
                 self.flows_dir, len(self.prompts.files))

    async def _listen_later(self) -> None:
        while True:
            await asyncio.sleep(LISTEN_RETRY_SECONDS)
            try:
                await self.server.start()
                return
            except OSError as error:
                log.debug("IVR still cannot listen: %s", error)

    async def _session(self, connection: AgiConnection) -> None:
        session = IvrSession(connection, self.flows, self.dids, self.prompts, self.hooks, self.metrics,
                             self.recent, region=self.settings.calls.default_region, clock=self.clock)
        await session.run()

    @property
    def listening(self) -> bool:
        return self.server.port is not None

    async def close(self) -> None:
        await stop_tasks([self._listener], "IVR listener")
        await self.server.close()
