"""Login passwords: argon2id hashes (argon2-cffi), never stored in clear."""
from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1024

_hasher = PasswordHasher()
# argon2 costs ~0.2 s of CPU a check (its default, memory-hard parameters are
# kept). Checks run in these threads (argon2-cffi releases the GIL), at most
# one per core but one, so a shift's logins queue here while the event loop
# keeps a core for calls, the phones' sockets and Asterisk's config reloads
# (docs/benchmarks.md, "Registration storm").
_workers = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="argon2")


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """:func:`verify_password` off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_workers, verify_password, password_hash, password)


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_workers, hash_password, password)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for a mismatch or an unusable hash."""
    if not password_hash or not isinstance(password, str):
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random login password (about 120 bits), shown to the operator once."""
    return secrets.token_urlsafe(15)


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be used, or None when it can."""
    if not isinstance(password, str):
        return "the password must be text"
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password may have at most {MAX_LENGTH} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        return "the password may not hold control characters"
    return None
