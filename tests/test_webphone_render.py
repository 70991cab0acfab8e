"""The Asterisk config of web phones, as rendered (no Asterisk needed):
Asterisk's HTTP server on loopback only, the browser endpoint and its
codecs, the microphone-test extension, and the values render refuses."""
from __future__ import annotations

import dataclasses
import hashlib

import pytest

from callcenter.pbx.render import PhoneConf, TrunkConf, render_config

MD5 = hashlib.md5(b"wb-lena:callcenter:a-login-password").hexdigest()
LENA = PhoneConf("wb-lena", MD5, None, browser=True)
DESK = PhoneConf("ph-asha", None, "sip:127.0.0.10:5070")
CARRIER = TrunkConf("carrier1", "127.0.0.2", 5060, 30)


@pytest.fixture
def pbx_settings(settings):
    ami = dataclasses.replace(settings.ami, secret="s" * 24, admin_secret="a" * 24)
    return dataclasses.replace(settings, ami=ami)


def with_pbx(settings, **changes):
    return dataclasses.replace(settings, pbx=dataclasses.replace(settings.pbx, **changes))


def sections(text: str) -> dict[str, list[dict]]:
    """PJSIP-style config: section name -> every section of that name (aor, auth, endpoint...)."""
    out: dict[str, list[dict]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            current = {}
            out.setdefault(line[1:-1], []).append(current)
        elif "=" in line and current is not None:
            key, value = (part.strip() for part in line.split("=", 1))
            current[key] = value
    return out


def pjsip_object(text: str, name: str, kind: str) -> dict:
    [obj] = [s for s in sections(text)[name] if s.get("type") == kind]
    return obj


def test_asterisk_http_server_listens_on_loopback_only_at_http_port(pbx_settings):
    conf = with_pbx(pbx_settings, http_port=18088)
    http = sections(render_config(conf, [], [])["http.conf"])["general"][0]
    assert http["enabled"] == "yes" and http["enablestatic"] == "no"
    assert (http["bindaddr"], http["bindport"]) == ("127.0.0.1", "18088")
    ws = pjsip_object(render_config(conf, [], [])["pjsip.conf"], "transport-ws", "transport")
    assert ws["protocol"] == "ws"


def test_a_browser_phone_is_a_webrtc_endpoint_with_its_login_digest(pbx_settings):
    pjsip = render_config(pbx_settings, [CARRIER], [LENA, DESK])["pjsip.conf"]
    endpoint = pjsip_object(pjsip, "wb-lena", "endpoint")
    assert endpoint["webrtc"] == "yes" and endpoint["dtls_auto_generate_cert"] == "yes"
    assert endpoint["transport"] == "transport-ws" and endpoint["context"] == "cc-webphone"
    assert endpoint["allow"] == "alaw,opus" and int(endpoint["rtp_timeout"]) > 0
    assert "bind_rtp_to_media_address" not in endpoint   # ICE: RTP on every interface
    auth = pjsip_object(pjsip, "wb-lena", "auth")
    assert auth["password_digest"] == f"MD5:{MD5}" and auth["realm"] == pbx_settings.pbx.sip_realm
    aor = pjsip_object(pjsip, "wb-lena", "aor")
    assert (aor["max_contacts"], aor["remove_existing"]) == ("1", "yes") and int(aor["qualify_frequency"]) > 0
    # desk phones and carriers are unchanged: UDP, A-law and u-law, no WebRTC
    for name in ("ph-asha", "carrier1"):
        other = pjsip_object(pjsip, name, "endpoint")
        assert other["transport"] == "transport-udp" and other["allow"] == "alaw,ulaw"
        assert "webrtc" not in other


def test_webphone_codec_setting_puts_opus_first_for_browsers_only(pbx_settings):
    settings = dataclasses.replace(pbx_settings)
    settings.webphone = dataclasses.replace(settings.webphone, codec="opus")
    pjsip = render_config(settings, [CARRIER], [LENA])["pjsip.conf"]
    assert pjsip_object(pjsip, "wb-lena", "endpoint")["allow"] == "opus,alaw"
    assert pjsip_object(pjsip, "carrier1", "endpoint")["allow"] == "alaw,ulaw"


def test_webphone_context_offers_the_echo_test_and_nothing_else(pbx_settings):
    text = render_config(pbx_settings, [], [LENA])["extensions.conf"]
    body = text[text.index("[cc-webphone]"):]
    assert "exten => echo,1,Answer()" in body and "Echo()" in body and "Playback(beep)" in body
    assert "exten => _[0-9a-zA-Z+*#].,1,Hangup(21)" in body


def test_modules_for_webrtc_are_loaded(pbx_settings):
    modules = render_config(pbx_settings, [], [])["modules.conf"]
    for module in ("res_http_websocket", "res_pjsip_transport_websocket", "res_srtp",
                   "codec_opus_open_source", "res_format_attr_opus", "codec_resample", "app_echo"):
        assert f"load => {module}.so" in modules


def test_a_carrier_on_the_proxy_address_is_refused_while_web_phones_exist(pbx_settings):
    on_loopback = TrunkConf("carrier1", "127.0.0.1", 5060, 30)
    with pytest.raises(ValueError, match="127.0.0.1"):
        render_config(pbx_settings, [on_loopback], [LENA])
    render_config(pbx_settings, [on_loopback], [DESK])  # no web phone: as before


@pytest.mark.parametrize("port", [0, 70000, "8088", True])
def test_a_bad_http_port_is_refused(pbx_settings, port):
    with pytest.raises(ValueError, match="http_port"):
        render_config(with_pbx(pbx_settings, http_port=port), [], [])


def test_http_port_may_not_be_another_servers_port(pbx_settings):
    for taken in (pbx_settings.ami.port, pbx_settings.web.port):
        with pytest.raises(ValueError, match="http_port"):
            render_config(with_pbx(pbx_settings, http_port=taken), [], [])


def test_a_web_phone_needs_login_credentials_and_no_static_contact(pbx_settings):
    with pytest.raises(ValueError, match="web phone"):
        render_config(pbx_settings, [], [PhoneConf("wb-lena", None, "sip:127.0.0.10:5070", browser=True)])
