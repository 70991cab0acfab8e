"""The NPS report of the post-call IVR survey (``callcenter.inbound.survey``
stores the answers): for a range of days (in the configured time zone), by
agent, team or queue, within the caller's scope (the answers of agents they
may see): answers, promoters (9-10), passives (7-8), detractors (0-6),
NPS = % promoters - % detractors (-100..100), and the agents' average rating."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, select

from callcenter.inbound.models import InboundCall
from callcenter.inbound.survey import QUESTIONS, SOURCE
from callcenter.models import Call, User
from callcenter.org.models import Team
from callcenter.org.scope import Scope
from callcenter.period import ReportInvalid
from callcenter.queues.models import Queue
from callcenter.work.models import SurveyAnswer

GROUPINGS = ("agent", "team", "queue")


def nps(promoters: int, detractors: int, answers: int) -> float | None:
    return round(100.0 * (promoters - detractors) / answers, 1) if answers else None


def _figures(row) -> dict:
    answers = int(row.answers or 0)
    out = {"answers": answers, "promoters": int(row.promoters or 0), "passives": int(row.passives or 0),
           "detractors": int(row.detractors or 0), "ratings": int(row.ratings or 0),
           "average_rating": round(row.rating_sum / row.ratings, 2) if row.ratings else None}
    out["nps"] = nps(out["promoters"], out["detractors"], answers)
    return out


_Q, _S = SurveyAnswer.question, SurveyAnswer.score
_COLUMNS = (
    func.sum(case((_Q == "nps", 1), else_=0)).label("answers"),
    func.sum(case((and_(_Q == "nps", _S >= 9), 1), else_=0)).label("promoters"),
    func.sum(case((and_(_Q == "nps", _S >= 7, _S <= 8), 1), else_=0)).label("passives"),
    func.sum(case((and_(_Q == "nps", _S <= 6), 1), else_=0)).label("detractors"),
    func.sum(case((_Q == "agent_rating", 1), else_=0)).label("ratings"),
    func.sum(case((_Q == "agent_rating", _S), else_=0)).label("rating_sum"),
)


def check_grouping(by) -> str:
    if by not in GROUPINGS:
        raise ReportInvalid(f"by must be one of {', '.join(GROUPINGS)}", field="by")
    return by


async def nps_report(session, scope: Scope, by: str, start: dt.datetime, end: dt.datetime) -> dict:
    """``{"by", "rows": [{key, name, ...figures}], "total": {...figures}}``,
    answers created in [start, end) (UTC)."""
    check_grouping(by)
    where = (SurveyAnswer.source == SOURCE, SurveyAnswer.question.in_(tuple(QUESTIONS)),
             SurveyAnswer.created_at >= start, SurveyAnswer.created_at < end, scope.owned_by(SurveyAnswer.agent_id))
    total = (await session.execute(select(*_COLUMNS).where(*where))).one()
    if by == "agent":
        key, name = User.id, func.coalesce(func.nullif(User.display_name, ""), User.name)
        query = select(key.label("key"), name.label("name"), *_COLUMNS).join(User, User.id == SurveyAnswer.agent_id)
        group = (User.id, User.display_name, User.name)
    elif by == "team":
        key, name = Team.id, Team.name
        query = (select(key.label("key"), name.label("name"), *_COLUMNS)
                 .join(User, User.id == SurveyAnswer.agent_id).outerjoin(Team, Team.id == User.team_id))
        group = (Team.id, Team.name)
    else:
        key, name = Queue.id, Queue.name
        query = (select(key.label("key"), name.label("name"), *_COLUMNS)
                 .join(Call, Call.id == SurveyAnswer.call_id)
                 .outerjoin(InboundCall, InboundCall.id == Call.inbound_call_id)
                 .outerjoin(Queue, Queue.id == InboundCall.queue_id))
        group = (Queue.id, Queue.name)
    rows = (await session.execute(query.where(*where).group_by(*group))).all()
    out = []
    for row in rows:
        figures = _figures(row)
        out.append({"key": row.key, "name": row.name or ("no team" if by == "team" else
                                                          "no queue" if by == "queue" else "?"), **figures})
    out.sort(key=lambda r: (r["nps"] is None, -(r["nps"] or 0), str(r["name"])))
    return {"by": by, "rows": out, "total": _figures(total)}
