"""IVR flows as data: the shipped flows load; every kind of mistake is refused
with a message naming the flow, the node and the field; the DID map."""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from ivr import hours
from ivr.dids import load_dids, parse_dids
from ivr.flow_files import load_flows
from ivr.flows import FlowError, parse_flow

pytestmark = pytest.mark.no_database  # touches no database: runs once, on SQLite (tests/postgres.py)

SHIPPED = Path(__file__).resolve().parent.parent / "ivr" / "flows"

BASE = {
    "start": "hello",
    "nodes": {
        "hello": {"kind": "prompt", "prompt": "welcome", "next": "menu"},
        "menu": {"kind": "menu", "prompt": "choose", "options": {"1": "bye", "2": "bye"}},
        "bye": {"kind": "hangup"},
    },
}


def flow_with(**changes):
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = data
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        if value is None:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    return data


def test_the_shipped_flows_and_did_map_load():
    flows = load_flows(SHIPPED)
    assert {"main", "post-call-survey"} <= set(flows)
    main = flows["main"]
    assert main.nodes["language"].options["2"] == "hindi"
    assert main.nodes["queue"].queue == "support-{language}"
    dids = load_dids(SHIPPED, set(flows))
    assert dids.flow_for("8062247123") == "main" and dids.flow_for(None) == "main"
    prompts = yaml.safe_load((SHIPPED / "prompts.yaml").read_text())
    assert main.prompts() <= set(prompts)


def test_yaml_number_keys_are_digits_and_defaults_apply():
    flow = parse_flow("f", yaml.safe_load("""
start: m
nodes:
  m: {kind: menu, prompt: p, options: {1: a, 2: a}}
  a: {kind: hangup}
"""))
    menu = flow.nodes["m"]
    assert menu.options == {"1": "a", "2": "a"}
    assert (menu.timeout, menu.retries, menu.on_failure) == (5.0, 2, None)


@pytest.mark.parametrize("changes, where, words", [
    ({"nodes__menu__options": {"1": "nowhere"}}, ("menu", "options.1"), "unknown node 'nowhere'"),
    ({"nodes__hello__next": "ghost"}, ("hello", "next"), "unknown node 'ghost'"),
    ({"start": "missing"}, (None, "start"), "is not a node"),
    ({"nodes__lost": {"kind": "hangup"}}, ("lost", None), "cannot be reached"),
    ({"nodes__menu__options": {"1a": "bye"}}, ("menu", "options.1a"), "not DTMF"),
    ({"nodes__menu__options": {12: "bye"}}, ("menu", "options.12"), "not DTMF"),
    ({"nodes__menu__options": {"1": "bye", "22": "bye"}}, ("menu", "options"), "same number of digits"),
    ({"nodes__menu__options": {"1#": "bye", "22": "bye"}}, ("menu", "options"), "'#' ends"),
    ({"nodes__menu__timeout": 0}, ("menu", "timeout"), "from 1 to 60"),
    ({"nodes__menu__retries": 1.5}, ("menu", "retries"), "whole number"),
    ({"nodes__menu__colour": "red"}, ("menu", "colour"), "unknown field"),
    ({"nodes__menu__prompt": None}, ("menu", "prompt"), "missing"),
    ({"nodes__hello__prompt": "../../etc/passwd"}, ("hello", "prompt"), "a-z 0-9"),
    ({"nodes__hello__prompt": "Welcome"}, ("hello", "prompt"), "a-z 0-9"),
    ({"nodes__hello__kind": "teleport"}, ("hello", "kind"), "kind must be one of"),
])
def test_mistakes_name_the_flow_node_and_field(changes, where, words):
    with pytest.raises(FlowError) as info:
        parse_flow("sales", flow_with(**changes))
    error = info.value
    assert (error.flow, error.node, error.field) == ("sales", *where)
    assert words in str(error) and "flow 'sales'" in str(error)


def test_a_cycle_without_caller_input_is_refused_but_one_through_a_menu_is_not():
    spin = flow_with(nodes__bye={"kind": "prompt", "prompt": "x", "next": "again"},
                     nodes__again={"kind": "set_language", "language": "hi", "next": "bye"})
    with pytest.raises(FlowError, match="cycle without caller input: .*bye -> again -> bye|again -> bye -> again"):
        parse_flow("f", spin)
    through_menu = flow_with(nodes__bye={"kind": "prompt", "prompt": "x", "next": "menu"})
    parse_flow("f", through_menu)
    self_loop = flow_with(nodes__bye={"kind": "prompt", "prompt": "x", "next": "bye"})
    with pytest.raises(FlowError, match="cycle"):
        parse_flow("f", self_loop)


