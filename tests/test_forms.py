"""Disposition forms: the default questionnaire, form validation and the pure
evaluation of an agent's answers (no database, no I/O)."""
import copy
import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from callcenter.campaigns.exceptions import FormInvalid
from callcenter.campaigns.forms import default_form, validate_form
from callcenter.dispositions.answers import evaluate

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)

IST = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2025, 3, 10, 6, 30, tzinfo=dt.timezone.utc)  # 12:00 in Kolkata


def run(answers, form=None, expires_on=None):
    return evaluate(form or default_form("birthday"), answers, NOW, IST, expires_on=expires_on)


def problems_of(form):
    with pytest.raises(FormInvalid) as caught:
        validate_form(form)
    assert caught.value.error_id == "invalid_form"
    return {(p["path"], p["problem"]) for p in caught.value.details["problems"]}


# --- the default forms -------------------------------------------------------

@pytest.mark.parametrize("type_", ["birthday", "festival", "custom", "new_walkin_survey",
                                   "existing_customer_survey"])
def test_default_forms_are_valid_json_data(type_):
    form = default_form(type_)
    assert validate_form(form) is form
    assert json.loads(json.dumps(form)) == form


def test_survey_forms_add_ratings_nps_and_enrichment():
    plain = {q["key"] for q in default_form("birthday")["questions"]}
    survey = {q["key"]: q for q in default_form("new_walkin_survey")["questions"]}
    added = set(survey) - plain
    assert sum(1 for k in added if survey[k]["kind"] == "rating" and k.startswith("sp_")) == 6
    assert survey["overall_experience"]["kind"] == "rating"
    assert survey["nps"]["kind"] == "nps"
    assert {survey[k].get("enriches") for k in added} >= {
        "name", "alternate_mobile", "birthday", "anniversary", "language"}


def test_default_form_is_a_fresh_copy():
    form = default_form("birthday")
    form["questions"][0]["label"] = "changed"
    assert default_form("birthday")["questions"][0]["label"] != "changed"


# --- each branch of the questionnaire ------------------------------------------

@pytest.mark.parametrize("reason", ["ringing_no_response", "busy", "switched_off", "invalid_number"])
def test_not_talked_goes_to_non_contact_with_the_reason(reason):
    result = run({"talked": "no", "not_talked_reason": reason})
    assert result.ok, result.errors
    assert (result.outcome, result.bucket, result.reason) == ("not_talked", "non_contact", reason)
    assert result.path == ["talked", "not_talked_reason"]


def test_call_me_later_sets_the_followup_in_utc():
    result = run({"talked": "yes", "wished": "call_later", "followup_at": "2025-03-11T15:30"})
    assert result.ok, result.errors
    assert (result.outcome, result.bucket) == ("call_later", "future_followup")
    assert result.followup_at == dt.datetime(2025, 3, 11, 10, 0, tzinfo=dt.timezone.utc)
    assert result.answers["followup_at"] == "2025-03-11T10:00:00+00:00"


def test_followup_with_an_explicit_offset_is_kept():
    result = run({"talked": "yes", "wished": "call_later", "followup_at": "2025-03-11T15:30+00:00"})
    assert result.followup_at == dt.datetime(2025, 3, 11, 15, 30, tzinfo=dt.timezone.utc)


def test_will_visit_books_an_appointment():
    result = run({"talked": "yes", "wished": "yes", "visit": "yes",
                  "appointment_at": "2025-03-15T11:00"})
    assert result.ok, result.errors
    assert (result.outcome, result.bucket) == ("appointment", "appointment")
    assert result.appointment_at == dt.datetime(2025, 3, 15, 5, 30, tzinfo=dt.timezone.utc)
    assert result.followup_at is None


def test_will_not_visit_closes():
    result = run({"talked": "yes", "wished": "yes", "visit": "no"})
    assert result.ok, result.errors
    assert (result.outcome, result.bucket) == ("closed", "closed")


# --- required, refused and malformed answers -----------------------------------

def test_required_questions_on_the_path_are_required():
    assert run({}).errors == {"talked": "required"}
    assert run({"talked": "no"}).errors == {"not_talked_reason": "required"}
    result = run({"talked": "yes", "wished": "call_later"})
    assert result.errors == {"followup_at": "required"}
    assert not result.ok


