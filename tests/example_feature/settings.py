"""The example feature's ``[example]`` section."""
from dataclasses import dataclass


@dataclass
class ExampleSettings:
    greeting: str = "namaste"
    tick_seconds: float = 0.05


def check(section: ExampleSettings, _settings=None) -> None:
    if not 1 <= len(section.greeting) <= 40:
        raise ValueError("[example] greeting must be 1-40 characters")
