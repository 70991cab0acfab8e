"""Cross-site request forgery defences for cookie-authenticated requests.

1. Origin: a state-changing request's ``Origin`` (or, without one, its
   ``Referer``) must be the origin the request was sent to or one of
   ``settings.web.allowed_origins``. ``Origin: null`` is refused.
2. Token: the session's CSRF token must come back in the ``X-CSRF-Token``
   header, the ``_csrf`` field of a url-encoded form, or the FIRST part of a
   multipart form (file upload), named ``_csrf``: only that part is read here
   (at most ``MAX_TOKEN`` bytes), the upload after it is left to the handler,
   which reads the rest with ``await csrf.multipart(request)`` (or
   ``request.post()``/``request.multipart()``, which start at the next part).
   A multipart form without the header must also say where it comes from
   (Origin or Referer). Any other body without the header is refused.

Bearer-token requests carry no ambient credentials and are not checked."""
from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import BodyPartReader, MultipartReader, web

from web import transport
from web.keys import SERVICES

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "_csrf"
HEADER = "X-CSRF-Token"
MAX_TOKEN = 200  # bytes of a form's token field read at most (a token is 43)
_READER = web.RequestKey("csrf_multipart_reader", MultipartReader)


class CsrfError(Exception):
    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id, self.message = error_id, message


def own_origin(request: web.Request) -> str:
    """The origin the request was sent to (https behind a local TLS proxy: web/transport.py)."""
    return f"{'https' if transport.is_https(request) else request.scheme}://{request.host}".lower()


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
        given = await _leading_token(request)
    else:
        given = None
    if not tokens_match(expected, given):
        raise CsrfError("csrf_failed", "the form has expired or did not come from this site; reload the page")


async def _leading_token(request: web.Request) -> str | None:
    """The multipart form's first part when it is ``_csrf`` (None otherwise, or
    when the body is not a readable form). Only that part is consumed; the
    reader, now before the second part, is kept for :func:`multipart`."""
    try:
        reader = await request.multipart()
        part = await reader.next()
    except (ValueError, KeyError, AssertionError):  # no boundary, not multipart, cut short
        return None
    request[_READER] = reader
    if not isinstance(part, BodyPartReader) or part.name != FIELD:
        return None
    value = b""
    while not part.at_eof():
        value += await part.read_chunk(MAX_TOKEN)
        if len(value) > MAX_TOKEN:
            return None
    return value.decode("utf-8", "replace")


async def multipart(request: web.Request) -> MultipartReader:
    """The multipart body of a form after its ``_csrf`` field (checked by
    :func:`verify` before the handler ran): the parts the handler reads."""
    reader = request.pop(_READER, None)
    return reader if reader is not None else await request.multipart()
