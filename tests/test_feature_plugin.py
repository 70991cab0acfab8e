"""A feature plugs in with its folder and one line in the feature list
(callcenter/features.py): tests/example_feature declares a route, a table,
a config section, a background loop and an AMI listener in its feature.py,
and the server takes each of them from there; its start is handed only the
clients it names."""
import asyncio

import pytest

from callcenter import config, features
from callcenter.config import ConfigError
from callcenter.feature import Clients, Feature, MissingClient
from callcenter.live import LiveBus
from callcenter.loops import Loops
from callcenter.models import Base
from monitoring.metrics import Metrics
from tests.example_feature.models import Greeting
from tests.light_app import light_app

WITH_EXAMPLE = [*features.PACKAGES, "tests.example_feature"]  # the one line a new feature adds


def write_config(tmp_path, section: str):
    path = tmp_path / "cc.toml"
    path.write_text(config.render_new() + section)
    return path


async def test_a_new_feature_brings_its_section_table_start_and_routes(tmp_path, sessions):
    loaded = features.load(WITH_EXAMPLE)
    example = loaded[-1]
    assert example.name == "example"

    # its [example] section is read and checked with the rest of the config file
    settings = config.load(write_config(tmp_path, '\n[example]\ngreeting = "vanakkam"\n'))
    assert settings.example.greeting == "vanakkam" and settings.example.tick_seconds == 0.05
    with pytest.raises(ConfigError, match=r"\[example\] greeting"):
        config.load(write_config(tmp_path, '\n[example]\ngreeting = ""\n'))
    with pytest.raises(ConfigError, match="unknown key"):
        config.load(write_config(tmp_path, '\n[example]\ngretting = "typo"\n'))

    # its table is in the metadata the migrations are compared with
    assert Base.metadata.tables["example_greetings"] is Greeting.__table__
    async with sessions() as session:
        await session.run_sync(lambda s: Greeting.__table__.create(s.connection()))
        await session.commit()

    # its start gets the clients it names, and nothing else
    app = await light_app(settings, sessions, features=loaded)
    services = app.services
    services.loops = Loops(Metrics())
    clients = Clients({"settings": settings, "pbx_events": services.pbx_events, "loops": services.loops,
                       "sessions": sessions})
    services.provided.update(await clients.start(example))
    counter = services.example
    services.pbx_events.event({"Event": "Hangup", "Channel": "PJSIP/asha-00000001"})
    services.pbx_events.event({"Event": "Newchannel"})
    assert counter.hangups == 1
    await asyncio.sleep(0.3)
    assert counter.ticks >= 2 and services.loops.health()["example"]["running"]

    # its routes are served through the real middleware, with their roles
    resp = await app.client.get("/api/v1/example/greeting", headers=app.headers("agent_n"))
    assert resp.status == 200 and await resp.json() == {"greeting": "vanakkam", "hangups": 1}
    assert (await app.client.get("/api/v1/example/greeting")).status == 401
    post = app.client.post
    assert (await post("/api/v1/example/greetings", json={"text": "hi"}, headers=app.headers("agent_n"))).status == 403
    assert (await post("/api/v1/example/greetings", json={"text": "hi"}, headers=app.headers("manager_n"))).status == 201
    async with sessions() as session:
        assert (await session.get(Greeting, 1)).text == "hi"
    await services.loops.close()
    await app.client.close()


async def test_a_start_that_names_a_client_nobody_provides_fails_at_start_up():
    async def start(settings, board_feed):
        return None

    with pytest.raises(MissingClient, match="'board' needs 'board_feed'"):
        await Clients({"settings": object()}).start(Feature(name="board", start=start))


async def test_what_a_feature_provides_is_a_client_of_the_features_after_it():
    async def queues_start(settings):
        return "the queues"

    seen = []

    async def inbound_start(queues):
        seen.append(queues)

    clients = Clients({"settings": object()})
    assert await clients.start(Feature(name="queues", start=queues_start)) == {"queues": "the queues"}
    await clients.start(Feature(name="inbound", start=inbound_start))
    assert seen == ["the queues"]


async def test_a_live_message_of_a_type_no_feature_declares_is_refused():
    class Redis:
        sent = []

        async def publish(self, channel, text):
            self.sent.append(text)

    topics = {t for f in features.load() for t in f.topics}
    assert {"call", "queue", "reminder", "bucket_counts", "screen_pop"} <= topics
    bus = LiveBus(Redis(), sessions=None, key_prefix="t:", topics=topics)
    await bus.publish({"type": "bucket_counts"}, user_ids=[1])
    with pytest.raises(ValueError, match="'bucket_count' is declared by no feature"):
        await bus.publish({"type": "bucket_count"}, user_ids=[1])  # a typo never reaches a page
    assert len(Redis.sent) == 1


def test_the_servers_features_each_declare_what_they_add():
    loaded = features.load()
    names = [f.name for f in loaded]
    assert len(names) == len(set(names))
    routes = [(m, p) for f in loaded for m, p, *_ in f.routes]
    assert len(routes) == len(set(routes)), "a route declared by two features"
    for feature in loaded:
        assert feature.summary, feature.name
        for method, path, handler, roles, summary in feature.routes:
            assert roles and summary, (feature.name, method, path)
