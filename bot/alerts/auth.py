"""Who may post Alertmanager notifications: the bearer token, or a configured basic-auth user."""

import base64
import binascii
import hmac

from pydantic import SecretStr


def _same(given: str, expected: str) -> bool:
    # compare_digest takes as long for a near miss as for a wild guess.
    return hmac.compare_digest(given.encode(), expected.encode())


def authorized(header: str | None, token: SecretStr | None, basic_users: dict[str, SecretStr]) -> bool:
    if not header:
        return False
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return token is not None and _same(credentials, token.get_secret_value())
    if scheme.lower() == "basic" and basic_users:
        try:
            user, sep, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not sep:
            return False
        ok = False
        # Every configured user is compared, so timing does not tell which user names exist.
        for name, secret in basic_users.items():
            ok |= _same(user, name) & _same(password, secret.get_secret_value())
        return ok
    return False
