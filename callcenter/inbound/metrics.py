"""Prometheus metrics of inbound calls (``callcenter_inbound_*``): how calls
ended, how they were routed, screen pops, call-backs offered and taken,
post-call survey answers and NPS."""
from __future__ import annotations

from prometheus_client import Counter

from monitoring.metrics import gauge

NPS_CATEGORIES = ("promoter", "passive", "detractor")


def nps_category(score: int) -> str:
    """9-10 promoter, 7-8 passive, 0-6 detractor."""
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


class InboundMetrics:
    def __init__(self, registry) -> None:
        r = registry
        self.calls = Counter("callcenter_inbound_calls_total", "Inbound calls by outcome (ivr_only, answered, "
                             "abandoned, callback, closed, failed)", ["outcome"], registry=r)
        self.routed = Counter("callcenter_inbound_routed_total", "Queue entries by route (last_agent: the "
                              "agent who last spoke with the caller rung first; last_agent_other_language: "
                              "not rung, they do not speak the language the caller chose; customer_queue: the "
                              "queue of the customer's store region; flow_queue: the flow's own)", ["route"],
                              registry=r)
        self.screen_pops = Counter("callcenter_inbound_screen_pops_total",
                                   "Screen pops sent to agents' panels as a call rang them", registry=r)
        self.callbacks_offered = Counter("callcenter_inbound_callbacks_offered_total",
                                         "Call-back offers made to callers", registry=r)
        self.callbacks_taken = Counter("callcenter_inbound_callbacks_taken_total",
                                       "Call-backs callers asked for (a call-back work item made)", registry=r)
        self.survey_answers = Counter("callcenter_inbound_survey_answers_total",
                                      "Post-call survey answers stored, by question", ["question"], registry=r)
        self.nps_answers = Counter("callcenter_inbound_nps_answers_total",
                                   "Post-call NPS answers by category (promoter 9-10, passive 7-8, "
                                   "detractor 0-6)", ["category"], registry=r)
        self._counts = dict.fromkeys(NPS_CATEGORIES, 0)

        class _Live:
            def collect(inner):
                return self.gauges()
        r.register(_Live())

    def nps_answer(self, score: int) -> None:
        category = nps_category(score)
        self.nps_answers.labels(category).inc()
        self._counts[category] += 1

    def gauges(self):
        g = gauge("callcenter_inbound_nps", "NPS (-100..100) of the post-call answers this server stored "
                  "since it started (the report has it by day, agent, team and queue)")
        total = sum(self._counts.values())
        if total:
            g.add_metric([], round(100.0 * (self._counts["promoter"] - self._counts["detractor"]) / total, 1))
        return [g]
