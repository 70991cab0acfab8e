"""The per-campaign report: how far the campaign's work has gone, how many
customers were reached and booked, the dispositions, and for survey campaigns
the average ratings and the NPS.

Definitions (the caller's scope only):
- items: the campaign's work items; attempted: items with at least one
  outbound call; contacted: items with at least one outbound call the
  customer answered; calls and connected calls are outbound calls placed;
  inbound calls answered (an inbound campaign's callers) count on their own;
  talk time is both directions;
- contact rate = contacted / attempted; appointment rate = items with an
  appointment / contacted;
- NPS = % promoters (9-10) - % detractors (0-6) of the answers to ``nps``,
  from -100 to 100."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.models import SURVEY_TYPES, Campaign
from callcenter.models import Call
from callcenter.org.scope import Scope
from callcenter.period import Day
from callcenter.reports.call_counts import (
    inbound_answered, inbound_talk, items_attempted, items_contacted, placed, placed_connected, talk,
)
from callcenter.reports.selection import campaigns_visible
from callcenter.reports.service import visible_campaign
from callcenter.work.models import ALL_BUCKETS, Appointment, Disposition, SurveyAnswer, WorkItem
from callcenter.work.scope import items_in

NPS_QUESTION = "nps"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def nps(promoters: int, passives: int, detractors: int) -> float | None:
    """Net promoter score (-100..100), one decimal; None without answers."""
    answers = promoters + passives + detractors
    if not answers:
        return None
    return round(100.0 * (promoters - detractors) / answers, 1)


@dataclass
class CampaignReport:
    campaign_id: int
    name: str
    type: str
    survey: bool
    date: dt.date | None = None   # None: the whole campaign so far
    items: int = 0
    allocated: int = 0
    buckets: dict = field(default_factory=dict)
    calls: int = 0
    connected_calls: int = 0
    talk_seconds: float = 0.0
    inbound_answered: int = 0
    inbound_talk_seconds: float = 0.0
    attempted: int = 0
    contacted: int = 0
    appointments: int = 0
    dispositions: dict = field(default_factory=dict)
    ratings: list = field(default_factory=list)   # [{question, label, average, answers}]
    nps: dict | None = None

    @property
    def contact_rate(self) -> float | None:
        return _rate(self.contacted, self.attempted)

    @property
    def appointment_rate(self) -> float | None:
        return _rate(self.appointments, self.contacted)

    def as_dict(self) -> dict:
        return {"campaign": {"id": self.campaign_id, "name": self.name, "type": self.type,
                             "survey": self.survey},
                "date": self.date.isoformat() if self.date else None,
                "items": self.items, "allocated": self.allocated, "buckets": dict(self.buckets),
                "calls": self.calls, "connected_calls": self.connected_calls,
                "talk_seconds": round(self.talk_seconds, 1), "inbound_answered": self.inbound_answered,
                "inbound_talk_seconds": round(self.inbound_talk_seconds, 1),
                "attempted": self.attempted, "contacted": self.contacted,
                "contact_rate": self.contact_rate, "appointments": self.appointments,
                "appointment_rate": self.appointment_rate, "dispositions": dict(self.dispositions),
                "ratings": list(self.ratings), "nps": self.nps}


def _labels(campaign: Campaign) -> dict:
    """Question key -> label for the numeric questions of the campaign's form."""
    questions = (campaign.form or {}).get("questions", []) if isinstance(campaign.form, dict) else []
    return {q.get("key"): q.get("label", q.get("key")) for q in questions
            if isinstance(q, dict) and q.get("kind") in ("rating", "nps")}


