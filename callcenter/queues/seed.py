"""First start: the queues the IVR's flows send callers to.

The shipped main flow queues a caller in ``support-{language}`` for each
language its menu offers (en, hi, ta, kn, ml, te). On a new installation
nothing creates those queues, so a call would find no queue to wait in.

``callcenter serve`` (next to the first administrator, callcenter.cli.admin)
calls :func:`ensure_first_queues`: when the queues table is empty AND the
audit trail has no ``queue.seed`` entry, it creates one queue per name the
flows use (the flows serve runs: ``[ivr] flows_dir`` or the shipped ones),
with the model's defaults and no location (every location's agents who speak
the language are offered it), records ``queue.seed`` as actor ``system`` and
logs one line. It never runs again once it has run: a manager who removes or
renames every queue later keeps that choice, and an installation that
already has queues is left alone. The config sync renders the new queues
into queues.conf when serve starts."""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from callcenter import audit
from callcenter.models import AuditChain, AuditEntry
from callcenter.calls.queue_names import QUEUE_NAME_RE, RESERVED
from callcenter.queues.models import Queue
from callcenter.queues.service import queue_json
from ivr import prompts
from ivr.flow_files import load_flows
from ivr.flows import FlowError

log = logging.getLogger(__name__)

SEED_ACTION = "queue.seed"
ACTOR = "system"


def flow_queues(flows: dict) -> dict[str, str]:
    """Queue name -> language, for every queue node of ``flows`` (ivr.flows.Flow):
    a ``{language}`` name once per language the flow may speak (its own and
    those its set_language nodes choose)."""
    names: dict[str, str] = {}
    for flow in flows.values():
        languages = [flow.language] + sorted({n.language for n in flow.nodes.values()
                                              if n.kind == "set_language"} - {flow.language})
        for node in flow.nodes.values():
            if node.kind != "queue":
                continue
            spoken = languages if "{language}" in node.queue else [flow.language]
            for language in spoken:
                name = node.queue.replace("{language}", language)
                if not QUEUE_NAME_RE.fullmatch(name) or name in RESERVED:
                    log.warning("flow %s names queue %r, which cannot be a queue name: not created",
                                flow.name, name)
                    continue
                names.setdefault(name, language)
    return names


async def seed_queues(session, names: dict[str, str]) -> list[Queue]:
    """Create the queues ``names`` (name -> language) when there is no queue and
    none was ever seeded; returns the queues created (none otherwise). The
    caller owns the transaction."""
    if await session.scalar(select(exists().where(AuditEntry.action == SEED_ACTION))):
        return []
    # Retention may have removed the seed's rows (years later): a trail that
    # was ever pruned is no first start, so queues deleted on purpose stay so.
    if await session.scalar(select(exists().where(AuditChain.pruned_through_id > 0))):
        return []
    if await session.scalar(select(exists().select_from(Queue))):
        return []
    created = []
    for name, language in sorted(names.items()):
        q = Queue(name=name, language=language, location_id=None, region="", strategy="leastrecent",
                  wrapup_seconds=10, max_wait_seconds=120, service_level_seconds=20,
                  announce_position=True, active=True)
        session.add(q)
        created.append(q)
    await session.flush()
    audit.record_many(session, ACTOR, ((SEED_ACTION, "queue", q.id, {  # one row per queue
        **queue_json(q), "reason": "first start: the queues the IVR flows name"}) for q in created))
    return created


def flows_dir(settings) -> Path:
    return Path(settings.ivr.flows_dir) if settings.ivr.flows_dir else prompts.SHIPPED_FLOWS


async def ensure_first_queues(settings, sessions) -> list[str]:
    """The first-start queues (see the module's doc); the names created."""
    if not settings.ivr.enabled:
        return []
    try:
        names = flow_queues(load_flows(flows_dir(settings)))
    except (FlowError, OSError) as error:  # the IVR's own start reports it
        log.warning("no first-start queues: the IVR flows do not load: %s", error)
        return []
    if not names:
        return []
    try:
        async with sessions() as session, session.begin():
            created = [q.name for q in await seed_queues(session, names)]
    except IntegrityError:  # another serve process seeded them at the same moment
        return []
    if created:
        log.info("first start: created the queues %s that the IVR flows send callers to "
                 "(no location, default settings; change them at /queues/manage)", ", ".join(created))
    return created
