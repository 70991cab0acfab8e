"""Cross-site request forgery defences for cookie-authenticated requests.

1. Origin: a state-changing request's ``Origin`` (or, without one, its
   ``Referer``) must be the origin the request was sent to or one of
   ``settings.web.allowed_origins``. ``Origin: null`` is refused.
2. Token: the session's CSRF token must come back in the ``X-CSRF-Token``
   header or the ``_csrf`` field of a url-encoded form. A multipart form
   (file upload) cannot be read here without consuming the upload, so for one
   without the header the Origin (or Referer) is required, and the handler
   reads the body with ``await csrf.multipart(request)``, which checks the
   ``_csrf`` field that must come first in the form.

Bearer-token requests carry no ambient credentials and are not checked."""
from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, MultipartReader, web

from web.keys import SERVICES

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "_csrf"
HEADER = "X-CSRF-Token"
_PENDING = web.RequestKey("csrf_pending", str)


class CsrfError(Exception):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id, self.message = error_id, message


def own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}".lower()


def _origin_of_url(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(request: web.Request) -> set[str]:
    settings = request.app[SERVICES].settings
    return {own_origin(request), *(o.rstrip("/").lower() for o in settings.web.allowed_origins)}


def check_origin(request: web.Request, *, required: bool = False) -> None:
    """Raise CsrfError when the request comes from a foreign page. Without
    Origin and Referer it passes unless ``required``."""
    origin = request.headers.get("Origin")
    if origin is None and request.headers.get("Referer"):
        origin = _origin_of_url(request.headers["Referer"]) or "null"
    if origin is None:
        if required:
            raise CsrfError("origin_required", "this request must say where it comes from (Origin)")
        return
    if origin.rstrip("/").lower() not in allowed_origins(request):
        raise CsrfError("foreign_origin", "requests from other sites are refused")


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(
        expected.encode(), given.encode("utf-8", "replace"))


async def verify(request: web.Request, expected: str) -> None:
    """Origin and token checks for a state-changing request of a browser
    session whose token is ``expected``; raises CsrfError."""
    header = request.headers.get(HEADER)
    multipart = request.content_type == "multipart/form-data"
    check_origin(request, required=multipart and header is None)
    if header is not None:
        given = header
    elif request.content_type == "application/x-www-form-urlencoded":
        given = (await request.post()).get(FIELD)  # cached: the handler's post() gets the same
    elif multipart:
        request[_PENDING] = expected
        return
    else:
        given = None
    if not tokens_match(expected, given):
        raise CsrfError("csrf_failed", "the form has expired or did not come from this site; reload the page")


async def multipart(request: web.Request) -> MultipartReader:
    """The multipart body of a form, after its first field ``_csrf`` was checked
    (when the middleware left the check to the reader). Raises
    ``web.HTTPForbidden`` when the token is missing or wrong."""
    reader = await request.multipart()
    expected = request.get(_PENDING)
    if expected is None:
        return reader
    part = await reader.next()
    given = None
    if isinstance(part, BodyPartReader) and part.name == FIELD:
        given = (await part.read(decode=False))[:200].decode("utf-8", "replace")
    if not tokens_match(expected, given):
        raise web.HTTPForbidden(reason="CSRF check failed")
    request.pop(_PENDING, None)
    return reader
