"""What one recipient receives: a schedule's report computed in THEIR scope
(the reports' own queries, narrowed by :class:`~callcenter.org.scope.Scope`),
as CSV and/or XLSX files and a short summary for the mail's body (calls,
connected, talk time, appointments; the top and bottom lines)."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.org.scope import Scope
from callcenter.period import Day
from callcenter.reports import csv_export, nps, service
from callcenter.reports.campaigns import campaign_report
from callcenter.reports.stores import store_daily

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NPS_HEADER = ["agent_id", "agent", "answers", "promoters", "passives", "detractors", "nps", "average_rating"]
TITLES = {"agents": "Daily report per agent", "stores": "Daily report per store",
          "campaign": "Campaign report", "nps": "NPS of the post-call survey"}
RANKED = 3  # lines named at the top and at the bottom


@dataclass
class Built:
    slug: str                                   # file name's first word: agents, stores, campaign, nps
    header: list
    rows: list[list]
    lines: list[str] = field(default_factory=list)   # the summary in the body

    def files(self, formats: str, day) -> list[tuple[str, str, bytes]]:
        name = csv_export.filename(self.slug, day)[:-4]
        out = []
        if formats in ("csv", "both"):
            text = csv_export.BOM + csv_export.encode([self.header, *self.rows])
            out.append((f"{name}.csv", "text/csv", text.encode("utf-8")))
        if formats in ("xlsx", "both"):
            out.append((f"{name}.xlsx", XLSX, xlsx(self.slug, self.header, self.rows)))
        return out


def xlsx(title: str, header: list, rows: list[list]) -> bytes:
    """One sheet, written row by row (openpyxl's write-only mode); text cells
    get the same guard against formulas as the CSV."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append([csv_export.safe_cell(c) for c in header])
    for row in rows:
        sheet.append([csv_export.safe_cell(c) for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def duration(seconds: float) -> str:
    seconds = int(round(seconds or 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _ranked(named: list[tuple[str, float]], what: str) -> list[str]:
    """'Top: ...' and 'Bottom: ...' lines of (name, figure) pairs."""
    if not named:
        return []
    ordered = sorted(named, key=lambda p: (-p[1], p[0]))
    top = ordered[:RANKED]
    bottom = [p for p in reversed(ordered[-RANKED:]) if p not in top]
    lines = ["Top (" + what + "): " + ", ".join(f"{n} {v:g}" for n, v in top)]
    if bottom:
        lines.append("Bottom (" + what + "): " + ", ".join(f"{n} {v:g}" for n, v in bottom))
    return lines


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{100 * rate:.1f} %"


def _totals(calls: int, connected: int, talk: float, appointments: int) -> str:
    return (f"Calls placed: {calls} · connected: {connected} · talk time: {duration(talk)} · "
            f"appointments: {appointments}")


async def build(session: AsyncSession, scope: Scope, report: str, day: Day,
                campaign_id: int | None = None) -> Built:
    """The report in ``scope``; CampaignNotFound when the recipient may not see the campaign."""
    if report == "agents":
        rows = await service.daily(session, scope, service.Filters(), day)
        t = service.day_totals(rows)
        lines = [f"Agents: {t['agents']}", _totals(t["attempts"], t["connected"], t["talk_seconds"],
                                                    t["appointments"]),
                 *_ranked([(r.agent.display_name or r.agent.name, r.connected) for r in rows], "connected calls")]
        return Built("agents", csv_export.DAILY_HEADER, csv_export.daily_rows(rows, day.date), lines)
    if report == "stores":
        rows = await store_daily(session, scope, service.Filters(), day)
        lines = [f"Stores: {len(rows)}",
                 _totals(sum(r.attempts for r in rows), sum(r.connected for r in rows),
                         sum(r.talk_seconds for r in rows), sum(r.appointments for r in rows)),
                 *_ranked([(f"{r.code} {r.name}", r.connected) for r in rows], "connected calls")]
        return Built("stores", csv_export.STORE_HEADER, csv_export.store_rows(rows, day.date), lines)
    if report == "campaign":
        found = await campaign_report(session, scope, campaign_id, day)
        d = found.as_dict()
        lines = [f"Campaign: {found.name}", _totals(d["calls"], d["connected_calls"], d["talk_seconds"],
                                                     d["appointments"]),
                 f"Attempted: {d['attempted']} · contacted: {d['contacted']} · "
                 f"contact rate: {_percent(d['contact_rate'])}"]
        return Built(f"campaign-{found.campaign_id}", csv_export.CAMPAIGN_HEADER, csv_export.campaign_rows(found),
                     lines)
    found = await nps.nps_report(session, scope, "agent", day.start, day.end)
    total = found["total"]
    rows = [[r["key"], r["name"], r["answers"], r["promoters"], r["passives"], r["detractors"], r["nps"],
             r["average_rating"]] for r in found["rows"]]
    lines = [f"NPS: {'-' if total['nps'] is None else total['nps']} from {total['answers']} answers",
             *_ranked([(r["name"], r["nps"]) for r in found["rows"] if r["nps"] is not None], "NPS")]
    return Built("nps", NPS_HEADER, rows, lines)
