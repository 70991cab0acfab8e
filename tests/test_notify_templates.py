"""Templates as an admin saves them and as the server ships them: what is
refused, what an SMS costs (GSM 03.38 / UCS-2 segments), the DLT text, and
that a placeholder's value can never become template text."""
from __future__ import annotations

import pytest

from callcenter.notifications.events import CUSTOMER, EVENTS
from callcenter.notifications.render import fill
from callcenter.notifications.shipped import LANGUAGES, SHIPPED
from callcenter.notifications.sms_size import GSM7, UCS2, sms_size
from callcenter.notifications.template_check import SAMPLES, check_template


def test_the_gsm_alphabet_is_the_basic_set_plus_the_extension_table():
    # every basic character is one septet; each extension character takes two (escape + it)
    basic = sms_size("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNO"
                     "PQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
    assert (basic.encoding, basic.characters, basic.units) == (GSM7, 127, 127)
    extension = sms_size("\x0c^{}\\[~]|€")
    assert (extension.encoding, extension.characters, extension.units) == (GSM7, 10, 20)
    assert (sms_size("a" * 160).encoding, sms_size("a" * 160).segments) == (GSM7, 1)
    assert sms_size("a" * 161).segments == 2 and sms_size("a" * 161).per_segment == 153
    assert sms_size("€" * 80).units == 160 and sms_size("€" * 80).segments == 1
    assert sms_size("€" * 81).segments == 2
    assert sms_size("a" * 306).segments == 2 and sms_size("a" * 307).segments == 3
    # an escape pair is never split: 152 septets + '€' needs a second segment of a long message
    assert sms_size("a" * 152 + "€" + "a" * 10).segments == 2
    assert sms_size("a" * 152 + "€" + "a" * 152).segments == 3
    # characters outside GSM 03.38 (curly quote, rupee sign, en dash, Devanagari) make it UCS-2
    for text, culprit in (("It’s booked", "’"), ("Pay ₹500", "₹"), ("9–5", "–"), ("नमस्ते", "न")):
        size = sms_size(text)
        assert size.encoding == UCS2 and culprit in size.not_gsm
    assert sms_size("`").encoding == UCS2        # the backtick is not in GSM 03.38


def test_ucs2_segments_count_utf16_units_and_keep_surrogate_pairs_whole():
    assert sms_size("न" * 70).segments == 1 and sms_size("न" * 71).segments == 2
    assert sms_size("न" * 134).segments == 2 and sms_size("न" * 135).segments == 3
    emoji = sms_size("😀" * 35)
    assert (emoji.characters, emoji.units, emoji.segments) == (35, 70, 1)
    # 134 units would fit two segments of 67, but the pair does not fit the first one's 67th unit
    assert sms_size("न" * 66 + "😀" + "न" * 66).units == 134
    assert sms_size("न" * 66 + "😀" + "न" * 66).segments == 3


def test_unknown_placeholders_and_bad_braces_are_refused_naming_them():
    check = check_template("appointment.booked", "sms", "", "Hi {customer_name}, {ticket} {coupon}")
    assert not check.ok
    assert "{ticket}, {coupon}" in check.errors[0] and "{customer_name}" in check.errors[0]
    assert "{appointment_time}" in check.errors[0]            # the allowed ones are listed
    for body in ("Hi {customer_name", "Hi customer_name}", "{customer_name!r}", "{customer_name:>20}",
                 "{customer_name.upper}", "{0}", "{}"):
        assert not check_template("appointment.booked", "sms", "", body).ok, body
    subject = check_template("complaint.filed", "email", "About {store_name}", "Ticket {ticket}")
    assert subject.errors and "subject" in subject.errors[0] and "{store_name}" in subject.errors[0]
    literal = check_template("appointment.booked", "sms", "", "Use code {{GOLD}} - {brand}")
    assert literal.ok and literal.preview == "Use code {GOLD} - Swarna Jewels"
    assert literal.dlt_text == "Use code {GOLD} - {#var#}"


def test_empty_bodies_subjectless_emails_and_unknown_events_are_refused():
    assert check_template("appointment.booked", "sms", "", "  \n").errors == ["the text is empty"]
    assert "an e-mail needs a subject" in check_template("appointment.booked", "email", "", "Hi").errors
    assert "a subject is one line" in check_template("appointment.booked", "email", "A\nB", "Hi").errors
    assert check_template("appointment.booked", "log", "", "Your visit").ok   # a note's title is optional
    assert not check_template("appointment.eaten", "sms", "", "Hi").ok
    assert not check_template("appointment.booked", "fax", "", "Hi").ok
    assert not check_template("appointment.booked", "email", "Hi", "x" * 4001).ok


def test_an_sms_check_shows_encoding_segments_assumptions_and_the_dlt_text():
    body = "Dear {customer_name}, your visit to {store_name} is on {appointment_date} at {appointment_time}."
    check = check_template("appointment.booked", "sms", "", body)
    assert check.ok and check.warnings == []
    assert check.dlt_text == "Dear {#var#}, your visit to {#var#} is on {#var#} at {#var#}."
    assert check.assumed == {"customer_name": 15, "store_name": 13, "appointment_date": 11,
                             "appointment_time": 8}
    filled = body.format(**SAMPLES)
    assert check.preview == filled
    assert (check.sms.encoding, check.sms.characters, check.sms.segments) == (GSM7, len(filled), 1)
    # one curly apostrophe turns it UCS-2 (70 a segment): the admin is told which character did it
    curly = check_template("appointment.booked", "sms", "", body.replace("your", "you’re"))
    assert curly.ok and curly.sms.encoding == UCS2 and curly.sms.segments == 2
    assert any("’" in w and "UCS-2" in w for w in curly.warnings)
    long = check_template("appointment.booked", "sms", "Ignored", body * 4)
    assert long.ok and (long.sms.characters, long.sms.segments) == (320, 3)      # 2 x 153 < 320
    assert any("3 SMS segments" in w for w in long.warnings) and any("no subject" in w for w in long.warnings)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_event_ships_a_valid_text_on_each_default_channel(language):
    for key, event in EVENTS.items():
        for channel in event.channels:
            subject, body = SHIPPED[(key, channel, language)]
            check = check_template(key, channel, subject, body)
            assert check.ok and not check.warnings, (key, channel, language, check.errors, check.warnings)
            assert set(check.placeholders) <= set(event.placeholders)
            if channel == "sms" and event.audience == CUSTOMER:
                assert check.sms.segments <= 2, (key, language, check.sms)
                assert check.sms.encoding == (UCS2 if language == "hi" else GSM7), (key, language)
    assert {(k[0], k[1]) for k in SHIPPED if k[2] == language} == {
        (key, channel) for key, event in EVENTS.items() for channel in event.channels}


def test_hindi_texts_are_devanagari():
    for (key, channel, language), (subject, body) in SHIPPED.items():
        if language == "hi":
            assert any("\u0900" <= c <= "\u097f" for c in subject + body), (key, channel)


def test_a_value_is_never_read_as_a_placeholder_and_a_subject_stays_one_line():
    context = {"customer_name": "{brand} {ticket}", "brand": "Swarna", "ticket": "TK-1"}
    assert fill("Dear {customer_name} - {brand}", context) == "Dear {brand} {ticket} - Swarna"
    assert fill("Hi {customer_name}", {"customer_name": "{{x}} {0} {customer_name!r}"}) == \
        "Hi {{x}} {0} {customer_name!r}"
    subject = fill("Your visit, {customer_name}", {"customer_name": "Asha\r\nBcc: x@example.com\n"},
                   one_line=True)
    assert subject == "Your visit, Asha Bcc: x@example.com"
    assert fill("{customer_name}", {"customer_name": "Asha\nRao"}) == "Asha\nRao"   # a body keeps lines


def test_the_size_check_assumes_times_as_the_customer_gets_them(settings):
    import datetime as dt

    from callcenter.notifications.appointment_notices import local_time
    sent = local_time(settings, dt.datetime(2026, 12, 8, 6, 0, tzinfo=dt.timezone.utc))   # 11:30 AM in Kolkata
    assert len(SAMPLES["appointment_time"]) == len(sent) == len(SAMPLES["followup_time"])
    body = "Your visit is at {appointment_time}. " + "x" * (160 - len("Your visit is at 11:30. "))
    check = check_template("appointment.booked", "sms", "", body)
    assert sent in check.preview and check.sms.segments == 2     # 163 characters as sent: billed as two
