"""The pure IVR state machine: every node kind, every way out, retries,
hostile input, and the shipped main flow walked end to end."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ivr.engine import (CheckTime, Clock, Digits, Enqueue, HangUp, LookUpCaller, Lookup, Play, QueueOutcome, Read,
                        RequestCallback, SetLanguage, StoreAnswer, Walk)
from ivr.flow_files import load_flows
from ivr.flows import parse_flow

SHIPPED = Path(__file__).resolve().parent.parent / "ivr" / "flows"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
OPEN = Clock(dt.datetime(2026, 11, 23, 12, 0, tzinfo=IST))
CLOSED = Clock(dt.datetime(2026, 11, 23, 22, 0, tzinfo=IST))

MENU = parse_flow("m", {
    "start": "menu",
    "nodes": {
        "menu": {"kind": "menu", "prompt": "choose", "options": {"1": "one", "2": "two"}, "timeout": 3,
                 "retries": 2, "invalid_prompt": "bad", "no_input_prompt": "nothing", "on_failure": "fail"},
        "one": {"kind": "hangup", "prompt": "bye"},
        "two": {"kind": "hangup"},
        "fail": {"kind": "hangup", "prompt": "sorry"},
    },
})


def test_a_menu_choice():
    walk = Walk(MENU)
    assert walk.start() == [Read("choose", "en", 3.0, 1)]
    assert walk.feed(Digits("2")) == [HangUp()]
    assert walk.done and walk.path == [("menu", "2"), ("two", "hangup")]
    assert walk.drain_events() == [("visit", "menu"), ("exit", "menu", "2"), ("visit", "two"),
                                   ("exit", "two", "hangup")]
    assert walk.drain_events() == []


def test_invalid_and_missing_input_follow_the_retry_path():
    walk = Walk(MENU)
    walk.start()
    assert walk.feed(Digits("9")) == [Play("bad", "en"), Read("choose", "en", 3.0, 1)]
    assert walk.feed(Digits("")) == [Play("nothing", "en"), Read("choose", "en", 3.0, 1)]
    assert walk.feed(Digits("1")) == [Play("bye", "en"), HangUp()]
    assert walk.path == [("menu", "invalid"), ("menu", "no_input"), ("menu", "1"), ("one", "hangup")]


def test_retries_exhausted_go_to_on_failure_or_hang_up():
    walk = Walk(MENU)
    walk.start()
    walk.feed(Digits(""))
    walk.feed(Digits("7"))
    assert walk.feed(Digits("")) == [Play("sorry", "en"), HangUp()]
    assert [way for _, way in walk.path] == ["no_input", "invalid", "no_input", "retries_exhausted", "hangup"]
    flow = parse_flow("f", {"start": "m", "nodes": {
        "m": {"kind": "menu", "prompt": "p", "options": {"1": "x"}, "retries": 0},
        "x": {"kind": "hangup"}}})
    walk = Walk(flow)
    walk.start()
    assert walk.feed(Digits("")) == [HangUp()] and walk.done


@pytest.mark.parametrize("hostile", ["1\n", "A", "1;EXEC", "\x00", "１", "*9"])
def test_anything_but_a_listed_digit_is_invalid_input(hostile):
    walk = Walk(MENU)
    walk.start()
    assert walk.feed(Digits(hostile))[0] == Play("bad", "en")
    assert walk.path == [("menu", "invalid")]


def test_multi_digit_menu_reads_that_many_and_a_closing_hash_is_dropped():
    flow = parse_flow("f", {"start": "m", "nodes": {
        "m": {"kind": "menu", "prompt": "p", "options": {"10": "x", "20": "x"}},
        "x": {"kind": "hangup"}}})
    walk = Walk(flow)
    assert walk.start() == [Read("p", "en", 5.0, 2)]
    assert walk.feed(Digits("10")) == [HangUp()]
    walk = Walk(flow)
    walk.start()
    walk.feed(Digits("1#"))
    assert walk.path == [("m", "invalid")]


def test_language_lookup_hours_queue_and_callback():
    walk = Walk(load_flows(SHIPPED)["main"], languages={"en", "hi", "ta", "kn", "ml", "te"})
    assert walk.start() == [Play("welcome", "en"), Read("choose-language", "en", 5.0, 1)]
    assert walk.feed(Digits("3")) == [SetLanguage("ta"), LookUpCaller()]
    assert walk.language == "ta"
    assert walk.feed(Lookup(known=False)) == [CheckTime()]
    assert walk.feed(OPEN) == [Play("please-hold", "ta"), Enqueue("support-ta", 180, "ta", language_chosen=True)]
    assert walk.feed(QueueOutcome("timeout")) == [Read("callback-offer", "ta", 6.0, 1)]
    assert walk.feed(Digits("1")) == [RequestCallback("offer_callback", "ta", language_chosen=True),
                                      Play("callback-thanks", "ta"), HangUp()]
    assert walk.path == [("welcome", "next"), ("language", "3"), ("tamil", "next"), ("lookup", "unknown"),
                         ("hours", "open"), ("queue", "timeout"), ("offer_callback", "accepted"),
                         ("callback_booked", "hangup")]


LOOKUP_FIRST = parse_flow("l", {"start": "lookup", "nodes": {
    "lookup": {"kind": "customer_lookup", "known": "hi_there", "unknown": "menu"},
    "hi_there": {"kind": "prompt", "prompt": "welcome-back", "next": "bye"},
    "menu": {"kind": "menu", "prompt": "choose", "options": {"2": "hindi"}},
    "hindi": {"kind": "set_language", "language": "hi", "next": "lookup_again"},
    "lookup_again": {"kind": "customer_lookup", "known": "bye", "unknown": "bye"},
    "bye": {"kind": "hangup"}}})


def test_a_known_customer_gets_their_stored_language_unless_the_caller_chose_one():
    walk = Walk(LOOKUP_FIRST, languages={"en", "hi", "ta"})
    walk.start()
    assert walk.feed(Lookup(known=True, language="ta")) == [SetLanguage("ta"), Play("welcome-back", "ta"), HangUp()]
    walk = Walk(LOOKUP_FIRST, languages={"en", "hi", "ta"})
    walk.start()
    walk.feed(Lookup(known=False))
    assert walk.feed(Digits("2")) == [SetLanguage("hi"), LookUpCaller()]
    assert walk.feed(Lookup(known=True, language="ta")) == [HangUp()] and walk.language == "hi"


def test_only_a_language_the_caller_pressed_counts_as_their_choice():
    """Routing lets the caller's choice outrank their last agent; a language the
    flow fell back to (no key pressed) or the customer's stored one is no choice."""
    main = load_flows(SHIPPED)["main"]
    walk = Walk(main, languages={"en", "hi", "ta"})
    walk.start()
    walk.feed(Digits(""))
    walk.feed(Digits(""))
    assert walk.feed(Digits("")) == [LookUpCaller()]  # on_failure: no language set, none chosen
    # a known customer who pressed nothing is served in their stored language (not a choice)
    assert walk.feed(Lookup(known=True, language="ta")) == [SetLanguage("ta"), Play("welcome-back", "ta"), CheckTime()]
    assert walk.feed(OPEN) == [Play("please-hold", "ta"), Enqueue("support-ta", 180, "ta", language_chosen=False)]
    assert not walk.language_chosen
    unknown = Walk(main, languages={"en", "hi", "ta"})   # an unknown caller who presses nothing: English
    unknown.start()
    for _ in range(3):
        unknown.feed(Digits(""))
    unknown.feed(Lookup(known=False))
    assert unknown.feed(OPEN) == [Play("please-hold", "en"), Enqueue("support-en", 180, "en", language_chosen=False)]

    stored = Walk(LOOKUP_FIRST, languages={"en", "hi", "ta"})
    stored.start()
    stored.feed(Lookup(known=True, language="ta"))
    assert stored.language == "ta" and not stored.language_chosen

    pressed = Walk(LOOKUP_FIRST, languages={"en", "hi", "ta"})
    pressed.start()
    pressed.feed(Lookup(known=False))
    pressed.feed(Digits("2"))
    assert pressed.language == "hi" and pressed.language_chosen

    behind_a_prompt = parse_flow("p", {"start": "menu", "nodes": {  # an option that is not the language node itself
        "menu": {"kind": "menu", "prompt": "choose", "options": {"1": "sales"}},
        "sales": {"kind": "prompt", "prompt": "welcome", "next": "hindi"},
        "hindi": {"kind": "set_language", "language": "hi", "next": "queue"},
        "queue": {"kind": "queue", "queue": "sales-{language}", "on_timeout": "bye"},
        "bye": {"kind": "hangup"}}})
    walk = Walk(behind_a_prompt)
    walk.start()
    assert walk.feed(Digits("1"))[-1] == Enqueue("sales-hi", 300, "hi", language_chosen=False)


