"""The ``[webphone]`` section: the phone inside the agent panel (callcenter/webphone)."""
from __future__ import annotations

from dataclasses import dataclass, field

CODECS = ("alaw", "opus")


@dataclass
class WebphoneSettings:
    # The codec offered to browsers first: "alaw" (G.711 A-law, no transcoding
    # to India's A-law trunks) or "opus" (Asterisk transcodes every frame).
    # docs/benchmarks.md "Web phone" measures both (bench/webphone_codecs.py):
    # A-law is the cheaper, so the default; Opus cost Asterisk 1.38x and 1.67x
    # the CPU per call-second in two runs (23.3 vs 16.9 ms, 26.2 vs 15.8 ms;
    # 10 recorded calls each, 2026-12-06).
    codec: str = "alaw"
    # A click-to-call rings the agent's page, which answers by itself after
    # this many seconds (a short tone first): the agent asked for the call.
    auto_answer: bool = True
    auto_answer_delay: float = 0.8
    # TURN for agents outside the office network (docs: "Beyond the LAN"):
    # turn:/turns: URLs of a coturn server sharing ``turn_secret``
    # (use-auth-secret, the TURN REST scheme); empty: no TURN.
    turn_urls: list[str] = field(default_factory=list)
    turn_secret: str = ""
    turn_ttl: int = 12 * 3600          # seconds a TURN credential lasts
    quality_interval: float = 5.0      # seconds between the page's call-quality reports
    check_interval: float = 5.0        # seconds between looks for expired or revoked phone logins


def check(section: WebphoneSettings, _settings=None) -> None:
    if section.codec not in CODECS:
        raise ValueError(f"[webphone] codec must be one of {', '.join(CODECS)}")
    if not 0 <= section.auto_answer_delay <= 10:
        raise ValueError("[webphone] auto_answer_delay must be 0-10 seconds")
    for url in section.turn_urls:
        if not isinstance(url, str) or not url.startswith(("turn:", "turns:")) or any(
                c in url for c in " \r\n\t\"'<>"):
            raise ValueError(f"[webphone] turn_urls: {url!r} is not a turn: or turns: URL")
    if section.turn_urls and len(section.turn_secret) < 16:
        raise ValueError("[webphone] turn_secret (16 or more characters) is needed with turn_urls")
    if not 60 <= section.turn_ttl <= 7 * 86400:
        raise ValueError("[webphone] turn_ttl must be 60 s to 7 days")
    if section.quality_interval < 1 or section.check_interval <= 0:
        raise ValueError("[webphone] quality_interval must be at least 1 s, check_interval positive")
