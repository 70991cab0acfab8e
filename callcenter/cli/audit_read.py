"""``audit list|export`` (to be written)."""


def add_read_commands(command, audit) -> None:
    return None