def test_a_declined_offer_waits_again_and_an_answered_call_goes_to_the_survey():
    walk = Walk(load_flows(SHIPPED)["main"], languages={"en", "hi"})
    walk.start()
    walk.feed(Digits("2"))
    assert walk.feed(Lookup(known=True, language="ta")) == [Play("welcome-back", "hi"), CheckTime()]
    walk.feed(OPEN)
    assert walk.feed(QueueOutcome("timeout")) == [Read("callback-offer", "hi", 6.0, 1)]
    assert walk.feed(Digits("")) == [Play("please-hold", "hi"), Enqueue("support-hi", 180, "hi", True)]
    # the agent hung up: the post-call survey (NPS, then the agent's rating), then goodbye
    assert walk.feed(QueueOutcome("answered")) == [Play("survey-intro", "hi"), Read("nps-question", "hi", 6.0, 2)]
    assert walk.feed(Digits("9#")) == [StoreAnswer("nps", "nps", 9), Read("rating-question", "hi", 6.0, 1)]
    assert walk.feed(Digits("4")) == [StoreAnswer("agent_rating", "rating", 4), Play("survey-thanks", "hi"),
                                      HangUp()]


def test_a_customer_language_we_have_no_prompts_for_is_ignored():
    walk = Walk(LOOKUP_FIRST, languages={"en", "hi"})
    walk.start()
    assert walk.feed(Lookup(known=True, language="fr")) == [Play("welcome-back", "en"), HangUp()]


