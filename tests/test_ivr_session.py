"""IvrSession against a scripted fake Asterisk over a real FastAGI socket:
what each engine action becomes on the wire, how replies become answers
(digit codes, GET DATA strings, QUEUESTATUS), and that nothing a caller sent
ends up in a command. Also the prompt catalogue, cache and publishing."""
from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from pathlib import Path

import pytest

from ivr.settings import IvrSettings
from ivr import prompts
from ivr.dids import parse_dids
from ivr.engine import Lookup
from ivr.fastagi import FastAgiServer
from ivr.flows import FlowError, parse_flow
from ivr.metrics import IvrMetrics
from ivr.prompts import PromptBook
from ivr.session import IvrHooks, IvrSession
from tests.test_ivr_fastagi import ENV, begin

FLOW = parse_flow("t", {
    "start": "menu",
    "nodes": {
        "menu": {"kind": "menu", "prompt": "choose", "options": {"1": "survey", "2": "queue"}, "retries": 1,
                 "invalid_prompt": "bad"},
        "survey": {"kind": "survey_question", "prompt": "nps", "question": "nps", "scale": "nps", "next": "bye"},
        "queue": {"kind": "queue", "queue": "support-{language}", "max_wait": 30, "on_timeout": "offer",
                  "on_unavailable": "bye"},
        "offer": {"kind": "callback_offer", "prompt": "offer", "accepted": "bye", "declined": "bye"},
        "bye": {"kind": "hangup", "prompt": "bye"},
    },
})
BOOK = PromptBook(files={("choose", "en"): "/srv/x/prompts/en/choose", ("bad", "en"): "/srv/x/prompts/en/bad",
                         ("nps", "en"): "/srv/x/prompts/en/nps", ("offer", "en"): "/srv/x/prompts/en/offer"},
                  core={"bye"})


class Recorder(IvrHooks):
    def __init__(self):
        self.callbacks, self.answers = [], []

    async def lookup(self, caller):
        return Lookup(False)

    async def request_callback(self, record, action):
        self.callbacks.append(record.caller)

    async def store_answer(self, record, action):
        self.answers.append((action.question, action.value))


@pytest.fixture
async def ivr():
    hooks, recent, metrics = Recorder(), deque(), IvrMetrics()

    async def handler(conn):
        await IvrSession(conn, {"t": FLOW}, parse_dids({"default": "t"}, {"t"}), BOOK, hooks, metrics,
                         recent).run()

    server = FastAgiServer(dataclasses.replace(IvrSettings(port=0, command_timeout=2.0)), handler, metrics)
    await server.start()
    yield server, hooks, recent
    await server.close()


async def converse(port, replies: dict, env: bytes = ENV) -> list[str]:
    """Play Asterisk: answer each command by the first matching prefix in
    ``replies`` (a list of answers is used in turn); return the commands."""
    reader, writer = await begin(port, env)  # the environment and the server's check of its end
    seen = []
    turns = {k: list(v) if isinstance(v, list) else v for k, v in replies.items()}
    while True:
        line = await asyncio.wait_for(reader.readline(), 3)
        if not line:
            break
        command = line.decode().rstrip("\n")
        seen.append(command)
        reply = next((v for k, v in turns.items() if command.startswith(k)), "200 result=0")
        if isinstance(reply, list):
            reply = reply.pop(0) if len(reply) > 1 else reply[0]
        writer.write(reply.encode() + b"\n")
        if command == "HANGUP":
            writer.write(b"HANGUP\n")
    writer.close()
    return seen


async def test_menu_digit_codes_survey_digits_and_the_hangup(ivr):
    server, hooks, recent = ivr
    seen = await converse(server.port, {
        'STREAM FILE /srv/x/prompts/en/choose': ["200 result=57 endpos=100", "200 result=49 endpos=100"],
        "GET DATA": "200 result=09 (timeout)",
    })
    assert seen == [
        "ANSWER",
        'STREAM FILE /srv/x/prompts/en/choose "0123456789*#"',  # '9' (57): invalid
        'STREAM FILE /srv/x/prompts/en/bad ""',
        'STREAM FILE /srv/x/prompts/en/choose "0123456789*#"',  # '1' (49)
        "GET DATA /srv/x/prompts/en/nps 5000 2",
        'STREAM FILE bye ""',
        "HANGUP",
    ]
    assert hooks.answers == [("nps", 9)]
    record = recent[-1]
    assert record.outcome == "completed" and record.did == "8062247000" and record.caller == "+919876543210"
    assert record.path == [("menu", "invalid"), ("menu", "1"), ("survey", "09"), ("bye", "hangup")]


async def test_no_digit_waits_and_a_non_dtmf_code_is_invalid(ivr):
    server, hooks, recent = ivr
    seen = await converse(server.port, {"WAIT FOR DIGIT": ["200 result=65", "200 result=0"]})
    assert seen[1:4] == ['STREAM FILE /srv/x/prompts/en/choose "0123456789*#"', "WAIT FOR DIGIT 5000",
                         'STREAM FILE /srv/x/prompts/en/bad ""']
    assert recent[-1].path[:3] == [("menu", "invalid"), ("menu", "no_input"), ("menu", "retries_exhausted")]


@pytest.mark.parametrize("status, way, callbacks", [("TIMEOUT", "timeout", 1), ("JOINEMPTY", "joinempty", 0),
                                                     (None, "unavailable", 0)])
