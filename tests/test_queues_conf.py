"""queues.conf as rendered from queue rows: every strategy, wrap-up, service
level, announcements, join/leave when empty, music on hold; names and values
that could break out of a line are refused; the call-work AMI user may drive
queues and receives their events; mobile agents' member interfaces."""
from __future__ import annotations

import configparser
import dataclasses
import wave

import pytest

from callcenter.pbx.render import TrunkConf, render_config
from callcenter.pbx.sync import ADMIN_ACTIONS
from callcenter.queues import hold_music
from callcenter.queues.conf import (QUEUE_EVENTS, QueueConf, desktop_interface, mobile_interface, queue_conf,
                                    uses_trunk)
from callcenter.queues.models import QUEUE_STRATEGIES, Queue


@pytest.fixture
def pbx_settings(settings):
    ami = dataclasses.replace(settings.ami, secret="s" * 24, admin_secret="a" * 24)
    return dataclasses.replace(settings, ami=ami)


def parse(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, delimiters=("=",), comment_prefixes=(";",),
                                          inline_comment_prefixes=(";",))
    parser.optionxform = str
    parser.read_string(text)
    return parser


def q(name="support-en", **kw) -> QueueConf:
    fields = dict(language="en", strategy="leastrecent", wrapup_seconds=10, max_wait_seconds=120,
                  service_level_seconds=20, announce_position=True)
    fields.update(kw)
    return QueueConf(name, **fields)


def test_each_strategy_and_setting_is_rendered(pbx_settings):
    queues = [q("support-en"), q("support-hi", language="hi", strategy="rrmemory", wrapup_seconds=0,
                                 service_level_seconds=30, announce_position=False),
              q("north-ta", language="ta", strategy="linear", wrapup_seconds=45)]
    conf = parse(render_config(pbx_settings, [], [], queues)["queues.conf"])
    assert conf.sections() == ["general", "support-en", "support-hi", "north-ta"]
    assert conf["general"]["persistentmembers"] == "no"
    assert [conf[n]["strategy"] for n in ("support-en", "support-hi", "north-ta")] == list(QUEUE_STRATEGIES)
    en, hi, ta = conf["support-en"], conf["support-hi"], conf["north-ta"]
    assert (en["wrapuptime"], hi["wrapuptime"], ta["wrapuptime"]) == ("10", "0", "45")
    assert (en["servicelevel"], hi["servicelevel"]) == ("20", "30")
    for section in (en, hi, ta):
        assert section["musicclass"] == "default"
        assert section["ringinuse"] == "no" and section["autopause"] == "no"
        assert section["joinempty"] == "unavailable,invalid,unknown"
        assert section["leavewhenempty"] == "unavailable,invalid,unknown"
        assert int(section["timeout"]) > 0 and int(section["retry"]) > 0
    assert en["announce-position"] == "yes" and en["periodic-announce"] == "queue-periodic-announce"
    assert int(en["announce-frequency"]) > 0 and int(en["periodic-announce-frequency"]) > 0
    assert hi["announce-position"] == "no" and hi["announce-frequency"] == "0"
    assert "periodic-announce" not in hi


def test_no_queues_renders_only_general(pbx_settings):
    conf = parse(render_config(pbx_settings, [], [])["queues.conf"])
    assert conf.sections() == ["general"]


@pytest.mark.parametrize("bad", [
    q("Support"), q("support_en"), q("a" * 41), q("x]\n[general"), q("general"), q("-x"),
    q(language="english"), q(language="e\n"), q(strategy="random"), q(strategy="ringall"),
    q(wrapup_seconds=-1), q(wrapup_seconds=True), q(max_wait_seconds=5), q(service_level_seconds="20"),
    q(announce_position="yes"),
])
def test_bad_queue_values_are_refused(pbx_settings, bad):
    with pytest.raises(ValueError):
        render_config(pbx_settings, [], [], [bad])


def test_duplicate_queue_refused(pbx_settings):
    with pytest.raises(ValueError, match="duplicate"):
        render_config(pbx_settings, [], [], [q(), q()])


def test_queue_row_to_conf():
    row = Queue(name="south-kn", language="kn", strategy="rrmemory", wrapup_seconds=5, max_wait_seconds=90,
                service_level_seconds=15, announce_position=False)
    assert queue_conf(row) == QueueConf("south-kn", "kn", "rrmemory", 5, 90, 15, False)


def test_call_work_user_drives_queues_and_hears_their_events(pbx_settings):
    manager = parse(render_config(pbx_settings, [], [])["manager.conf"])
    user = manager[pbx_settings.ami.username]
    assert "agent" in user["read"].split(",") and "agent" in user["write"].split(",")
    assert "config" not in user["write"] and "system" not in user["write"]
    text = render_config(pbx_settings, [], [])["manager.conf"]
    for name in QUEUE_EVENTS + ("Hangup", "DialEnd"):  # click-to-call's events stay
        assert f"eventfilter(action(include),name({name})) =" in text


def test_the_admin_user_may_reload_but_not_write_config(pbx_settings):
    """Reload (sent as the admin with PJSIPShowContacts, ADMIN_ACTIONS) needs
    "config" or "system"; "config" would also allow UpdateConfig/CreateConfig."""
    admin = parse(render_config(pbx_settings, [], [])["manager.conf"])[pbx_settings.ami.admin_username]
    assert ADMIN_ACTIONS == ("Reload", "PJSIPShowContacts")
    assert admin["write"].split(",") == ["system"]
    assert admin["read"].split(",") == ["system"]


def test_mobile_members_dial_through_the_trunk(pbx_settings):
    files = render_config(pbx_settings, [TrunkConf("carrier1", "127.0.0.2", 5060, 250)], [])
    assert "[cc-queue-mobile]" in files["extensions.conf"]
    assert "load => res_musiconhold.so" in files["modules.conf"]
    moh = parse(files["musiconhold.conf"])
    assert moh["default"]["mode"] == "files" and moh["default"]["directory"].endswith("/lib/moh")
    assert mobile_interface("919812345678", "carrier1", "8062247000") == \
        "Local/919812345678.carrier1.8062247000@cc-queue-mobile/n"
    assert uses_trunk(mobile_interface("919812345678", "carrier1", "8062247000"))
    assert desktop_interface("ph-asha") == "PJSIP/ph-asha" and not uses_trunk("PJSIP/ph-asha")
    for args in (("9198;x", "carrier1", "806"), ("919812345678", "car.rier", "806"),
                 ("919812345678", "carrier1", "806\r\nAction: Command"), ("12", "carrier1", "806")):
        with pytest.raises(ValueError):
            mobile_interface(*args)
    for bad in ("ph asha", "PH", "a/b", "x\r\n"):
        with pytest.raises(ValueError):
            desktop_interface(bad)


def test_hold_music_is_written_once(tmp_path):
    path = hold_music.ensure(tmp_path / "moh")
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() / 8000 > 10
    mtime = path.stat().st_mtime_ns
    assert hold_music.ensure(tmp_path / "moh") == path and path.stat().st_mtime_ns == mtime
