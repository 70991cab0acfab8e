"""The HTML part of an e-mail, made from its plain text (which the e-mail also
carries, as written): every character escaped, blank lines make paragraphs
and line breaks stay, a small header with the brand ([notifications]
email_brand). Only links to this site ([notifications] site_url) become
clickable; any other address stays text, so a message can never carry a
link someone typed into a remark or a complaint as a button to press."""
from __future__ import annotations

import re
from html import escape
from urllib.parse import urlsplit

URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
TRAILING = ".,;:!?)]}"   # punctuation after a link in a sentence is not the link's


def check_site_url(site_url: str) -> None:
    """Raise ValueError unless ``site_url`` is empty or an http(s) address."""
    if not site_url:
        return
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc \
            or parts.query or parts.fragment or any(c.isspace() for c in site_url):
        raise ValueError("[notifications] site_url must be empty or this site's http(s) address "
                         "(https://cc.example.in)")


def is_this_site(url: str, site_url: str) -> bool:
    """Does ``url`` point into ``site_url`` (same scheme, host and port, under its path)?"""
    if not site_url:
        return False
    try:
        link, site = urlsplit(url), urlsplit(site_url)
        same_place = (link.scheme.lower() == site.scheme.lower() and link.hostname == site.hostname
                      and link.port == site.port and "@" not in link.netloc)
    except ValueError:  # a malformed port or host
        return False
    base, path = site.path.rstrip("/"), link.path or "/"
    return same_place and (path == base or path.startswith(base + "/"))


def _line(text: str, site_url: str) -> str:
    out, at = [], 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        end = match.start() + len(url)
        out.append(escape(text[at:match.start()]))
        if is_this_site(url, site_url):
            out.append(f'<a href="{escape(url)}">{escape(url)}</a>')
        else:
            out.append(escape(url))
        at = end
    out.append(escape(text[at:]))
    return "".join(out)


def email_html(subject: str, body: str, *, brand: str, site_url: str = "") -> str:
    """The HTML version of the plain ``body`` (a whole document)."""
    paragraphs = [p.strip("\n") for p in PARAGRAPH_BREAK.split(body.replace("\r", "").strip("\n"))]
    html_paragraphs = "\n".join(
        '<p style="margin:0 0 12px">' + "<br>\n".join(_line(line, site_url) for line in p.split("\n")) + "</p>"
        for p in paragraphs if p.strip())
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{escape(subject)}</title></head>\n"
        '<body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:15px;'
        'line-height:1.5;color:#222;background:#fff">\n'
        '<div style="padding:8px 0;margin-bottom:16px;border-bottom:2px solid #8a5a00;font-weight:bold;'
        f'color:#8a5a00">{escape(brand)}</div>\n'
        f'<div dir="auto">\n{html_paragraphs}\n</div>\n</body></html>\n')
