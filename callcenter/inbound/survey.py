"""The post-call survey: after the agent hangs up, the caller is asked in the
IVR for an NPS (0-10) and a 1-5 rating of the agent; each answer is a
SurveyAnswer (source 'ivr') of the call, the agent and the customer. The NPS
report of these answers is ``callcenter.reports.nps``."""
from __future__ import annotations

import logging

from sqlalchemy import select

from callcenter.inbound.service import LiveCall
from callcenter.work.models import SurveyAnswer

log = logging.getLogger(__name__)
SOURCE = "ivr"
QUESTIONS = {"nps": (0, 10), "agent_rating": (1, 5)}


async def store_answer(sessions, entry: LiveCall | None, question: str, value: int) -> bool:
    """Store one answer of the call's survey; False when it is not one of
    ours or was stored already (one answer per call and question)."""
    low, high = QUESTIONS.get(question, (None, None))
    if low is None or isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        log.warning("survey answer %s=%r refused", question, value)
        return False
    answered = entry is not None and entry.answered_at is not None
    call_id = entry.call_id if answered else None
    async with sessions() as session, session.begin():
        if call_id is not None and await session.scalar(select(SurveyAnswer.id).where(
                SurveyAnswer.call_id == call_id, SurveyAnswer.question == question,
                SurveyAnswer.source == SOURCE)) is not None:
            return False
        session.add(SurveyAnswer(source=SOURCE, call_id=call_id,
                                 customer_id=entry.customer_id if entry else None,
                                 agent_id=entry.agent_id if answered else None,
                                 campaign_id=entry.campaign_id if answered else None,
                                 question=question, score=value))
    return True
