"""Disposition forms as data, part of a campaign: the default one, and the
check of one an admin wrote, without any I/O (the answers to one are
evaluated by callcenter/dispositions/answers.py).

A form (``Campaign.form``) is JSON an admin can edit per campaign::

    {"version": 1, "start": ["talked"], "remarks": {"label": "Remarks"},
     "questions": [
       {"key": "talked", "label": "Did you talk to the customer?", "kind": "choice",
        "required": true, "options": [
          {"value": "no", "label": "No", "next": ["not_talked_reason"]},
          {"value": "yes", "label": "Yes", "next": ["wished"]}]},
       {"key": "not_talked_reason", "kind": "choice", "options": [
          {"value": "busy", "label": "Busy", "outcome": "not_talked",
           "bucket": "non_contact", "reason": "busy"}, ...]},
       {"key": "followup_at", "kind": "datetime", "required": true, "sets": "followup_at"},
       {"key": "sp_greeting", "kind": "rating"},                 # 1-5, stored as a score
       {"key": "alternate_number", "kind": "phone", "enriches": "alternate_mobile"}, ...]}

Questions are asked from ``start``; choosing an option asks its ``next``
questions right away (before the rest), and may set the outcome, the bucket
the work item moves to and a reason (the last one on the path wins). Kinds:
choice, text, date, datetime, rating (1-5), nps (0-10), phone, language.
A datetime question may set the item's ``followup_at`` or ``appointment_at``;
a question may enrich a customer field (name, alternate_mobile, birthday,
anniversary, language)."""
from __future__ import annotations

import re

from callcenter.campaigns import form_default
from callcenter.campaigns.exceptions import FormInvalid
from callcenter.campaigns.models import SURVEY_TYPES
from callcenter.org.languages import INDIAN as LANGUAGES  # what a language question offers by default

KINDS = ("choice", "text", "date", "datetime", "rating", "nps", "phone", "language")
# Buckets a disposition may move an item to ("fresh" is never a result;
# "pending_followup" is reached only by the sweeper).
RESULT_BUCKETS = ("non_contact", "future_followup", "appointment", "closed")
SETS = ("followup_at", "appointment_at")
ENRICHES = {"name": ("text",), "alternate_mobile": ("phone",), "birthday": ("date",),
            "anniversary": ("date",), "language": ("language", "choice")}
MAX_QUESTIONS = 60
MAX_PATHS = 2000
_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def default_form(campaign_type: str) -> dict:
    """The brief's questionnaire; survey campaigns add ratings, NPS and enrichment."""
    return form_default.build(campaign_type in SURVEY_TYPES)


def validate_form(form) -> dict:
    """Return ``form`` if it is a well-made form, else raise FormInvalid listing
    every problem with its path (``questions[3].options[1].bucket``)."""
    problems: list[dict] = []

    def bad(path: str, problem: str) -> None:
        problems.append({"path": path, "problem": problem})

    if not isinstance(form, dict):
        raise FormInvalid("the form must be a JSON object", problems=[{"path": "", "problem": "not an object"}])
    questions = form.get("questions")
    if not isinstance(questions, list) or not questions:
        bad("questions", "must be a non-empty list")
        questions = []
    elif len(questions) > MAX_QUESTIONS:
        bad("questions", f"at most {MAX_QUESTIONS} questions")
    qmap: dict[str, dict] = {}
    for i, q in enumerate(questions):
        _check_question(q, f"questions[{i}]", qmap, bad)
    for i, q in enumerate(questions):
        for j, option in enumerate(q.get("options") or [] if isinstance(q, dict) else []):
            if isinstance(option, dict):
                for k, key in enumerate(option.get("next") or []):
                    if key not in qmap:
                        bad(f"questions[{i}].options[{j}].next[{k}]", f"no question {key!r}")
    start = form.get("start")
    if not isinstance(start, list) or not start:
        bad("start", "must be a non-empty list of question keys")
        start = []
    for k, key in enumerate(start):
        if key not in qmap:
            bad(f"start[{k}]", f"no question {key!r}")
    remarks = form.get("remarks", {})
    if not isinstance(remarks, dict) or not isinstance(remarks.get("label", "Remarks"), str):
        bad("remarks", "must be an object with a label")
    if not problems:
        _check_paths(qmap, start, bad)
    if problems:
        raise FormInvalid(f"the form has {len(problems)} problem(s)", problems=problems)
    return form


