"""Language codes: ISO 639-1 (two letters), as stores, users and customers
carry them. The languages of India also answer to their English names, so a
head count or a store list may say "Hindi, English" as well as "hi,en"."""
from __future__ import annotations

ISO_639_1 = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr
cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu
gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk
kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms
mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro
ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl
tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())

# The languages the brand's customers speak, for forms and for names in files.
INDIAN = {
    "en": "English", "hi": "Hindi", "bn": "Bengali", "te": "Telugu", "mr": "Marathi",
    "ta": "Tamil", "ur": "Urdu", "gu": "Gujarati", "kn": "Kannada", "ml": "Malayalam",
    "or": "Odia", "pa": "Punjabi", "as": "Assamese", "ne": "Nepali", "sa": "Sanskrit",
    "sd": "Sindhi", "ks": "Kashmiri",
}
_BY_NAME = {name.lower(): code for code, name in INDIAN.items()}
_BY_NAME.update({"oriya": "or", "bangla": "bn", "panjabi": "pa"})


def language_code(value: str) -> str | None:
    """'hi', 'HI', 'Hindi' -> 'hi'; None when it is not a language we know."""
    text = (value or "").strip().lower()
    if text in ISO_639_1:
        return text
    return _BY_NAME.get(text)


def parse_languages(value) -> tuple[list[str], list[str]]:
    """'en, Hindi' or ['en', 'hi'] -> (['en', 'hi'], []); the second list holds
    the items that are not languages. Order kept, duplicates dropped; the
    separators are commas, semicolons, slashes and '|'."""
    if value is None:
        return [], []
    if isinstance(value, str):
        for sep in ";/|":
            value = value.replace(sep, ",")
        items = [part for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = [str(part) if not isinstance(part, str) else part for part in value]
    else:
        return [], [repr(value)]
    codes: list[str] = []
    bad: list[str] = []
    for item in items:
        if not item.strip():
            continue
        code = language_code(item)
        if code is None:
            bad.append(item.strip())
        elif code not in codes:
            codes.append(code)
    return codes, bad


def language_name(code: str) -> str:
    return INDIAN.get(code, code)