@pytest.mark.parametrize("node, field, words", [
    ({"kind": "queue", "queue": "Sales!", "on_timeout": "bye"}, "queue", "queue"),
    ({"kind": "queue", "queue": "s", "on_timeout": "bye", "max_wait": 0}, "max_wait", "from 1"),
    ({"kind": "set_language", "language": "hindi", "next": "bye"}, "language", "two-letter"),
    ({"kind": "survey_question", "prompt": "p", "question": "nps", "scale": "stars", "next": "bye"},
     "scale", "nps, rating"),
    ({"kind": "callback_offer", "prompt": "p", "digit": "12", "accepted": "bye", "declined": "bye"},
     "digit", "one DTMF digit"),
    ({"kind": "hours_check", "windows": [{"days": "mon-fri", "from": "18:00", "to": "09:00"}],
      "open": "bye", "closed": "bye"}, "windows", "ends before it starts"),
    ({"kind": "hours_check", "windows": [{"days": "funday", "from": "09:00", "to": "18:00"}],
      "open": "bye", "closed": "bye"}, "windows", "days"),
    ({"kind": "hours_check", "windows": [{"days": "daily", "from": "9:00", "to": "18:00"}],
      "open": "bye", "closed": "bye"}, "windows", "HH:MM"),
    ({"kind": "hours_check", "timezone": "Mars/Olympus", "windows": [{"days": "daily", "from": "09:00",
      "to": "18:00"}], "open": "bye", "closed": "bye"}, "timezone", "time zone"),
    ({"kind": "customer_lookup", "known": "bye", "unknown": "bye", "use_customer_language": "yes"},
     "use_customer_language", "true or false"),
])
def test_bad_values_of_each_kind(node, field, words):
    data = flow_with(nodes__menu__options={"1": "x"}, nodes__x=node)
    with pytest.raises(FlowError) as info:
        parse_flow("f", data)
    assert info.value.node == "x" and info.value.field == field and words in str(info.value)


def test_unknown_prompts_are_refused_when_the_catalogue_is_known(tmp_path):
    (tmp_path / "f.yaml").write_text(yaml.safe_dump(BASE))
    assert load_flows(tmp_path, {"welcome", "choose"})
    with pytest.raises(FlowError, match="unknown prompt 'choose'") as info:
        load_flows(tmp_path, {"welcome"})
    assert (info.value.node, info.value.field) == ("menu", "prompt")


def test_files_that_are_not_flows(tmp_path):
    (tmp_path / "f.yaml").write_text("start: [unclosed")
    with pytest.raises(FlowError, match="not valid YAML"):
        load_flows(tmp_path)
    (tmp_path / "f.yaml").write_text("!!python/object/apply:os.system ['true']")
    with pytest.raises(FlowError, match="not valid YAML"):  # safe_load: no objects
        load_flows(tmp_path)
    (tmp_path / "f.yaml").write_text(yaml.safe_dump({**BASE, "name": "other"}))
    with pytest.raises(FlowError, match="differs from its file name"):
        load_flows(tmp_path)


def test_did_map():
    dids = parse_dids({"default": "a", "dids": {"8062247000": "b", "8062247100-8062247199": "c"}}, {"a", "b", "c"})
    assert dids.flow_for("8062247000") == "b"
    assert dids.flow_for("8062247150") == "c"
    assert dids.flow_for("8062247200") == "a"
    assert dids.flow_for("62247150") == "a"  # other length
    assert dids.flow_for("80622471x0") == "a"
    for bad, words in [({"dids": {"8062247000": "zz"}}, "unknown flow"),
                       ({"dids": {"80-8062": "a"}}, "equal length"),
                       ({"dids": {"8062247100-8062247199": "a", "8062247150": "a"}}, "overlap"),
                       ({"default": "zz"}, "unknown flow"),
                       ({"routes": {}}, "dids.yaml is")]:
        with pytest.raises(FlowError, match=words):
            parse_dids(bad, {"a"})


def test_business_hours():
    ist = ZoneInfo("Asia/Kolkata")
    windows = (hours.parse_window({"days": "mon-fri", "from": "09:30", "to": "18:00"}),
               hours.parse_window({"days": ["sat"], "from": "10:00", "to": "24:00"}))
    monday_0930_ist = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.timezone.utc)
    assert hours.is_open(windows, ist, monday_0930_ist)
    assert not hours.is_open(windows, ist, monday_0930_ist - dt.timedelta(minutes=1))
    assert not hours.is_open(windows, ist, monday_0930_ist + dt.timedelta(hours=8, minutes=30))
    saturday_2359_ist = dt.datetime(2026, 11, 28, 23, 59, tzinfo=ist)
    assert hours.is_open(windows, ist, saturday_2359_ist)
    assert not hours.is_open(windows, ist, saturday_2359_ist + dt.timedelta(minutes=1))
    assert not hours.is_open(windows, ist, monday_0930_ist, frozenset({dt.date(2026, 11, 23)}))
    with pytest.raises(ValueError):
        hours.is_open(windows, ist, dt.datetime(2026, 11, 23, 10, 0))
