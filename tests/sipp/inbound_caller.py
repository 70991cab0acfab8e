"""A sipp caller for inbound tests: dials a DID from a carrier address, then
follows a script of pauses and DTMF digits, then hangs up or waits for the
PBX to.

sipp cannot take pcap paths from variables, so each test writes its own
scenario from this template, with one pcap per digit: RFC 4733
telephone-event packets (Ethernet link type; sipp refuses raw IP), each
digit with a fresh RTP timestamp and continuing sequence numbers (the stock
dtmf_2833_*.pcap files share one timestamp, so Asterisk takes a repeated
digit for the same event), led by a few A-law silence packets so Asterisk's
strict-RTP learning has settled before the event starts.

    steps = [("pause", 3000), ("dtmf", "9"), ("pause", 8000), ("dtmf", "2")]
    path = write_caller(tmp_path, steps, end="wait_bye", caller="9876543210")
"""
from __future__ import annotations

import struct
from pathlib import Path

from tests.sipp.make_scenarios import HEAD, play, sdp, send

EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
SSRC = 0x43C0FFEE
PT_ALAW, PT_EVENT = 8, 101
ALAW_SILENCE = b"\xd5" * 160


def _packet(seq: int, ts: int, pt: int, payload: bytes, marker: bool = False) -> bytes:
    rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, SSRC) + payload
    udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
    return b"\x00" * 6 + b"\x02" + b"\x00" * 5 + b"\x08\x00" + ip  # Ethernet, IPv4


def dtmf_pcap(path: Path, digit: str, index: int) -> Path:
    """A pcap holding one digit: 3 silence packets, then the event (6 updates
    and 3 end packets), 20 ms apart. ``index`` spaces timestamps and sequence
    numbers so every digit of a call is a new event."""
    event = EVENTS[digit]
    seq = 1000 + index * 40
    ts = 160_000 + index * 80_000
    packets = []
    for _ in range(3):
        packets.append(_packet(seq, ts, PT_ALAW, ALAW_SILENCE))
        seq, ts = seq + 1, ts + 160
    for n in range(1, 7):
        body = struct.pack("!BBH", event, 10, 160 * n)
        packets.append(_packet(seq, ts, PT_EVENT, body, marker=(n == 1)))
        seq += 1
    for _ in range(3):
        packets.append(_packet(seq, ts, PT_EVENT, struct.pack("!BBH", event, 0x80 | 10, 160 * 7)))
        seq += 1
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for n, packet in enumerate(packets):
        usec = n * 20_000
        out.append(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(packet), len(packet)) + packet)
    path.write_bytes(b"".join(out))
    return path


FROM = "From: {display}<sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"
INVITE = send(f"""      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      {FROM}
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

""" + sdp("carrier"), retrans=True) + """  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
""" + send(f"""      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      {FROM}
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
""")
SEND_BYE = send(f"""      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      {FROM}
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
""", retrans=True) + """  <recv response="200" crlf="true"/>
"""
WAIT_BYE = """  <recv request="BYE"/>
""" + send("""      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:carrier@[local_ip]:[local_port]>
      Content-Length: 0
""")


def write_caller(folder: Path, steps, end: str = "bye", caller: str = "9876543210",
                 display: str = "") -> Path:
    """The scenario file (and its pcaps) in ``folder``. ``caller`` and
    ``display`` go into the From header as given (hostile values welcome;
    they go into the CDATA unchanged). ``end``: "bye" (the caller hangs up after the
    steps) or "wait_bye" (the PBX hangs up)."""
    folder.mkdir(parents=True, exist_ok=True)
    body = []
    digits = 0
    for kind, value in steps:
        if kind == "pause":
            body.append(f'  <pause milliseconds="{int(value)}"/>\n')
        elif kind == "dtmf":
            pcap = dtmf_pcap(folder / f"dtmf-{digits}-{EVENTS[value]}.pcap", value, digits)
            digits += 1
            body.append(play(pcap))
        else:
            raise ValueError(kind)
    shown = f'"{display}" ' if display else ""
    for value in (caller, display):  # inside CDATA: raw, but sipp reads [..] as its keywords
        if "[" in value or "]" in value or "\n" in value:
            raise ValueError("caller values may not hold [ ] or raw newlines (use %0a in the URI)")
    fill = {"display": shown, "caller": caller}
    text = (HEAD + '<!-- Generated by tests/sipp/inbound_caller.py -->\n<scenario name="inbound caller">\n'
            + INVITE.format(**fill) + "".join(body)
            + (SEND_BYE.format(**fill) if end == "bye" else WAIT_BYE) + "</scenario>\n")
    path = folder / "inbound_caller.xml"
    path.write_text(text, encoding="latin-1", errors="strict")
    return path
