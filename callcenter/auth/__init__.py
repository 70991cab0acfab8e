"""Authentication: API bearer tokens and login passwords."""
from callcenter.auth.tokens import (  # noqa: F401
    InvalidTokenName, InvalidTokenRole, Principal, TokenError, TokenExists, TokenNotFound,
    TokenUserNotFound, create_token, get_token, hash_token, list_tokens, revoke_token,
    verify_token,
)
