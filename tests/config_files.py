"""A config file as ``callcenter init`` writes it, for tests that change a
few of its keys (the TLS, TURN and make-run tests)."""
from __future__ import annotations

from pathlib import Path

from callcenter.main import main


def initialised(path: Path) -> Path:
    """``callcenter init --config path``: fresh secrets and certificate."""
    assert main(["init", "--config", str(path)]) == 0
    return path


def set_keys(path: Path, values: dict[str, str], section: str | None = None) -> None:
    """Replace ``key = ...`` lines with ``key = <value>`` (values as TOML text),
    in ``section`` only when given, else wherever the key starts a line."""
    current, lines = "", []
    for line in path.read_text().splitlines():
        if line.startswith("["):
            current = line.strip("[] ")
        key = line.split("=", 1)[0].strip() if "=" in line and not line.startswith("#") else None
        if key in values and section in (None, current):
            line = f"{key} = {values[key]}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