async def campaign_report(session: AsyncSession, scope: Scope, campaign_id: int,
                          day: Day | None = None) -> CampaignReport:
    """The campaign's figures within the caller's scope; with ``day``, only the
    calls, dispositions, appointments and answers of that day (items and
    buckets are always the current state)."""
    campaign = await visible_campaign(session, scope, campaign_id)
    report = CampaignReport(campaign_id=campaign.id, name=campaign.name, type=campaign.type,
                            survey=campaign.type in SURVEY_TYPES, date=day.date if day else None)

    def within(column):
        return (column >= day.start, column < day.end) if day else ()

    def by_agent(column):
        # The campaign's own index leads (its calls are bounded by its size);
        # ``+ 0`` keeps SQLite off the agent index, which would read every
        # call of every agent in scope, of every campaign and day.
        return scope.owned_by(column + 0)

    # Grouped in the order of ix_work_agent_bucket (agent, bucket, campaign), which
    # covers the query: for an admin a scan of that index only (``+ 0`` keeps
    # SQLite from fetching the campaign's rows one by one through its own index).
    campaign_col = WorkItem.campaign_id + 0 if scope.sees_all else WorkItem.campaign_id
    buckets = (select(WorkItem.agent_id, WorkItem.bucket, func.count())
               .where(campaign_col == campaign.id, items_in(scope))
               .group_by(WorkItem.agent_id, WorkItem.bucket))
    counts = dict.fromkeys(ALL_BUCKETS, 0)
    for agent_id, bucket, n in (await session.execute(buckets)).all():
        counts[bucket] = counts.get(bucket, 0) + n
        report.items += n
        report.allocated += n if agent_id is not None else 0
    report.buckets = counts

    calls = (select(placed(), placed_connected(), talk(), items_attempted(), items_contacted(),
                    inbound_answered(), inbound_talk())
             .where(Call.campaign_id == campaign.id, by_agent(Call.agent_id), *within(Call.requested_at)))
    row = (await session.execute(calls)).one()
    report.calls, report.connected_calls = row[0], row[1]
    report.talk_seconds, report.attempted, report.contacted = float(row[2] or 0), row[3], row[4]
    report.inbound_answered, report.inbound_talk_seconds = row[5], float(row[6] or 0)

    booked = (select(func.count(distinct(Appointment.work_item_id)))
              .join(WorkItem, WorkItem.id == Appointment.work_item_id)
              .where(WorkItem.campaign_id == campaign.id, scope.owned_by(Appointment.agent_id),
                     Appointment.status != "cancelled", *within(Appointment.created_at)))
    report.appointments = (await session.execute(booked)).scalar_one()

    outcomes = (select(Disposition.outcome, func.count())
                .where(Disposition.campaign_id == campaign.id, by_agent(Disposition.agent_id),
                       *within(Disposition.created_at))
                .group_by(Disposition.outcome))
    report.dispositions = {o: n for o, n in (await session.execute(outcomes)).all()}

    await _survey(session, scope, campaign, report, within(SurveyAnswer.created_at))
    return report


async def _survey(session, scope, campaign, report, within) -> None:
    labels = _labels(campaign)
    answered = (SurveyAnswer.campaign_id == campaign.id, SurveyAnswer.score.is_not(None),
                scope.owned_by(SurveyAnswer.agent_id + 0), *within)
    averages = (select(SurveyAnswer.question, func.avg(SurveyAnswer.score), func.count())
                .where(*answered).group_by(SurveyAnswer.question))
    found = {q: (avg, n) for q, avg, n in (await session.execute(averages)).all()}
    if not found and not report.survey:
        return
    order = [q for q in labels if q in found] + sorted(q for q in found if q not in labels)
    report.ratings = [{"question": q, "label": labels.get(q, q), "average": round(float(found[q][0]), 2),
                       "answers": found[q][1]} for q in order if q != NPS_QUESTION]
    score = SurveyAnswer.score
    split = (select(func.count(case((score >= 9, 1))), func.count(case(((score >= 7) & (score <= 8), 1))),
                    func.count(case((score <= 6, 1))))
             .where(*answered, SurveyAnswer.question == NPS_QUESTION, score >= 0, score <= 10))
    promoters, passives, detractors = (await session.execute(split)).one()
    report.nps = {"score": nps(promoters, passives, detractors), "promoters": promoters,
                  "passives": passives, "detractors": detractors,
                  "answers": promoters + passives + detractors}


async def visible_campaigns(session: AsyncSession, scope: Scope) -> list[dict]:
    """The campaigns the caller may report on (newest first), for pickers."""
    query = select(Campaign.id, Campaign.name, Campaign.type, Campaign.status).where(campaigns_visible(scope))
    rows = (await session.execute(query.order_by(Campaign.id.desc()))).all()
    return [{"id": i, "name": n, "type": t, "status": s} for i, n, t, s in rows]
