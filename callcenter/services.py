"""The composition root: opens the core's clients once, then walks the
feature list (callcenter/features.py) and starts each feature with the
clients its start function names (callcenter/feature.py). It never names a
feature.

Start order: managed Redis → database (migrated) → Redis client and trunk
accounting → tracker, dialer and their effects, the live bus → rendered PBX
config → the features → managed Asterisk, Prometheus, Alertmanager → AMI link →
the core's loops.
Closing runs the other way round and stops only what was started here.

The leases (callcenter/ownership) are taken right after the call effects,
before any feature starts a loop: a single server holds them all from its
first iteration; with several servers, the loops run once per system and the
PBX's call work (rows, frees, the call fence, live call steps) are the lease
holders' (callcenter/ownership/duties.py says which and why).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy import select

from callcenter import db
from callcenter.ami import AmiLink
from callcenter.ami.listeners import PbxEvents
from callcenter.auth.tokens import write_token_uses
from callcenter.calls.control import CallControl
from callcenter.calls.fence import CallFence
from callcenter.calls.live import LiveCallReporter
from callcenter.calls.tracker import CallTracker
from callcenter.config import Settings
from callcenter.customers.privacy import mobile_for
from callcenter.directory import Directory
from callcenter.feature import Clients, Feature
from callcenter.gauges import core_gauges
from callcenter.live import LiveBus
from callcenter.loops import Loops, stop_tasks
from callcenter.models import Trunk
from callcenter.monitoring_tools import ToolProcess, monitoring_processes
from callcenter.ownership.duties import Ownership
from callcenter.pbx.nodes import PbxNode, PbxNodes, peer_link
from callcenter.pbx.process import AsteriskProcess
from callcenter.pbx.sync import PbxConfigSync
from callcenter.probes import PROBE_INTERVAL, probe
from callcenter.reconciliation import Reconciliation
from callcenter.redis_server import RedisProcess, ensure_redis
from callcenter.supervision import ManagedProcess, Supervisor
from callcenter.trunks import rebuild as accounting_rebuild
from callcenter.trunks.accounting import TrunkAccounting
from dialer.effects import CallEffects
from dialer.service import AGENT_CLAIM_SECONDS, ClickToCall
from monitoring.metrics import Metrics

log = logging.getLogger(__name__)
STATISTICS_INTERVAL = 3600.0
WATCH_INTERVAL = 1.0        # managed processes and Redis's accounting looked at
TOKEN_USES_INTERVAL = 30.0  # the bearer tokens' last use written
FENCE_INTERVAL = 1.0        # calls past their maximum age or ring time hung up
# A dependency that does not answer makes a request fail within seconds (503), never hang.
REDIS_TIMEOUTS = dict(socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=15,
                      retry=Retry(NoBackoff(), 1))


@dataclass
class Services(Reconciliation):
    """The core's clients, and (by name, ``services.queues``...) what the
    features' start functions returned."""
    settings: Settings
    metrics: Metrics
    features: list[Feature] = field(default_factory=list)
    engine: object = None
    sessions: object = None
    redis: Redis | None = None
    accounting: TrunkAccounting | None = None
    tracker: CallTracker | None = None
    fence: CallFence | None = None              # maximum call age and ring time (callcenter/calls/fence.py)
    dialer: ClickToCall | None = None
    effects: CallEffects | None = None
    live: LiveBus | None = None                 # events for open pages (callcenter/live.py)
    live_calls: LiveCallReporter | None = None  # call steps to the live bus
    pbx_events: PbxEvents = field(default_factory=PbxEvents)  # who hears the AMI link
    ami: AmiLink | None = None
    control: CallControl | None = None          # hang-ups and queue members through the AMI link
    pbx_sync: PbxConfigSync | None = None
    directory: Directory | None = None
    # web.auth's verified-token cache: sha256(token) -> (expires at, Principal)
    token_cache: dict = field(default_factory=dict)
    token_uses: set = field(default_factory=set)  # token ids used lately, written by a loop
    # web.sessions' user re-checks: user id -> (expires at, active, role)
    user_checks: dict = field(default_factory=dict)
    provided: dict = field(default_factory=dict)  # feature name -> what its start returned
    asterisk: AsteriskProcess | None = None
    redis_process: RedisProcess | None = None
    accounting_epoch: str | None = None  # the Redis accounting this server's calls are in
    monitoring_tools: list[ToolProcess] = field(default_factory=list)  # [monitoring]: Prometheus, Alertmanager
    trunk_limits: dict[str, tuple[int, int]] = field(default_factory=dict)
    tasks: list[asyncio.Task] = field(default_factory=list)
    loops: Loops | None = None                  # every background loop, kept alive (callcenter/loops.py)
    ownership: Ownership | None = None          # this process's leases (callcenter/ownership)
    supervisor: Supervisor = field(default_factory=Supervisor)  # managed redis-server and Asterisk
    reconciled_at: float | None = None
    nodes: PbxNodes | None = None               # every Asterisk of the system (callcenter/pbx/nodes.py)

    def __getattr__(self, name: str):
        """What a feature provided (``services.queues``), or None while it is not started."""
        if name.startswith("__") or name == "provided":
            raise AttributeError(name)
        provided = self.__dict__.get("provided", {})
        if name in provided:
            return provided[name]
        if any(f.name == name for f in self.__dict__.get("features", ())):
            return None
        raise AttributeError(f"Services has no client or feature {name!r}")

    def clients(self) -> Clients:
        """The clients a feature's start may name (callcenter/feature.py)."""
        return Clients({
            "settings": self.settings, "metrics": self.metrics, "sessions": self.sessions,
            "redis": self.redis, "accounting": self.accounting, "tracker": self.tracker,
            "dialer": self.dialer, "ami": self.ami, "control": self.control, "pbx_events": self.pbx_events,
            "live": self.live,
            "directory": self.directory, "pbx_sync": self.pbx_sync, "loops": self.loops, "nodes": self.nodes,
            **self.provided})

    # -- trunks ---------------------------------------------------------------
    async def on_trunks(self, _trunks=None) -> None:
        """Trunk limits from the database to Redis and the tracker (removed trunks left out)."""
        async with self.sessions() as session:
            rows = (await session.scalars(select(Trunk).where(Trunk.removed_at.is_(None)))).all()
        self.trunk_limits = {t.name: (t.max_channels, t.inbound_headroom) for t in rows}
        for name, (channels, headroom) in self.trunk_limits.items():
            await self.accounting.configure(name, channels, headroom)
        self.tracker.trunk_nodes = {t.name: self.nodes.name_of(t.pbx_node) for t in rows}
        self.tracker.trunks = set(self.trunk_limits)

    async def restore_accounting(self, merge: bool = False) -> None:
        """Redis has no call accounting (first start, or it restarted empty):
        write it back from the calls in progress before admitting new ones.
        ``merge``: another server did; add the calls only this one knows of
        (placed here, not yet on a channel; queued here)."""
        await self.on_trunks()
        self.accounting_epoch = await accounting_rebuild.rebuild(
            self.accounting, self.tracker, self.dialer, self.effects, self.trunk_limits, self.sessions,
            AGENT_CLAIM_SECONDS, merge=merge)
        self.dialer.channel_freed.set()

    async def _watch(self) -> None:
        """Each second: managed processes alive, Redis still holding the accounting."""
        try:
            await self.supervisor.check()
        except Exception as error:  # noqa: BLE001 - counted; the accounting check still runs
            self.loops.failed("watch", error)
        epoch = await self.accounting.epoch()
        if epoch is None:
            log.warning("Redis holds no call accounting (it restarted empty?): rebuilding it")
        elif epoch != self.accounting_epoch:
            log.warning("another server rebuilt the call accounting in Redis: adding this server's calls")
        else:
            return
        await self.restore_accounting(merge=epoch is not None)
        await self._reconcile_tick()

    def channels_in_use(self) -> dict[str, int]:
        """Live channels on each trunk as the tracker sees them (ours + foreign)."""
        return self.tracker.trunk_channels()


