"""IVR flows as data: one YAML (or JSON) file per flow, checked on load.

A flow is ``{start: <node>, language: en, nodes: {<id>: {kind: ..., ...}}}``.
Every field of every kind is checked; unknown node references, unreachable
nodes, cycles that never wait for the caller, bad DTMF digits, unknown
fields and bad values are errors naming the flow, the node and the field.
The DID -> flow map lives beside the flows in ``dids.yaml`` (``ivr.dids``)."""
from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field

from ivr import hours

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
PROMPT = re.compile(r"^[a-z0-9_-]+(?:/[a-z0-9_-]+){0,4}$")
QUEUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
LANGUAGE = re.compile(r"^[a-z]{2}$")
DIGITS = re.compile(r"^[0-9*#]{1,4}$")
QUESTION = re.compile(r"^[a-z0-9_]{1,40}$")
SCALES = {"nps": (0, 10), "rating": (1, 5)}

# Nodes that wait for the caller (or for time to pass): only they may close a cycle.
WAITING_KINDS = {"menu", "callback_offer", "survey_question", "queue"}

# kind -> field -> (required, checker name); node references are the "ref" fields.
SCHEMA: dict[str, dict[str, tuple[bool, str]]] = {
    "prompt": {"prompt": (True, "prompt"), "next": (True, "ref")},
    "menu": {"prompt": (True, "prompt"), "options": (True, "options"), "timeout": (False, "timeout"),
             "retries": (False, "retries"), "invalid_prompt": (False, "prompt"),
             "no_input_prompt": (False, "prompt"), "on_failure": (False, "ref")},
    "set_language": {"language": (True, "language"), "next": (True, "ref")},
    "customer_lookup": {"known": (True, "ref"), "unknown": (True, "ref"),
                        "use_customer_language": (False, "bool")},
    "hours_check": {"windows": (True, "windows"), "timezone": (False, "timezone"),
                    "holidays": (False, "holidays"), "open": (True, "ref"), "closed": (True, "ref")},
    "queue": {"queue": (True, "queue"), "max_wait": (False, "max_wait"), "prompt": (False, "prompt"),
              "on_timeout": (True, "ref"), "on_unavailable": (False, "ref"), "on_answered": (False, "ref")},
    "callback_offer": {"prompt": (True, "prompt"), "digit": (False, "digit"), "timeout": (False, "timeout"),
                       "accepted": (True, "ref"), "declined": (True, "ref")},
    "survey_question": {"prompt": (True, "prompt"), "question": (True, "question"), "scale": (True, "scale"),
                        "next": (True, "ref"), "timeout": (False, "timeout"), "retries": (False, "retries"),
                        "invalid_prompt": (False, "prompt"), "no_input_prompt": (False, "prompt")},
    "hangup": {"prompt": (False, "prompt")},
}
DEFAULTS = {"timeout": 5.0, "retries": 2, "max_wait": 300, "digit": "1", "timezone": zoneinfo.ZoneInfo("Asia/Kolkata"),
            "use_customer_language": True, "holidays": frozenset()}


class FlowError(ValueError):
    """A flow (or the DID map) is not valid; the message says where."""

    def __init__(self, flow: str, message: str, node: str | None = None, field_name: str | None = None):
        where = f"flow {flow!r}" + (f", node {node!r}" if node else "") + (
            f", field {field_name!r}" if field_name else "")
        super().__init__(f"{where}: {message}")
        self.flow, self.node, self.field = flow, node, field_name


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    values: dict = field(default_factory=dict)

    def __getattr__(self, name):
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        if name in DEFAULTS:
            return DEFAULTS[name]
        if name in SCHEMA.get(self.__dict__.get("kind"), {}):
            return None
        raise AttributeError(name)

    def targets(self) -> list[tuple[str, str]]:
        """(field, node id) of every reference."""
        out = [(f, self.values[f]) for f, (_, check) in SCHEMA[self.kind].items()
               if check == "ref" and self.values.get(f) is not None]
        out += [(f"options.{digits}", target) for digits, target in self.values.get("options", {}).items()]
        return out


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    language: str
    nodes: dict[str, Node]

    def prompts(self) -> set[str]:
        return {v for n in self.nodes.values() for k, v in n.values.items()
                if k in ("prompt", "invalid_prompt", "no_input_prompt") and v}


# checker -> (pattern, message): the values that are one string of a pattern
PATTERNS = {"ref": (NAME, "{!r} is not a node name (a-z 0-9 _ -)"), "question": (QUESTION, "{!r}: a-z 0-9 _"),
            "prompt": (PROMPT, "prompt {!r}: a-z 0-9 _ - and / only"),
            "language": (LANGUAGE, "{!r} is not a two-letter language code")}
NUMBERS = {"timeout": (1, 60), "retries": (0, 9), "max_wait": (1, 7200)}  # checker -> (lowest, highest)


def _check_value(flow: str, node: str, name: str, check: str, value):
    """The value of a field, checked by ``check`` (SCHEMA's checker name), as the flow keeps it."""
    def bad(message: str):
        raise FlowError(flow, message, node, name)

    if check in PATTERNS:
        pattern, message = PATTERNS[check]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            bad(message.format(value))
        return value
    if check in NUMBERS:
        low, high = NUMBERS[check]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            bad(f"{value!r} must be a number from {low} to {high}")
        return float(value) if check == "timeout" else _whole(value, bad)
    if check == "options":
        return _options(flow, node, value, bad)
    if check in ("timezone", "windows", "holidays"):
        return _hours_value(check, value, bad)
    return _plain_value(check, value, bad)


