"""The default disposition form: the questionnaire of the brief, as data.

Did you talk to the customer? No -> why (ringing no response / busy / switched
off / invalid number) -> non-contact. Yes -> did you wish them? Call me later
-> follow-up date and time -> future follow-up; yes -> will they visit the
store? yes -> appointment date and time -> appointment booked; no -> closed.
Survey campaigns ask six salesperson ratings, the overall experience, NPS and
enrichment fields after a successful wish, before the visit question."""
from __future__ import annotations

import copy

NOT_TALKED_REASONS = (
    ("ringing_no_response", "Ringing, no response"),
    ("busy", "Busy on another call"),
    ("switched_off", "Switched off / not reachable"),
    ("invalid_number", "Invalid number"),
)

SALESPERSON_RATINGS = (
    ("sp_greeting", "How warmly did the salesperson greet you?"),
    ("sp_understanding", "How well did the salesperson understand what you wanted?"),
    ("sp_product_knowledge", "How would you rate the salesperson's product knowledge?"),
    ("sp_explanation", "How clearly were price, purity and offers explained?"),
    ("sp_courtesy", "How courteous and patient was the salesperson?"),
    ("sp_billing", "How smooth were billing and after-sales help?"),
)

_BASE = {
    "version": 1,
    "start": ["talked"],
    "remarks": {"label": "Remarks", "max_length": 1000},
    "questions": [
        {"key": "talked", "label": "Did you talk to the customer?", "kind": "choice", "required": True,
         "options": [
             {"value": "yes", "label": "Yes", "next": ["wished"]},
             {"value": "no", "label": "No", "next": ["not_talked_reason"]},
         ]},
        {"key": "not_talked_reason", "label": "Why not?", "kind": "choice", "required": True,
         "options": [{"value": value, "label": label, "outcome": "not_talked",
                      "bucket": "non_contact", "reason": value}
                     for value, label in NOT_TALKED_REASONS]},
        {"key": "wished", "label": "Did you wish the customer?", "kind": "choice", "required": True,
         "options": [
             {"value": "yes", "label": "Yes", "next": ["visit"]},
             {"value": "call_later", "label": "Call me later", "next": ["followup_at"],
              "outcome": "call_later", "bucket": "future_followup", "reason": "call_later"},
         ]},
        {"key": "followup_at", "label": "Follow-up date and time", "kind": "datetime",
         "required": True, "sets": "followup_at"},
        {"key": "visit", "label": "Will the customer visit the store?", "kind": "choice",
         "required": True,
         "options": [
             {"value": "yes", "label": "Yes", "next": ["appointment_at"],
              "outcome": "appointment", "bucket": "appointment"},
             {"value": "no", "label": "No", "outcome": "closed", "bucket": "closed"},
         ]},
        {"key": "appointment_at", "label": "Appointment date and time", "kind": "datetime",
         "required": True, "sets": "appointment_at"},
    ],
}

_SURVEY = [
    *({"key": key, "label": label, "kind": "rating", "required": True}
      for key, label in SALESPERSON_RATINGS),
    {"key": "overall_experience", "label": "Overall, how was your experience at the store?",
     "kind": "rating", "required": True},
    {"key": "nps", "label": "How likely are you to recommend us to a friend (0-10)?",
     "kind": "nps", "required": True},
    {"key": "corrected_name", "label": "Corrected name", "kind": "text", "required": False,
     "enriches": "name", "max_length": 120},
    {"key": "alternate_number", "label": "Alternate number", "kind": "phone", "required": False,
     "enriches": "alternate_mobile"},
    {"key": "birthday", "label": "Birthday", "kind": "date", "required": False,
     "enriches": "birthday"},
    {"key": "anniversary", "label": "Anniversary", "kind": "date", "required": False,
     "enriches": "anniversary"},
    {"key": "preferred_language", "label": "Preferred language", "kind": "language",
     "required": False, "enriches": "language"},
]


def build(survey: bool) -> dict:
    form = copy.deepcopy(_BASE)
    if survey:
        survey_questions = copy.deepcopy(_SURVEY)
        wished = next(q for q in form["questions"] if q["key"] == "wished")
        yes = next(o for o in wished["options"] if o["value"] == "yes")
        yes["next"] = [q["key"] for q in survey_questions] + yes["next"]
        at = next(i for i, q in enumerate(form["questions"]) if q["key"] == "visit")
        form["questions"][at:at] = survey_questions  # shown in the order they are asked
    return form
