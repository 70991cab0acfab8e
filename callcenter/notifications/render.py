"""Filling a template's ``{placeholders}``: only the event's names, no
format specs or attribute look-ups (a template is text an admin typed)."""
from __future__ import annotations

import logging
import re
import string

log = logging.getLogger(__name__)
_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template that cannot be used: the message says why."""


def placeholders_of(text: str) -> list[str]:
    """The ``{names}`` in ``text``; TemplateError when it is not plain
    ``{name}`` fields (``{a.b}``, ``{a!r}``, ``{a:>5}``, a lone brace)."""
    names = []
    try:
        for _literal, field, spec, conversion in _FORMATTER.parse(text):
            if field is None:
                continue
            if spec or conversion or not re.fullmatch(r"[a-z_][a-z0-9_]*", field):
                raise TemplateError(f"{{{field}}} is not a plain placeholder: write {{name}}")
            names.append(field)
    except ValueError as exc:
        if isinstance(exc, TemplateError):
            raise
        raise TemplateError(f"a brace does not close: {exc} (write {{{{ for a brace)") from None
    return names


def fill(text: str, context: dict, *, one_line: bool = False, tidy: bool = False) -> str:
    """``text`` with each placeholder replaced by ``context``'s value (a
    missing one, which the catalogue should make impossible, becomes empty).

    A value is user data and stays literal: a customer named ``{brand}`` is
    written as such, never filled in turn. ``one_line`` (an e-mail subject):
    line breaks (any run of white space) in values become one space, so a value cannot add a header.
    ``tidy`` (e-mail and in-app, not SMS, whose fixed text must stay as
    registered on DLT): an empty value takes the comma before it with it
    ("{store_name}, {store_city}" of a store with no city reads "Karol Bagh")."""
    out: list[str] = []
    placeholders_of(text)      # TemplateError for anything but plain {name}s
    for literal, name, _spec, _conversion in _FORMATTER.parse(text):
        out.append(literal)
        if name is None:
            continue
        value = context.get(name)
        if value is None:
            log.warning("placeholder {%s} has no value", name)
        value = "" if value is None else str(value)
        value = " ".join(value.split()) if one_line else value
        if tidy and not value.strip():
            done = "".join(out)
            bare = done.rstrip(" ")
            out = [bare[:-1] if bare.endswith(",") else done]
        out.append(value)
    return "".join(out)
