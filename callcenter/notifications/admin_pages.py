"""The notifications page (/admin/notifications, admins): the events (who
hears of each, when, its kind, its channels, on or off) and per event an
editor of its text for each channel and language (en, hi, every language a
template has, and one the admin picks). A saved text is checked first; an
SMS shows its characters, encoding, segments and DLT-style fixed text
(live as the admin types, through the preview endpoint, by
web/static/notification_templates.js; the forms work without it)."""
from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from callcenter.errors import DomainError
from callcenter.notifications import admin_edits
from callcenter.notifications.events import EVENT_CHANNELS
from callcenter.org.http import actor_of
from callcenter.org.languages import INDIAN
from web.keys import SERVICES
from web.render import flash, render

log = logging.getLogger(__name__)

PAGE = "/admin/notifications"
CHANNEL_LABELS = {"sms": "SMS", "email": "E-mail", "log": "In-app"}
AUDIENCE_LABELS = {"customer": "The customer", "staff": "Our people"}


def editor_id(key: str, channel: str, language: str) -> str:
    return f"t-{key.replace('.', '-')}-{channel}-{language}"


def see_other(location: str, message: str) -> web.Response:
    response = web.Response(status=303, headers={"Location": location})
    flash(response, message)
    return response


async def notifications_page(request: web.Request, *, failed: dict | None = None,
                             status: int = 200) -> web.Response:
    """The page; ``failed``: the editor whose text was refused (its values and check kept)."""
    language = request.query.get("language") or (failed or {}).get("language")
    async with request.app[SERVICES].sessions() as session:
        events, languages = await admin_edits.catalogue(session, language)
    for event in events:
        by_key = {(t["channel"], t["language"]): t for t in event["templates"]}
        event["editors"] = []
        for channel in event["allowed_channels"]:
            for lang in languages:
                text = by_key.get((channel, lang))
                editor = {"channel": channel, "language": lang, "id": editor_id(event["key"], channel, lang),
                          "text": text, "subject": text["subject"] if text else "",
                          "body": text["body"] if text else "", "check": None, "error": None}
                if text is not None and channel == "sms":
                    editor["check"] = admin_edits.check_json(
                        admin_edits.check_template(event["key"], channel, "", text["body"]))
                if failed and (failed["event"], failed["channel"], failed["language"]) == (event["key"], channel, lang):
                    editor.update(subject=failed["subject"], body=failed["body"], error=failed["error"],
                                  check=failed.get("check"))
                    event["open"] = True
                event["editors"].append(editor)
    return render(request, "notifications/admin.html", {
        "events": events, "languages": languages, "language_names": INDIAN,
        "more_languages": [code for code in INDIAN if code not in languages],
        "channel_labels": CHANNEL_LABELS, "audience_labels": AUDIENCE_LABELS, "all_channels": EVENT_CHANNELS,
    }, status=status)


async def page_get(request: web.Request) -> web.Response:
    return await notifications_page(request)


async def event_form(request: web.Request) -> web.Response:
    post = await request.post()
    key = request.match_info["event"]
    try:
        async with request.app[SERVICES].sessions() as session, session.begin():
            state = await admin_edits.change_event(session, actor_of(request), key,
                                                   enabled=post.get("enabled") == "on",
                                                   channels=[str(c) for c in post.getall("channels", [])])
    except DomainError as exc:
        return see_other(f"{PAGE}#e-{key.replace('.', '-')}", f"Not saved: {exc.message}")
    said = "on" if state["enabled"] else "off"
    return see_other(f"{PAGE}#e-{key.replace('.', '-')}",
                     f"{admin_edits.EVENTS[key].title}: {said}, channels {', '.join(state['channels']) or 'none'}.")


async def template_form(request: web.Request) -> web.Response:
    post = await request.post()
    info = request.match_info
    key, channel, language = info["event"], info["channel"], info["language"]
    subject, body = str(post.get("subject", "")), str(post.get("body", ""))
    back = f"{PAGE}?language={quote(language)}#{editor_id(key, channel, language)}"
    try:
        async with request.app[SERVICES].sessions() as session, session.begin():
            if post.get("action") == "reset":
                await admin_edits.reset_template(session, actor_of(request), key, channel, language)
                message = "The shipped text is back."
            else:
                await admin_edits.save_template(session, actor_of(request), key, channel, language, subject, body)
                message = "Template saved."
    except DomainError as exc:
        admin_edits.event_or_404(key)  # an unknown event, channel or language is a 404, not a form error
        admin_edits.template_key(key, channel, language)
        return await notifications_page(request, failed={
            "event": key, "channel": channel, "language": language, "subject": subject, "body": body,
            "error": exc.details.get("errors") or [exc.message], "check": exc.details.get("check")}, status=exc.status)
    return see_other(back, f"{admin_edits.EVENTS[key].title}, {CHANNEL_LABELS[channel]} "
                           f"({INDIAN.get(language, language)}): {message}")


ROUTES = [
    ("GET", PAGE, page_get, ("admin",), "Notifications page: events on/off, channels, templates per language"),
    ("POST", PAGE + "/events/{event}", event_form, ("admin",), "Switch an event on or off, its channels (form)"),
    ("POST", PAGE + "/templates/{event}/{channel}/{language}", template_form, ("admin",),
     "Save an event's text or reset it to the shipped one (form; checked when saved)"),
]
