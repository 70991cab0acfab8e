"""Mobile numbers masked for roles that need not see them (agents, by default:
the server dials, so an agent never needs the digits)."""
from __future__ import annotations


def shows_mobile(settings, role: str) -> bool:
    return role in settings.privacy.unmasked_roles


def mask_mobile(number: str | None) -> str | None:
    """'+919876543210' -> '+91 98xxxxxx10' (country code, first two and last two digits)."""
    if not number:
        return number
    digits = number.lstrip("+")
    if len(digits) < 8:
        return "x" * len(digits)
    cc, national = (digits[:2], digits[2:]) if number.startswith("+91") else (digits[:-10] or "", digits[-10:])
    shown = national[:2] + "x" * (len(national) - 4) + national[-2:]
    return f"+{cc} {shown}" if cc else shown


def mobile_for(settings, role: str, number: str | None) -> str | None:
    return number if shows_mobile(settings, role) else mask_mobile(number)
