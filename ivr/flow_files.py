"""Flows, DIDs and prompt lists as files: YAML or JSON (``yaml.safe_load``),
each at most MAX_FILE_BYTES, read from the flows folder and checked by
:func:`ivr.flows.parse_flow` (the pure model the engine runs)."""
from __future__ import annotations

from pathlib import Path

import yaml

from ivr.flows import NAME, Flow, FlowError, parse_flow

MAX_FILE_BYTES = 1_000_000
SPECIAL_FILES = {"dids", "prompts"}


def read_data(path: Path):
    """A YAML or JSON file (safe_load), refused when over MAX_FILE_BYTES."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FlowError(path.stem, f"{path.name} is larger than {MAX_FILE_BYTES} bytes")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise FlowError(path.stem, f"{path.name} is not valid YAML/JSON: {error}") from None


def load_flows(folder: Path, known_prompts: set[str] | None = None) -> dict[str, Flow]:
    """Every flow file of ``folder`` (*.yaml, *.yml, *.json but dids/prompts)."""
    flows: dict[str, Flow] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json") or path.stem in SPECIAL_FILES:
            continue
        if not NAME.fullmatch(path.stem) or path.stem in flows:
            raise FlowError(path.stem, f"{path.name}: flow file names are a-z 0-9 _ - and unique")
        flow = parse_flow(path.stem, read_data(path))
        if known_prompts is not None:
            for node in flow.nodes.values():
                for key in ("prompt", "invalid_prompt", "no_input_prompt"):
                    if node.values.get(key) and node.values[key] not in known_prompts:
                        raise FlowError(flow.name, f"unknown prompt {node.values[key]!r}", node.id, key)
        flows[flow.name] = flow
    if not flows:
        raise FlowError(folder.name, f"no flow files in {folder}")
    return flows
