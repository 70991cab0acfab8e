"""The HR system over HTTP: a bearer token (OAuth2 client credentials, or a
static one), then the employee list, page by page.

Every request has the source's timeout and no redirects; every answer is
read up to a byte cap (all pages together); URLs are https, or http to a
loopback address only (no name is resolved to decide it), and a next-page
link must stay on the list URL's server, so the token never leaves it.
Errors are :class:`SourceFailed` / :class:`SourceUnreachable` in plain
words; they never hold a secret nor the answer's body."""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp

from callcenter.hosts import is_loopback
from callcenter.hrsource.exceptions import InvalidSource, SourceFailed, SourceUnreachable

log = logging.getLogger(__name__)
CHUNK = 64 * 1024
TRANSIENT = (502, 503, 504)


@dataclass(frozen=True)
class Spec:
    """What one pull needs, secrets in clear (never logged, never shown)."""
    list_url: str
    auth: str = "none"                 # none / token / client_credentials
    token_url: str = ""
    token_body: str = "form"           # form / json
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    scope: str = ""
    static_token: str = field(default="", repr=False)
    list_path: str = ""
    paging: str = "none"               # none / next / page
    next_field: str = "next"
    page_param: str = "page"
    max_pages: int = 20
    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024


@dataclass
class Pulled:
    records: list
    pages: int


FIELD_OF = {"employee list URL": "list_url", "token URL": "token_url", "next-page link": "next_field"}


def check_url(url: str, what: str, error=InvalidSource) -> str:
    """``url`` if it is https, or http to a loopback address; ``error`` otherwise."""
    url = (url or "").strip()
    field_name = FIELD_OF.get(what, what)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise error(f"the {what} must be a full https:// address", field=field_name)
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise error(f"the {what} must use https (plain http only to this machine)",
                    field=field_name)
    if parts.username or parts.password:
        raise error(f"the {what} may not hold a user name or password", field=field_name)
    return url


def _origin(url: str) -> tuple:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def at_path(document, path: str):
    """The value at a dotted path (``data.employees``; ``""`` is the document);
    KeyError when a step is missing."""
    value = document
    for step in [s for s in (path or "").split(".") if s]:
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            raise KeyError(step)
    return value


class Puller:
    def __init__(self, spec: Spec, http: aiohttp.ClientSession) -> None:
        self.spec, self.http = spec, http
        self.budget = spec.max_bytes

    async def _json(self, method: str, url: str, what: str, **kwargs):
        """The JSON answer of one request (``what`` names the URL in errors)."""
        try:
            async with self.http.request(method, url, allow_redirects=False, **kwargs) as response:
                if not 200 <= response.status < 300:
                    error = SourceUnreachable if response.status in TRANSIENT else SourceFailed
                    hint = " (a redirect: give the final address)" if 300 <= response.status < 400 else ""
                    raise error(f"the {what} answered {response.status}{hint}", answered=response.status)
                if (response.content_length or 0) > self.budget:
                    raise SourceFailed(f"the answer of the {what} is larger than "
                                       f"{self.spec.max_bytes / 1e6:.0f} MB")
                body = bytearray()
                while chunk := await response.content.read(CHUNK):
                    body += chunk
                    if len(body) > self.budget:
                        raise SourceFailed(f"the answer of the {what} is larger than "
                                           f"{self.spec.max_bytes / 1e6:.0f} MB")
        except asyncio.TimeoutError:
            raise SourceUnreachable(f"the {what} timed out after {self.spec.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise SourceUnreachable(f"could not reach the {what} ({urlsplit(url).hostname}): "
                                    f"{type(exc).__name__}") from None
        self.budget -= len(body)
        try:
            return json.loads(bytes(body))
        except (ValueError, RecursionError):
            raise SourceFailed(f"the answer of the {what} is not JSON") from None

    async def token(self) -> str:
        s = self.spec
        if s.auth == "token":
            return s.static_token
        if s.auth != "client_credentials":
            return ""
        fields = {"grant_type": "client_credentials", "client_id": s.client_id,
                  "client_secret": s.client_secret, **({"scope": s.scope} if s.scope else {})}
        body = {"json": fields} if s.token_body == "json" else {"data": fields}
        answer = await self._json("POST", check_url(s.token_url, "token URL", SourceFailed), "token URL",
                                  headers={"Accept": "application/json"}, **body)
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceFailed("the token URL's answer has no access_token")
        log.info("HR source token obtained (expires in %s s)", answer.get("expires_in", "?"))
        return token

    def _list_of(self, answer, number: int) -> list:
        path = self.spec.list_path or "the top level"
        try:
            found = at_path(answer, self.spec.list_path)
        except KeyError:
            raise SourceFailed(f"the answer had no list at {path} (page {number})") from None
        if not isinstance(found, list):
            raise SourceFailed(f"{path} in the answer is not a list (page {number})")
        return found

    def _next_url(self, answer, url: str) -> str | None:
        try:
            link = at_path(answer, self.spec.next_field)
        except KeyError:
            return None
        if not link:
            return None
        if not isinstance(link, str):
            raise SourceFailed(f"{self.spec.next_field} in the answer is not a link")
        link = check_url(urljoin(url, link), "next-page link", SourceFailed)
        if _origin(link) != _origin(self.spec.list_url):
            raise SourceFailed("the next-page link points to another server than the employee list URL")
        return link

    async def pull(self) -> Pulled:
        s = self.spec
        base = check_url(s.list_url, "employee list URL", SourceFailed)
        token = await self.token()
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        records: list = []
        url: str | None = base
        for number in range(1, s.max_pages + 1):
            if s.paging == "page":
                url = base + ("&" if urlsplit(base).query else "?") + urlencode({s.page_param: number})
            answer = await self._json("GET", url, "employee list URL", headers=headers)
            page = self._list_of(answer, number)
            records += page
            if s.paging == "none" or (s.paging == "page" and not page):
                return Pulled(records, number)
            if s.paging == "next" and (url := self._next_url(answer, url)) is None:
                return Pulled(records, number)
        raise SourceFailed(f"the list goes on past {s.max_pages} pages: raise the page limit")


async def pull(spec: Spec) -> Pulled:
    """Every employee record of the source (a list of JSON values)."""
    timeout = aiohttp.ClientTimeout(total=spec.timeout)
    async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as http:
        return await Puller(spec, http).pull()