async def test_the_queue_runs_asterisk_queue_and_reads_its_status(ivr, status, way, callbacks):
    server, hooks, recent = ivr
    seen = await converse(server.port, {
        "STREAM FILE /srv/x/prompts/en/choose": "200 result=50",
        "GET VARIABLE QUEUESTATUS": f"200 result=1 ({status})" if status else "200 result=0",
        "STREAM FILE /srv/x/prompts/en/offer": "200 result=49",
    })
    assert "EXEC Queue support-en,,,,30" in seen
    assert ("queue", way) in recent[-1].path
    assert len(hooks.callbacks) == callbacks


async def test_a_caller_hanging_up_mid_prompt(ivr):
    server, hooks, recent = ivr
    await converse(server.port, {"STREAM FILE": "HANGUP\n200 result=-1 endpos=0"})
    assert recent[-1].outcome == "caller_hangup" and recent[-1].path == [("menu", "caller_hangup")]
    assert server.metrics.value("callcenter_ivr_sessions_total", outcome="caller_hangup") == 1


async def test_a_bad_did_argument_and_caller_id_are_dropped(ivr):
    server, hooks, recent = ivr
    env = ENV.replace(b"agi_arg_1: 8062247000", b"agi_arg_1: 80622$(x)").replace(
        b"agi_callerid: 9876543210", b"agi_callerid: 98;EXEC System")
    seen = await converse(server.port, {"STREAM FILE": "200 result=50"}, env=env)
    assert (recent[-1].did, recent[-1].caller, recent[-1].flow) == (None, None, "t")
    assert not any("$" in c or "System" in c for c in seen)


async def test_an_unknown_script_is_refused(ivr):
    server, hooks, recent = ivr
    env = ENV.replace(b"agi_network_script: flow", b"agi_network_script: other")
    assert await converse(server.port, {}, env=env) == []
    assert server.metrics.value("callcenter_ivr_errors_total", kind="protocol") == 1


def test_prompt_catalogue_render_cache_and_publish(tmp_path):
    if not prompts.tools_present():
        pytest.skip("espeak-ng and sox are installed by scripts/install.sh")
    catalogue = prompts.parse_catalogue({
        "hello": {"en": "Hello.", "hi": "नमस्ते।"},
        "bye": {"core": "vm-goodbye", "en": "Goodbye."},
        "menu": {"mixed": [["en", "One."], ["ta", "இரண்டு."]]},
    })
    cache = tmp_path / "cache"
    assert prompts.render_catalogue(catalogue, cache) == 4  # bye in English too (no root given); menu once
    assert prompts.render_catalogue(catalogue, cache) == 0            # cached by text hash
    root = tmp_path / "root"
    (root / "usr/share/asterisk/sounds/en_x").mkdir(parents=True)
    (root / "etc/alternatives").mkdir(parents=True)
    (root / "usr/share/asterisk/sounds/en_x/vm-goodbye.gsm").write_bytes(b"x")
    (root / "usr/share/asterisk/sounds/en_x/beep.gsm").write_bytes(b"x")
    # the root's absolute symlinks point inside the root
    (root / "etc/alternatives/prompt-en").symlink_to("/usr/share/asterisk/sounds/en_x")
    (root / "usr/share/asterisk/sounds/en").symlink_to("/etc/alternatives/prompt-en")
    book = prompts.publish(catalogue, cache, root, "/srv/callcenter/t")
    assert book.resolve("hello", "hi") == "/srv/callcenter/t/prompts/hi/hello"
    assert book.resolve("hello", "ta") == "/srv/callcenter/t/prompts/en/hello"   # English fallback
    assert book.resolve("bye", "en") == "vm-goodbye" and book.resolve("bye", "kn") == "vm-goodbye"
    assert book.resolve("menu", "ml") == "/srv/callcenter/t/prompts/ml/menu"
    assert book.resolve("beep", "hi") == "beep" and book.resolve("nothing", "en") is None
    published = root / "srv/callcenter/t/prompts/hi/hello.wav"
    assert published.stat().st_nlink == 2 and published.read_bytes()[:4] == b"RIFF"
    assert prompts.publish(catalogue, cache, root, "/srv/callcenter/t").files == book.files  # again: no-op


@pytest.mark.parametrize("data, words", [
    ({"Bad Name": {"en": "x"}}, "prompt names"),
    ({"p": {"fr": "Bonjour"}}, "unknown key"),
    ({"p": {"en": ""}}, "1-2000"),
    ({"p": {"core": "beep"}}, "needs an English text"),
    ({"p": {"mixed": [["xx", "t"]]}}, "[language, text]"),
    ({"p": {"mixed": [["en", "t"]], "hi": "x"}}, "not both"),
])
def test_prompt_catalogue_mistakes(data, words):
    with pytest.raises(FlowError, match=words.replace("[", r"\[").replace("]", r"\]")):
        prompts.parse_catalogue(data)


def test_the_shipped_catalogue_has_every_language_for_every_prompt():
    catalogue = prompts.load_catalogue(prompts.SHIPPED_FLOWS)
    for prompt in catalogue.values():
        assert prompt.mixed or set(prompt.texts) == set(prompts.VOICES), prompt.name
    assert Path(prompts.SHIPPED_FLOWS / "prompts.yaml").exists()
