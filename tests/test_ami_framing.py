"""The byte-level AMI framer (no network, no panoramisk)."""
import pytest

from callcenter.ami.framing import Framer, FrameTooLarge, parse_message

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
EV = ("Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\nCallerIDName: प्रिया ಪ್ರಿಯಾ\r\n"
      "Uniqueid: 1700000000.1\r\n\r\n").encode("utf-8")


def feed_all(framer: Framer, data: bytes, step: int) -> list[dict]:
    out = []
    for i in range(0, len(data), step):
        framer.feed(data[i:i + step])
        out += framer.pop(1000)
    return out


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 4096])
def test_multibyte_names_survive_any_split(step):
    f = Framer()
    msgs = feed_all(f, BANNER + EV * 3, step)
    assert f.banner == "Asterisk Call Manager/11.0.0"
    assert len(msgs) == 3
    for m in msgs:
        assert m == {"Event": "Newchannel", "Channel": "PJSIP/trunk-00000001",
                     "CallerIDName": "प्रिया ಪ್ರಿಯಾ", "Uniqueid": "1700000000.1"}
    assert f.buffered == 0 and len(f) == 0


def test_every_split_offset():
    data = BANNER + EV + EV
    for cut in range(1, len(data)):
        f = Framer()
        f.feed(data[:cut])
        msgs = f.pop(10)
        f.feed(data[cut:])
        msgs += f.pop(10)
        assert [m["CallerIDName"] for m in msgs] == ["प्रिया ಪ್ರಿಯಾ"] * 2, cut


def test_pop_limit_and_backlog():
    f = Framer(expect_banner=False)
    f.feed(EV * 10)
    assert len(f) == 10
    assert len(f.pop(4)) == 4
    assert len(f) == 6
    assert len(f.pop(100)) == 6


def test_invalid_utf8_is_replaced_not_dropped():
    f = Framer(expect_banner=False)
    f.feed(b"Event: X\r\nName: a\xffb\r\n\r\n")
    assert f.pop(1) == [{"Event": "X", "Name": "a\ufffdb"}]


def test_repeated_headers_and_odd_lines():
    assert parse_message("Response: Success\r\nOutput: a\r\nOutput: b") == {
        "Response": "Success", "Output": "a\nb"}
    assert parse_message("Event: X\r\nEmpty:\r\nValue: has: colon") == {
        "Event": "X", "Empty": "", "Value": "has: colon"}
    assert parse_message("Event: X\r\nAccountCode: ") == {"Event": "X", "AccountCode": ""}
    assert parse_message("Response: Follows\r\nsome output\r\n--END COMMAND--") == {
        "Response": "Follows", "Output": "some output\n--END COMMAND--"}


def test_stray_blank_lines_are_skipped():
    f = Framer(expect_banner=False)
    f.feed(b"\r\n\r\nEvent: A\r\n\r\n\r\n\r\nEvent: B\r\n\r\n")
    assert [m["Event"] for m in f.pop(10)] == ["A", "B"]


def test_too_large_message_raises():
    f = Framer(expect_banner=False, max_message=1000)
    with pytest.raises(FrameTooLarge):
        f.feed(b"Event: X\r\nData: " + b"x" * 2000)
