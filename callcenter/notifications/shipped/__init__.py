"""The texts the server ships, one module per language (en.py, hi.py): used
until an admin saves their own (``notification_templates``), and never
seeded into the database, so a corrected shipped text reaches every
installation whose admin did not edit that text. A new language is a module
of its own with the same (event, channel) keys, added to ``LANGUAGES``."""
from __future__ import annotations

from callcenter.notifications.shipped import en, hi

LANGUAGES = {"en": en.TEXTS, "hi": hi.TEXTS}
# {customer_name} of a customer on file without a name ("Dear Customer,", "ग्राहक जी,")
NAMELESS = {"en": en.NAMELESS, "hi": hi.NAMELESS}

# (event, channel, language) -> (subject, body)
SHIPPED: dict[tuple[str, str, str], tuple[str, str]] = {
    (event, channel, language): text
    for language, texts in LANGUAGES.items() for (event, channel), text in texts.items()}