def test_closed_hours_and_no_agents():
    walk = Walk(load_flows(SHIPPED)["main"])
    walk.start()
    walk.feed(Digits("2"))
    walk.feed(Lookup(False))
    assert walk.feed(CLOSED) == [Play("closed", "hi"), Read("callback-offer", "hi", 6.0, 1)]
    assert walk.feed(Digits("5")) == [Play("goodbye", "hi"), HangUp()]
    walk = Walk(load_flows(SHIPPED)["main"])
    walk.start()
    walk.feed(Digits("1"))
    walk.feed(Lookup(False))
    walk.feed(OPEN)
    assert walk.feed(QueueOutcome("joinempty")) == [Read("callback-offer", "en", 6.0, 1)]
    assert walk.node.id == "offer_callback_closed"


def test_survey_questions_store_valid_answers_and_retry_invalid_ones():
    walk = Walk(load_flows(SHIPPED)["post-call-survey"])
    assert walk.start() == [Play("survey-intro", "en"), Read("nps-question", "en", 6.0, 2)]
    assert walk.feed(Digits("11")) == [Play("invalid-option", "en"), Read("nps-question", "en", 6.0, 2)]
    assert walk.feed(Digits("10")) == [StoreAnswer("nps", "nps", 10), Read("rating-question", "en", 6.0, 1)]
    assert walk.feed(Digits("0")) == [Play("invalid-option", "en"), Read("rating-question", "en", 6.0, 1)]
    assert walk.feed(Digits("")) == [Play("survey-thanks", "en"), HangUp()]  # skipped after its retry
    assert ("rating", "retries_exhausted") in walk.path
    walk = Walk(load_flows(SHIPPED)["post-call-survey"])
    walk.start()
    assert walk.feed(Digits("7#"))[0] == StoreAnswer("nps", "nps", 7)


def test_caller_hangup_ends_the_walk_and_the_walk_refuses_wrong_answers():
    walk = Walk(MENU)
    walk.start()
    with pytest.raises(TypeError):
        walk.feed(Lookup(True))
    walk.caller_hung_up()
    assert walk.done and walk.path == [("menu", "caller_hangup")]
    with pytest.raises(RuntimeError):
        walk.feed(Digits("1"))


def test_a_queue_status_that_is_not_a_word_is_unavailable():
    walk = Walk(load_flows(SHIPPED)["main"])
    walk.start()
    walk.feed(Digits("1"))
    walk.feed(Lookup(False))
    walk.feed(OPEN)
    walk.feed(QueueOutcome("x y\n"))
    assert ("queue", "unavailable") in walk.path
