"""Retention of audit rows (to be written)."""


async def start() -> None:
    return None
