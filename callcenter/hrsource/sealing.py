"""The HR source's secrets (client secret, static token) sealed for the
database: Fernet (AES-128-CBC + HMAC-SHA256, from the ``cryptography``
library) under a key derived with HKDF-SHA256 from the install's
``[security] session_secret`` (generated at ``callcenter init``). A database
copy alone gives nothing away; a changed session secret makes the stored
secrets unreadable (the admin enters them again)."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from callcenter.hrsource.exceptions import SecretUnreadable, SourceNotReady

_INFO = b"callcenter hr-source secrets v1"


def _fernet(settings) -> Fernet:
    secret = settings.security.session_secret
    if not secret:
        raise SourceNotReady("this install has no [security] session_secret to seal secrets with "
                             "(run callcenter init)")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(settings, secret: str) -> str:
    return _fernet(settings).encrypt(secret.encode()).decode("ascii") if secret else ""


def unseal(settings, sealed: str, what: str) -> str:
    """The secret in clear; SecretUnreadable (naming ``what``) when the key changed."""
    if not sealed:
        return ""
    try:
        return _fernet(settings).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable(f"the stored {what} cannot be read (the install's secret changed): "
                               "enter it again") from None
