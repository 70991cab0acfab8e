"""Prometheus metrics of the queues (``callcenter_queue_*``): counters and
histograms fed by the tracker's outcomes, gauges read from its state at
scrape time."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

from callcenter.queues.board import MEMBER_STATES
from monitoring.metrics import gauge

_WAIT_BUCKETS = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200)


class QueueMetrics:
    def __init__(self, registry, tracker) -> None:
        self.tracker = tracker
        r = registry
        self.answered = Counter("callcenter_queue_answered_total", "Queue callers answered by an agent",
                                ["queue"], registry=r)
        self.abandoned = Counter("callcenter_queue_abandoned_total", "Queue callers who hung up while waiting",
                                 ["queue"], registry=r)
        self.timed_out = Counter("callcenter_queue_timeouts_total",
                                 "Queue callers who left after the maximum wait (to the call-back offer)",
                                 ["queue"], registry=r)
        self.abandon_wait = Histogram("callcenter_queue_abandon_wait_seconds",
                                      "How long callers waited before hanging up", ["queue"],
                                      buckets=_WAIT_BUCKETS, registry=r)
        self.answer_wait = Histogram("callcenter_queue_answer_wait_seconds",
                                     "How long answered callers waited", ["queue"],
                                     buckets=_WAIT_BUCKETS, registry=r)

        class _Live:
            def collect(inner):
                return self.gauges()
        r.register(_Live())

    def caller_done(self, queue: str, outcome: str, wait: float) -> None:
        if outcome == "answered":
            self.answered.labels(queue).inc()
            self.answer_wait.labels(queue).observe(wait)
        elif outcome == "abandoned":
            self.abandoned.labels(queue).inc()
            self.abandon_wait.labels(queue).observe(wait)
        elif outcome == "timeout":
            self.timed_out.labels(queue).inc()

    def gauges(self):
        waiting = gauge("callcenter_queue_callers_waiting", "Callers waiting in each queue", ["queue"])
        longest = gauge("callcenter_queue_longest_wait_seconds", "The longest wait of a caller now waiting",
                        ["queue"])
        level = gauge("callcenter_queue_service_level_ratio",
                      "Today's share of callers answered within the queue's service level "
                      "(of answered + abandoned after it + timed out)", ["queue"])
        logged_in = gauge("callcenter_queue_agents_logged_in", "Agents logged in to each queue", ["queue"])
        paused = gauge("callcenter_queue_agents_paused", "Agents paused in each queue", ["queue"])
        states = gauge("callcenter_queue_agents", "Agents of each queue by state", ["queue", "state"])
        now = self.tracker.clock()
        for name in sorted(self.tracker.queues):
            q = self.tracker.queue(name)
            f = self.tracker.figures(q)
            waiting.add_metric([name], len(q.waiting))
            longest.add_metric([name], round(q.longest_wait(now), 1))
            if f.service_level is not None:
                level.add_metric([name], f.service_level)
            logged_in.add_metric([name], len(q.members))
            paused.add_metric([name], sum(1 for m in q.members.values() if m.paused))
            counts = dict.fromkeys(MEMBER_STATES, 0)
            for m in q.members.values():
                counts[m.state(now)] += 1
            for state, count in counts.items():
                states.add_metric([name, state], count)
        return [waiting, longest, level, logged_in, paused, states]
