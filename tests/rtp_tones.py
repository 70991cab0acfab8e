"""Hearing what each phone hears: PCMA tone pcaps for sipp to play, a raw
capture of the RTP Asterisk sends on loopback, and a Goertzel filter.

Each sipp runs on its own loopback address, so the RTP sent *to* an address
is what that phone hears. The capture is an ``AF_PACKET`` socket on ``lo``
(root, inside the test's network namespace); each loopback packet is seen
twice, so only ``PACKET_HOST`` copies are kept."""
from __future__ import annotations

import bisect
import functools
import math
import socket
import struct
import threading
import wave
from pathlib import Path

SAMPLE_RATE = 8000
FRAME = 160          # 20 ms of A-law
PACKET_HOST = 0


def alaw_to_linear(code: int) -> int:
    code ^= 0x55
    value = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    value += 8 if segment == 0 else 0x108
    if segment > 1:
        value <<= segment - 1
    return value if code & 0x80 else -value


DECODE = [alaw_to_linear(c) for c in range(256)]
_SORTED = sorted((v, c) for c, v in enumerate(DECODE))
_VALUES = [v for v, _ in _SORTED]


def linear_to_alaw(sample: int) -> int:
    i = bisect.bisect_left(_VALUES, sample)
    best = min((j for j in (i - 1, i) if 0 <= j < len(_VALUES)), key=lambda j: abs(_VALUES[j] - sample))
    return _SORTED[best][1]


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack("!10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def write_tone_pcap(path: Path, frequency: float, seconds: float = 20.0, amplitude: int = 8000) -> Path:
    """A pcap (Ethernet link type, as sipp wants) of PCMA RTP carrying a sine of ``frequency``."""
    path.write_bytes(_tone_pcap(frequency, seconds, amplitude))
    return path


@functools.cache  # made once a process: encoding 20 s of tone in Python took a second of CPU a test
def _tone_pcap(frequency: float, seconds: float, amplitude: int) -> bytes:
    frames = int(seconds * 1000 / 20)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for n in range(frames):
        payload = bytes(linear_to_alaw(int(amplitude * math.sin(2 * math.pi * frequency * (n * FRAME + k)
                                                                 / SAMPLE_RATE))) for k in range(FRAME))
        rtp = struct.pack("!BBHII", 0x80, 8, n & 0xFFFF, (n * FRAME) & 0xFFFFFFFF, 0x1234ABCD) + payload
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xFFFF, 0, 64, 17, 0,
                         socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:] + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        ts = n * 0.02
        out.append(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(frame), len(frame)) + frame)
    return b"".join(out)


def tone_scenario(template: Path, pcap: Path, out: Path) -> Path:
    """A copy of a sipp scenario playing ``pcap`` instead of sipp's g711a.pcap."""
    out.write_text(template.read_text().replace("/usr/share/sip-tester/g711a.pcap", str(pcap)))
    return out


class RtpCapture:
    """PCMA payloads (and RFC 4733 DTMF event codes) Asterisk sends to each of ``addresses``, while running."""

    def __init__(self, addresses) -> None:
        self.frames: dict[str, list[bytes]] = {a: [] for a in addresses}
        self.events: dict[str, list[int]] = {a: [] for a in addresses}   # DTMF event codes (0-9, 10 *, 11 #)
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self._sock.bind(("lo", 0))
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, address = self._sock.recvfrom(2048)
            except socket.timeout:
                continue
            if address[2] != PACKET_HOST or len(data) < 14 + 20 + 8 + 12 or data[12:14] != b"\x08\x00":
                continue
            ip = data[14:]
            if ip[9] != 17:
                continue
            destination = socket.inet_ntoa(ip[16:20])
            rtp = ip[(ip[0] & 0x0F) * 4 + 8:]
            if destination not in self.frames or rtp[0] >> 6 != 2:
                continue
            if rtp[1] & 0x7F == 8:
                self.frames[destination].append(rtp[12:])
            elif rtp[1] & 0x7F >= 96 and len(rtp) == 16:   # RFC 4733 telephone-event: the digit's code
                self.events[destination].append(rtp[12])

    def stop(self) -> dict[str, list[bytes]]:
        self._stop.set()
        self._thread.join()
        self._sock.close()
        return self.frames


def tone_share(payload: bytes, frequency: float) -> float:
    """The share of the frame's energy at ``frequency`` (Goertzel): about 1 for a pure tone."""
    return linear_share([DECODE[b] for b in payload], frequency)


def linear_share(samples, frequency: float, rate: int = SAMPLE_RATE) -> float:
    """``tone_share`` of linear samples at ``rate`` Hz."""
    energy = sum(s * s for s in samples)
    if energy == 0:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for s in samples:
        s1, s2 = s + coefficient * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
    return power / (len(samples) / 2 * energy)


def write_tone_wav(path: Path, frequency: float, seconds: float = 10.0, rate: int = 48000,
                   amplitude: int = 9000, beeps: tuple[float, float] | None = None) -> Path:
    """A mono 16-bit WAV of a sine (e.g. Chromium's fake microphone:
    ``--use-file-for-fake-audio-capture``, which loops it). ``beeps=(on, off)``
    seconds: the tone in bursts with silence between, as speech comes; a
    browser's noise suppression fades a steady tone out within 2 s."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(_tone_samples(frequency, seconds, rate, amplitude, beeps))
    return path


@functools.cache  # once a process, as the pcaps
def _tone_samples(frequency: float, seconds: float, rate: int, amplitude: int,
                  beeps: tuple[float, float] | None) -> bytes:
    count = int(seconds * rate)

    def level(n: int) -> float:
        if beeps is None:
            return 1.0
        return 1.0 if (n / rate) % (beeps[0] + beeps[1]) < beeps[0] else 0.0
    samples = (int(level(n) * amplitude * math.sin(2 * math.pi * frequency * n / rate)) for n in range(count))
    return b"".join(struct.pack("<h", v) for v in samples)


def wav_tones(path: Path, frequencies, share: float = 0.2) -> tuple[int, dict[float, int]]:
    """A 16-bit WAV (a recording) cut in 20 ms frames: (frames, {frequency:
    frames with at least ``share`` of their energy at it}). Silent frames count
    in the total, so the figures say how much of the file holds each tone."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2, f"{path}: not 16-bit PCM"
        rate, channels = wav.getframerate(), wav.getnchannels()
        data = wav.readframes(wav.getnframes())
    samples = struct.unpack(f"<{len(data) // 2}h", data)[::channels]
    size = rate // 50
    frames = [samples[i:i + size] for i in range(0, len(samples) - size + 1, size)]
    found = {f: sum(1 for fr in frames if linear_share(fr, f, rate) >= share) for f in frequencies}
    return len(frames), found


def frames_with(frames: list[bytes], frequency: float, share: float = 0.2) -> int:
    """How many 20 ms frames carry ``frequency`` with at least ``share`` of their energy."""
    return sum(1 for f in frames if len(f) == FRAME and tone_share(f, frequency) >= share)
