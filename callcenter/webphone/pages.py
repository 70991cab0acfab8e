"""The agent's desk (``/desk``): the web phone in a bar at the top of the
window, the ordinary agent pages in a full-size same-origin frame below it.

Why a frame: a call lives in the page that holds its WebSocket and its
RTCPeerConnection; any top-level navigation (buckets -> a 360 page) would
tear both down and drop the call. The alternatives were worse: a
SharedWorker cannot hold an RTCPeerConnection (no WebRTC in workers), and
a single-page shell would mean rewriting every server-rendered page into
client-side views. With the desk, the pages stay exactly as they are (their
own /ws live socket, call panel, screen pop) and navigate inside the frame,
while the phone in the top document never unloads.

``/desk?page=/buckets`` opens that page in the frame. Only a path of this
site is accepted (one leading "/", no "//" or back-slash, nothing invisible:
web.errors.safe_next); anything else opens the start page, so the desk is
never an open redirect. web/static/desk.js mirrors the frame's location into
the desk's address (history.replaceState), so a reload keeps the page. An
agent in the browser phone mode who opens a page top-level is sent here by
web/static/panel.js (``data-phone-mode`` on the page's body)."""
from __future__ import annotations

from aiohttp import web

from web.auth import at_least
from web.errors import safe_next
from web.render import render

START_PAGE = "/buckets"


def framed_page(value: str | None) -> str:
    """The page the desk's frame opens: a path of this site, never the desk itself."""
    page = safe_next(value, default=START_PAGE)
    if page.split("?")[0].split("#")[0].rstrip("/") in ("", "/desk"):
        return START_PAGE
    return page


async def desk(request: web.Request) -> web.Response:
    return render(request, "webphone/desk.html", {"page": framed_page(request.query.get("page"))})


ROUTES = [
    ("GET", "/desk", desk, at_least("agent"), "The agent's desk: the web phone and the pages in one frame"),
]