def test_blank_answers_count_as_not_given():
    result = run({"talked": "no", "not_talked_reason": "busy", "followup_at": "",
                  "visit": None, "appointment_at": "  "})
    assert result.ok, result.errors


def test_answers_off_the_path_are_refused():
    result = run({"talked": "no", "not_talked_reason": "busy", "visit": "yes"})
    assert result.errors == {"visit": "not asked on this path (its branch was not chosen)"}
    result = run({"talked": "yes", "wished": "yes", "visit": "no",
                  "followup_at": "2025-03-12T10:00"})
    assert "followup_at" in result.errors


def test_unknown_questions_are_refused():
    result = run({"talked": "no", "not_talked_reason": "busy", "shoe_size": "9"})
    assert result.errors == {"shoe_size": "no such question in this form"}


def test_a_choice_outside_the_options_is_refused():
    result = run({"talked": "maybe"})
    assert "talked" in result.errors and "yes" in result.errors["talked"]


def test_a_past_followup_is_refused():
    result = run({"talked": "yes", "wished": "call_later", "followup_at": "2025-03-10T11:59"})
    assert result.errors == {"followup_at": "must be in the future"}
    assert result.followup_at is None


def test_a_followup_or_appointment_after_the_campaign_expiry_is_refused():
    last_day = dt.date(2025, 3, 20)
    ok = run({"talked": "yes", "wished": "call_later", "followup_at": "2025-03-20T23:30"},
             expires_on=last_day)
    assert ok.ok, ok.errors  # 23:30 in Kolkata is still the last day (18:00 UTC)
    late = run({"talked": "yes", "wished": "yes", "visit": "yes",
                "appointment_at": "2025-03-21T00:15"}, expires_on=last_day)
    assert "2025-03-20" in late.errors["appointment_at"]


@pytest.mark.parametrize("value", ["tomorrow", "2025-03-11", "11/03/2025 10:00", 5, "2025-13-01T10:00"])
def test_malformed_datetimes_are_refused(value):
    result = run({"talked": "yes", "wished": "call_later", "followup_at": value})
    assert "followup_at" in result.errors


# --- survey scores and enrichment ---------------------------------------------

def survey_answers(**over):
    answers = {"talked": "yes", "wished": "yes", "visit": "no", "sp_greeting": "5",
               "sp_understanding": 4, "sp_product_knowledge": "3", "sp_explanation": 2,
               "sp_courtesy": 1, "sp_billing": "5", "overall_experience": "4", "nps": "0"}
    answers.update(over)
    return answers


def test_survey_scores_are_collected_as_integers():
    result = run(survey_answers(), form=default_form("existing_customer_survey"))
    assert result.ok, result.errors
    assert result.scores == {"sp_greeting": 5, "sp_understanding": 4, "sp_product_knowledge": 3,
                             "sp_explanation": 2, "sp_courtesy": 1, "sp_billing": 5,
                             "overall_experience": 4, "nps": 0}
    assert result.bucket == "closed"


@pytest.mark.parametrize("key,value", [("sp_greeting", "0"), ("sp_greeting", 6), ("sp_greeting", "4.5"),
                                       ("sp_greeting", True), ("nps", 11), ("nps", "-1"),
                                       ("overall_experience", "good")])
def test_scores_out_of_range_are_refused(key, value):
    result = run(survey_answers(**{key: value}), form=default_form("new_walkin_survey"))
    assert set(result.errors) == {key}


def test_survey_questions_are_required_only_on_their_branch():
    form = default_form("new_walkin_survey")
    assert run({"talked": "no", "not_talked_reason": "busy"}, form=form).ok
    missing = run({"talked": "yes", "wished": "yes", "visit": "no"}, form=form)
    assert set(missing.errors) == {"sp_greeting", "sp_understanding", "sp_product_knowledge",
                                   "sp_explanation", "sp_courtesy", "sp_billing",
                                   "overall_experience", "nps"}


def test_enrichment_fields_are_normalised():
    result = run(survey_answers(corrected_name="  Asha Rao ", alternate_number="098765 43210",
                                birthday="1990-04-02", anniversary="2015-11-20",
                                preferred_language="TA"),
                 form=default_form("new_walkin_survey"))
    assert result.ok, result.errors
    assert result.enrichment == {"name": "Asha Rao", "alternate_mobile": "+919876543210",
                                 "birthday": dt.date(1990, 4, 2),
                                 "anniversary": dt.date(2015, 11, 20), "language": "ta"}
    assert result.answers["birthday"] == "1990-04-02"


