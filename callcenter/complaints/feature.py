"""Complaints (tickets) with SLA escalation up the hierarchy."""
from pathlib import Path

from callcenter.complaints import http, models, pages
from callcenter.complaints import settings as complaint_settings
from callcenter.complaints.escalation import EscalationLoop
from callcenter.feature import Feature, Section


async def start(settings, sessions, loops, dispatcher) -> None:
    escalation = EscalationLoop(sessions, settings, wake=dispatcher.wake)
    loops.every("complaints", escalation.interval, escalation.tick, first=True, once=True)  # past their SLA: one level up


FEATURE = Feature(
    name="complaints",
    routes=[*http.ROUTES, *pages.ROUTES],
    tables=models,
    settings=Section("complaints", complaint_settings.ComplaintSettings, complaint_settings.check),
    start=start,
    templates=Path(__file__).parent / "templates",
    summary="Complaints (tickets), SLA escalation",
)
