"""The admins' notifications API and page: events switched on and off with
their channels, templates saved only when every placeholder is known (a Hindi
SMS counted in UCS-2 segments), reset to the shipped text, every change
audited; managers and agents are refused."""
from __future__ import annotations

from sqlalchemy import select

from callcenter.models import AuditEntry
from callcenter.notifications.models import NotificationEventSetting, NotificationTemplate
from callcenter.notifications.templates import SHIPPED, text_for
from tests.light_app import call, light_app, page

BOOKED_SMS = "/api/v1/notifications/templates/appointment.booked/sms"
HINDI = "प्रिय {customer_name}, {store_name} में आपकी मुलाक़ात {appointment_date} को {appointment_time} बजे तय है। - {brand}"


async def audit_rows(sessions, action: str) -> list[AuditEntry]:
    async with sessions() as s:
        return (await s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                .order_by(AuditEntry.id))).all()


async def test_only_admins_read_and_change_events_and_templates(settings, sessions):
    app = await light_app(settings, sessions)
    try:
        for who in ("manager_n", "lead_n", "agent_n"):
            assert (await call(app, "GET", "/api/v1/notifications/events", who))[0] == 403
            assert (await call(app, "PUT", "/api/v1/notifications/events/appointment.booked", who,
                               {"enabled": False}))[0] == 403
            assert (await call(app, "PUT", f"{BOOKED_SMS}/en", who, {"body": "Hi {customer_name}"}))[0] == 403
            resp, _ = await page(app, "GET", "/admin/notifications", who)
            assert resp.status == 403
        status, body = await call(app, "GET", "/api/v1/notifications/events", "admin")
        assert status == 200
        booked = next(e for e in body["events"] if e["key"] == "appointment.booked")
        assert booked["enabled"] and booked["channels"] == ["sms", "email"] and booked["audience"] == "customer"
        assert "customer_name" in booked["placeholders"] and booked["when"]
        wishes = next(e for e in body["events"] if e["key"] == "customer.birthday")
        assert not wishes["enabled"] and wishes["kind"] == "promotional"   # promotional: off until switched on
        sms_en = next(t for t in booked["templates"] if (t["channel"], t["language"]) == ("sms", "en"))
        assert sms_en["source"] == "shipped" and sms_en["body"] == SHIPPED[("appointment.booked", "sms", "en")][1]
        sms_hi = next(t for t in booked["templates"] if (t["channel"], t["language"]) == ("sms", "hi"))
        assert sms_hi["source"] == "shipped" and sms_hi["body"] == SHIPPED[("appointment.booked", "sms", "hi")][1]
        assert {"en", "hi"} <= set(body["languages"])
    finally:
        await app.client.close()


async def test_an_admin_switches_an_event_off_and_changes_its_channels(settings, sessions):
    app = await light_app(settings, sessions)
    try:
        path = "/api/v1/notifications/events/appointment.booked"
        status, body = await call(app, "PUT", path, "admin", {"enabled": False, "channels": ["sms"]})
        assert status == 200 and body["enabled"] is False and body["channels"] == ["sms"]
        status, body = await call(app, "PUT", path, "admin", {"channels": ["sms", "log"]})
        assert status == 422 and "log" in body["message"]        # a customer has no in-app panel
        status, body = await call(app, "PUT", "/api/v1/notifications/events/followup.due", "admin",
                                  {"channels": ["log", "fax"]})
        assert status == 422 and "fax" in body["message"]
        assert (await call(app, "PUT", "/api/v1/notifications/events/no.such", "admin", {"enabled": True}))[0] == 404
        async with sessions() as s:
            row = await s.get(NotificationEventSetting, "appointment.booked")
            assert (row.enabled, row.channels, row.updated_by) == (False, ["sms"], "admin")
            assert await s.get(NotificationEventSetting, "followup.due") is None
        [entry] = await audit_rows(sessions, "notification_event.update")
        assert entry.entity_id == "appointment.booked" and entry.actor == "admin"
        assert entry.details["changes"] == {"enabled": [True, False], "channels": [["sms", "email"], ["sms"]]}
        _, listed = await call(app, "GET", "/api/v1/notifications/events", "admin")
        booked = next(e for e in listed["events"] if e["key"] == "appointment.booked")
        assert (booked["enabled"], booked["channels"]) == (False, ["sms"])
    finally:
        await app.client.close()


async def test_a_template_with_an_unknown_placeholder_is_refused_and_nothing_is_saved(settings, sessions):
    app = await light_app(settings, sessions)
    try:
        status, body = await call(app, "PUT", f"{BOOKED_SMS}/en", "admin",
                                  {"body": "Dear {customer_name}, see you at {shop_name}"})
        assert status == 422 and any("{shop_name}" in e for e in body["errors"]), body
        status, body = await call(app, "PUT", f"{BOOKED_SMS}/en", "admin", {"body": "Dear {customer_name!r}"})
        assert status == 422 and body["errors"]
        async with sessions() as s:
            assert (await s.scalars(select(NotificationTemplate))).all() == []
            text = await text_for(s, "appointment.booked", "sms", "en")
        assert text.body == SHIPPED[("appointment.booked", "sms", "en")][1]
        assert await audit_rows(sessions, "notification_template.update") == []
        status, body = await call(app, "POST", f"{BOOKED_SMS}/en/preview", "admin", {"body": "Hi {shop_name}"})
        assert status == 200 and not body["ok"] and "{shop_name}" in body["errors"][0]
    finally:
        await app.client.close()


