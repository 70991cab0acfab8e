"""The queues' default music on hold: a soft chime, synthesised once into the
instance's ``lib/moh`` folder (the PBX root ships no music). 8 kHz 16-bit
mono WAV, which Asterisk plays without transcoding effort."""
from __future__ import annotations

import math
import os
import struct
import tempfile
import wave
from pathlib import Path

FILE_NAME = "cc-hold-chime.wav"
RATE = 8000
# (frequency Hz, seconds): a slow arpeggio, then a rest; Asterisk loops the file.
_NOTES = ((523.25, 0.6), (659.25, 0.6), (783.99, 0.6), (659.25, 0.6), (587.33, 0.6), (698.46, 0.6),
          (880.0, 0.6), (698.46, 0.6), (523.25, 1.2), (0.0, 1.6))


def _samples() -> bytes:
    out = bytearray()
    for freq, seconds in _NOTES:
        n = int(RATE * seconds)
        for i in range(n):
            envelope = min(1.0, i / 400) * math.exp(-3.0 * i / n)
            value = 0.18 * envelope * math.sin(2 * math.pi * freq * i / RATE) if freq else 0.0
            out += struct.pack("<h", int(value * 32767))
    return bytes(out)


def ensure(folder: Path, uid: int | None = None, gid: int | None = None) -> Path:
    """Write the chime into ``folder`` unless it is there; returns its path."""
    folder.mkdir(mode=0o750, parents=True, exist_ok=True)
    if uid is not None:
        os.chown(folder, uid, gid)
    path = folder / FILE_NAME
    if path.is_file():
        return path
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".moh.")
    try:
        with os.fdopen(fd, "wb") as fh, wave.open(fh, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(_samples() * 2)
        os.chmod(tmp, 0o640)
        if uid is not None:
            os.chown(tmp, uid, gid)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path
