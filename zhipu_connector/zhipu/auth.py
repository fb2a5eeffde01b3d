"""The `Authorization` header, in the platform's two accepted forms.

* API-key mode (the default): `Bearer <id>.<secret>`, computed once per client.
* JWT mode: `Bearer <JWT>`, HS256-signed with the secret half, JOSE header
  `{"alg": "HS256", "sign_type": "SIGN"}`, claims `api_key` (the id half), `exp` and
  `timestamp` in epoch *milliseconds*. Like the official SDK, a token is issued valid for 210 s
  and reused for 180 s, so a request never leaves with a token about to expire.

A key that cannot work is refused here, before any request, with a message that never shows
the key. Each derived token is registered with `register_secret` so it is masked wherever it
might be echoed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import jwt

from zhipu_connector.host.secrets import Secret, register_secret
from zhipu_connector.zhipu.errors import ClientConfigError, InvalidApiKeyError

AuthMode = Literal["api_key", "jwt"]

TOKEN_LIFETIME_SECONDS = 210.0
TOKEN_REUSE_SECONDS = 180.0

_JOSE_HEADER = {"alg": "HS256", "sign_type": "SIGN", "typ": None}  # typ None: PyJWT leaves it out


def normalise_auth_mode(mode: str) -> AuthMode:
    """`"api_key"`/`"jwt"`, also as the connection's `API_KEY`/`JWT` spelling."""
    if isinstance(mode, str):
        lowered = mode.strip().lower().replace("-", "_")
        if lowered in ("api_key", "apikey"):
            return "api_key"
        if lowered == "jwt":
            return "jwt"
    raise ClientConfigError(f"auth must be 'api_key' or 'jwt', got {mode!r}")


def reveal_key(api_key: Secret | str) -> str:
    """The key's text, checked for the faults that make every request fail.

    Raises `InvalidApiKeyError` naming the rule, never the value.
    """
    if isinstance(api_key, Secret):
        key = api_key.reveal()
    elif isinstance(api_key, str):
        key = api_key
        register_secret(key)
    else:
        raise InvalidApiKeyError(f"api_key must be a string or a Secret, got {type(api_key).__name__}")
    if not key or key.isspace():
        raise InvalidApiKeyError("api_key is empty; set the Zhipu API key of the connection")
    if any(character.isspace() for character in key):
        raise InvalidApiKeyError("api_key contains whitespace or a line break; copy the key again without them")
    if not key.isascii() or not key.isprintable():
        raise InvalidApiKeyError(
            "api_key contains characters that cannot appear in an HTTP header; "
            "a Zhipu key is plain ASCII of the form <id>.<secret>"
        )
    _, dot, key_secret = key.partition(".")
    if dot:  # a server may echo the secret half alone ("no balance for <secret>"): mask it too
        register_secret(key_secret)
    return key


def split_key(key: str) -> tuple[str, str]:
    """The `(id, secret)` halves of `<id>.<secret>`, as JWT mode needs them."""
    key_id, dot, key_secret = key.partition(".")
    if not dot or not key_id or not key_secret:
        raise InvalidApiKeyError(
            "api_key must have the form <id>.<secret> to sign a JWT (it has no '.' separating two non-empty parts)"
        )
    return key_id, key_secret


class ApiKeyAuth:
    """`Authorization: Bearer <api key>`: one constant header for the client's lifetime."""

    mode: AuthMode = "api_key"
    constant = True

    def __init__(self, api_key: Secret | str) -> None:
        self._header = "Bearer " + reveal_key(api_key)

    def header(self) -> str:
        return self._header

    def __repr__(self) -> str:
        return "ApiKeyAuth()"


class JwtAuth:
    """`Authorization: Bearer <JWT>`, reissued before it expires.

    `clock` returns seconds since the epoch; tests pass a fake one. Token and renewal time live
    in one tuple so that concurrent callers read a consistent pair without a lock (two threads
    may both sign a fresh token at the boundary, which is harmless).
    """

    mode: AuthMode = "jwt"
    constant = False

    def __init__(self, api_key: Secret | str, *, clock: Callable[[], float] = time.time) -> None:
        key_id, key_secret = split_key(reveal_key(api_key))
        register_secret(key_secret)
        self._key_id = key_id
        self._key_secret = key_secret
        self._clock = clock
        self._cached: tuple[str, float] = ("", float("-inf"))

    def header(self) -> str:
        """The current `Bearer <JWT>` value, signing a new token when the cached one is stale."""
        header, renew_at = self._cached
        now = self._clock()
        if now < renew_at:
            return header
        token = self.sign(now)
        register_secret(token, transient=True)
        header = "Bearer " + token
        self._cached = (header, now + TOKEN_REUSE_SECONDS)
        return header

    def sign(self, now: float) -> str:
        """A token issued at `now` (epoch seconds), valid for `TOKEN_LIFETIME_SECONDS`."""
        now_ms = int(now * 1000)
        claims = {
            "api_key": self._key_id,
            "exp": now_ms + int(TOKEN_LIFETIME_SECONDS * 1000),
            "timestamp": now_ms,
        }
        token = jwt.encode(claims, self._key_secret, algorithm="HS256", headers=_JOSE_HEADER)
        # PyJWT 1.x returned bytes; 2.x returns str. Accept both so any 2.x (and a stray 1.x) works.
        return token.decode("ascii") if isinstance(token, bytes) else token

    def __repr__(self) -> str:
        return "JwtAuth()"


def make_auth(
    api_key: Secret | str, mode: str = "api_key", *, clock: Callable[[], float] = time.time
) -> ApiKeyAuth | JwtAuth:
    """The authorizer for `mode`, with the key checked before anything is sent."""
    if normalise_auth_mode(mode) == "jwt":
        return JwtAuth(api_key, clock=clock)
    return ApiKeyAuth(api_key)