async def test_a_hindi_sms_is_saved_counted_in_ucs2_segments_used_and_reset(settings, sessions):
    app = await light_app(settings, sessions)
    try:
        status, body = await call(app, "POST", f"{BOOKED_SMS}/hi/preview", "admin", {"body": HINDI})
        assert status == 200 and body["ok"] and body["encoding"] == "UCS-2"
        assert body["characters"] > 70 and body["segments"] == -(-body["characters"] // 67)
        assert body["body"].startswith("प्रिय ") and "{" not in body["body"]   # filled with example values
        assert body["dlt_text"].startswith("प्रिय {#var#}, {#var#} में") and "{customer_name}" not in body["dlt_text"]
        status, saved = await call(app, "PUT", f"{BOOKED_SMS}/hi", "admin", {"body": HINDI})
        assert status == 200 and saved["source"] == "edited" and saved["check"]["encoding"] == "UCS-2"
        status, english = await call(app, "POST", f"{BOOKED_SMS}/en/preview", "admin",
                                     {"body": "Hi {customer_name}, see you on {appointment_date}. - {brand}"})
        assert (english["encoding"], english["segments"]) == ("GSM-7", 1)
        async with sessions() as s:
            assert (await text_for(s, "appointment.booked", "sms", "hi")).body == HINDI
        _, listed = await call(app, "GET", "/api/v1/notifications/events", "admin")
        booked = next(e for e in listed["events"] if e["key"] == "appointment.booked")
        hindi = next(t for t in booked["templates"] if (t["channel"], t["language"]) == ("sms", "hi"))
        assert (hindi["source"], hindi["body"], hindi["updated_by"]) == ("edited", HINDI, "admin")

        status, body = await call(app, "DELETE", f"{BOOKED_SMS}/hi", "admin")
        assert status == 200
        async with sessions() as s:
            text = await text_for(s, "appointment.booked", "sms", "hi")
        shipped_hindi = SHIPPED[("appointment.booked", "sms", "hi")][1]
        assert text.body == shipped_hindi != HINDI and text.language == "hi"
        assert body["template"]["source"] == "shipped" and body["template"]["body"] == shipped_hindi
        [update] = await audit_rows(sessions, "notification_template.update")
        [reset] = await audit_rows(sessions, "notification_template.reset")
        assert update.entity_id == reset.entity_id == "appointment.booked/sms/hi"
        assert update.details["changes"]["body"][1] == HINDI and reset.details["changes"]["body"][0] == HINDI
        assert (await call(app, "PUT", f"{BOOKED_SMS}/xx", "admin", {"body": "Hi"}))[0] == 404
        assert (await call(app, "PUT", "/api/v1/notifications/templates/appointment.booked/log/en", "admin",
                           {"body": "Hi"}))[0] == 404
    finally:
        await app.client.close()


async def test_the_page_shows_the_events_and_saves_a_template_through_its_form(settings, sessions):
    app = await light_app(settings, sessions)
    try:
        resp, html = await page(app, "GET", "/admin/notifications", "admin")
        assert resp.status == 200 and "Appointment booked" in html and "DLT fixed text" in html
        assert 'href="/admin/notifications" aria-current="page"' in html
        form = "/admin/notifications/templates/appointment.booked/sms/en"
        resp, html = await page(app, "POST", form, "admin", {"body": "Hi {shop_name}", "action": "save"})
        assert resp.status == 422 and "unknown placeholder {shop_name}" in html and "Hi {shop_name}" in html
        resp, _ = await page(app, "POST", form, "admin",
                             {"body": "Hi {customer_name}, see you at {store_name}. - {brand}", "action": "save"})
        assert resp.status == 303 and resp.headers["Location"].endswith("#t-appointment-booked-sms-en")
        async with sessions() as s:
            assert (await text_for(s, "appointment.booked", "sms", "en")).body.startswith("Hi {customer_name}")
        resp, html = await page(app, "GET", "/admin/notifications", "admin")
        assert "edited by admin" in html and "Back to the shipped text" in html
        resp, _ = await page(app, "POST", form, "admin", {"body": "", "action": "reset"})
        assert resp.status == 303
        resp, _ = await page(app, "POST", "/admin/notifications/events/complaint.filed", "admin",
                             {"channels": "email"})       # "enabled" unticked: off
        assert resp.status == 303
        async with sessions() as s:
            assert (await text_for(s, "appointment.booked", "sms", "en")).body == \
                SHIPPED[("appointment.booked", "sms", "en")][1]
            row = await s.get(NotificationEventSetting, "complaint.filed")
            assert (row.enabled, row.channels) == (False, ["email"])
        resp, html = await page(app, "GET", "/admin/notifications?language=ta", "admin")
        assert resp.status == 200 and 'id="t-appointment-booked-sms-ta"' in html
    finally:
        await app.client.close()