async def open_services(settings: Settings, features: list[Feature]) -> Services:
    services = Services(settings=settings, metrics=Metrics(), features=features)
    services.loops = Loops(services.metrics)
    services.metrics.add_gauges(lambda: core_gauges(services))
    try:
        await _open(services)
    except BaseException:
        await close_services(services)
        raise
    return services


async def _open_core(s: Services) -> None:
    settings = s.settings
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    s.redis_process = await ensure_redis(settings)
    s.engine = db.make_engine(settings.database_url, settings.database.busy_timeout)
    await db.migrate(s.engine)
    await db.refresh_statistics(s.engine)
    s.sessions = db.sessionmaker(s.engine)
    s.redis = Redis.from_url(settings.redis.url, **REDIS_TIMEOUTS)
    s.accounting = TrunkAccounting(s.redis, settings.redis.key_prefix)
    s.tracker = CallTracker(reporter=None)
    s.tracker.home = settings.pbx.node
    s.ami = AmiLink(settings.ami, on_event=s.pbx_events.event, on_connected=s._on_ami_connected)
    s.control = CallControl(s.ami, s.tracker)
    s.nodes = PbxNodes(settings)
    s.nodes.add(PbxNode(settings.pbx.node, s.ami, s.control, home=True))
    for peer in s.nodes.peers:  # the other Asterisks: their calls tracked, placed and hung up through them
        link = peer_link(settings, peer, on_event=functools.partial(s._peer_event, peer),
                         on_connected=functools.partial(s._on_peer_connected, peer))
        s.nodes.add(PbxNode(peer, link, CallControl(link, s.tracker), home=False))
    s.fence = CallFence(s.tracker, s.ami, s.metrics, settings.calls, s.control)
    s.pbx_events.on_event(s.tracker.on_event)
    s.pbx_events.on_event(s.fence.on_event)
    s.directory = Directory(s.sessions)
    s.directory.failed = s.loops.failed
    await s.directory.refresh()
    s.dialer = ClickToCall(settings, s.sessions, s.accounting, s.ami, s.tracker, s.metrics, s.directory, s.control)
    s.dialer.nodes = s.fence.nodes = s.nodes
    s.effects = CallEffects(s.dialer, s.sessions, s.accounting, s.metrics, settings, failed=s.loops.failed)
    s.tracker.reporter = s.effects
    for name, run in s.effects.loops():
        s.loops.start(name, run)
    s.live = LiveBus(s.redis, s.sessions, settings.redis.key_prefix,
                     topics={topic for feature in s.features for topic in feature.topics})
    await s.live.start()
    s.live_calls = LiveCallReporter(s.effects, s.live, s.dialer, s.sessions,
                                    shown_number=functools.partial(mobile_for, settings, "agent"))
    s.tracker.reporter = s.live_calls
    s.live_calls.start()
    s.ownership = Ownership(s.redis, settings.redis.key_prefix, settings.pbx.node, settings.redis.lease_seconds,
                            peers=list(s.nodes.peers))
    s.effects.owner = s.ownership
    s.live_calls.owns = s.fence.owns = s.ownership.holds
    for name, lease in s.ownership.nodes.items():
        lease.on_acquired.append(functools.partial(s._took_pbx, name))
        if s.nodes.many:  # with several nodes, a node's call work goes to a server that reaches it
            lease.eligible = functools.partial(lambda node: node.up, s.nodes.get(name))
    s.metrics.add_gauges(s.ownership.gauges)
    await s.ownership.start(s.loops)
    s.pbx_sync = PbxConfigSync(settings, s.sessions, on_trunks=s.on_trunks)