def _plain_value(check: str, value, bad):
    """A queue name, true or false, a DTMF digit or a survey scale."""
    if check == "queue":
        if not isinstance(value, str) or not QUEUE.fullmatch(value.replace("{language}", "xx")):
            bad(f"queue {value!r}: a-z 0-9 _ - (and {{language}})")
        return value
    if check == "bool":
        if not isinstance(value, bool):
            bad("must be true or false")
        return value
    if check == "digit":
        value = _digits(value, bad)
        if len(value) != 1:
            bad(f"{value!r}: one DTMF digit")
        return value
    if check == "scale":
        if value not in SCALES:
            bad(f"{value!r}: one of {', '.join(SCALES)}")
        return value
    raise AssertionError(check)


def _hours_value(check: str, value, bad):
    """The time zone, opening windows or holidays of an hours_check node."""
    if check == "timezone":
        try:
            return zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            bad(f"{value!r} is not a known time zone")
    if check == "windows":
        if not isinstance(value, list) or not value:
            bad("a list of {days, from, to} windows")
        try:
            return tuple(hours.parse_window(w) for w in value)
        except ValueError as error:
            bad(str(error))
    if not isinstance(value, list):
        bad("a list of YYYY-MM-DD dates")
    try:
        return frozenset(hours.parse_holiday(d) for d in value)
    except ValueError as error:
        bad(str(error))


def _options(flow: str, node: str, value, bad) -> dict:
    """A menu's options: DTMF digits -> node name, all of the same length."""
    if not isinstance(value, dict) or not value:
        bad("a map of DTMF digits to node names")
    options = {}
    for key, target in value.items():
        def bad_key(message, key=key):
            raise FlowError(flow, message, node, f"options.{key}")
        digits = _digits(key, bad_key)
        options[digits] = _check_value(flow, node, f"options.{digits}", "ref", target)
    if len({len(k) for k in options}) != 1:
        bad("every option must have the same number of digits")
    if len(next(iter(options))) > 1 and any("#" in k for k in options):
        bad("'#' ends multi-digit input: it cannot be part of a multi-digit option")
    return options


def _whole(value, bad):
    if value != int(value):
        bad(f"{value!r} must be a whole number")
    return int(value)


def _digits(value, bad) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9:
        value = str(value)  # YAML reads an unquoted 1: as a number
    if not isinstance(value, str) or not DIGITS.fullmatch(value):
        bad(f"{value!r} is not DTMF (1-4 of 0-9 * #; quote multi-digit keys)")
    return value


def parse_flow(name: str, data) -> Flow:
    if not isinstance(data, dict):
        raise FlowError(name, "a flow is a map with start, nodes and optionally language")
    unknown = set(data) - {"name", "start", "language", "nodes", "description"}
    if unknown:
        raise FlowError(name, f"unknown keys {sorted(unknown)}")
    if data.get("name", name) != name:
        raise FlowError(name, f"its name {data['name']!r} differs from its file name")
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        raise FlowError(name, "nodes: a map of node name -> node")
    language = _check_value(name, None, "language", "language", data.get("language", "en"))
    nodes = {}
    for node_id, raw in raw_nodes.items():
        if not isinstance(node_id, str) or not NAME.fullmatch(node_id):
            raise FlowError(name, f"node name {node_id!r}: a-z 0-9 _ -")
        if not isinstance(raw, dict) or raw.get("kind") not in SCHEMA:
            raise FlowError(name, f"kind must be one of {', '.join(SCHEMA)}", node_id, "kind")
        kind, schema = raw["kind"], SCHEMA[raw["kind"]]
        for key in raw:
            if key != "kind" and key not in schema:
                raise FlowError(name, f"unknown field for a {kind} node", node_id, str(key))
        values = {}
        for key, (required, check) in schema.items():
            if key in raw:
                values[key] = _check_value(name, node_id, key, check, raw[key])
            elif required:
                raise FlowError(name, "missing", node_id, key)
        nodes[node_id] = Node(node_id, kind, values)
    start = data.get("start")
    if start not in nodes:
        raise FlowError(name, f"start {start!r} is not a node", field_name="start")
    flow = Flow(name, start, language, nodes)
    _check_graph(flow)
    return flow


def _check_graph(flow: Flow) -> None:
    for node in flow.nodes.values():
        for field_name, target in node.targets():
            if target not in flow.nodes:
                raise FlowError(flow.name, f"refers to unknown node {target!r}", node.id, field_name)
    seen, todo = set(), [flow.start]
    while todo:
        node_id = todo.pop()
        if node_id not in seen:
            seen.add(node_id)
            todo.extend(t for _, t in flow.nodes[node_id].targets())
    for node_id in flow.nodes:
        if node_id not in seen:
            raise FlowError(flow.name, f"cannot be reached from start {flow.start!r}", node_id)
    # a cycle through nodes that never wait for the caller would spin forever
    state: dict[str, int] = {}

    def visit(node_id: str, path: list[str]) -> None:
        state[node_id] = 1
        for _, target in flow.nodes[node_id].targets():
            if flow.nodes[target].kind in WAITING_KINDS:
                continue
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                raise FlowError(flow.name, "cycle without caller input: " + " -> ".join(cycle), target)
            if target not in state:
                visit(target, path + [target])
        state[node_id] = 2

    for node_id, node in flow.nodes.items():
        if node.kind not in WAITING_KINDS and node_id not in state:
            visit(node_id, [node_id])
