"""The example feature's declaration: everything it adds to the server."""
from callcenter.feature import Feature, Section
from tests.example_feature import http, models
from tests.example_feature.settings import ExampleSettings, check


class HangupCounter:
    def __init__(self) -> None:
        self.hangups = 0
        self.ticks = 0
        self.closed = False

    def on_event(self, event: dict) -> None:
        if event.get("Event") == "Hangup":
            self.hangups += 1

    async def tick(self) -> None:
        self.ticks += 1

    async def close(self) -> None:
        self.closed = True


async def start(settings, pbx_events, loops) -> HangupCounter:
    counter = HangupCounter()
    pbx_events.on_event(counter.on_event)
    loops.every("example", settings.example.tick_seconds, counter.tick)
    return counter


FEATURE = Feature(
    name="example",
    routes=http.ROUTES,
    tables=models,
    settings=Section("example", ExampleSettings, check),
    start=start,
    topics=("example",),
    summary="An example feature (tests only)",
)
