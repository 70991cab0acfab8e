"""Evaluate an agent's answers against a disposition form (pure: no I/O).

Follows the branches from the form's ``start``, requires exactly the
required questions on the path taken, refuses answers to questions off it,
and turns the answers into the result a disposition needs: outcome, reason,
bucket, follow-up / appointment time (UTC), scores and customer enrichment.
Blank answers ("" or None) count as not given, so a browser form may post
every field."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from callcenter.calls.numbers import InvalidNumber, normalise
from callcenter.org.languages import INDIAN

# The languages a language question offers unless it lists its own.
LANGUAGES = INDIAN
RANGES = {"rating": (1, 5), "nps": (0, 10)}


@dataclass
class Result:
    outcome: str | None = None
    reason: str | None = None
    bucket: str | None = None
    followup_at: dt.datetime | None = None      # UTC
    appointment_at: dt.datetime | None = None   # UTC
    scores: dict[str, int] = field(default_factory=dict)
    enrichment: dict[str, object] = field(default_factory=dict)  # Customer field -> value
    errors: dict[str, str] = field(default_factory=dict)         # question key -> problem
    answers: dict[str, object] = field(default_factory=dict)     # the path's answers, JSON-ready
    path: list[str] = field(default_factory=list)                # question keys asked, in order

    @property
    def ok(self) -> bool:
        return not self.errors


class _Bad(ValueError):
    pass


def evaluate(form: dict, answers: dict, now: dt.datetime, tz,
             expires_on: dt.date | None = None) -> Result:
    """``form`` must have passed ``validate_form``; ``now`` is aware; ``tz`` a
    tzinfo or a zone name (naive date-times are read in it); ``expires_on``
    the campaign's last day, which follow-ups and appointments may not pass."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    result = Result()
    if not isinstance(answers, dict):
        result.errors["answers"] = "must be an object of question key -> answer"
        return result
    qmap = {q["key"]: q for q in form["questions"]}
    given = {k: v for k, v in answers.items() if not _blank(v)}
    for key in given:
        if key not in qmap:
            result.errors[key] = "no such question in this form"
    pending = list(form["start"])
    setter = None  # the option that set the outcome last
    while pending:
        key = pending.pop(0)
        q = qmap[key]
        result.path.append(key)
        if key not in given:
            if q.get("required"):
                result.errors[key] = "required"
            continue
        try:
            value = _parse(q, given[key], now, zone, expires_on)
        except _Bad as exc:
            result.errors[key] = str(exc)
            continue
        if q["kind"] == "choice":
            option = next(o for o in q["options"] if o["value"] == value)
            pending[:0] = option.get("next", [])
            if option.get("outcome"):
                setter = option
        _apply(result, q, value)
    on_path = set(result.path)
    for key in given:
        if key in qmap and key not in on_path:
            result.errors[key] = "not asked on this path (its branch was not chosen)"
    if setter is not None:
        result.outcome, result.bucket = setter["outcome"], setter["bucket"]
        result.reason = setter.get("reason")
    elif not result.errors:
        result.errors["form"] = "the answers reach no outcome"
    return result


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _apply(result: Result, q: dict, value) -> None:
    key, kind = q["key"], q["kind"]
    if isinstance(value, dt.datetime):
        result.answers[key] = value.isoformat()
    elif isinstance(value, dt.date):
        result.answers[key] = value.isoformat()
    else:
        result.answers[key] = value
    if kind in RANGES:
        result.scores[key] = value
    if q.get("sets") == "followup_at":
        result.followup_at = value
    elif q.get("sets") == "appointment_at":
        result.appointment_at = value
    if q.get("enriches"):
        result.enrichment[q["enriches"]] = value


def _parse(q: dict, raw, now: dt.datetime, zone, expires_on):
    kind = q["kind"]
    if kind == "choice":
        values = [o["value"] for o in q["options"]]
        if raw not in values:
            raise _Bad(f"must be one of {', '.join(values)}")
        return raw
    if kind == "text":
        if not isinstance(raw, str):
            raise _Bad("must be text")
        text = raw.strip()
        limit = q.get("max_length", 500)
        if len(text) > limit:
            raise _Bad(f"at most {limit} characters")
        return text
    if kind in RANGES:
        return _score(raw, *RANGES[kind])
    if kind == "phone":
        try:
            return normalise(raw) if isinstance(raw, str) else normalise(str(raw))
        except InvalidNumber as exc:
            raise _Bad(str(exc)) from None
    if kind == "language":
        allowed = [o["value"] for o in q["options"]] if q.get("options") else list(LANGUAGES)
        if not isinstance(raw, str) or raw.strip().lower() not in allowed:
            raise _Bad(f"must be a language code among {', '.join(allowed)}")
        return raw.strip().lower()
    if kind == "date":
        day = _date(raw)
        if q.get("enriches") in ("birthday", "anniversary") and day > now.astimezone(zone).date():
            raise _Bad("may not be in the future")
        return day
    if kind == "datetime":
        moment = _datetime(raw, zone)
        if q.get("sets"):
            if moment <= now:
                raise _Bad("must be in the future")
            if expires_on is not None and moment.astimezone(zone).date() > expires_on:
                raise _Bad(f"may not be after the campaign's last day, {expires_on.isoformat()}")
        return moment
    raise _Bad(f"unknown kind {kind!r}")  # pragma: no cover - validate_form refuses it


def _score(raw, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raise _Bad(f"must be a whole number from {low} to {high}")
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or not low <= raw <= high:
        raise _Bad(f"must be a whole number from {low} to {high}")
    return raw


def _date(raw) -> dt.date:
    if isinstance(raw, dt.datetime):
        raise _Bad("must be a date (YYYY-MM-DD)")
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(raw.strip())
    except (AttributeError, ValueError):
        raise _Bad("must be a date (YYYY-MM-DD)") from None


def _datetime(raw, zone) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        moment = raw
    else:
        try:
            text = raw.strip()
            if len(text) < 16 or "T" not in text.upper().replace(" ", "T"):
                raise ValueError
            moment = dt.datetime.fromisoformat(text)
        except (AttributeError, ValueError):
            raise _Bad("must be a date and time (YYYY-MM-DDTHH:MM)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(dt.timezone.utc)
