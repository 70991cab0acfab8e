"""``audit verify`` (to be written)."""


def add_verify_command(command, audit) -> None:
    return None