def _check_question(q, path: str, qmap: dict, bad) -> None:
    if not isinstance(q, dict):
        bad(path, "must be an object")
        return
    key = q.get("key")
    if not isinstance(key, str) or not _SLUG.fullmatch(key):
        bad(f"{path}.key", "must be lower-case letters, digits and _ (at most 40)")
    elif key in qmap or key in ("remarks", "answers"):
        bad(f"{path}.key", f"duplicate or reserved key {key!r}")
    else:
        qmap[key] = q
    label = q.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        bad(f"{path}.label", "must be a non-empty text of at most 200 characters")
    kind = q.get("kind")
    if kind not in KINDS:
        bad(f"{path}.kind", f"must be one of {', '.join(KINDS)}")
    if not isinstance(q.get("required", False), bool):
        bad(f"{path}.required", "must be true or false")
    max_length = q.get("max_length", 500)
    if kind == "text" and (not isinstance(max_length, int) or not 1 <= max_length <= 500):
        bad(f"{path}.max_length", "must be a whole number from 1 to 500")
    sets = q.get("sets")
    if sets is not None and (sets not in SETS or kind != "datetime"):
        bad(f"{path}.sets", f"only a datetime question may set one of {', '.join(SETS)}")
    enriches = q.get("enriches")
    if enriches is not None and (enriches not in ENRICHES or kind not in ENRICHES[enriches]):
        allowed = ", ".join(f"{f} ({'/'.join(k)})" for f, k in ENRICHES.items())
        bad(f"{path}.enriches", f"must be one of {allowed}")
    options = q.get("options")
    if kind == "choice":
        if not isinstance(options, list) or not options:
            bad(f"{path}.options", "a choice question needs a non-empty list of options")
            return
        seen = set()
        for j, option in enumerate(options):
            _check_option(option, f"{path}.options[{j}]", seen, bad)
    elif kind == "language" and options is not None:
        if not isinstance(options, list) or not options or not all(
                isinstance(o, dict) and o.get("value") in LANGUAGES for o in options):
            bad(f"{path}.options", f"language options must be values among {', '.join(LANGUAGES)}")
    elif options is not None:
        bad(f"{path}.options", f"a {kind} question has no options")


def _check_option(option, path: str, seen: set, bad) -> None:
    if not isinstance(option, dict):
        bad(path, "must be an object")
        return
    value = option.get("value")
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        bad(f"{path}.value", "must be lower-case letters, digits and _ (at most 40)")
    elif value in seen:
        bad(f"{path}.value", f"duplicate value {value!r}")
    else:
        seen.add(value)
    label = option.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        bad(f"{path}.label", "must be a non-empty text of at most 200 characters")
    nxt = option.get("next", [])
    if not isinstance(nxt, list) or not all(isinstance(k, str) for k in nxt):
        bad(f"{path}.next", "must be a list of question keys")
    outcome, bucket, reason = option.get("outcome"), option.get("bucket"), option.get("reason")
    if (outcome is None) != (bucket is None):
        bad(path, "an option sets an outcome and a bucket together")
    if outcome is not None and (not isinstance(outcome, str) or not _SLUG.fullmatch(outcome)):
        bad(f"{path}.outcome", "must be lower-case letters, digits and _ (at most 40)")
    if bucket is not None and bucket not in RESULT_BUCKETS:
        bad(f"{path}.bucket", f"must be one of {', '.join(RESULT_BUCKETS)}")
    if reason is not None and (not isinstance(reason, str) or not _SLUG.fullmatch(reason)):
        bad(f"{path}.reason", "must be lower-case letters, digits and _ (at most 40)")


def _check_paths(qmap: dict, start: list, bad) -> None:
    """Walk every way through the form: each must end with an outcome, ask no
    question twice, and ask for the date its bucket needs; every question
    must be reachable."""
    reached: set[str] = set()
    count = 0
    # (pending keys, visited keys, trail of choices, bucket, required 'sets' on the path)
    stack = [(tuple(start), (), (), None, frozenset())]
    while stack:
        pending, visited, trail, bucket, sets = stack.pop()
        if not pending:
            count += 1
            if count > MAX_PATHS:
                bad("questions", f"more than {MAX_PATHS} ways through the form")
                return
            where = "path " + (" > ".join(trail) or "(no choice)")
            if bucket is None:
                bad(where, "ends without an outcome (no option on it sets outcome and bucket)")
            elif bucket in ("future_followup", "appointment") and f"{bucket}_at" not in _sets_name(sets):
                need = "followup_at" if bucket == "future_followup" else "appointment_at"
                bad(where, f"moves to {bucket} but asks no required datetime question that sets {need}")
            continue
        key, rest = pending[0], pending[1:]
        if key in visited:
            bad("path " + " > ".join(trail), f"asks {key!r} twice (a loop or a shared follow-up)")
            continue
        reached.add(key)
        q = qmap[key]
        if q.get("sets") and q.get("required"):
            sets = sets | {q["sets"]}
        if q.get("kind") != "choice":
            stack.append((rest, visited + (key,), trail, bucket, sets))
            continue
        if not q.get("required"):
            stack.append((rest, visited + (key,), trail + (f"{key}=(blank)",), bucket, sets))
        for option in q["options"]:
            stack.append((tuple(option.get("next", [])) + rest, visited + (key,),
                          trail + (f"{key}={option['value']}",),
                          option.get("bucket", bucket), sets))
    for key in qmap:
        if key not in reached:
            bad(f"question {key}", "is never asked (not in start nor in any option's next)")


def _sets_name(sets: frozenset) -> set:
    # "followup_at" serves future_followup; "appointment_at" serves appointment.
    return {"future_followup_at" if s == "followup_at" else s for s in sets}
