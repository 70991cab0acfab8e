"""Byte-level AMI framing: no panoramisk, no asyncio, no regex.

An AMI stream is a banner line (``Asterisk Call Manager/x.y.z\\r\\n``) followed
by messages, each a block of ``Name: value`` lines terminated by an empty line
(``\\r\\n\\r\\n``).  We frame on *bytes* and decode only complete messages
(UTF-8, ``errors="replace"``), so a multi-byte character split across two TCP
chunks (panoramisk decodes each chunk on its own and drops it) stays whole.

Parsing a message gives a plain ``dict[str, str]`` with header names exactly as
Asterisk sent them.  A header that occurs several times (``Output``,
``ChanVariable``, ``Variable``) keeps all its values joined by ``"\\n"`` (a
value can never contain a newline on the wire, so this is unambiguous).  Lines
without ``": "`` (old ``Response: Follows`` bodies, ``Key:`` with nothing after
it) are tolerated: ``Key:`` gives ``{"Key": ""}``, free text lines are appended
to ``"Output"``.
"""
from __future__ import annotations

from collections import deque

__all__ = ["Framer", "FrameTooLarge", "parse_message", "encode_message"]

_TERM = b"\r\n\r\n"
_TERM_S = "\r\n\r\n"
#: a single message (or the banner) larger than this is a broken peer
MAX_MESSAGE = 4 * 1024 * 1024


class FrameTooLarge(ValueError):
    """The peer sent more than ``max_message`` bytes without a message end."""


def _parse_slow(text: str) -> dict[str, str]:
    d: dict[str, str] = {}
    for line in text.split("\r\n"):
        if not line:
            continue
        k, sep, v = line.partition(": ")
        if not sep:
            if line.endswith(":") and " " not in line:
                k, v = line[:-1], ""
            else:
                k, v = "Output", line
        if k in d:
            d[k] = d[k] + "\n" + v
        else:
            d[k] = v
    return d


def parse_message(text: str) -> dict[str, str]:
    """One decoded message (without its terminating blank line) -> dict."""
    d: dict[str, str] = {}
    lines = text.split("\r\n")
    for line in lines:
        k, sep, v = line.partition(": ")
        if not sep:
            return _parse_slow(text)
        d[k] = v
    if len(d) != len(lines):  # a repeated header
        return _parse_slow(text)
    return d


def encode_message(headers: list[tuple[str, str]]) -> bytes:
    """Serialise ``[(name, value), ...]`` as one AMI message (no validation)."""
    return ("".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("utf-8")


class Framer:
    """Accumulates bytes, cuts complete messages, parses them on demand.

    ``feed(data)`` is cheap (one ``rfind`` and, when at least one message is
    complete, one decode + split of all complete messages); ``pop(limit)``
    parses at most ``limit`` messages so a caller can spread a large backlog
    over several event-loop iterations.
    """

    __slots__ = ("_buf", "_scan", "_texts", "banner", "max_message")

    def __init__(self, *, expect_banner: bool = True, max_message: int = MAX_MESSAGE) -> None:
        self._buf = bytearray()
        self._scan = 0  # where a terminator not yet seen could start
        self._texts: deque[str] = deque()
        self.banner: str | None = None if expect_banner else ""
        self.max_message = max_message

    def __len__(self) -> int:
        """Complete messages waiting to be parsed."""
        return len(self._texts)

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete message kept for the next chunk."""
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if self.banner is None:
            i = buf.find(b"\r\n")
            if i < 0:
                if len(buf) > self.max_message:
                    raise FrameTooLarge("no banner line")
                return
            self.banner = bytes(buf[:i]).decode("utf-8", "replace")
            del buf[: i + 2]
            self._scan = 0
        end = buf.rfind(_TERM, self._scan)
        if end < 0:
            n = len(buf)
            if n > self.max_message:
                raise FrameTooLarge(f"{n} bytes without a message end")
            self._scan = n - 3 if n > 3 else 0
            return
        text = buf[:end].decode("utf-8", "replace")
        del buf[: end + 4]
        n = len(buf)
        self._scan = n - 3 if n > 3 else 0
        self._texts.extend(text.split(_TERM_S))

    def pop(self, limit: int) -> list[dict[str, str]]:
        """Parse and return at most ``limit`` complete messages (empty ones,
        e.g. from a stray blank line, are skipped)."""
        texts = self._texts
        out = []
        append = out.append
        popleft = texts.popleft
        for _ in range(min(limit, len(texts))):
            text = popleft()
            # parse_message() inlined: this is the hot path
            d = {}
            lines = text.split("\r\n")
            for line in lines:
                k, sep, v = line.partition(": ")
                if not sep:
                    d = _parse_slow(text)
                    break
                d[k] = v
            else:
                if len(d) != len(lines):  # a repeated header
                    d = _parse_slow(text)
            if d:
                append(d)
        return out

    def clear(self) -> None:
        self._buf.clear()
        self._texts.clear()
        self._scan = 0
