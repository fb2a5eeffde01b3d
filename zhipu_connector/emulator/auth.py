"""`Authorization` checks with the platform's 401 codes.

Two accepted forms: `Bearer <id>.<secret>` (an API key) and `Bearer <JWT>` (HS256 over the
secret half, JOSE header `sign_type: "SIGN"`, claims `api_key`, `exp` and `timestamp` in epoch
MILLISECONDS). As on the platform, a JWT is also accepted without the `Bearer ` scheme; an API
key is not. The checks are deliberately exact about the millisecond clock: a client that
writes `exp` in seconds produces a token that expired in 1970, and is told so.

Messages never repeat the key or the token: the emulator's replies may end up in logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt

from .config import API_KEY_SHAPE
from .errors import unauthorized

# Below this an epoch value cannot be milliseconds (it would be before March 1973) but is a
# plausible epoch in seconds (until the year 5138).
_SECONDS_CEILING = 10**11

_SIGNATURE_ONLY = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


class Authenticator:
    """Checks one `Authorization` header value against the configured keys."""

    def __init__(self, api_keys: frozenset[str], clock: Callable[[], float]) -> None:
        self._keys = api_keys
        self._secrets = {key.split(".", 1)[0]: key.split(".", 1)[1] for key in api_keys}
        self._clock = clock

    def check(self, header: str | None) -> None:
        """Return quietly for accepted credentials; raise a 401 `ApiError` otherwise."""
        if not header or not header.strip():
            raise unauthorized("1001", "Authorization header is missing")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if not token and scheme.count(".") == 2:
            self._check_jwt(scheme)  # a bare JWT, which the platform accepts too
            return
        if scheme.lower() != "bearer":
            raise unauthorized("1000", "Authentication failed: the Authorization header must be 'Bearer <token>'")
        if not token:
            raise unauthorized("1001", "Authorization header carries no token after 'Bearer'")
        dots = token.count(".")
        if dots == 1:
            self._check_api_key(token)
        elif dots == 2:
            self._check_jwt(token)
        else:
            raise unauthorized("1002", "Invalid token: expected an API key <id>.<secret> or a JWT")

    def _check_api_key(self, key: str) -> None:
        if not API_KEY_SHAPE.fullmatch(key):
            raise unauthorized("1002", "Invalid token: an API key looks like <id>.<secret>")
        if self._keys and key not in self._keys:
            raise unauthorized("1002", "Invalid token: unknown API key")

    def _check_jwt(self, token: str) -> None:
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, RecursionError, ValueError, TypeError):
            # RecursionError: a header or claims nested thousands deep, which json cannot read
            raise unauthorized("1002", "Invalid token: not a decodable JWT") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise unauthorized("1002", "Invalid token: not a decodable JWT")
        if header.get("alg") != "HS256":
            raise unauthorized("1002", "Invalid token: JWT header alg must be HS256")
        if header.get("sign_type") != "SIGN":
            raise unauthorized("1002", 'Invalid token: JWT header must carry "sign_type": "SIGN"')
        key_id = claims.get("api_key")
        if not isinstance(key_id, str) or not key_id:
            raise unauthorized("1002", "Invalid token: claim api_key must be the id half of the API key")
        exp = _epoch_claim(claims, "exp")
        timestamp = _epoch_claim(claims, "timestamp")
        if self._keys:
            secret = self._secrets.get(key_id)
            if secret is None:
                raise unauthorized("1002", "Invalid token: claim api_key names no known API key")
            self._verify_signature(jwt, token, secret)
        if exp < _SECONDS_CEILING:
            raise unauthorized(
                "1003",
                "Token expired: claim exp looks like epoch seconds; it must be epoch milliseconds",
            )
        if timestamp < _SECONDS_CEILING:
            raise unauthorized(
                "1002",
                "Invalid token: claim timestamp looks like epoch seconds; it must be epoch milliseconds",
            )
        if exp <= self._clock() * 1000:
            raise unauthorized("1003", "Token expired: claim exp (epoch milliseconds) has passed")

    @staticmethod
    def _verify_signature(jwt: Any, token: str, secret: str) -> None:
        try:
            # Only the signature: exp/timestamp are milliseconds, which PyJWT would misread.
            jwt.decode(token, secret, algorithms=["HS256"], options=_SIGNATURE_ONLY)
        except jwt.InvalidSignatureError:
            raise unauthorized("1004", "Signature verification failed") from None
        except (jwt.PyJWTError, RecursionError, ValueError, TypeError):
            raise unauthorized("1002", "Invalid token: not a decodable JWT") from None


def _epoch_claim(claims: dict[str, object], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise unauthorized("1002", f"Invalid token: claim {name} must be a number of epoch milliseconds")
    return value