@pytest.mark.parametrize("key,value", [("alternate_number", "12345"), ("alternate_number", "98765;43210"),
                                       ("birthday", "2030-01-01"), ("birthday", "02/04/1990"),
                                       ("preferred_language", "klingon"),
                                       ("corrected_name", "x" * 121)])
def test_bad_enrichment_is_refused(key, value):
    result = run(survey_answers(**{key: value}), form=default_form("new_walkin_survey"))
    assert set(result.errors) == {key}


def test_answers_must_be_an_object():
    assert run(["talked", "yes"]).errors == {"answers": "must be an object of question key -> answer"}


# --- validate_form lists every problem by path -----------------------------------

def test_validate_form_lists_every_problem():
    form = {"start": ["talked", "ghost"], "questions": [
        {"key": "talked", "label": "Talked?", "kind": "choice", "required": "yes", "options": [
            {"value": "no", "label": "No", "next": ["nowhere"], "outcome": "not_talked"},
            {"value": "no", "label": "", "bucket": "fresh", "outcome": "x"}]},
        {"key": "Bad Key", "label": "x", "kind": "slider"},
        {"key": "when", "label": "When", "kind": "text", "sets": "followup_at"},
        {"key": "name", "label": "Name", "kind": "date", "enriches": "name"},
        {"key": "r", "label": "R", "kind": "rating", "options": [{"value": "a", "label": "A"}]},
    ]}
    found = problems_of(form)
    paths = {path for path, _ in found}
    assert {"questions[0].required", "questions[0].options[0]", "questions[0].options[0].next[0]",
            "questions[0].options[1].value", "questions[0].options[1].label",
            "questions[0].options[1].bucket", "questions[1].key", "questions[1].kind",
            "questions[2].sets", "questions[3].enriches", "questions[4].options",
            "start[1]"} <= paths


@pytest.mark.parametrize("form", [None, [], "form", {}, {"questions": []}])
def test_validate_form_refuses_non_forms(form):
    assert problems_of(form)


def test_a_path_without_an_outcome_is_refused():
    form = default_form("birthday")
    visit = next(q for q in form["questions"] if q["key"] == "visit")
    del visit["options"][1]["outcome"], visit["options"][1]["bucket"]
    found = problems_of(form)
    assert any("visit=no" in path and "without an outcome" in problem for path, problem in found)


def test_a_followup_bucket_needs_a_required_followup_time():
    form = default_form("birthday")
    next(q for q in form["questions"] if q["key"] == "followup_at")["required"] = False
    found = problems_of(form)
    assert any("wished=call_later" in path and "followup_at" in problem for path, problem in found)


def test_loops_and_unreachable_questions_are_refused():
    form = default_form("birthday")
    visit = next(q for q in form["questions"] if q["key"] == "visit")
    visit["options"][1]["next"] = ["talked"]
    form["questions"].append({"key": "orphan", "label": "Orphan", "kind": "text"})
    found = problems_of(form)
    assert any("asks 'talked' twice" in problem for _, problem in found)
    assert ("question orphan", "is never asked (not in start nor in any option's next)") in found


def test_an_admin_edited_form_is_evaluated_as_written():
    form = copy.deepcopy(default_form("birthday"))
    talked = form["questions"][0]
    talked["options"].append({"value": "wrong_person", "label": "Wrong person",
                              "outcome": "wrong_person", "bucket": "closed",
                              "reason": "wrong_person"})
    form["questions"].append({"key": "callback_note", "label": "Who answered?", "kind": "text",
                              "required": True, "max_length": 20})
    talked["options"][-1]["next"] = ["callback_note"]
    validate_form(form)
    result = evaluate(form, {"talked": "wrong_person", "callback_note": "his brother"}, NOW, IST)
    assert (result.outcome, result.bucket, result.reason) == ("wrong_person", "closed", "wrong_person")
    assert evaluate(form, {"talked": "wrong_person", "callback_note": "x" * 21}, NOW, IST).errors == {
        "callback_note": "at most 20 characters"}