async def _open(s: Services) -> None:
    settings = s.settings
    await _open_core(s)
    syncing = settings.pbx.managed or settings.pbx.sync_config
    if syncing:
        await s.pbx_sync.write()
    else:
        await s.on_trunks(None)
    s.accounting_epoch = await s.accounting.epoch()
    if s.accounting_epoch is None:  # a new (or emptied) Redis: the accounting starts whole
        await s.restore_accounting()
    clients = s.clients()
    for feature in s.features:  # before Asterisk: the IVR listens before calls come
        s.provided.update(await clients.start(feature))
    if settings.pbx.managed:
        s.asterisk = AsteriskProcess(settings)
        await s.asterisk.start()
        s.supervisor.watch(ManagedProcess("asterisk", s.asterisk, s.metrics, on_death=s._pbx_lost))
    if s.redis_process is not None:
        s.supervisor.watch(ManagedProcess("redis", s.redis_process, s.metrics))
    for tool in monitoring_processes(settings):
        await tool.start()
        s.monitoring_tools.append(tool)
        s.supervisor.watch(ManagedProcess(tool.name, tool, s.metrics))
    for node in s.nodes:
        await node.ami.start()
    loops = s.loops
    loops.every("watch", WATCH_INTERVAL, s._watch)
    loops.every("reconcile", settings.ami.reconcile_interval, s._reconcile_tick)
    # hang-ups, each node's by its owner (CallFence.owns)
    loops.every("call_fence", FENCE_INTERVAL, lambda: s.fence.enforce(time.time()))
    loops.start("directory", s.directory.run)
    loops.every("statistics", STATISTICS_INTERVAL, lambda: db.refresh_statistics(s.engine))
    loops.every("probes", PROBE_INTERVAL, lambda: probe(s), first=True)
    loops.every("token_uses", TOKEN_USES_INTERVAL, lambda: write_token_uses(s.sessions, s.token_uses))
    if syncing:
        reload_first = not settings.pbx.managed
        loops.start("pbx_sync", lambda: s.pbx_sync.run(reload_first=reload_first))


async def close_services(s: Services) -> None:
    await stop_tasks(s.tasks, "server task")
    if s.loops is not None:
        await s.loops.close()
    for name, provided in reversed(list(s.provided.items())):  # the features' own (IVR, outbox...)
        close = getattr(provided, "close", None)
        if close is not None:
            try:
                await close()
            except Exception:  # noqa: BLE001 - the rest still closes
                log.exception("closing %s failed", name)
    if s.dialer is not None:
        await s.dialer.close()
    for node in list(s.nodes or ()):
        if not node.home:
            await node.ami.close()
    if s.ami is not None:
        await s.ami.close()
    if s.live_calls is not None:
        await s.live_calls.close()
    if s.live is not None:
        await s.live.close()
    if s.effects is not None:
        await s.effects.close()
    if s.ownership is not None:
        await s.ownership.release()
    if s.asterisk is not None:
        await s.asterisk.stop()
    for tool in reversed(s.monitoring_tools):
        await tool.stop()
    if s.redis is not None:
        await s.redis.aclose()
    if s.engine is not None:
        await s.engine.dispose()
    if s.redis_process is not None:
        await s.redis_process.stop()
