"""``audit list|export|verify``: the audit trail from the command line."""
from __future__ import annotations

from callcenter.cli.audit_chain import add_verify_command
from callcenter.cli.audit_read import add_read_commands


def add_commands(command, group) -> None:
    """Add the subcommands to the parser (``command``/``group``: main.build_parser's helpers)."""
    audit = group("audit", "the audit trail: who changed or viewed what")
    add_read_commands(command, audit)      # list, export
    add_verify_command(command, audit)     # verify
