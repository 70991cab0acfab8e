"""The IVR state machine: walks one flow for one caller, with no I/O.

``Walk.start()`` and ``Walk.feed(answer)`` return the actions to carry out,
in order. Only the last one can need an answer, which the driver
(``ivr.session``) feeds back:

    Read          -> Digits('12') / Digits('') when nothing was pressed
    LookUpCaller  -> Lookup(known, language)
    CheckTime     -> Clock(now)
    Enqueue       -> QueueOutcome('answered' | 'timeout' | 'full' | 'joinempty' ...)

``HangUp`` ends the walk. ``Walk.events`` collects ("visit", node) and
("exit", node, way out) for metrics and the session's path."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ivr.caller_input import DTMF_DIGITS
from ivr.flows import SCALES, Flow, Node
from ivr.hours import is_open

MAX_NODES_WITHOUT_INPUT = 100
# Queue outcomes meaning nobody can answer (rather than "waited too long").
UNAVAILABLE = frozenset({"joinempty", "leaveempty", "unavailable", "full"})


# ---- actions -------------------------------------------------------------------
@dataclass(frozen=True)
class Play:
    prompt: str
    language: str


@dataclass(frozen=True)
class Read:
    """Play ``prompt`` (interruptible) and collect up to ``max_digits`` digits."""
    prompt: str
    language: str
    timeout: float
    max_digits: int


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class LookUpCaller:
    pass


@dataclass(frozen=True)
class CheckTime:
    pass


@dataclass(frozen=True)
class Enqueue:
    queue: str
    max_wait: int
    language: str
    language_chosen: bool = False  # the caller pressed this language in a menu (see Walk.language_chosen)


@dataclass(frozen=True)
class StoreAnswer:
    question: str
    scale: str
    value: int


@dataclass(frozen=True)
class RequestCallback:
    node: str
    language: str
    language_chosen: bool = False


@dataclass(frozen=True)
class HangUp:
    pass


# ---- answers ---------------------------------------------------------------------
@dataclass(frozen=True)
class Digits:
    value: str  # '' when nothing was pressed in time


@dataclass(frozen=True)
class Lookup:
    known: bool
    language: str | None = None
    customer_id: int | None = None  # for the hooks (the walk itself needs only known/language)


@dataclass(frozen=True)
class Clock:
    now: dt.datetime


@dataclass(frozen=True)
class QueueOutcome:
    status: str  # answered, timeout, full, joinempty, leaveempty, unavailable ...


_ANSWERS = {Read: Digits, LookUpCaller: Lookup, CheckTime: Clock, Enqueue: QueueOutcome}


class FlowStuck(RuntimeError):
    """The walk went through too many nodes without waiting (a flow bug)."""


class Walk:
    def __init__(self, flow: Flow, language: str | None = None, languages: set[str] | None = None) -> None:
        self.flow = flow
        self.language = language or flow.language
        self.languages = languages  # those a customer's stored language may switch to
        self.node: Node | None = None
        self.language_set = False  # a set_language node ran: a customer's stored language no longer applies
        # The caller's explicit choice: the language was set by the menu option they pressed (a
        # set_language node that is the option itself), not by a flow default, a menu's on_failure
        # or the customer's stored language. Routing lets it outrank the customer's last agent.
        self.language_chosen = False
        self._pressed: str | None = None  # the node of the menu option being followed right now
        self.attempts = 0
        self.done = False
        self.events: list[tuple] = []
        self.path: list[tuple[str, str]] = []
        self._expect: type | None = None

    # -- driving ---------------------------------------------------------------
    def start(self) -> list:
        if self.node is not None:
            raise RuntimeError("the walk has started")
        return self._goto(self.flow.start, [])

    def feed(self, answer) -> list:
        if self.done:
            raise RuntimeError("the walk is over")
        if self._expect is None or not isinstance(answer, self._expect):
            raise TypeError(f"node {self.node.id} waits for {getattr(self._expect, '__name__', None)}, "
                            f"not {type(answer).__name__}")
        self._expect = None
        return getattr(self, f"_answer_{self.node.kind}")(self.node, answer)

    def caller_hung_up(self) -> None:
        if not self.done:
            if self.node is not None:
                self._exit(self.node, "caller_hangup")
            self.done = True

    def drain_events(self) -> list[tuple]:
        events, self.events = self.events, []
        return events

    # -- moving ------------------------------------------------------------------
    def _exit(self, node: Node, way: str) -> None:
        self.events.append(("exit", node.id, way))
        self.path.append((node.id, way))

    def _wait(self, actions: list, action) -> list:
        self._expect = _ANSWERS[type(action)]
        actions.append(action)
        return actions

    def _hang_up(self, actions: list) -> list:
        self.done = True
        actions.append(HangUp())
        return actions

    def _goto(self, node_id: str | None, actions: list) -> list:
        for _ in range(MAX_NODES_WITHOUT_INPUT):
            if node_id is None:
                return self._hang_up(actions)
            node = self.node = self.flow.nodes[node_id]
            self.attempts = 0
            self.events.append(("visit", node.id))
            kind = node.kind
            if kind == "prompt":
                actions.append(Play(node.prompt, self.language))
                self._exit(node, "next")
                node_id = node.next
            elif kind == "set_language":
                self.language, self.language_set = node.language, True
                self.language_chosen = node.id == self._pressed
                actions.append(SetLanguage(node.language))
                self._exit(node, "next")
                node_id = node.next
            elif kind == "hangup":
                if node.prompt:
                    actions.append(Play(node.prompt, self.language))
                self._exit(node, "hangup")
                return self._hang_up(actions)
            elif kind in ("menu", "survey_question", "callback_offer"):
                return self._wait(actions, self._read(node))
            elif kind == "customer_lookup":
                return self._wait(actions, LookUpCaller())
            elif kind == "hours_check":
                return self._wait(actions, CheckTime())
            elif kind == "queue":
                if node.prompt:
                    actions.append(Play(node.prompt, self.language))
                queue = node.queue.replace("{language}", self.language)
                return self._wait(actions, Enqueue(queue, node.max_wait, self.language, self.language_chosen))
            else:
                raise AssertionError(kind)
        raise FlowStuck(f"flow {self.flow.name}: {MAX_NODES_WITHOUT_INPUT} nodes without input")

    def _read(self, node: Node, prompt: str | None = None) -> Read:
        if node.kind == "menu":
            digits = len(next(iter(node.options)))
        elif node.kind == "survey_question":
            digits = len(str(SCALES[node.scale][1]))
        else:
            digits = 1
        return Read(prompt or node.prompt, self.language, node.timeout, digits)

    def _retry(self, node: Node, pressed: str, actions: list, on_failure: str | None) -> list:
        """No or wrong input: say so and ask again, or give up after the retries."""
        way = "no_input" if pressed == "" else "invalid"
        self._exit(node, way)
        self.attempts += 1
        if self.attempts > node.retries:
            self._exit(node, "retries_exhausted")
            return self._goto(on_failure, actions)
        notice = node.no_input_prompt if pressed == "" else node.invalid_prompt
        if notice:
            actions.append(Play(notice, self.language))
        return self._wait(actions, self._read(node))

    # -- answers, by node kind ------------------------------------------------------
    def _answer_menu(self, node: Node, answer: Digits) -> list:
        pressed = _dtmf(answer.value)
        if pressed in node.options:
            self._exit(node, pressed)
            self._pressed = node.options[pressed]
            try:
                return self._goto(node.options[pressed], [])
            finally:
                self._pressed = None
        return self._retry(node, pressed, [], node.on_failure)

    def _answer_survey_question(self, node: Node, answer: Digits) -> list:
        pressed = _dtmf(answer.value)
        low, high = SCALES[node.scale]
        if pressed.isdigit() and low <= int(pressed) <= high:
            self._exit(node, pressed)
            return self._goto(node.next, [StoreAnswer(node.question, node.scale, int(pressed))])
        return self._retry(node, pressed, [], node.next)

    def _answer_callback_offer(self, node: Node, answer: Digits) -> list:
        if _dtmf(answer.value) == node.digit:
            self._exit(node, "accepted")
            return self._goto(node.accepted, [RequestCallback(node.id, self.language, self.language_chosen)])
        self._exit(node, "declined" if answer.value else "no_input")
        return self._goto(node.declined, [])

    def _answer_customer_lookup(self, node: Node, answer: Lookup) -> list:
        actions = []
        if answer.known and node.use_customer_language and answer.language and not self.language_set \
                and answer.language != self.language and (self.languages is None or answer.language in self.languages):
            self.language = answer.language
            actions.append(SetLanguage(answer.language))
        self._exit(node, "known" if answer.known else "unknown")
        return self._goto(node.known if answer.known else node.unknown, actions)

    def _answer_hours_check(self, node: Node, answer: Clock) -> list:
        is_open_now = is_open(node.windows, node.timezone, answer.now, node.holidays)
        self._exit(node, "open" if is_open_now else "closed")
        return self._goto(node.open if is_open_now else node.closed, [])

    def _answer_queue(self, node: Node, answer: QueueOutcome) -> list:
        status = answer.status if answer.status.isidentifier() else "unavailable"
        self._exit(node, status[:20])
        if status == "answered":
            return self._goto(node.on_answered, [])
        if status in UNAVAILABLE and node.on_unavailable:
            return self._goto(node.on_unavailable, [])
        return self._goto(node.on_timeout, [])


def _dtmf(value: str) -> str:
    """What the caller pressed, minus a closing '#'; anything that is not DTMF
    counts as invalid input (never as an option)."""
    if not isinstance(value, str) or any(c not in DTMF_DIGITS for c in value):
        return "?"
    return value[:-1] if len(value) > 1 and value.endswith("#") else value
