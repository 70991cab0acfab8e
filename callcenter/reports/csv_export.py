"""Reports as CSV: rows streamed chunk by chunk, safe to open in a spreadsheet.

Columns: ``attempts``/``connected`` are outbound calls placed (and answered by
the customer), ``inbound_answered`` the inbound calls the agent answered,
``talk_seconds`` both directions' talk and ``inbound_talk_seconds`` the
inbound part; ``calls_NNh`` the calls placed in that local hour.

A text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage
return) is prefixed with a single quote, so a spreadsheet shows it as text
instead of running it as a formula (CSV injection). Numbers are written as
numbers, negative ones included. The file starts with a UTF-8 byte order mark
so spreadsheet programs read names in any script correctly. File names are
made by the server, never taken from the request."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable

from aiohttp import web

from callcenter.work.models import BUCKETS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
OUTCOMES = ("not_talked", "call_later", "appointment", "closed")
HOURS = tuple(range(24))
BOM = "\ufeff"


def safe_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def encode(rows: Iterable[Iterable]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def filename(*parts) -> str:
    """``agents-2024-11-05.csv`` from ("agents", date): only [a-z0-9-] survive."""
    words = [re.sub(r"[^a-z0-9]+", "-", str(p).lower()).strip("-") for p in parts if p not in (None, "")]
    return "-".join(w for w in words if w)[:100] + ".csv"


async def stream(request: web.Request, name: str, header: list,
                 chunks: AsyncIterator[list]) -> web.StreamResponse:
    """Send ``header`` and then each chunk of rows as soon as it is ready."""
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })
    await response.prepare(request)
    await response.write((BOM + encode([header])).encode("utf-8"))
    async for rows in chunks:
        if rows:
            await response.write(encode(rows).encode("utf-8"))
    await response.write_eof()
    return response


def _agent_cells(agent) -> list:
    return [agent.id, agent.name, agent.display_name, agent.employee_id]


AGENT_HEADER = ["agent_id", "login", "name", "employee_id"]
OVERVIEW_HEADER = [*AGENT_HEADER, *BUCKETS, "open", "closed", "allocated", "progress_percent",
                   "closed_today", "calls_today", "connected_today"]
DAILY_HEADER = [*AGENT_HEADER, "date", "attempts", "connected", "talk_seconds", "inbound_answered",
                "inbound_talk_seconds", "appointments",
                *(f"disposition_{o}" for o in OUTCOMES), "disposition_other",
                *(f"calls_{h:02d}h" for h in HOURS)]
STORE_HEADER = ["store_code", "store", "city", "date", "executives", "attempts", "connected",
                "talk_seconds", "inbound_answered", "inbound_talk_seconds", "dispositions", "appointments"]
CAMPAIGN_HEADER = ["section", "key", "label", "value"]


def overview_rows(rows) -> list[list]:
    return [[*_agent_cells(r.agent), *(r.buckets[b] for b in BUCKETS), r.open_items, r.closed,
             r.allocated, None if r.progress is None else round(100 * r.progress, 1),
             r.closed_today, r.calls_today, r.connected_today] for r in rows]


def daily_rows(rows, date) -> list[list]:
    out = []
    for r in rows:
        other = sum(n for o, n in r.dispositions.items() if o not in OUTCOMES)
        out.append([*_agent_cells(r.agent), date.isoformat(), r.attempts, r.connected,
                    round(r.talk_seconds, 1), r.inbound_answered, round(r.inbound_talk_seconds, 1),
                    r.appointments,
                    *(r.dispositions.get(o, 0) for o in OUTCOMES), other,
                    *(r.hours.get(h, 0) for h in HOURS)])
    return out


def store_rows(rows, date) -> list[list]:
    return [[r.code, r.name, r.city, date.isoformat(), r.executives, r.attempts, r.connected,
             round(r.talk_seconds, 1), r.inbound_answered, round(r.inbound_talk_seconds, 1), r.dispositions,
             r.appointments] for r in rows]


def campaign_rows(report) -> list[list]:
    """The campaign report as (section, key, label, value) lines."""
    d = report.as_dict()
    rows = [["campaign", "name", "Campaign", report.name], ["campaign", "type", "Type", report.type],
            ["campaign", "date", "Day", d["date"] or "all"]]
    for key in ("items", "allocated", "attempted", "contacted", "contact_rate", "appointments",
                "appointment_rate", "calls", "connected_calls", "talk_seconds", "inbound_answered",
                "inbound_talk_seconds"):
        rows.append(["figures", key, key.replace("_", " ").capitalize(), d[key]])
    rows += [["buckets", b, b.replace("_", " "), n] for b, n in d["buckets"].items()]
    rows += [["dispositions", o, o.replace("_", " "), n] for o, n in sorted(d["dispositions"].items())]
    rows += [["ratings", r["question"], r["label"], r["average"]] for r in d["ratings"]]
    if d["nps"] is not None:
        rows += [["nps", k, k, v] for k, v in d["nps"].items()]
    return rows
