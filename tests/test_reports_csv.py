"""CSV export of reports: formula injection neutralised, numbers kept as
numbers, file names made by the server."""
from __future__ import annotations

import csv
import datetime as dt
import io

from callcenter.reports import csv_export
from callcenter.reports.campaigns import CampaignReport
from callcenter.reports.service import Agent, AgentDay


def test_cells_that_a_spreadsheet_would_run_get_a_quote():
    for hostile in ("=1+1", "+91 98", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_export.safe_cell(hostile) == "'" + hostile
    assert csv_export.safe_cell("Asha") == "Asha"
    assert csv_export.safe_cell(-40.0) == -40.0   # a negative NPS stays a number
    assert csv_export.safe_cell(None) == "" and csv_export.safe_cell(True) == "yes"


def test_encoded_rows_read_back_safely():
    text = csv_export.encode([["=cmd|' /C calc'!A0", 'say "hi", then', -3]])
    assert list(csv.reader(io.StringIO(text))) == [["'=cmd|' /C calc'!A0", 'say "hi", then', "-3"]]


def test_file_names_are_server_made():
    assert csv_export.filename("agents", dt.date(2024, 11, 5)) == "agents-2024-11-05.csv"
    name = csv_export.filename("campaign", 7, '../../etc/passwd"; x=', "all")
    assert name == "campaign-7-etc-passwd-x-all.csv"


def test_daily_rows_have_every_hour_and_other_outcomes():
    row = AgentDay(agent=Agent(1, "asha", "Asha", "E1", None, None), attempts=3, connected=1,
                   talk_seconds=72.34, inbound_answered=2, inbound_talk_seconds=60.04,
                   dispositions={"closed": 1, "wrong_person": 2}, hours={9: 3})
    [cells] = csv_export.daily_rows([row], dt.date(2024, 11, 5))
    line = dict(zip(csv_export.DAILY_HEADER, cells))
    assert line["calls_09h"] == 3 and line["calls_10h"] == 0 and line["disposition_other"] == 2
    assert line["talk_seconds"] == 72.3
    assert (line["attempts"], line["inbound_answered"], line["inbound_talk_seconds"]) == (3, 2, 60.0)
    assert len(cells) == len(csv_export.DAILY_HEADER)


def test_campaign_rows_carry_negative_nps_as_number():
    report = CampaignReport(campaign_id=1, name="=evil", type="new_walkin_survey", survey=True,
                            nps={"score": -20.0, "promoters": 1, "passives": 2, "detractors": 2, "answers": 5})
    text = csv_export.encode(csv_export.campaign_rows(report))
    assert "campaign,name,Campaign,'=evil" in text and "nps,score,score,-20.0" in text
